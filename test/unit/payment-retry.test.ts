import { describe, expect, it } from 'vitest';
import { backoffMs, retryInMs } from '../../src/modules/payments/payment-worker.ts';
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
