import { createDeps } from '../deps.ts';
import { seedCatalog } from '../modules/catalog/seed-data.ts';
import { createLogger } from '../platform/logger.ts';
import { migrate } from '../platform/migrations.ts';
import { loadConfigOrExit } from './load-config.ts';

const config = loadConfigOrExit();
const log = createLogger(config);
const deps = await createDeps(config, log);
try {
  await migrate(deps.db.pool, log);
  const inserted = await seedCatalog(deps.db.pool, deps.catalog.cache);
  log.info(
    { inserted: inserted.length },
    inserted.length ? `seeded ${inserted.length} products` : 'sample products already present',
  );
} finally {
  await deps.close();
}
