import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPaymentWorker } from '../../src/modules/payments/create-worker.ts';
import type { PaymentWorker } from '../../src/modules/payments/payment-worker.ts';
import { json, startTestApp, type TestApp } from '../helpers/app.ts';
import { createTestDatabase, eventually, realServers, type TestDatabase } from '../helpers/env.ts';
import { type Processors, startProcessors } from '../helpers/processors.ts';

/**
 * An idle payment worker slows its polls down (PAYMENT_IDLE_POLL_MAX_MS), and
 * a payment accepted by its own process wakes it at once. `a` runs the
 * worker; `b` is another instance on the same database, whose accepts the
 * worker only finds by polling.
 */
let db: TestDatabase;
let processors: Processors;
let a: TestApp;
let b: TestApp;
let worker: PaymentWorker;
const IDLE_MAX_MS = 4000;

beforeAll(async () => {
  db = await createTestDatabase();
  processors = await startProcessors();
  const env = {
    ...realServers(db.url),
    ...processors.env,
    PAYMENT_POLL_MS: '25',
    PAYMENT_IDLE_POLL_MAX_MS: String(IDLE_MAX_MS),
  };
  a = await startTestApp(env);
  b = await startTestApp(env);
  worker = createPaymentWorker(a.deps);
  await worker.start();
});
afterAll(async () => {
  await worker?.stop();
  await a?.close();
  await b?.close();
  await processors?.close();
  await db?.drop();
});

const pay = (app: TestApp) => {
  const correlationId = randomUUID();
  return app.app
    .inject({ method: 'POST', url: '/payments', ...json({ correlationId, amount: 10 }) })
    .then((res) => {
      expect(res.statusCode).toBe(202);
      return correlationId;
    });
};
const processed = async (id: string) =>
  (await a.asAdmin({ method: 'GET', url: `/payments/${id}` })).json().status === 'processed';
/** Connections the worker's pool hands out over `ms` (each poll takes one). */
async function checkoutsDuring(ms: number): Promise<number> {
  let n = 0;
  const count = () => {
    n++;
  };
  a.deps.db.pool.on('acquire', count);
  await new Promise((r) => setTimeout(r, ms));
  a.deps.db.pool.off('acquire', count);
  return n;
}

// The tests run in order: each starts from the idle spell the one before left.
describe('an idle payment worker', () => {
  it('polls the database a few times a second at most, not every PAYMENT_POLL_MS', async () => {
    await new Promise((r) => setTimeout(r, 1000));
    // At 25 ms a poll, 2 s would be 80.
    expect(await checkoutsDuring(2000)).toBeLessThanOrEqual(10);
  });

  it('takes a payment its own instance accepts at once', async () => {
    // Idle for 6 s by now (with the test above): its sleeps are 1.5 s long.
    await new Promise((r) => setTimeout(r, 3000));
    const started = Date.now();
    const id = await pay(a);
    await eventually(async () => expect(await processed(id)).toBe(true), 2000, 20);
    expect(Date.now() - started).toBeLessThan(400);
  });

  it('takes a payment another instance accepts within PAYMENT_IDLE_POLL_MAX_MS, then polls at its normal pace while they keep coming', async () => {
    await new Promise((r) => setTimeout(r, 1500));
    const first = await pay(b);
    await eventually(async () => expect(await processed(first)).toBe(true), IDLE_MAX_MS + 2000, 50);
    // A steady stream for 2 s, slower than one payment per poll: the worker keeps its normal pace.
    const ids: string[] = [];
    const until = Date.now() + 2000;
    while (Date.now() < until) {
      ids.push(await pay(b));
      await new Promise((r) => setTimeout(r, 30));
    }
    await eventually(
      async () => expect((await Promise.all(ids.map(processed))).every(Boolean)).toBe(true),
      3000,
      50,
    );
    // How long each waited to be claimed (pinned with its requestedAt), from its accept.
    const { rows } = await a.deps.db.pool.query<{ ms: number }>(
      `SELECT (extract(epoch FROM requested_at - created_at) * 1000)::float8 AS ms FROM payments
       WHERE correlation_id = ANY($1::uuid[]) ORDER BY ms`,
      [ids],
    );
    // At PAYMENT_POLL_MS (25 ms) most wait well under 150 ms (a busy CI machine included); at the idle pace, up to 4 s.
    expect(rows[Math.floor(rows.length * 0.9)]?.ms).toBeLessThan(150);
  });
});
