import type { Config } from '../../config.ts';
import type { Database } from '../../platform/database.ts';
import type { Logger } from '../../platform/logger.ts';
import { OrderWorker } from './order-worker.ts';
import type { OrderRepository } from './orders.repository.ts';

export function createOrderWorker(deps: {
  config: Config;
  db: Database;
  log: Logger;
  orders: OrderRepository;
}): OrderWorker {
  return new OrderWorker(deps.db.pool, deps.orders, deps.log, {
    batchSize: deps.config.ORDER_QUEUE_BATCH,
    reservationTtlSeconds: deps.config.ORDER_RESERVATION_TTL,
    idlePollMaxMs: deps.config.ORDER_IDLE_POLL_MAX_MS,
    // A pool of one connection (the embedded database's, or DB_POOL_MAX=1): a LISTEN would hold
    // it and leave every request waiting; poll instead.
    listen: deps.db.kind === 'postgres' && deps.config.DB_POOL_MAX > 1,
  });
}
