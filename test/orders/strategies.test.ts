import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrderWorker } from '../../src/modules/orders/create-worker.ts';
import type { OrderWorker } from '../../src/modules/orders/order-worker.ts';
import { useTestApp } from '../helpers/app.ts';
import { registerAndLogin, type Session } from '../helpers/customers.ts';
import { eventually } from '../helpers/env.ts';
import { createProduct, expectStockConsistent, orderCounts, stockOf } from '../helpers/orders.ts';

/**
 * The same guarantees in every strategy, through real parallel HTTP requests:
 * N buyers, M < N units, exactly M orders get stock; the invariant holds.
 */
const STRATEGIES = ['atomic', 'pessimistic', 'optimistic', 'queued', 'hybrid', 'batched'] as const;

describe.each(STRATEGIES)('ORDER_CONCURRENCY=%s', (strategy) => {
  // hybrid with a tiny budget, so contention actually sends some orders to the queue.
  const ctx = useTestApp({ ORDER_CONCURRENCY: strategy, ORDER_SYNC_BUDGET_MS: '2' });
  let worker: OrderWorker;
  let base: string;
  let buyers: Session[];

  beforeAll(async () => {
    worker = createOrderWorker(ctx.t.deps);
    await worker.start();
    await ctx.t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(ctx.t.app.server.address() as { port: number }).port}`;
    buyers = [];
    for (let i = 0; i < 4; i++) buyers.push(await registerAndLogin(ctx.t));
  });
  afterAll(async () => {
    await worker?.stop();
  });

  const order = (
    buyer: Session,
    items: Array<{ productId: number; quantity: number }>,
    headers: Record<string, string> = {},
  ) =>
    fetch(`${base}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...buyer.auth, ...headers },
      body: JSON.stringify({ items }),
    });

  const settle = () =>
    eventually(async () => {
      expect((await orderCounts(ctx.t)).pending ?? 0).toBe(0);
    }, 15_000);

  it('when 30 buyers race for 10 units, then exactly 10 orders hold stock and the invariant holds', async () => {
    const productId = await createProduct(ctx.t, { stock: 10 });
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, i) => order(buyers[i % 4] as Session, [{ productId, quantity: 1 }])),
    );
    const statuses = responses.map((r) => r.status);
    expect(
      statuses.every((s) => [201, 202, 409].includes(s)),
      statuses.join(','),
    ).toBe(true);
    // Queued orders are accepted (202) even when a worker reserves them before the answer goes out.
    if (strategy === 'queued') expect(new Set(statuses)).toEqual(new Set([202]));
    if (strategy !== 'queued' && strategy !== 'hybrid') expect(statuses).not.toContain(202);
    for (const r of responses.filter((r) => r.status === 409))
      expect(((await r.json()) as { code: string }).code).toBe('out_of_stock');
    await settle();
    const counts = await orderCounts(ctx.t);
    expect(counts.reserved).toBe(10);
    expect((counts.rejected ?? 0) + statuses.filter((s) => s === 409).length).toBe(20);
    expect(await stockOf(ctx.t, productId)).toBe(0);
    await expectStockConsistent(ctx.t);
  });

  it('when multi-item orders contend for the same products in opposite orders, then none deadlocks', async () => {
    const a = await createProduct(ctx.t, { stock: 1000 });
    const b = await createProduct(ctx.t, { stock: 1000 });
    const responses = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        order(
          buyers[i % 4] as Session,
          i % 2
            ? [
                { productId: a, quantity: 2 },
                { productId: b, quantity: 1 },
              ]
            : [
                { productId: b, quantity: 1 },
                { productId: a, quantity: 2 },
              ],
        ),
      ),
    );
    expect(responses.map((r) => r.status).filter((s) => s !== 201 && s !== 202)).toEqual([]);
    await settle();
    expect(await stockOf(ctx.t, a)).toBe(1000 - 80);
    expect(await stockOf(ctx.t, b)).toBe(1000 - 40);
    await expectStockConsistent(ctx.t);
  });

  it('when an order is cancelled 6 times at once, then its stock comes back exactly once', async () => {
    const productId = await createProduct(ctx.t, { stock: 5 });
    const buyer = buyers[0] as Session;
    const placed = await order(buyer, [{ productId, quantity: 3 }]);
    const { id } = (await placed.json()) as { id: number };
    await settle();
    expect(await stockOf(ctx.t, productId)).toBe(2);
    const cancels = await Promise.all(
      Array.from({ length: 6 }, () =>
        fetch(`${base}/orders/${id}/cancel`, { method: 'POST', headers: buyer.auth }),
      ),
    );
    expect(cancels.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(await stockOf(ctx.t, productId)).toBe(5);
    await expectStockConsistent(ctx.t);
  });

  it('when the same Idempotency-Key is sent again, or 5 times at once, then one order, one stock decrement', async () => {
    const productId = await createProduct(ctx.t, { stock: 50 });
    const buyer = buyers[1] as Session;
    const first = await order(buyer, [{ productId, quantity: 2 }], { 'idempotency-key': `k-${strategy}-1` });
    const again = await order(buyer, [{ productId, quantity: 2 }], { 'idempotency-key': `k-${strategy}-1` });
    expect([201, 202]).toContain(first.status);
    const firstId = ((await first.json()) as { id: number }).id;
    expect(((await again.json()) as { id: number }).id).toBe(firstId);
    const burst = await Promise.all(
      Array.from({ length: 5 }, () =>
        order(buyer, [{ productId, quantity: 1 }], { 'idempotency-key': `k-${strategy}-2` }),
      ),
    );
    const ids = new Set(await Promise.all(burst.map(async (r) => ((await r.json()) as { id: number }).id)));
    expect(ids.size).toBe(1);
    // Another customer's identical key is their own.
    const other = await order(buyers[2] as Session, [{ productId, quantity: 1 }], {
      'idempotency-key': `k-${strategy}-2`,
    });
    expect(((await other.json()) as { id: number }).id).not.toBe([...ids][0]);
    await settle();
    expect(await stockOf(ctx.t, productId)).toBe(50 - 2 - 1 - 1);
    await expectStockConsistent(ctx.t);
  });
});
