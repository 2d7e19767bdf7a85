/**
 * Which processor gets the next payment: a pure decision, fed by what I/O
 * collected (the shared health probe, our own calls' circuit breakers, how
 * long the oldest payment has waited). Table-tested.
 *
 * The economics: a payment earns 95 % of its amount on the default
 * processor, 85 % on the fallback, and nothing while it waits; a payment
 * still waiting when the audit comes is revenue lost. So the default is used
 * whenever it is usable, even when slow; the fallback only once the default
 * has been unusable long enough that waiting risks the payment (maxWaitMs);
 * and when neither is usable, payments wait (they are durable) and retry.
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
  /** How long the oldest payment still waiting has waited. */
  oldestWaitMs: number;
  /** Past this, a payment the default cannot take goes to the fallback. */
  maxWaitMs: number;
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
function usable(p: ProcessorView, maxResponseTimeMs: number): boolean {
  if (p.breaker === 'open') return false;
  if (!p.health || p.succeededSinceReport) return true;
  return !p.health.failing && p.health.minResponseTime <= maxResponseTimeMs;
}

export function chooseProcessor(input: DecisionInput): Decision {
  if (usable(input.default, input.maxResponseTimeMs)) return { use: 'default' };
  if (input.defaultTrialDue && input.default.breaker !== 'open')
    return { use: 'default', ifRefusedRetryInMs: waitMs(input) };
  if (input.oldestWaitMs >= input.maxWaitMs && usable(input.fallback, input.maxResponseTimeMs))
    return { use: 'fallback' };
  return { wait: true, retryInMs: waitMs(input) };
}

/**
 * Wait for the default until the budget runs out: a worker that sees the default usable again
 * releases waiting payments at once (PaymentRepository.releaseWaiting), so nothing needs to look
 * sooner. Past the budget, with no processor usable, look again every second.
 * Whole milliseconds: waits are measured in fractions, and the deferral is stored as an integer.
 */
function waitMs(input: DecisionInput): number {
  const left = Math.ceil(input.maxWaitMs - input.oldestWaitMs);
  return left > 0 ? left : 1000;
}
