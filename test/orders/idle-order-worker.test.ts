import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.ts';
import { registerAndLogin } from '../helpers/customers.ts';
import { createProduct, placeOrder, useOrderWorker } from '../helpers/orders.ts';

/**
 * An idle order worker that listens for new orders backs its polls off to
 * ORDER_IDLE_POLL_MAX_MS (each look is a transaction), and a new order's
 * NOTIFY still wakes it at once.
 */
const ctx = useTestApp({ ORDER_CONCURRENCY: 'queued', ORDER_IDLE_POLL_MAX_MS: '2000' });
useOrderWorker(ctx);

/** Connections the pool hands out over `ms`: each look takes one. */
async function checkoutsDuring(ms: number): Promise<number> {
  let n = 0;
  const count = () => {
    n++;
  };
  ctx.t.deps.db.pool.on('acquire', count);
  await new Promise((r) => setTimeout(r, ms));
  ctx.t.deps.db.pool.off('acquire', count);
  return n;
}

describe('an idle order worker', () => {
  it('looks for orders at most every couple of seconds once idle, not every 250 ms', async () => {
    await new Promise((r) => setTimeout(r, 6000));
    // At 250 ms a look, 3 s would be 12 (and more with the sweeper's).
    expect(await checkoutsDuring(3000)).toBeLessThanOrEqual(4);
  }, 15_000);

  it('reserves a new order at once all the same: its NOTIFY wakes the worker', async () => {
    // Idle for 9 s by now: the worker's sleeps are 2 s long.
    const buyer = await registerAndLogin(ctx.t);
    const productId = await createProduct(ctx.t, { stock: 3 });
    const started = Date.now();
    const order = await placeOrder(ctx.t, buyer, [{ productId, quantity: 1 }]);
    expect(order.status).toBe('pending');
    for (;;) {
      const status = (await ctx.t.deps.orders.findById(order.id))?.status;
      if (status === 'reserved') break;
      expect(Date.now() - started).toBeLessThan(1000);
      await new Promise((r) => setTimeout(r, 20));
    }
  });
});
