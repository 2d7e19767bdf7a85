import closeWithGrace from 'close-with-grace';
import { createDeps } from '../../deps.ts';
import { registerInvariantGauges } from '../../modules/ops/invariant-gauges.ts';
import { drain, serveOps } from '../../modules/ops/ops-server.ts';
import { createOrderWorker } from '../../modules/orders/create-worker.ts';
import { createPaymentWorker } from '../../modules/payments/create-worker.ts';
import { createLogger } from '../../platform/logger.ts';
import { stopTracing } from '../../platform/tracing.ts';
import { loadConfigOrExit } from '../load-config.ts';

// The worker role: reserves queued orders, cancels expired reservations, takes payments to the processors.
const config = loadConfigOrExit();
const log = createLogger(config);
log.info({ instance: config.INSTANCE_ID }, 'armazem worker starting');
const deps = await createDeps(config, log);
// Loaded only when used: node-pg-migrate costs memory in every process that loads it (instances behind a stack that migrates once skip it).
if (config.MIGRATE_ON_START) await (await import('../../platform/migrations.ts')).migrate(deps.db.pool, log);
const worker = createOrderWorker(deps);
registerInvariantGauges(deps);
const payments = createPaymentWorker(deps);
await worker.start();
await payments.start();
// No HTTP API here, but its breakers should be scraped and its probes answered like the rest.
const metricsServer = config.WORKER_METRICS_PORT
  ? serveOps(deps, config.WORKER_METRICS_PORT, config.HOST)
  : null;
log.info('worker ready');
log.flush();

// SIGTERM: finish the batch in hand (its transaction commits or rolls back), then close.
closeWithGrace({ delay: config.SHUTDOWN_TIMEOUT_MS + config.SHUTDOWN_DRAIN_MS }, async ({ signal, err }) => {
  if (err) log.error({ err }, 'fatal error; shutting down');
  else log.info({ signal }, 'worker shutting down');
  await drain(deps);
  metricsServer?.close();
  await Promise.all([worker.stop(), payments.stop()]);
  await deps.close();
  await stopTracing();
  log.info('stopped');
  log.flush();
});
