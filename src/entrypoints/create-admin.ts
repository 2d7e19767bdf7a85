import { createDeps } from '../deps.ts';
import { ensureAdmin } from '../modules/customers/ensure-admin.ts';
import { createLogger } from '../platform/logger.ts';
import { migrate } from '../platform/migrations.ts';
import { loadConfigOrExit } from './load-config.ts';

// ADMIN_EMAIL=… ADMIN_PASSWORD=… npm run admin:create — from the environment,
// so the password never shows in a process list.
const config = loadConfigOrExit();
if (!config.ADMIN_EMAIL || !config.ADMIN_PASSWORD) {
  console.error('armazem: set ADMIN_EMAIL and ADMIN_PASSWORD (at least 10 characters) to create an admin');
  process.exit(78);
}
const log = createLogger(config);
const deps = await createDeps({ ...config, REDIS_URL: undefined }, log);
try {
  await migrate(deps.db.pool, log);
  await ensureAdmin(deps.customers, config.ADMIN_EMAIL, config.ADMIN_PASSWORD, log);
  log.info({ email: config.ADMIN_EMAIL }, 'admin account ready');
} finally {
  await deps.close();
  log.flush();
}
