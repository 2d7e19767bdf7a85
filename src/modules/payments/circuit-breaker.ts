/**
 * A circuit breaker per processor, as a pure transition: closed → open after
 * `threshold` consecutive failures; open → half-open once `openMs` has
 * passed; half-open → closed on a success, back to open on a failure.
 */
export interface BreakerState {
  state: 'closed' | 'open' | 'half-open';
  failures: number;
  openedAt: number;
}

export interface BreakerConfig {
  threshold: number;
  openMs: number;
}

export const CLOSED: BreakerState = { state: 'closed', failures: 0, openedAt: 0 };

/** The state as of `now` (an open breaker turns half-open by itself). */
export function breakerAt(s: BreakerState, now: number, c: BreakerConfig): BreakerState {
  return s.state === 'open' && now - s.openedAt >= c.openMs ? { ...s, state: 'half-open' } : s;
}

export function afterCall(
  s: BreakerState,
  outcome: 'success' | 'failure',
  now: number,
  c: BreakerConfig,
): BreakerState {
  const current = breakerAt(s, now, c);
  if (outcome === 'success') return CLOSED;
  if (current.state === 'half-open') return { state: 'open', failures: current.failures + 1, openedAt: now };
  const failures = current.failures + 1;
  return failures >= c.threshold ? { state: 'open', failures, openedAt: now } : { ...current, failures };
}
