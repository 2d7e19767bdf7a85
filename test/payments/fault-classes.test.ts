import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createPaymentWorker } from '../../src/modules/payments/create-worker.ts';
import type { PaymentWorker } from '../../src/modules/payments/payment-worker.ts';
import { json, startTestApp, type TestApp } from '../helpers/app.ts';
import { createTestDatabase, eventually, realServers, type TestDatabase } from '../helpers/env.ts';
import { type ProcessorName, type Processors, startProcessors } from '../helpers/processors.ts';

/**
 * Every fault class of the processors at reduced size: two instances, each
 * with its payment worker, take a stream of payments while the emulators
 * follow a short schedule; at the end armazem's summary must equal the
 * processors' own, with nothing left queued, and the payments must be where
 * the routing promises. An outage counts as long after 2.5 s here (12 s in
 * production); a payment's own budget (a minute) never decides.
 */
interface Stack {
  db: TestDatabase;
  processors: Processors;
  apps: TestApp[];
  workers: PaymentWorker[];
}
let stack: Stack | undefined;

/**
 * Two instances with their workers; `prepare` sets the processors up before the workers' first
 * health probe; `emulators` are the emulators' own options.
 */
async function start(
  env: Record<string, string> = {},
  prepare: (p: Processors) => Promise<void> = async () => {},
  emulators: Parameters<typeof startProcessors>[0] = {},
): Promise<Stack> {
  const db = await createTestDatabase();
  const processors = await startProcessors(emulators);
  await prepare(processors);
  const shared = {
    ...realServers(db.url),
    ...processors.env,
    PAYMENT_TIMEOUT_MS: '300',
    PAYMENT_MAX_WAIT_MS: '60000',
    PAYMENT_LONG_OUTAGE_MS: '2500',
    ...env,
  };
  const apps = [await startTestApp(shared), await startTestApp(shared)];
  const workers = apps.map((a) => createPaymentWorker(a.deps));
  for (const w of workers) await w.start();
  stack = { db, processors, apps, workers };
  return stack;
}

afterEach(async () => {
  const s = stack;
  stack = undefined;
  if (!s) return;
  for (const w of s.workers) await w.stop();
  for (const a of s.apps) await a.close();
  await s.processors.close();
  await s.db.drop();
});

type Step = [atMs: number, processor: ProcessorName, what: 'delay' | 'failure', value: number | boolean];

/**
 * Posts a payment every `everyMs` for `seconds`, alternating instances, while `steps` change the
 * processors. Returns what was accepted, in cents.
 */
async function stream(
  s: Stack,
  opts: { seconds: number; everyMs: number; steps: Step[]; amounts?: string[] },
): Promise<{ count: number; cents: bigint }> {
  const timers = opts.steps.map(([at, name, what, value]) =>
    setTimeout(() => void s.processors.configure(name, what, value), at),
  );
  const amounts = opts.amounts ?? ['19.90'];
  let count = 0;
  let cents = 0n;
  const end = Date.now() + opts.seconds * 1000;
  for (let i = 0; Date.now() < end; i++) {
    const amount = amounts[i % amounts.length] as string;
    const res = await (s.apps[i % 2] as TestApp).app.inject({
      method: 'POST',
      url: '/payments',
      ...json({ correlationId: randomUUID(), amount }),
    });
    expect(res.statusCode).toBe(202);
    count++;
    cents += BigInt(amount.replace('.', ''));
    await new Promise((r) => setTimeout(r, opts.everyMs));
  }
  for (const t of timers) clearTimeout(t);
  return { count, cents };
}

type Part = { totalRequests: number; totalAmount: number };
/** Our summary, read through one instance (both read the same table). */
const ours = async (s: Stack) =>
  (await (s.apps[0] as TestApp).app.inject({ method: 'GET', url: '/payments-summary' })).json() as Record<
    ProcessorName,
    Part
  >;

/** Waits until every accepted payment is confirmed; then ours equals the processors', part by part. */
async function settled(s: Stack, sent: { count: number }, withinMs: number) {
  const summary = await eventually(async () => {
    const o = await ours(s);
    expect(o.default.totalRequests + o.fallback.totalRequests).toBe(sent.count);
    return o;
  }, withinMs);
  for (const name of ['default', 'fallback'] as const) {
    const theirs = await s.processors.summary(name);
    expect({ name, ...summary[name] }).toEqual({
      name,
      totalRequests: theirs.totalRequests,
      totalAmount: theirs.totalAmount,
    });
  }
  const { rows } = await (s.apps[0] as TestApp).deps.db.pool.query<{ n: string }>(
    "SELECT count(*) AS n FROM payments WHERE status <> 'processed'",
  );
  expect(Number(rows[0]?.n)).toBe(0);
  return summary;
}

describe('payments under every fault class of the processors (reduced size)', () => {
  it('a short outage of the default is waited out: everything on the default', async () => {
    const s = await start();
    const sent = await stream(s, {
      seconds: 3,
      everyMs: 15,
      steps: [
        [500, 'default', 'failure', true],
        [1300, 'default', 'failure', false],
      ],
    });
    const summary = await settled(s, sent, 5000);
    expect(summary.fallback.totalRequests).toBe(0);
  });

  it('an outage to the end moves to the fallback early: nothing is left queued when the load stops', async () => {
    const s = await start();
    const sent = await stream(s, { seconds: 5, everyMs: 15, steps: [[500, 'default', 'failure', true]] });
    // The default never comes back, and the whole backlog is on the fallback within a second.
    const summary = await settled(s, sent, 1000);
    expect(summary.fallback.totalRequests).toBeGreaterThan(summary.default.totalRequests);
  });

  it('a long outage that ends: trials find the default back before its health report, each in a single statement', async () => {
    // Calls reaching the default, and uses of the deciding transaction (claim.ts), by time.
    const defaultCalls: number[] = [];
    // Failing from the start, so the health reports (one every 5 s) say so until about 10 s.
    const s = await start({}, (p) => p.configure('default', 'failure', true), {
      onRequest: (name, url) => {
        if (name === 'default' && url === '/payments') defaultCalls.push(Date.now());
      },
    });
    const decided: number[] = [];
    for (const a of s.apps) {
      const claim = a.deps.payments.claim.bind(a.deps.payments);
      a.deps.payments.claim = (...args) => {
        decided.push(Date.now());
        return claim(...args);
      };
    }
    const t0 = Date.now();
    const sent = await stream(s, { seconds: 8, everyMs: 15, steps: [[6000, 'default', 'failure', false]] });
    const summary = await settled(s, sent, 3000);
    expect(summary.fallback.totalRequests).toBeGreaterThan(0);
    // Long from 2.5 s: every payment to the fallback, and a trial of the default every 250 ms per
    // worker, each claimed beside them in one statement, none in the deciding transaction.
    const inLongOutage = (at: number) => at >= t0 + 3000 && at < t0 + 6000;
    expect(decided.filter(inLongOutage)).toEqual([]);
    const trials = defaultCalls.filter(inLongOutage).length;
    expect(trials).toBeGreaterThanOrEqual(4);
    expect(trials).toBeLessThanOrEqual(2 * 4 * 3 + 2);
    // Back at 6 s, while the reports still say failing: what came a second later went to the default.
    const { rows } = await (s.apps[0] as TestApp).deps.db.pool.query<{ processor: string }>(
      'SELECT DISTINCT processor FROM payments WHERE created_at > $1',
      [new Date(t0 + 7000)],
    );
    expect(rows.map((r) => r.processor)).toEqual(['default']);
  });

  it('a default flapping every 1.5 s is waited for each time: everything on the default', async () => {
    const s = await start();
    const steps: Step[] = [];
    for (let at = 400; at < 4500; at += 1500)
      steps.push([at, 'default', 'failure', true], [at + 400, 'default', 'failure', false]);
    const sent = await stream(s, { seconds: 4.5, everyMs: 15, steps });
    const summary = await settled(s, sent, 5000);
    expect(summary.fallback.totalRequests).toBe(0);
  });

  it('a default answering slower than a call may wait stays the default, and its calls do not hold up the others', async () => {
    // Slow from the start, so the first health report says so; a worker claims 5 payments a round:
    // if each round waited for its calls (1 s), 150 payments would take 15 s.
    const s = await start({ PAYMENT_BATCH: '5' }, (p) => p.configure('default', 'delay', 1000));
    const sent = await stream(s, { seconds: 2, everyMs: 13, steps: [] });
    const summary = await settled(s, sent, 3000);
    expect(summary.fallback.totalRequests).toBe(0);
  });

  it('a slow spell that starts mid-stream, beyond the call timeout: what was ambiguous settles, summaries agree', async () => {
    const s = await start();
    const sent = await stream(s, {
      seconds: 3,
      everyMs: 15,
      steps: [
        [500, 'default', 'delay', 700],
        [2000, 'default', 'delay', 0],
      ],
    });
    const summary = await settled(s, sent, 8000);
    expect(summary.fallback.totalRequests).toBe(0);
  });

  it('slow spells on both, the fallback slower than the default, and a long outage: everything processed', async () => {
    const s = await start({}, (p) => p.configure('fallback', 'delay', 400));
    const sent = await stream(s, {
      seconds: 5,
      everyMs: 15,
      steps: [
        [300, 'default', 'delay', 500],
        [1000, 'default', 'delay', 0],
        [2000, 'default', 'failure', true],
      ],
    });
    const summary = await settled(s, sent, 3000);
    expect(summary.fallback.totalRequests).toBeGreaterThan(0);
  });

  it('very large amounts next to the smallest: the sums stay exact', async () => {
    const s = await start();
    const sent = await stream(s, {
      seconds: 1.5,
      everyMs: 20,
      amounts: ['999999999999.99', '0.01', '123456789.12'],
      steps: [[500, 'default', 'failure', true]],
    });
    await settled(s, sent, 6000);
    // The summary's numbers are doubles, as JSON gives them (equal to the processors' above); the
    // stored sum is exact to the cent.
    const { rows } = await (s.apps[0] as TestApp).deps.db.pool.query<{ cents: string }>(
      "SELECT (sum(amount) * 100)::bigint::text AS cents FROM payments WHERE status = 'processed'",
    );
    expect(rows[0]?.cents).toBe(String(sent.cents));
  });
});
