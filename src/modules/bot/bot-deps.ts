import type { Config } from '../../config.ts';
import type { Database } from '../../platform/database.ts';
import type { KeyValueStore } from '../../platform/kv.ts';
import type { Logger } from '../../platform/logger.ts';
import type { Metrics } from '../../platform/metrics.ts';
import type { CatalogCache } from '../catalog/catalog.cache.ts';
import type { CatalogRepository } from '../catalog/catalog.repository.ts';
import type { CreditRepository } from '../credit/credit.repository.ts';
import type { CustomerRepository } from '../customers/customers.repository.ts';
import type { OrderRepository } from '../orders/orders.repository.ts';
import type { OrderPlacer } from '../orders/place-order.ts';
import type { PaymentRepository } from '../payments/payments.repository.ts';
import type { TelegramLinkRepository } from './telegram-links.repository.ts';

/** What the bot reads and writes through: armazem's own repositories and use cases, never its HTTP API. */
export interface BotDeps {
  config: Config;
  log: Logger;
  db: Database;
  kv: KeyValueStore;
  catalog: { repository: CatalogRepository; cache: CatalogCache };
  customers: CustomerRepository;
  orders: OrderRepository;
  placer: OrderPlacer;
  payments: PaymentRepository;
  credit: CreditRepository;
  telegramLinks: TelegramLinkRepository;
  metrics: Metrics;
}
