import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPaymentWorker } from '../../src/modules/payments/create-worker.ts';
import type { PaymentWorker } from '../../src/modules/payments/payment-worker.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { createTestDatabase, eventually, realServers, type TestDatabase } from '../helpers/env.ts';
import { type Processors, startProcessors } from '../helpers/processors.ts';

let db: TestDatabase;
const apps: TestApp[] = [];
const workers: PaymentWorker[] = [];
let processors: Processors;
const healthCalls = { default: 0, fallback: 0 };

beforeAll(async () => {
  db = await createTestDatabase();
  processors = await startProcessors({
    onRequest: (name, url) => {
      if (url === '/payments/service-health') healthCalls[name]++;
    },
  });
  // Two instances, one Redis: they must share one probe per processor per 5 s.
  const env = {
    ...realServers(db.url),
    ...processors.env,
  };
  for (const id of ['a', 'b']) {
    const t = await startTestApp({ ...env, INSTANCE_ID: id });
    const w = createPaymentWorker(t.deps);
    await w.start();
    apps.push(t);
    workers.push(w);
  }
});
afterAll(async () => {
  for (const w of workers) await w.stop();
  for (const t of apps) await t.close();
  await processors?.close();
  await db?.drop();
});

describe('processor health, shared by every instance', () => {
  it('is read at most once per 5 s per processor across instances, and both instances know it', async () => {
    await new Promise((r) => setTimeout(r, 2500)); // five refresh rounds on each instance
    expect(healthCalls).toEqual({ default: 1, fallback: 1 });
    for (const t of apps) {
      await eventually(async () => {
        const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
        expect(metrics).toMatch(/payment_processor_health\{processor="default"\} 1/);
        expect(metrics).toMatch(/payment_circuit_state\{processor="fallback"\} 0/);
        expect(metrics).toMatch(/^payment_queue_depth 0$/m);
      });
    }
  });
});
