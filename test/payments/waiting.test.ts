import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPaymentWorker } from '../../src/modules/payments/create-worker.ts';
import type { PaymentWorker } from '../../src/modules/payments/payment-worker.ts';
import { json, startTestApp, type TestApp } from '../helpers/app.ts';
import { createTestDatabase, eventually, realServers, type TestDatabase } from '../helpers/env.ts';
import { type Processors, startProcessors } from '../helpers/processors.ts';

/**
 * Payments waiting for the default sleep until their wait budget runs out
 * (a minute here) instead of being looked at several times a second; when
 * the default is back, they must go to it at once, not a minute later.
 */
describe('payments waiting for the default', () => {
  let db: TestDatabase;
  let t: TestApp;
  let other: TestApp;
  let processors: Processors;
  const workers: PaymentWorker[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    processors = await startProcessors({ healthWindowMs: 200 });
    const env = {
      ...realServers(db.url),
      ...processors.env,
      PAYMENT_TIMEOUT_MS: '300',
      PAYMENT_MAX_WAIT_MS: '60000',
      PAYMENT_LONG_OUTAGE_MS: '60000',
    };
    // Two instances, each with its worker: whichever sees the default back wakes what the other put to sleep.
    t = await startTestApp(env);
    other = await startTestApp(env);
    for (const app of [t, other]) workers.push(createPaymentWorker(app.deps));
    for (const w of workers) await w.start();
  });
  afterAll(async () => {
    for (const w of workers) await w.stop();
    await t?.close();
    await other?.close();
    await processors?.close();
    await db?.drop();
  });

  const status = async (id: string) => (await t.app.inject({ method: 'GET', url: `/payments/${id}` })).json();

  it('sleep while the default fails, then go to the default as soon as it is back, never to the fallback', async () => {
    await processors.configure('default', 'failure', true);
    const ids = Array.from({ length: 5 }, () => randomUUID());
    for (const id of ids) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/payments',
        ...json({ correlationId: id, amount: 12.34 }),
      });
      expect(res.statusCode).toBe(202);
    }
    // Their first calls fail and back off until the shared health report says the default is
    // failing; from then on each one sleeps for the rest of its budget, a minute away.
    const sleepers = async () =>
      (
        await t.deps.db.pool.query<{ id: string; due: Date }>(
          "SELECT correlation_id AS id, next_attempt_at AS due FROM payments WHERE next_attempt_at > now() + interval '30 seconds' ORDER BY 1",
        )
      ).rows;
    const asleep = await eventually(async () => {
      const rows = await sleepers();
      expect(rows).toHaveLength(5);
      return rows;
    }, 8000);
    for (const id of ids) expect(await status(id)).toMatchObject({ status: 'queued', processor: null });
    // Asleep means nobody looks at them: a second later not one row was touched.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await sleepers()).toEqual(asleep);

    await processors.configure('default', 'failure', false);
    const back = Date.now();
    await eventually(async () => {
      for (const id of ids)
        expect(await status(id)).toMatchObject({ status: 'processed', processor: 'default' });
    }, 10_000);
    expect(Date.now() - back).toBeLessThan(10_000);
    expect(await processors.summary('default')).toMatchObject({ totalRequests: 5, totalAmount: 61.7 });
    expect((await processors.summary('fallback')).totalRequests).toBe(0);
  });

  it('while the default stays down, look for due payments about ten times a second, however fast accepts come', async () => {
    await processors.configure('default', 'failure', true);
    const pay = async (id: string) =>
      expect(
        (await t.app.inject({ method: 'POST', url: '/payments', ...json({ correlationId: id, amount: 1 }) }))
          .statusCode,
      ).toBe(202);
    // Once a payment sleeps, the worker knows the default is down.
    const first = randomUUID();
    await pay(first);
    await eventually(async () => {
      const { rows } = await t.deps.db.pool.query(
        "SELECT 1 FROM payments WHERE correlation_id = $1 AND next_attempt_at > now() + interval '30 seconds'",
        [first],
      );
      expect(rows).toHaveLength(1);
    }, 8000);
    // Each look takes a connection from the worker's pool (accepts have a pool of their own).
    let looks = 0;
    const count = () => {
      looks++;
    };
    t.deps.db.pool.on('acquire', count);
    const ids: string[] = [];
    for (const until = Date.now() + 2000; Date.now() < until; ) {
      ids.push(randomUUID());
      await pay(ids.at(-1) as string);
      await new Promise((r) => setTimeout(r, 10));
    }
    t.deps.db.pool.off('acquire', count);
    // About 20 looks in 2 s, plus the worker's other statements meanwhile: 26–31 acquires
    // measured. Woken by each accept, at 25 ms a look, it would be 80 or more.
    expect(looks).toBeLessThanOrEqual(40);
    await processors.configure('default', 'failure', false);
    await eventually(async () => {
      for (const id of [first, ...ids]) expect(await status(id)).toMatchObject({ status: 'processed' });
    }, 15_000);
    expect((await processors.summary('fallback')).totalRequests).toBe(0);
  });
});
