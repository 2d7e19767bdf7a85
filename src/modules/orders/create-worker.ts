import type { Deps } from '../../deps.ts';
import { OrderWorker } from './order-worker.ts';

export function createOrderWorker(deps: Deps): OrderWorker {
  return new OrderWorker(deps.db.pool, deps.orders, deps.log, {
    batchSize: deps.config.ORDER_QUEUE_BATCH,
    reservationTtlSeconds: deps.config.ORDER_RESERVATION_TTL,
    // The embedded database has one connection: a LISTEN would hold it; poll instead.
    listen: deps.db.kind === 'postgres',
  });
}
