import type pg from 'pg';
import type { Logger } from '../../platform/logger.ts';
import type { Metrics } from '../../platform/metrics.ts';
import { inSpan } from '../../platform/tracing.ts';
import { WakeLoop } from '../../platform/wake-loop.ts';
import { chooseProcessor } from './choose-processor.ts';
import { afterCall, type BreakerConfig, type BreakerState, breakerAt, CLOSED } from './circuit-breaker.ts';
import type { HealthMonitor } from './health-monitor.ts';
import type { Claimed, PaymentRepository } from './payments.repository.ts';
import type { CallOutcome, ProcessorClient, ProcessorName } from './processor-client.ts';

export interface PaymentWorkerOptions {
  batch: number;
  timeoutMs: number;
  maxWaitMs: number;
  maxOrderAttempts: number;
  /** How often an idle worker looks for due payments. */
  pollMs: number;
}

const BREAKER: BreakerConfig = { threshold: 5, openMs: 1000 };
const TRIAL_EVERY_MS = 250;
/** The longest a retry waits for an answer. */
const MAX_RETRY_TIMEOUT_MS = 10_000;
/** A lease's time beyond its call's budget: the claim's commit before the call, the record after it. */
const LEASE_MARGIN_MS = 2000;
/** While the default is usable, payments still asleep waiting for it are woken at most this often. */
const RELEASE_EVERY_MS = 1000;

/**
 * A pinned payment's earlier call went unanswered: asking again with the same
 * short budget would time out again while the processor stays slow, and the
 * payment would never settle. Each retry doubles the wait, up to 10 s.
 */
export function callTimeoutMs(baseMs: number, attempts: number, pinnedBefore: boolean): number {
  return pinnedBefore
    ? Math.max(baseMs, Math.min(MAX_RETRY_TIMEOUT_MS, baseMs * 2 ** Math.min(attempts, 6)))
    : baseMs;
}

/** Jittered exponential backoff for a payment's next attempt, 25 ms … 2 s. */
export function backoffMs(attempt: number, random = Math.random): number {
  const ceiling = Math.min(2000, 25 * 2 ** Math.min(attempt, 10));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * When a payment is next due after this call. A refused trial waits like the payments that were
 * not tried (see Decision); anything else backs off, an ambiguous trial included: it is pinned
 * now, and must be asked again soon.
 */
export function retryInMs(claimed: Claimed, outcome: CallOutcome, random = Math.random): number {
  const refused = outcome === 'failed' || outcome === 'unreachable';
  return refused && claimed.ifRefusedRetryInMs !== undefined
    ? claimed.ifRefusedRetryInMs
    : backoffMs(claimed.attempts, random);
}

/**
 * Takes accepted payments to the processors: claims and pins a batch (see
 * PaymentRepository.claim), calls the processors concurrently, records the
 * outcomes, feeds the circuit breakers. Payments are never dropped: a
 * payment nobody can take now is tried again later.
 */
export class PaymentWorker extends WakeLoop {
  /** When each processor last answered 200/422, and when the default last got a trial payment. */
  private readonly lastSuccessAt = new Map<ProcessorName, number>();
  private lastDefaultTrialAt = 0;
  private lastReleaseAt = 0;
  private readonly breakers = new Map<ProcessorName, BreakerState>([
    ['default', CLOSED],
    ['fallback', CLOSED],
  ]);
  private readonly payments: PaymentRepository;
  private readonly clients: Map<ProcessorName, ProcessorClient>;
  private readonly health: HealthMonitor;
  private readonly metrics: Metrics;
  private readonly opts: PaymentWorkerOptions;

  constructor(
    db: pg.Pool,
    payments: PaymentRepository,
    clients: ProcessorClient[],
    health: HealthMonitor,
    metrics: Metrics,
    log: Logger,
    opts: PaymentWorkerOptions,
  ) {
    // Polls, no NOTIFY per payment: every instance's worker woke for every payment, mostly to
    // find nothing, and a poll claims all that arrived since the last one in one statement.
    // bench:payments measured CPU 14.3 → 12.5 s, p99 unchanged (docs/decisions.md).
    super(db, log, { channel: 'armazem_payments', listen: false, idleMs: opts.pollMs });
    this.payments = payments;
    this.clients = new Map(clients.map((c) => [c.name, c]));
    this.health = health;
    this.metrics = metrics;
    this.opts = opts;
    const states = { closed: 0, 'half-open': 1, open: 2 } as const;
    metrics.gauge(
      'payment_circuit_state',
      'Circuit breaker per processor: 0 closed, 1 half-open, 2 open',
      ['processor'],
      async () =>
        [...this.breakers].map(([processor, b]) => ({
          labels: { processor },
          value: states[breakerAt(b, Date.now(), BREAKER).state],
        })),
    );
    metrics.gauge(
      'payment_processor_health',
      'Shared health probe: 1 healthy, 0 failing, -1 unknown',
      ['processor'],
      async () =>
        (['default', 'fallback'] as const).map((processor) => {
          const h = this.health.health(processor);
          return { labels: { processor }, value: h === null ? -1 : h.failing ? 0 : 1 };
        }),
    );
    metrics.gauge(
      'payment_processor_min_response_ms',
      'minResponseTime from the shared health probe',
      ['processor'],
      async () =>
        (['default', 'fallback'] as const).flatMap((processor) => {
          const h = this.health.health(processor);
          return h ? [{ labels: { processor }, value: h.minResponseTime }] : [];
        }),
    );
  }

  protected override async onStart(): Promise<void> {
    this.health.start();
  }

  protected override async onStop(): Promise<void> {
    this.health.stop();
  }

  /** Goes again at once only after a full batch: a smaller one took every due payment. */
  protected async step(): Promise<boolean> {
    return (await this.round()) >= this.opts.batch;
  }

  /** One round: claim, call, record. Returns how many payments it handled. */
  async round(): Promise<number> {
    const now = Date.now();
    const view = (name: ProcessorName) => ({
      health: this.health.health(name),
      breaker: breakerAt(this.breakers.get(name) ?? CLOSED, now, BREAKER).state,
      succeededSinceReport: (this.lastSuccessAt.get(name) ?? 0) > this.health.reportedAt(name),
    });
    // Each lease outlasts the call it covers (a first call's budget; a retry's longest), so no other
    // worker asks while a call is out, and no longer, so a killed worker's payments come back soon.
    // Asking early would be harmless anyway: a pinned payment is only ever asked of its processor.
    const lease = {
      leaseMs: this.opts.timeoutMs + LEASE_MARGIN_MS,
      retryLeaseMs: Math.max(this.opts.timeoutMs, MAX_RETRY_TIMEOUT_MS) + LEASE_MARGIN_MS,
    };
    const decisionInput = {
      default: view('default'),
      fallback: view('fallback'),
      maxWaitMs: this.opts.maxWaitMs,
      maxResponseTimeMs: this.opts.timeoutMs,
    };
    // Without a trial, the default is chosen only when it is usable, and then for every payment
    // however long it waited: one statement claims them all.
    const first = chooseProcessor({ ...decisionInput, oldestWaitMs: 0 });
    const defaultForAll = 'use' in first && first.use === 'default';
    // Payments another worker (or this one, before) put to sleep waiting for the default: wake
    // them all once our breaker is closed; while it is half-open, one sleeper a second (payments
    // arriving meanwhile still go to the default, as chooseProcessor says of half-open).
    if (defaultForAll && now - this.lastReleaseAt >= RELEASE_EVERY_MS) {
      this.lastReleaseAt = now;
      await this.payments.releaseWaiting(decisionInput.default.breaker === 'closed' ? null : 1);
    }
    const claimed = defaultForAll
      ? await this.payments.claimAllFor('default', this.opts.batch, lease)
      : await this.payments.claim(this.opts.batch, lease, (waitedMs) => {
          // At most four trial payments a second to a default that looks unusable.
          const defaultTrialDue = Date.now() - this.lastDefaultTrialAt >= TRIAL_EVERY_MS;
          const decision = chooseProcessor({ ...decisionInput, oldestWaitMs: waitedMs, defaultTrialDue });
          if (defaultTrialDue && 'use' in decision && decision.use === 'default')
            this.lastDefaultTrialAt = Date.now();
          return decision;
        });
    if (claimed.length === 0) return 0;
    // A span per round that found payments (idle polls would be noise), a child per processor call.
    return inSpan('payment-worker round', { 'armazem.payments.claimed': claimed.length }, async () => {
      const outcomes = await Promise.all(
        claimed.map(async (c) => {
          const client = this.clients.get(c.processor) as ProcessorClient;
          const timeout = callTimeoutMs(this.opts.timeoutMs, c.attempts, c.pinnedBefore);
          const outcome: CallOutcome = await inSpan(
            'processor call',
            { 'armazem.processor': c.processor, 'armazem.payment.attempt': c.attempts + 1 },
            async (span) => {
              const result = await client.pay(c.correlationId, c.amount, c.requestedAt, timeout);
              span.setAttributes({ 'armazem.processor.outcome': result });
              return result;
            },
          );
          this.breakers.set(
            c.processor,
            afterCall(
              this.breakers.get(c.processor) ?? CLOSED,
              outcome === 'accepted' || outcome === 'duplicate' ? 'success' : 'failure',
              Date.now(),
              BREAKER,
            ),
          );
          if (outcome === 'accepted' || outcome === 'duplicate')
            this.lastSuccessAt.set(c.processor, Date.now());
          this.metrics.payments.inc({ processor: c.processor, outcome });
          return { claimed: c, outcome, retryInMs: retryInMs(c, outcome) };
        }),
      );
      await this.payments.record(outcomes, this.opts.maxOrderAttempts);
      return claimed.length;
    });
  }
}
