import { openDatabase } from '../platform/database.ts';
import { createLogger } from '../platform/logger.ts';
import { migrate } from '../platform/migrations.ts';
import { loadConfigOrExit } from './load-config.ts';

const config = loadConfigOrExit();
const log = createLogger(config);
const db = await openDatabase(config, log);
try {
  const applied = await migrate(db.pool, log);
  if (applied.length === 0) log.info('database is up to date');
} finally {
  await db.close();
}
