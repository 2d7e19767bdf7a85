import closeWithGrace from 'close-with-grace';
import { buildApp } from '../../app.ts';
import { createDeps, describeBackends } from '../../deps.ts';
import { ensureContestClients } from '../../modules/credit/contest-clients.ts';
import { openHeldAccounts } from '../../modules/credit/held-accounts.ts';
import { ensureAdmin } from '../../modules/customers/ensure-admin.ts';
import { registerInvariantGauges } from '../../modules/ops/invariant-gauges.ts';
import { drain } from '../../modules/ops/ops-server.ts';
import { createOrderWorker } from '../../modules/orders/create-worker.ts';
import { openAcceptJournal } from '../../modules/payments/accept-journal.ts';
import { createPaymentWorker } from '../../modules/payments/create-worker.ts';
import { createLogger } from '../../platform/logger.ts';
import { stopTracing } from '../../platform/tracing.ts';
import { loadConfigOrExit } from '../load-config.ts';

const config = loadConfigOrExit();
const log = createLogger(config);
log.info({ port: config.PORT }, `armazem starting — ${describeBackends(config)}`);

const deps = await createDeps(config, log);
// Loaded only when used: node-pg-migrate costs memory in every process that loads it (instances behind a stack that migrates once skip it).
if (config.MIGRATE_ON_START) await (await import('../../platform/migrations.ts')).migrate(deps.db.pool, log);
if (config.ADMIN_EMAIL && config.ADMIN_PASSWORD)
  await ensureAdmin(deps.customers, config.ADMIN_EMAIL, config.ADMIN_PASSWORD, log);
if (config.CREDIT_CONTEST_ROUTES) {
  const created = await ensureContestClients(deps.db.pool, deps.customers);
  if (created.length > 0) log.info({ clients: created }, 'Rinha 2024/Q1 contest clients created');
  // The contest's accounts held in this instance's memory, with a journal of its own.
  if (config.CREDIT_JOURNAL_DIR) await openHeldAccounts(deps, config.CREDIT_JOURNAL_DIR);
}
// Only the role that answers POST /payments owns a journal: it is this instance's alone.
if (config.PAYMENTS_JOURNAL_DIR) openAcceptJournal(deps, config.PAYMENTS_JOURNAL_DIR);
const app = await buildApp(deps);
// The embedded single process runs the order worker too; deployments run it as its own role.
const inProcess = config.WORKER_IN_PROCESS ?? !config.DATABASE_URL;
const worker = inProcess ? createOrderWorker(deps) : null;
const paymentWorker = inProcess ? createPaymentWorker(deps) : null;
if (inProcess) registerInvariantGauges(deps);
app.addHook('onClose', async () => {
  await Promise.all([worker?.stop(), paymentWorker?.stop()]);
  await deps.close();
});

// SIGTERM/SIGINT: stop accepting, let in-flight requests finish, close pools.
closeWithGrace({ delay: config.SHUTDOWN_TIMEOUT_MS + config.SHUTDOWN_DRAIN_MS }, async ({ signal, err }) => {
  if (err) log.error({ err }, 'fatal error; shutting down');
  else log.info({ signal }, 'shutting down');
  if (!err) await drain(deps);
  await app.close();
  await stopTracing();
  log.info('stopped');
  log.flush();
});

if (config.CREDIT_WARMUP && config.CREDIT_CONTEST_ROUTES) {
  // Best effort: a warm-up that fails leaves a slower first second, not an instance that cannot start.
  const { warmUpCredit } = await import('../../modules/credit/warm-up.ts');
  await warmUpCredit(app, deps.credit, {
    // Every connection a pool may open: one opened under the first burst costs that request a
    // backend's start (docs/decisions.md).
    connections: config.DB_POOL_MAX,
    rounds: 200,
  }).catch((err: unknown) => log.warn({ err }, 'credit warm-up failed'));
}
await worker?.start();
await paymentWorker?.start();
await app.listen({ host: config.HOST, port: config.PORT });
log.flush();
