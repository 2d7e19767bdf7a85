/**
 * Which processor gets the next payment: a pure decision, fed by what I/O
 * collected (the shared health probe, our own calls' circuit breakers, how
 * long the payment has waited, how long the default has been down).
 * Table-tested.
 *
 * The economics: a payment earns 95 % of its amount on the default
 * processor, 85 % on the fallback, and nothing while it waits; a payment
 * still waiting when the totals are read is revenue lost. So the default is
 * used whenever it is usable, even when slow; a short outage of the default
 * is waited out (waiting is free while the payment is durable); once the
 * outage is long (longOutageMs) it may last to the end, so every payment goes
 * to the fallback at once and nothing piles up; a payment that waited past
 * its own budget (maxWaitMs) goes too. When neither is usable, payments wait
 * and retry.
 */
export interface ProcessorView {
  /** From the health probe shared by all instances; null when unknown or stale. */
  health: { failing: boolean; minResponseTime: number } | null;
  /** Our own calls' circuit breaker. */
  breaker: 'closed' | 'open' | 'half-open';
  /** One of our calls succeeded after that health report was made: the report is out of date. */
  succeededSinceReport?: boolean;
}

export interface DecisionInput {
  default: ProcessorView;
  fallback: ProcessorView;
  /** How long the payment being decided has waited. */
  oldestWaitMs: number;
  /** Past this, a payment the default cannot take goes to the fallback. */
  maxWaitMs: number;
  /** How long the default has been down: since the first sign of trouble after its last success (0 while up). */
  defaultDownForMs?: number;
  /** An outage of the default this long is a long one: no payment waits for it any more. */
  longOutageMs?: number;
  /** A processor slower than this (by its own health report) is treated as unusable for now. */
  maxResponseTimeMs: number;
  /**
   * The default looks unusable, but it is time for one trial payment to it
   * (at most a few per second): the health report is up to 5 s old, and the
   * default may be back. Without trials, every payment that waited past the
   * budget would go to the dearer fallback until the next report.
   */
  defaultTrialDue?: boolean;
}

/**
 * A trial payment carries `ifRefusedRetryInMs`: refused, it waits like the others instead of
 * backing off, or it would come due again while a trial is due and become a probe that never
 * sleeps (and, paying an order, would use up the order's attempts).
 */
export type Decision =
  | { use: 'default' | 'fallback'; ifRefusedRetryInMs?: number }
  | { wait: true; retryInMs: number };

/** Usable: not open, not reported failing, not reported too slow. Unknown health counts as usable. */
export function usable(p: ProcessorView, maxResponseTimeMs: number): boolean {
  if (p.breaker === 'open') return false;
  if (!p.health || p.succeededSinceReport) return true;
  return !p.health.failing && p.health.minResponseTime <= maxResponseTimeMs;
}

export function chooseProcessor(input: DecisionInput): Decision {
  if (usable(input.default, input.maxResponseTimeMs)) return { use: 'default' };
  const fallbackUsable = usable(input.fallback, input.maxResponseTimeMs);
  if (input.defaultTrialDue && input.default.breaker !== 'open')
    return { use: 'default', ifRefusedRetryInMs: waitMs(input, fallbackUsable) };
  const longOutage = (input.defaultDownForMs ?? 0) >= (input.longOutageMs ?? Number.POSITIVE_INFINITY);
  if ((longOutage || input.oldestWaitMs >= input.maxWaitMs) && fallbackUsable) return { use: 'fallback' };
  return { wait: true, retryInMs: waitMs(input, fallbackUsable) };
}

/** With no processor usable, how often a waiting payment looks again by itself. */
const IDLE_RECHECK_MS = 5000;

/**
 * Wait for the default until the payment's budget runs out or the outage becomes long, whichever
 * comes first: a worker that sees the default usable again releases waiting payments at once
 * (PaymentRepository.releaseWaiting), so nothing needs to look sooner. Past both, a refused trial
 * goes to the usable fallback at once; with no processor usable, a worker that sees either take
 * payments again wakes the sleepers, so they look again by themselves only every few seconds
 * (every look rewrites the row).
 * Whole milliseconds: waits are measured in fractions, and the deferral is stored as an integer.
 */
function waitMs(input: DecisionInput, fallbackUsable: boolean): number {
  const left = Math.ceil(
    Math.min(
      input.maxWaitMs - input.oldestWaitMs,
      (input.longOutageMs ?? Number.POSITIVE_INFINITY) - (input.defaultDownForMs ?? 0),
    ),
  );
  if (left > 0) return left;
  return fallbackUsable ? 0 : IDLE_RECHECK_MS;
}

/**
 * When the default's current outage began (`since`, null while it works), from signs that come
 * in any order: our calls (a success is a sign it works; a refusal or no answer, of trouble), the
 * shared health report (made at its own time), our breaker opening. A sign older than the
 * latest sign of the other kind changes nothing: a report made before our last success does not
 * start an outage again.
 */
export interface Outage {
  since: number | null;
  lastOkAt: number;
}

export const NO_OUTAGE: Outage = { since: null, lastOkAt: 0 };

export function observe(o: Outage, at: number, ok: boolean): Outage {
  if (ok) {
    if (o.since !== null && at < o.since) return { ...o, lastOkAt: Math.max(o.lastOkAt, at) };
    return { since: null, lastOkAt: Math.max(o.lastOkAt, at) };
  }
  if (at < o.lastOkAt || o.since !== null) return o;
  return { ...o, since: at };
}
