import { afterAll, beforeAll, expect } from 'vitest';
import { createOrderWorker } from '../../src/modules/orders/create-worker.ts';
import type { OrderWorker } from '../../src/modules/orders/order-worker.ts';
import type { TestApp, TestContext } from './app.ts';
import { json } from './app.ts';
import { registerAndLogin } from './customers.ts';
import { eventually } from './env.ts';

/** The order worker on the context's app, started before the file's tests and stopped after them. */
export function useOrderWorker(ctx: TestContext): { readonly worker: OrderWorker } {
  const handle = {} as { worker: OrderWorker };
  beforeAll(async () => {
    handle.worker = createOrderWorker(ctx.t.deps);
    await handle.worker.start();
  });
  afterAll(async () => {
    await handle.worker?.stop();
  });
  return handle;
}

/** A new buyer's order on the queue is reserved by the running order worker, and stock adds up. */
export async function expectQueuedOrderReserved(t: TestApp): Promise<void> {
  const buyer = await registerAndLogin(t);
  const productId = await createProduct(t, { stock: 3 });
  const order = await placeOrder(t, buyer, [{ productId, quantity: 1 }]);
  expect(order.status).toBe('pending');
  await eventually(async () => expect((await t.deps.orders.findById(order.id))?.status).toBe('reserved'));
  await expectStockConsistent(t);
}

/** Creates a product as the admin; returns its id. */
export async function createProduct(
  t: TestApp,
  over: { name?: string; price?: string; stock?: number } = {},
): Promise<number> {
  const res = await t.asAdmin({
    method: 'POST',
    url: '/products',
    ...json({
      name: over.name ?? `Disco ${Math.random().toString(36).slice(2, 8)}`,
      price: over.price ?? '10.00',
      stock: over.stock ?? 10,
      category: 'discos',
    }),
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

export async function stockOf(t: TestApp, productId: number): Promise<number> {
  const { rows } = await t.deps.db.pool.query<{ stock: number }>('SELECT stock FROM products WHERE id = $1', [
    productId,
  ]);
  return rows[0]?.stock ?? Number.NaN;
}

/** Orders by status, e.g. { reserved: 10, rejected: 15 }. */
export async function orderCounts(t: TestApp): Promise<Record<string, number>> {
  const { rows } = await t.deps.db.pool.query<{ status: string; n: string }>(
    'SELECT status, count(*) AS n FROM orders GROUP BY status',
  );
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/** The invariant, checked the way an admin would: every product's stock adds up. */
export async function expectStockConsistent(t: TestApp): Promise<void> {
  const res = await t.asAdmin({ method: 'GET', url: '/admin/stock-check' });
  expect(res.statusCode).toBe(200);
  expect(res.json().mismatches).toEqual([]);
  expect(res.json().ok).toBe(true);
}

/** Places an order as a customer; returns the order as answered. */
export async function placeOrder(
  t: TestApp,
  buyer: { auth: { authorization: string } },
  items: Array<{ productId: number; quantity: number }>,
) {
  const res = await t.app.inject({ method: 'POST', url: '/orders', headers: buyer.auth, payload: { items } });
  expect([201, 202], res.body).toContain(res.statusCode);
  return res.json() as { id: number; status: string; total: string };
}
