import type pg from 'pg';
import { Batcher } from '../../platform/batcher.ts';
import type { Logger } from '../../platform/logger.ts';
import type { Metrics } from '../../platform/metrics.ts';
import { inSpan } from '../../platform/tracing.ts';
import { WakeLoop } from '../../platform/wake-loop.ts';
import type { Handoff, HandoffOffer, RidingOutcomes } from './accept-journal.ts';
import { chooseProcessor, type Decision, NO_OUTAGE, type Outage, observe } from './choose-processor.ts';
import { afterCall, type BreakerConfig, type BreakerState, breakerAt, CLOSED } from './circuit-breaker.ts';
import type { Lease } from './claim.ts';
import type { HealthMonitor } from './health-monitor.ts';
import type { Claimed, PaymentRepository } from './payments.repository.ts';
import type { CallOutcome, ProcessorClient, ProcessorName } from './processor-client.ts';
import { outcomeValues } from './record-outcome.ts';

type Outcome = Parameters<PaymentRepository['record']>[0][number];

export interface PaymentWorkerOptions {
  batch: number;
  timeoutMs: number;
  maxWaitMs: number;
  /** An outage of the default this long sends every payment to the fallback (chooseProcessor). */
  longOutageMs: number;
  maxOrderAttempts: number;
  /** How often an idle worker looks for due payments. */
  pollMs: number;
  /** An idle worker's polls slow down to this (see WakeLoop); an accept in this process wakes it. */
  idlePollMaxMs: number;
  /** Payments whose calls may be out at once: a slow processor holds up no claim until this many wait on it. */
  maxInFlight: number;
  /** Calls sent less than FRESH_CALL_MS ago that may be out at once (see FRESH_CALL_MS). */
  maxFreshCalls: number;
}

const BREAKER: BreakerConfig = { threshold: 5, openMs: 1000 };
const TRIAL_EVERY_MS = 250;
/** The longest a call waits for an answer. */
const MAX_RETRY_TIMEOUT_MS = 10_000;
/**
 * A processor whose health report says it answers slower than this is not used (it counts as
 * down): a first call waits up to twice the reported time, and no call waits longer than 10 s.
 */
export const MAX_REPORTED_RESPONSE_MS = MAX_RETRY_TIMEOUT_MS / 2;
/** A lease's time beyond its call's budget: the claim's commit before the call, the record after it. */
const LEASE_MARGIN_MS = 2000;
/** While the default is usable, payments still asleep waiting for it are woken at most this often. */
const RELEASE_EVERY_MS = 1000;
/**
 * How long the loop waits for a round's calls before it claims again. A fast processor answers
 * within it, so a backlog drains a batch at a time and a failing processor's breaker opens
 * before more is sent; a slow one's calls are left out, and what arrives meanwhile goes too.
 */
const ROUND_PATIENCE_MS = 100;
/**
 * Calls a processor may have out at once when none of ours succeeded there in the last second:
 * enough to learn that it works, not a flood while its report is stale and it fails slowly (the
 * official table's fallback, failing after 1 s: 2,000 calls out at once took p99 to 1.1 s).
 */
const UNPROVEN_IN_FLIGHT = 20;
const PROVEN_FOR_MS = 1000;
/**
 * A call out longer than this is waiting on a slow processor and costs no CPU meanwhile; younger
 * ones are capped (maxFreshCalls), so a backlog drains at the pace the processor answers, not in
 * one burst that leaves no CPU for accepts, while a slow processor still gets up to maxInFlight.
 */
const FRESH_CALL_MS = 100;
/**
 * While the default is down and every due payment was told to wait, the loop looks again after
 * this, accepts or not: a payment put to sleep later waits no longer (its wait counts from its
 * accept), and each look is a transaction of several round trips.
 */
const OUTAGE_POLL_MS = 100;
/**
 * A claim cut short by the fresh-call cap or a processor's room left payments due (a backlog, or
 * a slow processor's stream): the next claim goes after this, not after the steady poll, so they
 * go at the pace the cap was measured at, while a stream the processors keep up with is claimed
 * in fewer, larger polls.
 */
const CAPPED_POLL_MS = 25;
/**
 * A handed-off call's outcome waits for the journal's next INSERT (it comes within
 * PAYMENTS_JOURNAL_FLUSH_MS while accepts flow) until this long after the payment's requestedAt,
 * then is recorded on its own; one whose call took longer is recorded at once. An auditor reading
 * our summary next to the processors' up to 100 ms ago (the contest's) sees every payment the
 * processor took by then only if we record it soon after: the later the record, the more of
 * those reads race with it.
 */
const RECORD_WITHIN_MS = 50;

/**
 * How long a call waits for its answer. A processor that reports answering
 * in `reportedMs` gets twice that: a call that gives up before the processor
 * answers leaves the payment ambiguous — the processor will have it, we will
 * not know until we ask again, and an auditor comparing the two meanwhile
 * sees a difference. A pinned payment's earlier call went unanswered: asking
 * again with the same short budget would time out again while the processor
 * stays slow, and the payment would never settle. Each retry doubles the
 * wait. Never over 10 s.
 */
export function callTimeoutMs(
  baseMs: number,
  attempts: number,
  pinnedBefore: boolean,
  reportedMs = 0,
): number {
  const first = Math.max(baseMs, Math.min(MAX_RETRY_TIMEOUT_MS, 2 * reportedMs));
  return pinnedBefore
    ? Math.max(first, Math.min(MAX_RETRY_TIMEOUT_MS, baseMs * 2 ** Math.min(attempts, 6)))
    : first;
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
export class PaymentWorker extends WakeLoop implements Handoff {
  /** When each processor last answered 200/422, and when the default last got a trial payment. */
  private readonly lastSuccessAt = new Map<ProcessorName, number>();
  private lastDefaultTrialAt = 0;
  private lastReleaseAt = 0;
  /** Since when the default has been down (see observe). */
  private defaultOutage: Outage = NO_OUTAGE;
  private readonly breakers = new Map<ProcessorName, BreakerState>([
    ['default', CLOSED],
    ['fallback', CLOSED],
  ]);
  /** Rounds whose calls are still out, how many payments they hold, and calls out per processor. */
  private readonly rounds = new Set<Promise<void>>();
  private inFlight = 0;
  /** Calls sent less than FRESH_CALL_MS ago and not answered, and who waits for one to age or end. */
  private fresh = 0;
  private freshFreed: (() => void) | null = null;
  private readonly calling = new Map<ProcessorName, number>([
    ['default', 0],
    ['fallback', 0],
  ]);
  /** Each call's outcome is recorded as soon as it comes, with those that came meanwhile (group commit). */
  private readonly recorder: Batcher<Outcome, undefined>;
  /** Outcomes of handed-off calls waiting for the journal's next INSERT (see takeOutcomes). */
  private riding: Array<{ outcome: Outcome; resolve: () => void; reject: (err: unknown) => void }> = [];
  /** Records them on their own when the soonest is due, if no INSERT took them first. */
  private rideTimer: { timer: NodeJS.Timeout; dueAt: number } | null = null;
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
    // find nothing, and a poll claims all that arrived since the last one in one statement:
    // less CPU for the same p99 (docs/decisions.md has the measurement).
    super(db, log, {
      channel: 'armazem_payments',
      listen: false,
      idleMs: opts.pollMs,
      maxIdleMs: opts.idlePollMaxMs,
    });
    this.payments = payments;
    this.clients = new Map(clients.map((c) => [c.name, c]));
    this.health = health;
    this.metrics = metrics;
    this.opts = opts;
    this.recorder = new Batcher(
      async (outcomes) => {
        await payments.record(outcomes, opts.maxOrderAttempts);
        return outcomes.map(() => undefined);
      },
      { maxBatch: opts.batch },
    );
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

  /** Lets the calls still out finish and their outcomes be recorded. */
  protected override async onStop(): Promise<void> {
    await Promise.all(this.rounds);
    this.health.stop();
  }

  /**
   * Goes again at once only after a full batch: a smaller one took every due payment. A round's
   * calls are waited for ROUND_PATIENCE_MS at most: payments that arrive while a processor is
   * slow go out meanwhile, up to maxInFlight; past that, the loop waits for a round to finish.
   */
  protected async step(): Promise<boolean | 'some' | { pauseMs: number }> {
    if (this.inFlight >= this.opts.maxInFlight) {
      await Promise.race(this.rounds);
      return true;
    }
    if (this.fresh >= this.opts.maxFreshCalls) {
      await new Promise<void>((resolve) => (this.freshFreed = resolve));
      return true;
    }
    const round = await this.round();
    if (round === 'waiting') return { pauseMs: OUTAGE_POLL_MS };
    if (!round) return false;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([round.done, new Promise((r) => (timer = setTimeout(r, ROUND_PATIENCE_MS)))]);
    clearTimeout(timer);
    // A full batch: more may be due now. One the cap cut short: more are due too, claimed at the
    // capped pace. A partial one: payments are flowing, poll at the usual pace.
    if (round.claimed >= this.opts.batch) return true;
    return round.claimed >= round.limit ? { pauseMs: Math.min(CAPPED_POLL_MS, this.opts.pollMs) } : 'some';
  }

  /**
   * What this moment's decision is built from, and the lease a claim takes: the breakers and the
   * shared health reports, the default's outage so far.
   */
  private situation(now: number) {
    const view = (name: ProcessorName) => ({
      health: this.health.health(name),
      breaker: breakerAt(this.breakers.get(name) ?? CLOSED, now, BREAKER).state,
      succeededSinceReport: (this.lastSuccessAt.get(name) ?? 0) > this.health.reportedAt(name),
    });
    const defaultView = view('default');
    const report = this.health.health('default');
    if (report)
      this.defaultOutage = observe(
        this.defaultOutage,
        this.health.reportedAt('default'),
        !report.failing && report.minResponseTime <= MAX_REPORTED_RESPONSE_MS,
      );
    if (defaultView.breaker === 'open') this.defaultOutage = observe(this.defaultOutage, now, false);
    const downSince = this.defaultOutage.since;
    // Each lease outlasts the call it covers (a first call's budget — up to twice a processor's
    // reported response time — or a retry's longest), so no other worker asks while a call is out,
    // and no longer, so a killed worker's payments come back soon. Asking early would be harmless
    // anyway: a pinned payment is only ever asked of its processor.
    const reportedMs = Math.max(
      this.health.health('default')?.minResponseTime ?? 0,
      this.health.health('fallback')?.minResponseTime ?? 0,
    );
    const lease = {
      leaseMs: callTimeoutMs(this.opts.timeoutMs, 0, false, reportedMs) + LEASE_MARGIN_MS,
      retryLeaseMs: Math.max(this.opts.timeoutMs, MAX_RETRY_TIMEOUT_MS) + LEASE_MARGIN_MS,
    };
    const decisionInput = {
      default: defaultView,
      fallback: view('fallback'),
      maxWaitMs: this.opts.maxWaitMs,
      maxResponseTimeMs: MAX_REPORTED_RESPONSE_MS,
      defaultDownForMs: downSince === null ? 0 : now - downSince,
      longOutageMs: this.opts.longOutageMs,
    };
    // When the decision does not depend on how long a payment waited — the default usable, or
    // down so long that everything goes to the fallback — every due payment goes to one processor
    // (a long outage's trial of the default takes one more, in round()).
    const first = chooseProcessor({ ...decisionInput, oldestWaitMs: 0 });
    const trialDue = now - this.lastDefaultTrialAt >= TRIAL_EVERY_MS;
    const forAll =
      'use' in first && (first.use === 'default' || !trialDue || decisionInput.default.breaker === 'open')
        ? first.use
        : null;
    return { decisionInput, lease, first, forAll };
  }

  /** Calls a processor may still get from this worker now: its proven room, and the fresh-call cap. */
  private room(name: ProcessorName, now: number): number {
    const proven = now - (this.lastSuccessAt.get(name) ?? 0) <= PROVEN_FOR_MS;
    return Math.min(
      (proven ? this.opts.maxInFlight : UNPROVEN_IN_FLIGHT) - (this.calling.get(name) ?? 0),
      this.opts.maxFreshCalls - this.fresh,
    );
  }

  /**
   * The journal's handoff (accept-journal.ts): new accepts go in pinned to the processor every
   * payment goes to now, as many as a claim would take, and their calls start when they commit.
   * None while the decision depends on how long payments waited, or while stopping.
   */
  offer(count: number): HandoffOffer | null {
    if (!this.started) return null;
    const now = Date.now();
    const { forAll, lease } = this.situation(now);
    if (!forAll) return null;
    const take = Math.min(count, this.opts.batch, this.room(forAll, now));
    return take > 0 ? { take, processor: forAll, requestedAt: new Date(now), leaseMs: lease.leaseMs } : null;
  }

  /** The rows the journal inserted pinned to this worker: called as a claim's would be. */
  adopt(claimed: Claimed[]): void {
    this.dispatch(claimed, true);
  }

  /** The outcomes of handed-off calls for the journal's next INSERT to record (see Handoff). */
  takeOutcomes(): RidingOutcomes | null {
    if (this.riding.length === 0) return null;
    const taken = this.riding;
    this.riding = [];
    if (this.rideTimer) clearTimeout(this.rideTimer.timer);
    this.rideTimer = null;
    return {
      values: outcomeValues(
        taken.map((r) => r.outcome),
        this.opts.maxOrderAttempts,
      ),
      recorded: () => {
        for (const r of taken) r.resolve();
      },
      // With the recorder, which retries while the database is away.
      recordAlone: () => {
        for (const r of taken) this.recorder.submit(r.outcome).then(r.resolve, r.reject);
      },
    };
  }

  /** Records a handed-off call's outcome with the journal's next INSERT, or on its own (see RECORD_WITHIN_MS). */
  private ride(outcome: Outcome): Promise<void> {
    const leftMs = RECORD_WITHIN_MS - (Date.now() - outcome.claimed.requestedAt.getTime());
    if (leftMs <= 0) return this.recorder.submit(outcome);
    return new Promise((resolve, reject) => {
      this.riding.push({ outcome, resolve, reject });
      const dueAt = Date.now() + leftMs;
      if (this.rideTimer && this.rideTimer.dueAt <= dueAt) return;
      if (this.rideTimer) clearTimeout(this.rideTimer.timer);
      this.rideTimer = { timer: setTimeout(() => this.takeOutcomes()?.recordAlone(), leftMs), dueAt };
    });
  }

  /**
   * One round: claim, then call and record in the background. Null when nothing was due;
   * 'waiting' when the decision depended on how long payments waited and all must wait.
   */
  async round(): Promise<{ claimed: number; limit: number; done: Promise<void> } | 'waiting' | null> {
    const now = Date.now();
    const { decisionInput, lease, first, forAll } = this.situation(now);
    // Payments another worker (or this one, before) put to sleep waiting for a processor: wake
    // them all once the one that takes every payment has its breaker closed; while it is
    // half-open, one sleeper a second (payments arriving meanwhile still go to it, as
    // chooseProcessor says of half-open).
    if (forAll && now - this.lastReleaseAt >= RELEASE_EVERY_MS) {
      this.lastReleaseAt = now;
      await this.payments.releaseWaiting(decisionInput[forAll].breaker === 'closed' ? null : 1);
    }
    // A processor that has not proven itself lately gets a few calls, not a batch after a batch.
    const room = (name: ProcessorName) => this.room(name, now);
    const batch = Math.min(this.opts.batch, this.opts.maxFreshCalls - this.fresh);
    // A long outage with a trial of the default due: the decision still does not depend on how
    // long a payment waited, so one statement claims the trial (the oldest due payment) for the
    // default and another the rest for the fallback, instead of the deciding transaction.
    const trialThenFallback = !forAll && 'use' in first;
    const limit = forAll
      ? Math.min(batch, room(forAll))
      : trialThenFallback
        ? Math.min(batch, 1 + room('fallback'))
        : batch;
    if (limit <= 0) return null;
    const claimed = forAll
      ? await this.payments.claimAllFor(forAll, limit, lease)
      : trialThenFallback
        ? await this.trialThenFallback(
            limit,
            lease,
            chooseProcessor({ ...decisionInput, oldestWaitMs: 0, defaultTrialDue: true }),
          )
        : await this.payments.claim(limit, lease, (waitedMs) => {
            // At most four trial payments a second to a default that looks unusable.
            const defaultTrialDue = Date.now() - this.lastDefaultTrialAt >= TRIAL_EVERY_MS;
            const decision = chooseProcessor({ ...decisionInput, oldestWaitMs: waitedMs, defaultTrialDue });
            if (defaultTrialDue && 'use' in decision && decision.use === 'default')
              this.lastDefaultTrialAt = Date.now();
            return decision;
          });
    if (claimed.length === 0)
      return forAll || trialThenFallback || this.defaultOutage.since === null ? null : 'waiting';
    return { claimed: claimed.length, limit, done: this.dispatch(claimed, false) };
  }

  /**
   * Calls and records the claimed payments in the background; resolves when all are recorded.
   * `handedOff`: the journal inserted them, and records their outcomes with its next INSERT.
   */
  private dispatch(claimed: Claimed[], handedOff: boolean): Promise<void> {
    this.inFlight += claimed.length;
    // A span per round that found payments (idle polls would be noise), a child per processor call.
    const round = inSpan('payment-worker round', { 'armazem.payments.claimed': claimed.length }, async () => {
      await Promise.all(claimed.map((c) => this.settle(c, handedOff)));
    })
      // A payment whose outcome could not be recorded stays claimed until its lease runs out, then
      // is asked of the same processor again: nothing is lost, and the loop goes on.
      .catch((err) =>
        this.log.error({ err }, 'payment outcomes not recorded; their leases will bring them back'),
      )
      .finally(() => {
        this.inFlight -= claimed.length;
        this.rounds.delete(round);
      });
    this.rounds.add(round);
    return round;
  }

  /**
   * The trial (the oldest due payment) for the default, the rest for the fallback. A payment
   * pinned before stays with its processor and is no trial.
   */
  private async trialThenFallback(limit: number, lease: Lease, trial: Decision): Promise<Claimed[]> {
    const tried = await this.payments.claimAllFor('default', 1, lease);
    if (tried.some((c) => !c.pinnedBefore)) this.lastDefaultTrialAt = Date.now();
    const ifRefusedRetryInMs = 'use' in trial ? trial.ifRefusedRetryInMs : undefined;
    const rest =
      limit > tried.length ? await this.payments.claimAllFor('fallback', limit - tried.length, lease) : [];
    return [
      ...tried.map((c) =>
        c.pinnedBefore || ifRefusedRetryInMs === undefined ? c : { ...c, ifRefusedRetryInMs },
      ),
      ...rest,
    ];
  }

  private freshEnded(): void {
    this.fresh--;
    const wake = this.freshFreed;
    this.freshFreed = null;
    wake?.();
  }

  /** Calls the payment's processor, feeds the breakers, records the outcome. */
  private async settle(c: Claimed, handedOff: boolean): Promise<void> {
    const client = this.clients.get(c.processor) as ProcessorClient;
    const timeout = callTimeoutMs(
      this.opts.timeoutMs,
      c.attempts,
      c.pinnedBefore,
      this.health.health(c.processor)?.minResponseTime,
    );
    this.calling.set(c.processor, (this.calling.get(c.processor) ?? 0) + 1);
    this.fresh++;
    let aged = false;
    const ageing = setTimeout(() => {
      aged = true;
      this.freshEnded();
    }, FRESH_CALL_MS);
    const outcome: CallOutcome = await inSpan(
      'processor call',
      { 'armazem.processor': c.processor, 'armazem.payment.attempt': c.attempts + 1 },
      async (span) => {
        const result = await client.pay(c.correlationId, c.amount, c.requestedAt, timeout);
        span.setAttributes({ 'armazem.processor.outcome': result });
        return result;
      },
    );
    this.calling.set(c.processor, (this.calling.get(c.processor) ?? 1) - 1);
    clearTimeout(ageing);
    if (!aged) this.freshEnded();
    const ok = outcome === 'accepted' || outcome === 'duplicate';
    this.breakers.set(
      c.processor,
      afterCall(this.breakers.get(c.processor) ?? CLOSED, ok ? 'success' : 'failure', Date.now(), BREAKER),
    );
    if (ok) this.lastSuccessAt.set(c.processor, Date.now());
    if (c.processor === 'default') this.defaultOutage = observe(this.defaultOutage, Date.now(), ok);
    // An earlier call went unanswered and this one settles nothing either (a failing processor
    // answers 500 before it looks for duplicates): the processor may hold the payment all the
    // same, stored after we stopped waiting. Asking settles it; it says nothing of the processor's
    // health, so the breaker and the outage went by the call alone.
    const settled = !ok && c.pinnedBefore && (await client.holds(c.correlationId)) ? 'duplicate' : outcome;
    this.metrics.payments.inc({ processor: c.processor, outcome: settled });
    const told = { claimed: c, outcome: settled, retryInMs: retryInMs(c, settled) };
    await (handedOff ? this.ride(told) : this.recorder.submit(told));
  }
}
