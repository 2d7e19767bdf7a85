import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { registerAndLogin, type Session } from '../helpers/customers.ts';
import { createTestDatabase, realServers, type TestDatabase } from '../helpers/env.ts';
import { histogramCount } from '../helpers/metrics.ts';
import { createProduct, expectStockConsistent, orderCounts, stockOf } from '../helpers/orders.ts';
import { alive, freePort, startProcess, waitServing } from '../helpers/process.ts';

/**
 * ORDER_CONCURRENCY=batched: orders arriving together at an instance are
 * decided in one statement and one durable commit, and each buyer still gets
 * 201 or 409 in the same request. Two instances, real parallel requests.
 */
let db: TestDatabase;
let one: TestApp;
let two: TestApp;
const bases: string[] = [];
const buyers: Session[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  for (const _ of [0, 1]) {
    const t = await startTestApp({ ...realServers(db.url), ORDER_CONCURRENCY: 'batched' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    bases.push(`http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`);
    if (!one) one = t;
    else two = t;
  }
  for (let i = 0; i < 5; i++) buyers.push(await registerAndLogin(one));
});
afterAll(async () => {
  await one?.close();
  await two?.close();
  await db?.drop();
});

async function order(
  i: number,
  items: Array<{ productId: number; quantity: number }>,
  key?: string,
  base?: string,
) {
  const res = await fetch(`${base ?? bases[i % 2]}/orders`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(buyers[i % buyers.length] as Session).auth,
      ...(key ? { 'idempotency-key': key } : {}),
    },
    body: JSON.stringify({ items }),
  });
  return { status: res.status, body: (await res.json()) as { id?: number; code?: string; status?: string } };
}

const batches = () => histogramCount([one, two], 'order_batch_size');

describe('batched orders on two instances', () => {
  it('when 200 buyers race for 50 units, then exactly 50 get 201, the rest 409, in fewer statements than orders', async () => {
    const productId = await createProduct(one, { stock: 50 });
    const before = await batches();
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => order(i, [{ productId, quantity: 1 }])),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(50);
    expect(statuses.filter((s) => s === 409)).toHaveLength(150);
    for (const a of answers.filter((x) => x.status === 409)) expect(a.body.code).toBe('out_of_stock');
    for (const a of answers.filter((x) => x.status === 201)) expect(a.body.status).toBe('reserved');
    expect(await stockOf(one, productId)).toBe(0);
    expect(new Set(answers.filter((a) => a.status === 201).map((a) => a.body.id)).size).toBe(50);
    const statements = (await batches()) - before;
    expect(statements).toBeLessThan(200);
    await expectStockConsistent(one);
  });

  it('when multi-product orders name the same products in opposite orders, then none deadlocks and stock adds up', async () => {
    const a = await createProduct(one, { stock: 300 });
    const b = await createProduct(one, { stock: 300 });
    const answers = await Promise.all(
      Array.from({ length: 120 }, (_, i) =>
        order(
          i,
          i % 2
            ? [
                { productId: a, quantity: 2 },
                { productId: b, quantity: 1 },
              ]
            : [
                { productId: b, quantity: 2 },
                { productId: a, quantity: 1 },
              ],
        ),
      ),
    );
    expect(answers.every((x) => x.status === 201)).toBe(true);
    expect(await stockOf(one, a)).toBe(300 - 60 * 2 - 60);
    expect(await stockOf(one, b)).toBe(300 - 60 - 60 * 2);
    await expectStockConsistent(one);
  });

  it('when one order is retried 30 times at once with its Idempotency-Key, then it is placed once and every answer names it', async () => {
    const productId = await createProduct(one, { stock: 100 });
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => order(0, [{ productId, quantity: 3 }], 'retry-me', bases[i % 2])),
    );
    const ids = new Set(answers.map((a) => a.body.id));
    expect(ids.size).toBe(1);
    expect(answers.every((a) => a.status === 201)).toBe(true);
    expect(await stockOf(one, productId)).toBe(97);
    await expectStockConsistent(one);
  });

  it('when a batch mixes good orders with an unknown product and an oversized total, then only those two are refused', async () => {
    const cheap = await createProduct(one, { stock: 100, price: '1.00' });
    const pricey = await createProduct(one, { stock: 10_000, price: '9999999999.99' });
    const answers = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) =>
        order(i, [{ productId: cheap, quantity: 1 }], undefined, bases[0]),
      ),
      order(1, [{ productId: 987_654, quantity: 1 }], undefined, bases[0]),
      order(2, [{ productId: pricey, quantity: 200 }], undefined, bases[0]),
    ]);
    expect(answers.slice(0, 20).every((a) => a.status === 201)).toBe(true);
    expect(answers[20]?.status).toBe(400);
    expect(answers[21]).toMatchObject({ status: 422, body: { code: 'order_total_too_large' } });
    expect(await stockOf(one, cheap)).toBe(80);
    expect(await stockOf(one, pricey)).toBe(10_000);
    await expectStockConsistent(one);
  });
});

describe('batched orders and SIGKILL', () => {
  it('when the instance is killed mid-stream, then every order it answered 201 is reserved and nothing is half-written', async () => {
    const port = await freePort();
    const api = startProcess('src/entrypoints/api.ts', {
      PORT: String(port),
      DATABASE_URL: db.url,
      ORDER_CONCURRENCY: 'batched',
      JWT_SECRET: 'test-only-secret-0123456789-abcdefghijklmnopqrstuvwxyz',
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
    });
    const base = `http://127.0.0.1:${port}`;
    await waitServing(api, `${base}/health`);
    const productId = await createProduct(one, { stock: 100_000 });
    const answered: number[] = [];
    let killed = false;
    const stream = Array.from({ length: 8 }, async (_, lane) => {
      for (let i = 0; !killed || i < 3; i++) {
        try {
          const a = await order(lane, [{ productId, quantity: 1 }], undefined, base);
          if (a.status === 201) answered.push(a.body.id as number);
        } catch {
          return; // the connection died with the process
        }
      }
    });
    await new Promise((r) => setTimeout(r, 800));
    api.child.kill('SIGKILL');
    killed = true;
    await Promise.all(stream);
    await api.exited;
    expect(alive(api.child.pid as number)).toBe(false);
    expect(answered.length).toBeGreaterThan(0);
    const { rows } = await one.deps.db.pool.query<{ id: string; status: string }>(
      'SELECT id, status FROM orders WHERE id = ANY($1::bigint[])',
      [answered],
    );
    expect(rows).toHaveLength(answered.length);
    expect(rows.every((r) => r.status === 'reserved')).toBe(true);
    // Every reserved order has its items and its stock taken: nothing half-written.
    const counts = await orderCounts(one);
    expect(counts.pending ?? 0).toBe(0);
    await expectStockConsistent(one);
  }, 60_000);
});
