import type { Deps } from '../../deps.ts';
import { OrderWorker } from './order-worker.ts';

export function createOrderWorker(deps: Deps): OrderWorker {
  // Checked where the worker runs (one process), not on every API instance a scrape reaches.
  deps.metrics.gauge(
    'stock_invariant_mismatches',
    'Products whose received stock differs from stock + what reserved and paid orders hold (must be 0)',
    [],
    async () => [{ value: (await deps.orders.stockCheck()).mismatches.length }],
  );
  return new OrderWorker(deps.db.pool, deps.orders, deps.log, {
    batchSize: deps.config.ORDER_QUEUE_BATCH,
    reservationTtlSeconds: deps.config.ORDER_RESERVATION_TTL,
    // The embedded database has one connection: a LISTEN would hold it; poll instead.
    listen: deps.db.kind === 'postgres',
  });
}
