import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrderWorker } from '../../src/modules/orders/create-worker.ts';
import { startTestApp, TEST_JWT_SECRET, type TestApp } from '../helpers/app.ts';
import { registerAndLogin } from '../helpers/customers.ts';
import { createTestDatabase, eventually, type TestDatabase } from '../helpers/env.ts';
import { createProduct, expectStockConsistent, orderCounts, stockOf } from '../helpers/orders.ts';
import { startProcess } from '../helpers/process.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';

let db: TestDatabase;
let proxy: TcpProxy;
let t: TestApp;

beforeAll(async () => {
  db = await createTestDatabase();
  proxy = await TcpProxy.to(db.url);
  t = await startTestApp({ DATABASE_URL: db.url, ORDER_CONCURRENCY: 'queued' });
});
afterAll(async () => {
  await t?.close();
  await proxy?.down();
  await db?.drop();
});

describe('queued orders with a worker killed mid-batch', () => {
  it('loses nothing, reserves nothing twice, and another worker finishes the queue', async () => {
    const productId = await createProduct(t, { stock: 30 });
    const buyer = await registerAndLogin(t);
    for (let i = 0; i < 60; i++) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/orders',
        headers: { ...buyer.auth, 'content-type': 'application/json' },
        payload: JSON.stringify({ items: [{ productId, quantity: 1 }] }),
      });
      expect(res.statusCode).toBe(202);
      expect(res.headers.location).toBe(`/orders/${res.json().id}`);
    }
    expect(await orderCounts(t)).toEqual({ pending: 60 });

    // A worker process whose database answers slowly: a batch of 20 takes seconds.
    proxy.delayMs = 150;
    const worker = startProcess('src/entrypoints/worker.ts', {
      NODE_ENV: 'production',
      JWT_SECRET: TEST_JWT_SECRET,
      DATABASE_URL: proxy.via(db.url),
      ORDER_QUEUE_BATCH: '20',
      MIGRATE_ON_START: 'false',
      LOG_LEVEL: 'info',
    });
    await eventually(() => expect(worker.stdout()).toMatch(/worker ready/), 20_000);
    // Mid-batch: the worker's open transaction holds 20 orders locked (a SKIP LOCKED look sees the other 40).
    await eventually(
      async () => {
        const { rows } = await t.deps.db.pool.query(
          "SELECT count(*) AS n FROM (SELECT id FROM orders WHERE status = 'pending' FOR UPDATE SKIP LOCKED) AS free",
        );
        expect(Number(rows[0].n)).toBe(40);
      },
      10_000,
      20,
    );
    worker.child.kill('SIGKILL');
    await worker.exited;
    proxy.delayMs = 0;

    // Whatever the kill interrupted rolled back: only whole batches are done, and the stock adds up.
    await eventually(async () => {
      const { rows } = await t.deps.db.pool.query(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE state = 'idle in transaction' AND datname = $1",
        [db.name],
      );
      expect(Number(rows[0].n)).toBe(0);
    });
    const afterKill = await orderCounts(t);
    expect(((afterKill.reserved ?? 0) + (afterKill.rejected ?? 0)) % 20).toBe(0);
    expect(afterKill.pending).toBeGreaterThan(0);
    await expectStockConsistent(t);

    const next = createOrderWorker(t.deps);
    await next.start();
    try {
      await eventually(async () => expect((await orderCounts(t)).pending ?? 0).toBe(0), 15_000);
    } finally {
      await next.stop();
    }
    expect(await orderCounts(t)).toEqual({ reserved: 30, rejected: 30 });
    expect(await stockOf(t, productId)).toBe(0);
    await expectStockConsistent(t);
    const rejected = await t.deps.db.pool.query(
      "SELECT DISTINCT rejected_product_id FROM orders WHERE status = 'rejected'",
    );
    expect(rejected.rows).toEqual([{ rejected_product_id: String(productId) }]);
  });
});
