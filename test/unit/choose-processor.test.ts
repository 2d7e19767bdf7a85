import { describe, expect, it } from 'vitest';
import {
  chooseProcessor,
  type DecisionInput,
  NO_OUTAGE,
  type Outage,
  observe,
  type ProcessorView,
} from '../../src/modules/payments/choose-processor.ts';
import { MAX_REPORTED_RESPONSE_MS } from '../../src/modules/payments/payment-worker.ts';

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
      'both failing → wait, however long, looking again by itself every 5 s (a worker that sees one back wakes it)',
      { default: failing, fallback: failing, oldestWaitMs: 60_000 },
      { wait: true, retryInMs: 5000 },
    ],
    [
      'default failing, fallback open → wait',
      { default: failing, fallback: open, oldestWaitMs: 60_000 },
      { wait: true, retryInMs: 5000 },
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
      'reported failing, a trial is due → this payment tries the default; refused, it goes to the fallback next',
      { default: failing, fallback: healthy, oldestWaitMs: 5000, defaultTrialDue: true },
      { use: 'default', ifRefusedRetryInMs: 0 },
    ],
    [
      'a trial past the budget with the fallback failing too, if refused, sleeps like the others',
      { default: failing, fallback: failing, oldestWaitMs: 5000, defaultTrialDue: true },
      { use: 'default', ifRefusedRetryInMs: 5000 },
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

/**
 * Each fault class of the processors, as the decision sees it with the worker's settings: the
 * default down for some time (defaultDownForMs), a 25 s budget per payment, 12 s before an outage
 * counts as long, and a processor that reports answering in over 5 s counts as down.
 */
describe('chooseProcessor, fault by fault', () => {
  const budgets = { maxWaitMs: 25_000, maxResponseTimeMs: MAX_REPORTED_RESPONSE_MS, longOutageMs: 12_000 };
  const slowFallback: ProcessorView = { health: { failing: false, minResponseTime: 800 }, breaker: 'closed' };
  const at3s: ProcessorView = { health: { failing: false, minResponseTime: 3000 }, breaker: 'closed' };
  const at8s: ProcessorView = { health: { failing: false, minResponseTime: 8000 }, breaker: 'closed' };
  it.each<[string, Partial<DecisionInput>, ReturnType<typeof chooseProcessor>]>([
    [
      'short outage: down 3 s, a fresh payment waits for the cheap default until the outage would be long',
      { default: failing, defaultDownForMs: 3000, oldestWaitMs: 0 },
      { wait: true, retryInMs: 9000 },
    ],
    [
      'short outage: a payment that came before the outage waits as long as its outage allows, not its whole budget',
      { default: failing, defaultDownForMs: 3000, oldestWaitMs: 10_000 },
      { wait: true, retryInMs: 9000 },
    ],
    [
      'short outage: its breaker open, the same wait',
      { default: open, defaultDownForMs: 1000, oldestWaitMs: 500 },
      { wait: true, retryInMs: 11_000 },
    ],
    [
      'long outage: down 12 s → even a payment that just came goes to the fallback',
      { default: failing, defaultDownForMs: 12_000, oldestWaitMs: 0 },
      { use: 'fallback' },
    ],
    [
      'long outage, fallback failing too → wait, looking again by itself every 5 s',
      { default: failing, fallback: failing, defaultDownForMs: 40_000, oldestWaitMs: 0 },
      { wait: true, retryInMs: 5000 },
    ],
    [
      'long outage, a trial due → one payment tries the default; refused, it goes to the fallback next',
      { default: failing, defaultDownForMs: 30_000, oldestWaitMs: 0, defaultTrialDue: true },
      { use: 'default', ifRefusedRetryInMs: 0 },
    ],
    [
      'flapping: a success of ours since the failing report → the default at once',
      { default: { ...failing, succeededSinceReport: true }, defaultDownForMs: 0, oldestWaitMs: 2000 },
      { use: 'default' },
    ],
    [
      'flapping: down 2 s again → wait for it',
      { default: failing, defaultDownForMs: 2000, oldestWaitMs: 1500 },
      { wait: true, retryInMs: 10_000 },
    ],
    [
      'slow spell: the default answering in 3 s (beyond a 1.5–2 s call timeout) is still the default',
      { default: at3s, oldestWaitMs: 0 },
      { use: 'default' },
    ],
    [
      'slow spell on both at 3 s → the default',
      { default: at3s, fallback: at3s, oldestWaitMs: 0 },
      { use: 'default' },
    ],
    [
      'slower than any call may wait (8 s) counts as down: a short spell is waited out',
      { default: at8s, defaultDownForMs: 4000, oldestWaitMs: 0 },
      { wait: true, retryInMs: 8000 },
    ],
    [
      'a long spell at 8 s → the fallback',
      { default: at8s, defaultDownForMs: 12_000, oldestWaitMs: 0 },
      { use: 'fallback' },
    ],
    [
      'both at 8 s for long → wait: neither can answer in time',
      { default: at8s, fallback: at8s, defaultDownForMs: 20_000, oldestWaitMs: 20_000 },
      { wait: true, retryInMs: 5000 },
    ],
    [
      'the fallback slower than the default but within a call’s time, long outage → fallback',
      { default: failing, fallback: slowFallback, defaultDownForMs: 15_000, oldestWaitMs: 0 },
      { use: 'fallback' },
    ],
    [
      'the fallback slower than the default, short outage → wait for the default',
      { default: failing, fallback: slowFallback, defaultDownForMs: 5000, oldestWaitMs: 0 },
      { wait: true, retryInMs: 7000 },
    ],
    [
      'the default usable however long it was down before → default',
      { default: healthy, defaultDownForMs: 0, oldestWaitMs: 30_000 },
      { use: 'default' },
    ],
  ])('%s', (_, partial, expected) => {
    expect(
      chooseProcessor({ ...budgets, default: healthy, fallback: healthy, oldestWaitMs: 0, ...partial }),
    ).toEqual(expected);
  });
});

describe('observe: when the default’s outage began', () => {
  const run = (events: Array<[number, boolean]>): Outage =>
    events.reduce((o, [at, ok]) => observe(o, at, ok), NO_OUTAGE);
  it.each<[string, Array<[number, boolean]>, number | null]>([
    ['nothing seen → no outage', [], null],
    ['a refusal starts it', [[1000, false]], 1000],
    [
      'later refusals keep its start',
      [
        [1000, false],
        [3000, false],
      ],
      1000,
    ],
    [
      'a success ends it',
      [
        [1000, false],
        [4000, true],
      ],
      null,
    ],
    [
      'a refusal after the success starts a new one',
      [
        [1000, false],
        [4000, true],
        [9000, false],
      ],
      9000,
    ],
    [
      'a failing report made before our last success does not start it again (it is read every round)',
      [
        [1000, false],
        [4000, true],
        [2000, false],
      ],
      null,
    ],
    [
      'a healthy report made before the trouble does not end it',
      [
        [5000, false],
        [3000, true],
      ],
      5000,
    ],
    [
      'a healthy report made after the trouble ends it',
      [
        [5000, false],
        [6000, true],
      ],
      null,
    ],
  ])('%s', (_, events, since) => {
    expect(run(events).since).toBe(since);
  });
});
