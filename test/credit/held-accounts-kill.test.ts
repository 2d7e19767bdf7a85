import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually, sqlOnce } from '../helpers/env.ts';
import { usePaymentProcesses } from '../helpers/payment-processes.ts';
import { freePort, type Started, startProcess } from '../helpers/process.ts';

/**
 * CREDIT_JOURNAL_DIR with real processes: a contest post's 200 means the
 * transaction is in the instance's journal file, which outlives a SIGKILL.
 * The next start of the same instance sends it and lets the account go; if
 * the instance never comes back, another one under the same directory does,
 * and only then takes the account — so no answer is lost and the balance
 * never passes its limit.
 */
const journalRoot = mkdtempSync(join(tmpdir(), 'armazem-credit-kill-'));
const ctx = usePaymentProcesses(() => ({
  CREDIT_CONTEST_ROUTES: 'true',
  CREDIT_JOURNAL_DIR: journalRoot,
}));
const { startApi } = ctx;
afterAll(() => rmSync(journalRoot, { recursive: true, force: true }));

async function kill(p: Started): Promise<void> {
  p.child.kill('SIGKILL');
  await p.exited;
}

const post = async (port: number, clientId: number, valor: number, descricao: string) => {
  const res = await fetch(`http://127.0.0.1:${port}/clientes/${clientId}/transacoes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ valor, tipo: 'd', descricao }),
  });
  return { status: res.status, body: (await res.json()) as { saldo: number; limite: number } };
};

/** The contest client's account as PostgreSQL has it. */
const account = async (clientId: number) =>
  (
    await sqlOnce<{ balance: number; owner: string | null; debits: number }>(
      ctx.db.url,
      `SELECT a.balance::int AS balance, a.owner,
              (SELECT count(*)::int FROM credit_transactions t WHERE t.customer_id = a.customer_id) AS debits
       FROM credit_contest_clients m JOIN credit_accounts a USING (customer_id) WHERE m.client_id = ${clientId}`,
    )
  )[0];

async function expectCheckPasses(): Promise<void> {
  const check = startProcess('src/entrypoints/cli/check-credit.ts', { DATABASE_URL: ctx.db.url });
  expect(await check.exited, check.stdout() + check.stderr()).toBe(0);
}

describe('contest accounts held in memory, through a SIGKILL', () => {
  it('keeps every 200: the next start of the instance sends them and lets the account go', async () => {
    const port = await freePort();
    // A batch that never comes while the first life runs: the debits are only in the file.
    const held = { INSTANCE_ID: 'credit-kill-a', CREDIT_JOURNAL_FLUSH_MS: '10000' };
    let api = await startApi(port, held);
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => post(port, 1, 100, `k${i}`)));
    expect(answers.map((a) => a.status)).toEqual(Array(30).fill(200));
    expect(Math.min(...answers.map((a) => a.body.saldo))).toBe(-3000);
    expect(await account(1)).toMatchObject({
      balance: 0,
      debits: 0,
      owner: expect.stringMatching(/^credit-kill-a#/),
    });
    await kill(api);

    api = await startApi(port, { INSTANCE_ID: 'credit-kill-a' });
    await eventually(
      async () => expect(await account(1)).toEqual({ balance: -3000, debits: 30, owner: null }),
      10_000,
    );
    // The account goes on from the balance the killed life answered with.
    expect((await post(port, 1, 100, 'after')).body).toEqual({ limite: 100000, saldo: -3100 });
    await kill(api);
    await expectCheckPasses();
  }, 60_000);

  it('an instance that never comes back: another sends what it left, then takes the account', async () => {
    const fast = { CREDIT_JOURNAL_ORPHAN_MS: '1000' };
    const [e, f] = [await freePort(), await freePort()];
    const gone = await startApi(e, {
      ...fast,
      INSTANCE_ID: 'credit-kill-e',
      CREDIT_JOURNAL_FLUSH_MS: '10000',
    });
    for (let i = 0; i < 10; i++) expect((await post(e, 2, 100, `e${i}`)).status).toBe(200);
    await kill(gone);

    const taker = await startApi(f, { ...fast, INSTANCE_ID: 'credit-kill-f' });
    // Waits until the dead instance's journal is sent and its account let go (a second, here).
    expect((await post(f, 2, 100, 'f')).body).toEqual({ limite: 80000, saldo: -1100 });
    // Killed too, the taker holds the account: its next start lets it go, its debit in PostgreSQL.
    await kill(taker);
    const again = await startApi(f, { ...fast, INSTANCE_ID: 'credit-kill-f' });
    await eventually(
      async () => expect(await account(2)).toEqual({ balance: -1100, debits: 11, owner: null }),
      10_000,
    );
    await kill(again);
    await expectCheckPasses();
  }, 60_000);
});
