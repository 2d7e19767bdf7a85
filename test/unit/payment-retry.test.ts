import { describe, expect, it } from 'vitest';
import { backoffMs, callTimeoutMs, retryInMs } from '../../src/modules/payments/payment-worker.ts';
import type { Claimed } from '../../src/modules/payments/payments.repository.ts';

const claimed: Claimed = {
  attempts: 3,
  orderId: null,
  pinnedBefore: false,
  correlationId: '4a7901b8-7d26-4d9d-aa19-4dc1f7820b3a',
  amount: '19.90',
  processor: 'default',
  requestedAt: new Date('2026-11-21T10:00:00.000Z'),
};
const trial: Claimed = { ...claimed, ifRefusedRetryInMs: 20_000 };

describe('when a payment is next due', () => {
  it('backs off with jitter, from 25 ms up to 2 s', () => {
    expect([backoffMs(0, () => 0), backoffMs(0, () => 1)]).toEqual([13, 25]);
    expect([backoffMs(3, () => 0), backoffMs(3, () => 1)]).toEqual([100, 200]);
    expect([backoffMs(30, () => 0), backoffMs(30, () => 1)]).toEqual([1000, 2000]);
  });

  it.each(['failed', 'unreachable'] as const)(
    'a trial %s by the default sleeps like the untried',
    (outcome) => {
      expect(retryInMs(trial, outcome, () => 1)).toBe(20_000);
    },
  );

  it('an ambiguous trial is pinned now: it is asked again after a backoff, not a sleep', () => {
    expect(retryInMs(trial, 'ambiguous', () => 1)).toBe(200);
  });

  it('a payment that was not a trial backs off whatever the outcome', () => {
    expect(retryInMs(claimed, 'failed', () => 1)).toBe(200);
    expect(retryInMs(claimed, 'ambiguous', () => 0)).toBe(100);
  });
});

describe('how long a call waits for its answer (base 2 s)', () => {
  it.each<[string, [number, boolean, number?], number]>([
    ['a first call, the processor fast or its speed unknown → the base', [0, false, undefined], 2000],
    ['a first call to a processor reporting 3 s → twice that, so it is not cut off', [0, false, 3000], 6000],
    ['a processor reporting 8 s → 10 s at most', [0, false, 8000], 10_000],
    ['a retry of an ambiguous call doubles the base each time', [2, true, undefined], 8000],
    ['a retry never waits less than a first call would', [1, true, 3000], 6000],
    ['a retry waits 10 s at most', [9, true, undefined], 10_000],
  ])('%s', (_, [attempts, pinnedBefore, reportedMs], expected) => {
    expect(callTimeoutMs(2000, attempts, pinnedBefore, reportedMs)).toBe(expected);
  });
});
