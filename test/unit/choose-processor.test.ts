import { describe, expect, it } from 'vitest';
import {
  chooseProcessor,
  type DecisionInput,
  type ProcessorView,
} from '../../src/modules/payments/choose-processor.ts';

const healthy: ProcessorView = { health: { failing: false, minResponseTime: 5 }, breaker: 'closed' };
const failing: ProcessorView = { health: { failing: true, minResponseTime: 0 }, breaker: 'closed' };
const slow: ProcessorView = { health: { failing: false, minResponseTime: 5000 }, breaker: 'closed' };
const open: ProcessorView = { health: { failing: false, minResponseTime: 5 }, breaker: 'open' };
const halfOpen: ProcessorView = { ...healthy, breaker: 'half-open' };
const unknown: ProcessorView = { health: null, breaker: 'closed' };

const base = { maxWaitMs: 2000, maxResponseTimeMs: 1000 };

describe('chooseProcessor', () => {
  it.each<[string, Partial<DecisionInput>, ReturnType<typeof chooseProcessor>]>([
    [
      'both healthy → the cheaper default',
      { default: healthy, fallback: healthy, oldestWaitMs: 0 },
      { use: 'default' },
    ],
    [
      'default healthy, fallback failing → default',
      { default: healthy, fallback: failing, oldestWaitMs: 0 },
      { use: 'default' },
    ],
    [
      'default health unknown → default (it may well be fine)',
      { default: unknown, fallback: healthy, oldestWaitMs: 0 },
      { use: 'default' },
    ],
    [
      'default half-open → default (a trial call)',
      { default: halfOpen, fallback: healthy, oldestWaitMs: 5000 },
      { use: 'default' },
    ],
    [
      'default failing, payments fresh → wait for the cheaper one, until the budget runs out',
      { default: failing, fallback: healthy, oldestWaitMs: 100 },
      { wait: true, retryInMs: 1900 },
    ],
    [
      'default failing, a payment waited past the budget → fallback',
      { default: failing, fallback: healthy, oldestWaitMs: 2000 },
      { use: 'fallback' },
    ],
    [
      'default breaker open, waited past the budget → fallback',
      { default: open, fallback: healthy, oldestWaitMs: 3000 },
      { use: 'fallback' },
    ],
    [
      'default too slow, waited past the budget → fallback',
      { default: slow, fallback: healthy, oldestWaitMs: 3000 },
      { use: 'fallback' },
    ],
    [
      'both failing → wait, however long, looking again every second',
      { default: failing, fallback: failing, oldestWaitMs: 60_000 },
      { wait: true, retryInMs: 1000 },
    ],
    [
      'default failing, fallback open → wait',
      { default: failing, fallback: open, oldestWaitMs: 60_000 },
      { wait: true, retryInMs: 1000 },
    ],
    [
      'near the budget → look again when it runs out',
      { default: failing, fallback: healthy, oldestWaitMs: 1950 },
      { wait: true, retryInMs: 50 },
    ],
    [
      'waits measured in fractions of a millisecond → a whole-millisecond retry',
      { default: failing, fallback: healthy, oldestWaitMs: 1500.25 },
      { wait: true, retryInMs: 500 },
    ],
    [
      'reported failing, but one of our calls succeeded since → default',
      { default: { ...failing, succeededSinceReport: true }, fallback: healthy, oldestWaitMs: 5000 },
      { use: 'default' },
    ],
    [
      'reported failing, a trial is due → this payment tries the default',
      { default: failing, fallback: healthy, oldestWaitMs: 5000, defaultTrialDue: true },
      { use: 'default', ifRefusedRetryInMs: 1000 },
    ],
    [
      'a trial within the budget, if refused, sleeps for the rest of the budget like the others',
      { default: failing, fallback: healthy, oldestWaitMs: 500, defaultTrialDue: true },
      { use: 'default', ifRefusedRetryInMs: 1500 },
    ],
    [
      'breaker open: no trial, whatever is due → fallback',
      { default: open, fallback: healthy, oldestWaitMs: 5000, defaultTrialDue: true },
      { use: 'fallback' },
    ],
  ])('%s', (_, partial, expected) => {
    expect(
      chooseProcessor({ ...base, default: healthy, fallback: healthy, oldestWaitMs: 0, ...partial }),
    ).toEqual(expected);
  });
});
