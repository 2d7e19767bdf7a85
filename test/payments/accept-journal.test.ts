import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSegment } from '../../src/modules/payments/accept-journal.ts';
import { eventually, sqlOnce } from '../helpers/env.ts';
import { usePaymentProcesses } from '../helpers/payment-processes.ts';
import { freePort, type Started } from '../helpers/process.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';

/**
 * PAYMENTS_JOURNAL_DIR, with real processes: a 202 means the accept is in
 * the instance's file, which outlives a SIGKILL and is sent to PostgreSQL by
 * the next start of the same instance; PostgreSQL being away does not stop
 * accepts; two instances never make one payment twice.
 */
const journalRoot = mkdtempSync(join(tmpdir(), 'armazem-journal-'));
const ctx = usePaymentProcesses(() => ({
  PAYMENTS_JOURNAL_DIR: journalRoot,
  PAYMENTS_PURGE_ENABLED: 'true',
}));
const { startApi, startWorker } = ctx;
afterAll(() => rmSync(journalRoot, { recursive: true, force: true }));

async function stop(p: Started, signal: NodeJS.Signals): Promise<void> {
  p.child.kill(signal);
  await p.exited;
}

const post = (port: number, correlationId: string, amount = 19.9) =>
  fetch(`http://127.0.0.1:${port}/payments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ correlationId, amount }),
  });
const count = async (where = 'true') =>
  (await sqlOnce<{ n: number }>(ctx.db.url, `SELECT count(*)::int AS n FROM payments WHERE ${where}`))[0]?.n;
const among = (ids: string[]) => `correlation_id IN (${ids.map((id) => `'${id}'`).join(',')})`;
/** Accepts in an instance's journal files, those it took over included (none once a clean stop removed its directory). */
const journalLines = (instance: string) => {
  const dir = join(journalRoot, instance);
  if (!existsSync(dir)) return 0;
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.jnl'))
    .map((f) => parseSegment(readFileSync(join(dir, f), 'utf8')).length)
    .reduce((a, b) => a + b, 0);
};

describe('payments accepted into a journal', () => {
  it('keeps every 202 through a SIGKILL: the next start of the instance sends them, and each is processed once', async () => {
    const port = await freePort();
    // A flush that never comes while the first life runs: the accepts are only in the file.
    const held = { INSTANCE_ID: 'journal-a', PAYMENTS_JOURNAL_FLUSH_MS: '10000' };
    let api = await startApi(port, held);
    const ids = Array.from({ length: 40 }, () => randomUUID());
    const statuses = await Promise.all(ids.map(async (id) => (await post(port, id)).status));
    expect(statuses).toEqual(ids.map(() => 202));
    expect(await count()).toBe(0);
    expect(journalLines('journal-a')).toBe(40);

    // Read after the 202 from the same instance: queued, from the journal.
    const view = await (await fetch(`http://127.0.0.1:${port}/payments/${ids[0]}`)).json();
    expect(view).toMatchObject({ correlationId: ids[0], amount: '19.90', status: 'queued' });
    // The same correlationId: the same amount is the same payment, another amount is refused.
    expect((await post(port, ids[1] as string)).status).toBe(202);
    const reused = await post(port, ids[1] as string, 5);
    expect(reused.status).toBe(409);
    expect(await reused.json()).toMatchObject({ code: 'correlation_id_reused' });

    await stop(api, 'SIGKILL');
    expect(await count()).toBe(0);
    api = await startApi(port, { ...held, PAYMENTS_JOURNAL_FLUSH_MS: '20' });
    await eventually(async () => expect(await count()).toBe(40), 10_000);
    await eventually(() => expect(journalLines('journal-a')).toBe(0));

    const worker = startWorker();
    await eventually(async () => expect(await count("status = 'processed'")).toBe(40), 30_000);
    const ours = (await (await fetch(`http://127.0.0.1:${port}/payments-summary`)).json()) as Record<
      'default' | 'fallback',
      { totalRequests: number }
    >;
    expect(ours.default.totalRequests).toBe((await ctx.processors.summary('default')).totalRequests);
    expect(ours.default.totalRequests + ours.fallback.totalRequests).toBe(40);
    await Promise.all([stop(api, 'SIGTERM'), stop(worker, 'SIGTERM')]);
  }, 90_000);

  it('sends what it holds on SIGTERM, drops it on a purge, and answers 503 once full', async () => {
    const port = await freePort();
    const held = {
      INSTANCE_ID: 'journal-b',
      PAYMENTS_JOURNAL_FLUSH_MS: '10000',
      PAYMENTS_JOURNAL_MAX_PENDING: '5',
    };
    let api = await startApi(port, held);
    const before = await count();
    const ids = Array.from({ length: 5 }, () => randomUUID());
    for (const id of ids) expect((await post(port, id)).status).toBe(202);
    const full = await post(port, randomUUID());
    expect(full.status).toBe(503);
    expect(full.headers.get('content-type')).toContain('application/problem+json');
    await stop(api, 'SIGTERM');
    expect(await count(among(ids))).toBe(5);
    expect(journalLines('journal-b')).toBe(0);
    expect(await count()).toBe((before ?? 0) + 5);

    api = await startApi(port, held);
    for (const id of [randomUUID(), randomUUID()]) expect((await post(port, id)).status).toBe(202);
    const purge = await fetch(`http://127.0.0.1:${port}/purge-payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    expect(purge.status).toBe(200);
    await stop(api, 'SIGTERM');
    // The purge took the journal's accepts too: none comes back after it.
    expect(await count('order_id IS NULL')).toBe(0);
    expect(journalLines('journal-b')).toBe(0);
  }, 60_000);

  it('accepts while PostgreSQL is away and sends everything once it is back', async () => {
    const proxy = await TcpProxy.to(ctx.db.url);
    const port = await freePort();
    const api = await startApi(port, { INSTANCE_ID: 'journal-c', DATABASE_URL: proxy.via(ctx.db.url) });
    const before = (await count()) ?? 0;
    await proxy.down();
    const ids = Array.from({ length: 30 }, () => randomUUID());
    const statuses = await Promise.all(ids.map(async (id) => (await post(port, id)).status));
    expect(statuses).toEqual(ids.map(() => 202));
    await new Promise((r) => setTimeout(r, 300));
    expect(await count()).toBe(before);
    await proxy.up();
    await eventually(async () => expect(await count()).toBe(before + 30), 10_000);
    await stop(api, 'SIGTERM');
    await proxy.down();
  }, 60_000);

  it('two instances taking the same payments in parallel make each one payment', async () => {
    const [a, b] = [await freePort(), await freePort()];
    const apis = [
      await startApi(a, { INSTANCE_ID: 'journal-d1' }),
      await startApi(b, { INSTANCE_ID: 'journal-d2' }),
    ];
    const before = (await count()) ?? 0;
    // The earlier test's payments, never processed, go out with these.
    const waiting = before - ((await count("status = 'processed'")) ?? 0);
    const sent = async () =>
      (await ctx.processors.summary('default')).totalRequests +
      (await ctx.processors.summary('fallback')).totalRequests;
    const sentBefore = await sent();
    const ids = Array.from({ length: 150 }, () => randomUUID());
    // Every payment sent to both instances at once, as a client retrying on another would.
    const statuses = await Promise.all(
      ids.flatMap((id) => [post(a, id), post(b, id)].map(async (r) => (await r).status)),
    );
    expect(statuses.every((s) => s === 202)).toBe(true);
    await eventually(async () => expect(await count()).toBe(before + 150), 10_000);
    const worker = startWorker();
    await eventually(async () => expect(await count("status <> 'processed'")).toBe(0), 30_000);
    expect(await count(`status = 'processed' AND ${among(ids)}`)).toBe(150);
    const rows = await sqlOnce<{ n: number; d: number }>(
      ctx.db.url,
      'SELECT count(*)::int AS n, count(DISTINCT correlation_id)::int AS d FROM payments',
    );
    expect(rows[0]?.n).toBe(rows[0]?.d);
    // The processors were paid once per payment.
    expect((await sent()) - sentBefore).toBe(150 + waiting);
    await Promise.all([...apis.map((p) => stop(p, 'SIGTERM')), stop(worker, 'SIGTERM')]);
  }, 90_000);

  it('an instance that never comes back: another under the same directory sends what it left, and leaves a live one alone', async () => {
    const fast = { PAYMENTS_JOURNAL_ORPHAN_MS: '1000' };
    const held = { ...fast, PAYMENTS_JOURNAL_FLUSH_MS: '10000' };
    const [e, f, g] = [await freePort(), await freePort(), await freePort()];
    const gone = await startApi(e, { ...held, INSTANCE_ID: 'journal-e' });
    const left = Array.from({ length: 10 }, () => randomUUID());
    for (const id of left) expect((await post(e, id)).status).toBe(202);
    await stop(gone, 'SIGKILL');

    const live = await startApi(g, { ...held, INSTANCE_ID: 'journal-g' });
    const kept = Array.from({ length: 5 }, () => randomUUID());
    for (const id of kept) expect((await post(g, id)).status).toBe(202);
    const taker = await startApi(f, { ...fast, INSTANCE_ID: 'journal-f' });
    await eventually(async () => expect(await count(among(left))).toBe(10), 10_000);
    expect(journalLines('journal-e')).toBe(0);
    // journal-g beats every third of a second: 3 s later its accepts are still its own.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(journalLines('journal-g')).toBe(5);
    expect(await count(among(kept))).toBe(0);
    await Promise.all([stop(live, 'SIGTERM'), stop(taker, 'SIGTERM')]);
    expect(await count(among(kept))).toBe(5);
  }, 60_000);

  it('a worker in the same instance takes each batch as it goes in: about one row update per payment, summaries equal', async () => {
    const port = await freePort();
    const api = await startApi(port, { INSTANCE_ID: 'journal-h', WORKER_IN_PROCESS: 'true' });
    expect((await fetch(`http://127.0.0.1:${port}/purge-payments`, { method: 'POST' })).status).toBe(200);
    // The table's row updates so far, as PostgreSQL counts them (a backend reports its own when it ends).
    const updates = async () =>
      (
        await sqlOnce<{ n: number }>(
          ctx.db.url,
          "SELECT n_tup_upd::int AS n FROM pg_stat_user_tables WHERE relname = 'payments'",
        )
      )[0]?.n ?? 0;
    const before = await updates();
    const sentBefore = {
      default: await ctx.processors.summary('default'),
      fallback: await ctx.processors.summary('fallback'),
    };
    const ids = Array.from({ length: 200 }, () => randomUUID());
    // A stream, so that batches go in while earlier ones are at the processors.
    for (let at = 0; at < ids.length; at += 10) {
      const statuses = await Promise.all(
        ids.slice(at, at + 10).map(async (id) => (await post(port, id)).status),
      );
      expect(statuses).toEqual(statuses.map(() => 202));
      await new Promise((r) => setTimeout(r, 20));
    }
    await eventually(
      async () => expect(await count(`status = 'processed' AND ${among(ids)}`)).toBe(200),
      20_000,
    );
    const ours = (await (await fetch(`http://127.0.0.1:${port}/payments-summary`)).json()) as Record<
      'default' | 'fallback',
      { totalRequests: number; totalAmount: number }
    >;
    for (const name of ['default', 'fallback'] as const) {
      const theirs = await ctx.processors.summary(name);
      expect(ours[name].totalRequests).toBe(theirs.totalRequests - sentBefore[name].totalRequests);
    }
    await stop(api, 'SIGTERM');
    // Inserted pinned to its processor and recorded once: no claim's update in between (claimed
    // and recorded, two updates, without the handoff). A batch larger than the processor's room
    // left then (a few calls while it is unproven) leaves the rest to the usual claim.
    await eventually(async () => expect(await updates()).toBeGreaterThanOrEqual(before + 200));
    await new Promise((r) => setTimeout(r, 500));
    expect((await updates()) - before).toBeLessThanOrEqual(250);
  }, 60_000);

  it('reads back only whole lines: one cut short by a crash is not an accept', () => {
    const id = randomUUID();
    const text = `${id} 19.90 1764000000000\n${randomUUID()} 1`;
    expect(parseSegment(text)).toEqual([{ correlationId: id, amount: '19.90', acceptedAtMs: 1764000000000 }]);
  });
});
