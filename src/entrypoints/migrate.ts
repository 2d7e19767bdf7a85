import { createDeps } from '../deps.ts';
import { createLogger } from '../platform/logger.ts';
import { migrate } from '../platform/migrations.ts';
import { loadConfigOrExit } from './load-config.ts';

const config = loadConfigOrExit();
const log = createLogger(config);
const deps = await createDeps({ ...config, CACHE_ENABLED: false, REDIS_URL: undefined }, log);
try {
  const applied = await migrate(deps.db.pool, log);
  log.info({ applied }, applied.length ? `applied ${applied.length} migration(s)` : 'database is up to date');
} finally {
  await deps.close();
}
