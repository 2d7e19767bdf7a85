import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.ts';
import { RefreshTokenRepository } from './modules/auth/refresh-tokens.repository.ts';
import { TelegramLinkRepository } from './modules/bot/telegram-links.repository.ts';
import { CatalogCache } from './modules/catalog/catalog.cache.ts';
import { CatalogRepository } from './modules/catalog/catalog.repository.ts';
import { CreditRepository } from './modules/credit/credit.repository.ts';
import { CustomerRepository } from './modules/customers/customers.repository.ts';
import type { Lifecycle } from './modules/ops/readiness.ts';
import { OrderRepository } from './modules/orders/orders.repository.ts';
import { OrderPlacer } from './modules/orders/place-order.ts';
import { PaymentRepository } from './modules/payments/payments.repository.ts';
import { ProcessorClient } from './modules/payments/processor-client.ts';
import { type Database, openDatabase } from './platform/database.ts';
import { type KeyValueStore, openKeyValueStore } from './platform/kv.ts';
import type { Logger } from './platform/logger.ts';
import { Metrics } from './platform/metrics.ts';

/** Everything an entry point needs, wired by hand: no container. */
export interface Deps {
  config: Config;
  log: Logger;
  version: string;
  db: Database;
  kv: KeyValueStore;
  catalog: { repository: CatalogRepository; cache: CatalogCache };
  customers: CustomerRepository;
  refreshTokens: RefreshTokenRepository;
  orders: OrderRepository;
  placer: OrderPlacer;
  payments: PaymentRepository;
  credit: CreditRepository;
  processors: { default: ProcessorClient; fallback: ProcessorClient };
  metrics: Metrics;
  /** Draining from the stop signal on: readiness fails while requests are still served. */
  lifecycle: Lifecycle;
  telegramLinks: TelegramLinkRepository;
  /** Signs access tokens: JWT_SECRET, or in development a fallback (see jwtSecret). */
  jwtSecret: string;
  close(): Promise<void>;
}

export const VERSION: string = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
).version;

/** Names the backends from configuration alone, so it can be the first log line. */
export function describeBackends(config: Config): string {
  const database = config.DATABASE_URL ? 'postgres (DATABASE_URL)' : `embedded PGlite in ${config.DATA_DIR}`;
  const cache = !config.CACHE_ENABLED
    ? 'off'
    : config.REDIS_CLUSTER_NODES
      ? 'redis cluster (REDIS_CLUSTER_NODES)'
      : config.REDIS_URL
        ? 'redis (REDIS_URL)'
        : 'in-process memory';
  return `database: ${database}; cache: ${cache}`;
}

/**
 * Outside development JWT_SECRET is required (config.ts refuses to start
 * without a strong one). In development without it, the embedded mode keeps
 * a generated secret next to its data, so tokens survive restarts; otherwise
 * a per-process secret is used and the log says so.
 */
function jwtSecret(config: Config, log: Logger): string {
  if (config.JWT_SECRET) {
    if (config.JWT_SECRET.length < 32)
      log.warn('JWT_SECRET is shorter than 32 characters: fine for development only');
    return config.JWT_SECRET;
  }
  if (!config.DATABASE_URL) {
    mkdirSync(config.DATA_DIR, { recursive: true });
    const file = join(config.DATA_DIR, 'jwt-secret');
    if (!existsSync(file)) writeFileSync(file, randomBytes(48).toString('base64url'), { mode: 0o600 });
    return readFileSync(file, 'utf8').trim();
  }
  log.warn(
    'JWT_SECRET is not set: using a random secret for this process; tokens end when it stops and other instances reject them',
  );
  return randomBytes(48).toString('base64url');
}

export async function createDeps(config: Config, log: Logger): Promise<Deps> {
  const db = await openDatabase(config, log);
  let kv: KeyValueStore;
  try {
    kv = await openKeyValueStore(config, log);
  } catch (err) {
    await db.close();
    throw err;
  }
  if (kv.kind === 'memory' && config.DATABASE_URL) {
    log.warn(
      'REDIS_URL is not set: the cache is per process, so several instances would not see each other’s writes',
    );
  }
  const metrics = new Metrics();
  const processor = (name: 'default' | 'fallback', url: string) =>
    new ProcessorClient(name, url, config.PAYMENT_TIMEOUT_MS, config.PAYMENT_MAX_IN_FLIGHT);
  const processors = {
    default: processor('default', config.PAYMENT_PROCESSOR_URL_DEFAULT),
    fallback: processor('fallback', config.PAYMENT_PROCESSOR_URL_FALLBACK),
  };
  metrics.gauge('db_pool_connections', 'Database pool connections by state', ['state'], async () => [
    { labels: { state: 'total' }, value: db.pool.totalCount },
    { labels: { state: 'idle' }, value: db.pool.idleCount },
    { labels: { state: 'waiting' }, value: db.pool.waitingCount },
  ]);
  const orders = new OrderRepository(db.pool);
  metrics.gauge('order_queue_depth', 'Orders waiting for a worker (queued strategy)', [], async () => [
    { value: (await orders.queueStats()).depth },
  ]);
  const credit = new CreditRepository(db.pool, {
    postDb: config.CREDIT_ASYNC_COMMIT ? db.asyncCommitPool : db.pool,
    maxBatch: config.CREDIT_BATCH,
    concurrency: config.CREDIT_BATCH_CONCURRENCY,
    onBatch: (size) => metrics.creditBatch.observe(size),
  });
  const payments = new PaymentRepository(
    db.pool,
    config.PAYMENTS_ASYNC_COMMIT ? db.asyncCommitPool : db.pool,
  );
  metrics.gauge(
    'payment_queue_depth',
    'Payments accepted and not yet confirmed by a processor',
    [],
    async () => [{ value: (await payments.queueStats()).depth }],
  );
  metrics.gauge(
    'payment_queue_oldest_age_seconds',
    'Age of the oldest payment not yet confirmed',
    [],
    async () => [{ value: (await payments.queueStats()).oldestAgeSeconds }],
  );
  metrics.gauge(
    'order_queue_oldest_age_seconds',
    'Age of the oldest order waiting for a worker',
    [],
    async () => [{ value: (await orders.queueStats()).oldestAgeSeconds }],
  );
  // Children bound once: a labelled inc() per read would hash its labels every time.
  const lookups = { hit: metrics.cacheRequests.labels('hit'), miss: metrics.cacheRequests.labels('miss') };
  const catalogCache = new CatalogCache(
    kv,
    {
      ttlSeconds: config.CACHE_TTL_SECONDS,
      enabled: config.CACHE_ENABLED,
      nearMaxBytes: config.CACHE_NEAR_MAX_BYTES,
    },
    log,
    (result) => lookups[result].inc(),
  );
  return {
    config,
    log,
    version: VERSION,
    metrics,
    lifecycle: { draining: false },
    customers: new CustomerRepository(db.pool),
    refreshTokens: new RefreshTokenRepository(db.pool, config.REFRESH_TOKEN_TTL_SECONDS),
    orders,
    placer: new OrderPlacer(db.pool, config, (size) => metrics.orderBatch.observe(size)),
    payments,
    credit,
    processors,
    telegramLinks: new TelegramLinkRepository(db.pool),
    jwtSecret: jwtSecret(config, log),
    db,
    kv,
    catalog: { repository: new CatalogRepository(db.pool), cache: catalogCache },
    async close() {
      await Promise.all([payments.close(), credit.close()]);
      await catalogCache.close().catch(() => {});
      await Promise.all([processors.default.close(), processors.fallback.close()]);
      await kv.close();
      await db.close();
    },
  };
}
