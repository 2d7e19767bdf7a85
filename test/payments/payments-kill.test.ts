import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/env.ts';
import { usePaymentProcesses } from '../helpers/payment-processes.ts';
import { freePort } from '../helpers/process.ts';

/**
 * Real processes, killed for real: an API instance and a worker, SIGKILLed
 * while payments are being accepted and while they are on their way to the
 * processors. Clients retry what failed with the same correlationId, as the
 * contract allows. Nothing may be lost, nothing counted twice.
 */
const ctx = usePaymentProcesses();
const journal = mkdtempSync(join(tmpdir(), 'armazem-kill-journal-'));
afterAll(() => rmSync(journal, { recursive: true, force: true }));
const { startApi, startWorker } = ctx;
beforeAll(async () => {
  // Every call takes a while: the worker is killed with calls in flight.
  await ctx.processors.configure('default', 'delay', 150);
});

/** A client's POST: its status, 0 when the connection was cut. */
const post = (port: number, id: string) =>
  fetch(`http://127.0.0.1:${port}/payments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ correlationId: id, amount: 19.9 }),
  }).then(
    (r) => r.status,
    () => 0,
  );

/** No payment twice in the table, and our summary equal to the processors' records, `total` in all. */
async function onceEachAndAgreed(client: pg.Client, port: number, total: number): Promise<void> {
  const { rows: dup } = await client.query(
    'SELECT count(*)::int AS n, count(DISTINCT correlation_id)::int AS d FROM payments',
  );
  expect(dup[0]).toEqual({ n: total, d: total });
  const ours = (await (await fetch(`http://127.0.0.1:${port}/payments-summary`)).json()) as Record<
    string,
    { totalRequests: number; totalAmount: number }
  >;
  const theirs = [await ctx.processors.summary('default'), await ctx.processors.summary('fallback')];
  expect(ours.default?.totalRequests).toBe(theirs[0]?.totalRequests);
  expect(ours.fallback?.totalRequests).toBe(theirs[1]?.totalRequests);
  expect((ours.default?.totalRequests ?? 0) + (ours.fallback?.totalRequests ?? 0)).toBe(total);
  expect(ours.default?.totalAmount).toBeCloseTo(theirs[0]?.totalAmount ?? -1, 2);
}

describe('SIGKILL of an API instance and of a worker mid-run', () => {
  it('loses no accepted payment, charges none twice, and the summary equals the processors’ records', async () => {
    const port = await freePort();
    let api = await startApi(port);
    let worker = startWorker();
    const ids = Array.from({ length: 150 }, () => randomUUID());
    const postHere = (id: string) => post(port, id);

    const first = ids.slice(0, 100).map(postHere);
    // The worker dies once payments are on their way to the processor.
    const client = new pg.Client({ connectionString: ctx.db.url });
    await client.connect();
    await eventually(
      async () => {
        const { rows } = await client.query(
          "SELECT count(*)::int AS n FROM payments WHERE status = 'processing'",
        );
        expect(rows[0].n).toBeGreaterThan(0);
      },
      10_000,
      10,
    );
    worker.child.kill('SIGKILL');
    // The API dies while the last 50 are being accepted.
    const second = ids.slice(100).map(postHere);
    api.child.kill('SIGKILL');
    const statuses = await Promise.all([...first, ...second]);
    await Promise.all([api.exited, worker.exited]);

    // Clients retry what did not get a 2xx, with the same correlationId, once the API is back.
    api = await startApi(port);
    worker = startWorker();
    const retried = ids.filter((_, i) => statuses[i] !== 202);
    expect(retried.length).toBeGreaterThan(0); // the kill did cut requests off
    for (const id of retried) expect(await postHere(id)).toBe(202);

    await eventually(async () => {
      const { rows } = await client.query(
        "SELECT count(*)::int AS n FROM payments WHERE status = 'processed'",
      );
      expect(rows[0].n).toBe(150);
    }, 30_000);
    await onceEachAndAgreed(client, port, 150);
    await client.end();
    api.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    await Promise.all([api.exited, worker.exited]);
  }, 90_000);

  it('the payments profile’s shape (a journal, the worker inside the instance, batches handed to it): the same', async () => {
    // A short call budget, so that the leases of the calls the kill cuts off run out within the test.
    const inside = {
      INSTANCE_ID: 'kill-inside',
      WORKER_IN_PROCESS: 'true',
      PAYMENTS_JOURNAL_DIR: journal,
      PAYMENT_TIMEOUT_MS: '500',
    };
    const port = await freePort();
    let api = await startApi(port, inside);
    const postHere = (id: string) => post(port, id);
    const client = new pg.Client({ connectionString: ctx.db.url });
    await client.connect();
    const count = async (where: string) =>
      (await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM payments WHERE ${where}`)).rows[0]
        ?.n;
    const before = (await count('true')) ?? 0;

    // A stream of payments; the instance dies with calls at the processor and accepts still in its file.
    const ids = Array.from({ length: 120 }, () => randomUUID());
    const statuses: Promise<number>[] = [];
    for (const id of ids.slice(0, 80)) {
      statuses.push(postHere(id));
      await new Promise((r) => setTimeout(r, 2));
    }
    await eventually(async () => expect(await count("status = 'processing'")).toBeGreaterThan(0), 10_000, 5);
    for (const id of ids.slice(80)) statuses.push(postHere(id));
    api.child.kill('SIGKILL');
    const answered = await Promise.all(statuses);
    await api.exited;

    // The same instance starts again: it sends what its file held; clients retry what got no 2xx.
    api = await startApi(port, inside);
    for (const [i, id] of ids.entries()) if (answered[i] !== 202) expect(await postHere(id)).toBe(202);
    await eventually(async () => expect(await count("status = 'processed'")).toBe(before + 120), 30_000);
    // Each charged once: the processors hold what we recorded, this test's and the one's before.
    await onceEachAndAgreed(client, port, before + 120);
    await client.end();
    api.child.kill('SIGTERM');
    await api.exited;
  }, 90_000);
});
