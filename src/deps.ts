import { readFileSync } from 'node:fs';
import type { Config } from './config.ts';
import { CatalogCache } from './modules/catalog/catalog.cache.ts';
import { CatalogRepository } from './modules/catalog/catalog.repository.ts';
import { type Database, openDatabase } from './platform/database.ts';
import { type KeyValueStore, openKeyValueStore } from './platform/kv.ts';
import type { Logger } from './platform/logger.ts';

/** Everything an entry point needs, wired by hand: no container. */
export interface Deps {
  config: Config;
  log: Logger;
  version: string;
  db: Database;
  kv: KeyValueStore;
  catalog: { repository: CatalogRepository; cache: CatalogCache };
  close(): Promise<void>;
}

export const VERSION: string = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
).version;

/** Names the backends from configuration alone, so it can be the first log line. */
export function describeBackends(config: Config): string {
  const database = config.DATABASE_URL ? 'postgres (DATABASE_URL)' : `embedded PGlite in ${config.DATA_DIR}`;
  const cache = !config.CACHE_ENABLED ? 'off' : config.REDIS_URL ? 'redis (REDIS_URL)' : 'in-process memory';
  return `database: ${database}; cache: ${cache}`;
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
  return {
    config,
    log,
    version: VERSION,
    db,
    kv,
    catalog: {
      repository: new CatalogRepository(db.pool),
      cache: new CatalogCache(kv, config.CACHE_TTL_SECONDS, config.CACHE_ENABLED, log),
    },
    async close() {
      await kv.close();
      await db.close();
    },
  };
}
