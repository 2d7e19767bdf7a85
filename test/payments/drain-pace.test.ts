import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPaymentWorker } from '../../src/modules/payments/create-worker.ts';
import type { PaymentWorker } from '../../src/modules/payments/payment-worker.ts';
import { json, startTestApp, type TestApp } from '../helpers/app.ts';
import { createTestDatabase, eventually, realServers, type TestDatabase } from '../helpers/env.ts';
import { type Processors, startProcessors } from '../helpers/processors.ts';

/**
 * A backlog goes to the processor at the pace it answers
 * (PAYMENT_MAX_FRESH_CALLS calls sent in the last 100 ms at most), not all at
 * once; calls a slow processor holds longer do not count, so a slow spell
 * still gets many calls out. Calls are counted at the emulator as they come
 * and go. The steady poll is long here (1 s): a claim the cap cut short is
 * followed within 25 ms all the same, so a backlog never waits for it.
 */
const FRESH = 6;
let db: TestDatabase;
let processors: Processors;
let t: TestApp;
let worker: PaymentWorker;
let open = 0;
let most = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  processors = await startProcessors();
  processors.app.default.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'POST' || req.url !== '/payments') return;
    most = Math.max(most, ++open);
    res.once('close', () => open--);
  });
  t = await startTestApp({
    ...realServers(db.url),
    ...processors.env,
    PAYMENT_MAX_FRESH_CALLS: String(FRESH),
    PAYMENT_POLL_MS: '1000',
  });
  worker = createPaymentWorker(t.deps);
});
afterAll(async () => {
  await t?.close();
  await processors?.close();
  await db?.drop();
});

/** `n` payments accepted while the worker is stopped, then the worker started on them; the time until all are processed. */
async function drain(n: number): Promise<number> {
  await processors.purge();
  await t.asAdmin({ method: 'POST', url: '/purge-payments' });
  for (let i = 0; i < n; i++) {
    const res = await t.app.inject({
      method: 'POST',
      url: '/payments',
      ...json({ correlationId: randomUUID(), amount: 1 }),
    });
    expect(res.statusCode).toBe(202);
  }
  most = 0;
  const started = Date.now();
  await worker.start();
  try {
    await eventually(async () => expect((await processors.summary('default')).totalRequests).toBe(n), 20_000);
  } finally {
    await worker.stop();
  }
  const summary = (await t.app.inject({ method: 'GET', url: '/payments-summary' })).json();
  expect(summary.default.totalRequests).toBe(n);
  return Date.now() - started;
}

describe('a payment backlog', () => {
  it('goes to a processor that answers in 30 ms a few calls at a time, all of it', async () => {
    await processors.configure('default', 'delay', 30);
    const ms = await drain(120);
    expect(most).toBeGreaterThan(1);
    // 20 claims of 6: at the 1 s poll's pace, 20 s.
    expect(ms).toBeLessThan(5000);
    // At most the cap, unless a stalled machine held calls past 100 ms (then they stop counting):
    // twice the cap allows for that; without the cap, 100 of the 120 went out at once.
    expect(most).toBeLessThanOrEqual(2 * FRESH);
  });

  it('still gets many calls out at once to a processor that answers in 600 ms', async () => {
    await processors.configure('default', 'delay', 600);
    const ms = await drain(60);
    // Capped at FRESH calls out, 60 calls of 600 ms would take 6 s.
    expect(most).toBeGreaterThan(3 * FRESH);
    expect(ms).toBeLessThan(4000);
  });
});
