import type { Config } from '../../config.ts';
import type { Database } from '../../platform/database.ts';
import type { KeyValueStore } from '../../platform/kv.ts';
import type { Logger } from '../../platform/logger.ts';
import type { Metrics } from '../../platform/metrics.ts';
import { HealthMonitor } from './health-monitor.ts';
import { PaymentWorker } from './payment-worker.ts';
import type { PaymentRepository } from './payments.repository.ts';
import type { ProcessorClient } from './processor-client.ts';

export function createPaymentWorker(deps: {
  config: Config;
  db: Database;
  kv: KeyValueStore;
  log: Logger;
  metrics: Metrics;
  payments: PaymentRepository;
  processors: { default: ProcessorClient; fallback: ProcessorClient };
}): PaymentWorker {
  const clients = [deps.processors.default, deps.processors.fallback];
  const worker = new PaymentWorker(
    deps.db.pool,
    deps.payments,
    clients,
    new HealthMonitor(deps.kv, clients, deps.config.INSTANCE_ID, deps.log),
    deps.metrics,
    deps.log,
    {
      batch: deps.config.PAYMENT_BATCH,
      timeoutMs: deps.config.PAYMENT_TIMEOUT_MS,
      maxWaitMs: deps.config.PAYMENT_MAX_WAIT_MS,
      longOutageMs: deps.config.PAYMENT_LONG_OUTAGE_MS,
      maxOrderAttempts: deps.config.PAYMENT_ORDER_MAX_ATTEMPTS,
      pollMs: deps.config.PAYMENT_POLL_MS,
      idlePollMaxMs: deps.config.PAYMENT_IDLE_POLL_MAX_MS,
      maxInFlight: deps.config.PAYMENT_MAX_IN_FLIGHT,
      maxFreshCalls: deps.config.PAYMENT_MAX_FRESH_CALLS,
    },
  );
  // A worker inside an instance hears of that instance's accepts at once, even when idle.
  deps.payments.onAccepted(() => worker.nudge());
  // …and takes its journal's accepts as they reach PostgreSQL, already pinned, without a claim.
  deps.payments.handOffTo(worker);
  return worker;
}
