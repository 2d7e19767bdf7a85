import { describe, expect, it } from 'vitest';
import { afterCall, breakerAt, CLOSED } from '../../src/modules/payments/circuit-breaker.ts';

const c = { threshold: 3, openMs: 1000 };

describe('circuit breaker', () => {
  it('opens after 3 consecutive failures, not before', () => {
    let s = CLOSED;
    s = afterCall(s, 'failure', 0, c);
    s = afterCall(s, 'failure', 1, c);
    expect(s.state).toBe('closed');
    s = afterCall(s, 'failure', 2, c);
    expect(s).toEqual({ state: 'open', failures: 3, openedAt: 2 });
  });

  it('a success in between resets the count', () => {
    let s = afterCall(afterCall(CLOSED, 'failure', 0, c), 'failure', 1, c);
    s = afterCall(s, 'success', 2, c);
    expect(afterCall(s, 'failure', 3, c).state).toBe('closed');
  });

  it('turns half-open after openMs; a success closes it, a failure reopens it from now', () => {
    const open = { state: 'open' as const, failures: 3, openedAt: 0 };
    expect(breakerAt(open, 999, c).state).toBe('open');
    expect(breakerAt(open, 1000, c).state).toBe('half-open');
    expect(afterCall(open, 'success', 1000, c)).toEqual(CLOSED);
    expect(afterCall(open, 'failure', 1500, c)).toEqual({ state: 'open', failures: 4, openedAt: 1500 });
  });
});
