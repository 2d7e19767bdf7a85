import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics, one registry per process (per app in tests). Values
 * that live elsewhere (pool sizes, queue depth) are read when scraped.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    // From 0.5 ms: cached reads answer in well under a millisecond.
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly cacheRequests = new Counter({
    name: 'catalog_cache_requests_total',
    help: 'Catalog cache lookups by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly payments = new Counter({
    name: 'payments_processor_calls_total',
    help: 'Calls to the payment processors by processor and outcome',
    labelNames: ['processor', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly creditBatch = new Histogram({
    name: 'credit_batch_size',
    help: 'Credits and debits applied per database statement (group commit)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [this.registry],
  });
  readonly orderBatch = new Histogram({
    name: 'order_batch_size',
    help: 'Orders decided per database statement (ORDER_CONCURRENCY=batched)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [this.registry],
  });

  readonly botUpdates = new Histogram({
    name: 'bot_update_duration_seconds',
    help: 'Telegram updates handled by the bot, by kind, and how long each took',
    labelNames: ['type'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  constructor() {
    // The event-loop delay histogram samples every 100 ms, not prom-client's 10: each sample is a
    // timer that wakes the process, 100 times a second even when idle (docs/decisions.md).
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
  }

  /** A gauge computed at scrape time; a failing reader leaves the gauge out of that scrape. */
  gauge(
    name: string,
    help: string,
    labelNames: string[],
    read: () => Promise<Array<{ labels?: Record<string, string>; value: number }>>,
  ): void {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        try {
          for (const { labels, value } of await read()) {
            if (labels) this.set(labels, value);
            else this.set(value);
          }
        } catch {
          // The dependency is down; /health says so.
        }
      },
    });
  }
}
