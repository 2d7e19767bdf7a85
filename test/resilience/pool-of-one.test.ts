import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.ts';
import { expectQueuedOrderReserved, useOrderWorker } from '../helpers/orders.ts';

/** DB_POOL_MAX=1 (its minimum) with the order worker in the process: the worker's LISTEN must not take the only connection. */
const ctx = useTestApp({ ORDER_CONCURRENCY: 'queued', DB_POOL_MAX: '1' });
useOrderWorker(ctx);

describe('a main pool of one connection', () => {
  it('with the order worker running, the instance stays ready and queued orders are still reserved', async () => {
    const ready = await ctx.t.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    await expectQueuedOrderReserved(ctx.t);
    expect((await ctx.t.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });
});
