import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validations } from '../../bench/lib/crebitos.ts';
import { openHeldAccounts } from '../../src/modules/credit/held-accounts.ts';
import type { TestApp } from '../helpers/app.ts';
import {
  expectCreditConsistent,
  postCredit,
  setCreditLimit,
  startContestInstances,
} from '../helpers/credit.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/env.ts';

/**
 * The contest routes with their accounts held in memory (CREDIT_JOURNAL_DIR)
 * by two instances on one database and one journal directory. Requests
 * alternate between the instances, the worst case for holding: an account
 * changes hands at almost every request, and every answer must still be the
 * one a single database transaction would give.
 */
let db: TestDatabase;
let apps: TestApp[] = [];
let bases: string[] = [];
let base: () => string;
const journalRoot = mkdtempSync(join(tmpdir(), 'armazem-credit-journal-'));

beforeAll(async () => {
  db = await createTestDatabase();
  ({ apps, bases, base } = await startContestInstances(
    db.url,
    [{ INSTANCE_ID: 'held-a' }, { INSTANCE_ID: 'held-b' }],
    (t) => openHeldAccounts(t.deps, journalRoot),
  ));
});
afterAll(async () => {
  for (const t of apps) await t.close();
  await db?.drop();
  rmSync(journalRoot, { recursive: true, force: true });
});

const t = () => apps[0] as TestApp;
const q = async <R>(sql: string, values: unknown[] = []) =>
  (await t().deps.db.pool.query(sql, values)).rows as R[];
const customerOf = async (clientId: number) =>
  Number(
    (
      await q<{ customer_id: string }>(
        'SELECT customer_id FROM credit_contest_clients WHERE client_id = $1',
        [clientId],
      )
    )[0]?.customer_id,
  );
const post = async (url: string, clientId: number, body: object) => {
  const res = await fetch(`${url}/clientes/${clientId}/transacoes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { saldo?: number; limite?: number } };
};
/** What PostgreSQL has once every journal has been sent: each instance lets its accounts go. */
const settle = async () => {
  for (const a of apps)
    for (const id of [1, 2, 3, 4, 5]) await a.deps.credit.requestRelease({ contestClientId: id });
  await expect
    .poll(
      async () =>
        (await q<{ n: number }>('SELECT count(*)::int AS n FROM credit_accounts WHERE owner IS NOT NULL'))[0]
          ?.n,
      {
        timeout: 10_000,
      },
    )
    .toBe(0);
};

describe('contest accounts held in memory, two instances', () => {
  it('pass every check of the contest’s validation steps while the accounts change hands', async () => {
    const checked = await validations(base);
    expect(checked.length).toBeGreaterThan(100);
    expect(checked.flatMap((c) => c.failures)).toEqual([]);
    await settle();
    await expectCreditConsistent(t());
  });

  it('when 300 debits race on one account over both instances, then the balance never passes −limit and equals the sum of the 200s', async () => {
    // Client 5: limit 500000. 300 × 2,500 = 750,000 asked.
    const customer = await customerOf(5);
    const [before] = await q<{ balance: string }>(
      'SELECT balance FROM credit_accounts WHERE customer_id = $1',
      [customer],
    );
    const start = Number(before?.balance);
    const debits = async () =>
      (
        await q<{ n: number }>(
          "SELECT count(*)::int AS n FROM credit_transactions WHERE customer_id = $1 AND kind = 'd'",
          [customer],
        )
      )[0]?.n as number;
    const debitsBefore = await debits();
    const fit = Math.floor((start + 500000) / 2500);
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => post(base(), 5, { valor: 2500, tipo: 'd', descricao: `d${i}` })),
    );
    expect(
      results.every((r) => r.status === 200 || r.status === 422),
      results.map((r) => r.status).join(),
    ).toBe(true);
    const accepted = results.filter((r) => r.status === 200);
    expect(accepted).toHaveLength(fit);
    // Each answer's balance is one no other answer had: every debit was applied to the one before.
    expect(new Set(accepted.map((r) => r.body.saldo)).size).toBe(fit);
    expect(Math.min(...accepted.map((r) => r.body.saldo as number))).toBe(start - fit * 2500);
    await settle();
    const [account] = await q<{ balance: string }>(
      'SELECT balance FROM credit_accounts WHERE customer_id = $1',
      [customer],
    );
    expect(Number(account?.balance)).toBe(start - fit * 2500);
    expect((await debits()) - debitsBefore).toBe(fit);
    await expectCreditConsistent(t());
  });

  it('when credits and debits of different sizes race, then balance = Σ accepted credits − Σ accepted debits, in the order the history shows', async () => {
    const customer = await customerOf(4);
    const [before] = await q<{ balance: string }>(
      'SELECT balance FROM credit_accounts WHERE customer_id = $1',
      [customer],
    );
    const bodies = Array.from({ length: 300 }, (_, i) => ({
      valor: ((i * 7919) % 5_000_000) + 1,
      tipo: i % 3 === 0 ? 'c' : 'd',
      descricao: `m${i}`,
    }));
    const results = await Promise.all(bodies.map((b) => post(base(), 4, b)));
    const delta = results.reduce((sum, r, i) => {
      const b = bodies[i] as (typeof bodies)[number];
      return r.status === 200 ? sum + (b.tipo === 'c' ? b.valor : -b.valor) : sum;
    }, 0);
    expect(results.every((r) => r.status === 200 || r.status === 422)).toBe(true);
    await settle();
    const [after] = await q<{ balance: string }>(
      'SELECT balance FROM credit_accounts WHERE customer_id = $1',
      [customer],
    );
    expect(Number(after?.balance)).toBe(Number(before?.balance) + delta);
    await expectCreditConsistent(t());
  });

  it('when an admin writes to an account an instance holds, then the holder lets it go and the write lands on the held balance', async () => {
    const customer = await customerOf(2);
    const first = await post(bases[0] as string, 2, { valor: 100, tipo: 'd', descricao: 'held' });
    expect(first.status).toBe(200);
    expect(
      (
        await q<{ owner: string | null }>('SELECT owner FROM credit_accounts WHERE customer_id = $1', [
          customer,
        ])
      )[0]?.owner,
    ).not.toBeNull();
    // Through the other instance's native API, which goes to PostgreSQL.
    const admin = apps[1] as TestApp;
    const res = await postCredit(admin, customer, { type: 'debit', amount: '2.00', description: 'admin' });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().balanceAfter).toBe((((first.body.saldo as number) - 200) / 100).toFixed(2));
    await setCreditLimit(admin, customer, '900.00');
    const next = await post(bases[0] as string, 2, { valor: 1, tipo: 'c', descricao: 'back' });
    expect(next.body).toEqual({ limite: 90000, saldo: (first.body.saldo as number) - 200 + 1 });
    await settle();
    await expectCreditConsistent(t());
  });
});
