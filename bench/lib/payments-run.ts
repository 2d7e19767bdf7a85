import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';
import { type Schedule, type Stage, score } from './payments-schedule.ts';
import { type Point, perSecond } from './report.ts';

/**
 * One run of the Rinha de Backend 2025 scoring test against a payments
 * service behind nginx: virtual users ramp from 1 to `maxVus` over the run,
 * each posting a payment and then sleeping 1 s; the processors follow the
 * schedule's stages; every 10 s an auditor compares the service's
 * /payments-summary with the processors' own over the last 10 s: once up to
 * 100 ms ago, as the contest's test does, and once up to the schedule's
 * longest processor delay + 1 s ago. With a processor slower than 100 ms the
 * first is a race of the auditor's own reads whatever the service does (a
 * payment the processor stores between its read and the service's is in one
 * summary and not the other), so inconsistencies count by the second; the
 * first is shown beside them. When the load stops the
 * processors stay as the last stage left them: what is still queued then is
 * counted, and lag is what is still unconfirmed after a grace of 10 s.
 */
export type Summary = Record<'default' | 'fallback', { totalRequests: number; totalAmount: number }>;
const EMPTY: Summary = {
  default: { totalRequests: 0, totalAmount: 0 },
  fallback: { totalRequests: 0, totalAmount: 0 },
};

export interface Processors {
  url: Record<'default' | 'fallback', string>;
}

const ADMIN = { 'x-rinha-token': '123', 'content-type': 'application/json' };
/** The contest's auditor reads the last 10 s up to 100 ms ago. */
const AUDIT_WINDOW_MS = 10_000;
const CONTEST_AUDIT_LAG_MS = 100;
/** The contest audits every 10 s; BENCH_AUDIT_EVERY_MS audits more often, to count how often its window races (docs/decisions.md). */
const AUDIT_EVERY_MS = Number(process.env.BENCH_AUDIT_EVERY_MS ?? 10_000);
/** Long enough that nothing requested in the window is still on its way to a processor. */
export const settledAuditLagMs = (schedule: Schedule) =>
  Math.max(CONTEST_AUDIT_LAG_MS, ...schedule.stages.flatMap((s) => [s.default.delay, s.fallback.delay])) +
  1000;
const GRACE_MS = 10_000;

export async function configure(p: Processors, name: 'default' | 'fallback', state: Stage['default']) {
  const base = `${p.url[name]}/admin/configurations`;
  await fetch(`${base}/delay`, {
    method: 'PUT',
    headers: ADMIN,
    body: JSON.stringify({ delay: state.delay }),
  });
  await fetch(`${base}/failure`, {
    method: 'PUT',
    headers: ADMIN,
    body: JSON.stringify({ failure: state.failing }),
  });
}

export async function purgeProcessors(p: Processors): Promise<void> {
  for (const name of ['default', 'fallback'] as const)
    await fetch(`${p.url[name]}/admin/purge-payments`, { method: 'POST', headers: ADMIN });
}

async function processorSummary(p: Processors, name: 'default' | 'fallback', from: string, to: string) {
  const res = await fetch(`${p.url[name]}/admin/payments-summary?from=${from}&to=${to}`, { headers: ADMIN });
  return (await res.json()) as { totalRequests: number; totalAmount: number };
}

/** An HTTP client that records every request's latency, as the contest's clients see it. */
function client(url: string, connections: number) {
  const pool = new Pool(url, { connections, pipelining: 1 });
  const samples: Array<[number, number]> = [];
  const request = async (method: 'GET' | 'POST', path: string, body?: string) => {
    const t0 = performance.now();
    try {
      const res = await pool.request({
        method,
        path,
        ...(body ? { body, headers: { 'content-type': 'application/json' } } : {}),
      });
      const text = await res.body.text();
      samples.push([performance.now(), performance.now() - t0]);
      return { status: res.statusCode, text };
    } catch {
      samples.push([performance.now(), performance.now() - t0]);
      return { status: 0, text: '' };
    }
  };
  const p99 = () => {
    const sorted = samples.map(([, ms]) => ms).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length * 0.99)] ?? 0;
  };
  return { request, samples, p99, close: () => pool.close().catch(() => {}) };
}

/** Requests over 10 ms per 10 s since `startPerf`. */
function slowPerTenSeconds(samples: Array<[number, number]>, startPerf: number): number[] {
  const counts: number[] = [];
  for (const [at, ms] of samples) {
    const i = Math.max(0, Math.floor((at - startPerf) / 10_000));
    while (counts.length <= i) counts.push(0);
    if (ms > 10) counts[i] = (counts[i] ?? 0) + 1;
  }
  return counts;
}

export interface RunResult {
  accepted: number;
  refused: number;
  /** Each accepted payment: seconds since the load started, and its amount. */
  sent: Array<{ at: number; amount: number }>;
  requests: number;
  p99: number;
  timeline: Point[];
  /** Accepted but not confirmed in the summary when the load stopped (the contest reads its totals then). */
  queuedAtEnd: number;
  /** Still unconfirmed after the grace. */
  lag: number;
  /** Requests slower than 10 ms (where the latency bonus ends) in each 10 s of the run: where the tail is. */
  slowPerTenSeconds: number[];
  /** Audits (every 10 s and a final one over the run) that found a difference, in the settled window. */
  inconsistencies: number;
  /** The same in the contest's window (up to 100 ms ago). */
  contestInconsistencies: number;
  audits: string[];
  summary: Summary;
  score: ReturnType<typeof score>;
}

/** Virtual users ramp 1 → maxVus over the run; each pays, then sleeps 1 s. Returns the accepted payments. */
async function ramp(
  request: ReturnType<typeof client>['request'],
  schedule: Schedule,
  start: number,
): Promise<{ sent: RunResult['sent']; refused: number }> {
  const { seconds, maxVus, amounts } = schedule.ramp;
  const end = start + seconds * 1000;
  const sent: RunResult['sent'] = [];
  let n = 0;
  let refused = 0;
  const vu = async () => {
    while (Date.now() < end) {
      const amount = amounts[n++ % amounts.length] as number;
      const at = (Date.now() - start) / 1000;
      const res = await request('POST', '/payments', JSON.stringify({ correlationId: randomUUID(), amount }));
      if (res.status >= 200 && res.status < 300) sent.push({ at, amount });
      else refused++;
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  const vus: Promise<void>[] = [];
  while (Date.now() < end) {
    const target = Math.min(maxVus, 1 + Math.floor(((Date.now() - start) / (seconds * 1000)) * (maxVus - 1)));
    while (vus.length < target) vus.push(vu());
    await new Promise((r) => setTimeout(r, 50));
  }
  await Promise.all(vus);
  return { sent, refused };
}

/** The ramp alone, against any server (the bare node:http reference): what its clients saw. */
export async function rampOnly(
  url: string,
  schedule: Schedule,
): Promise<{ p99: number; requests: number; timeline: Point[] }> {
  const c = client(url, schedule.ramp.maxVus + 50);
  try {
    const startPerf = performance.now();
    await ramp(c.request, schedule, Date.now());
    return {
      p99: c.p99(),
      requests: c.samples.length,
      timeline: perSecond(c.samples.map(([at, ms]) => [(at - startPerf) / 1000, ms])),
    };
  } finally {
    await c.close();
  }
}

/**
 * Runs `schedule` against the service at `url`; the processors must be purged and fast
 * beforehand. `during` is called when the load starts (e.g. to schedule a SIGKILL).
 */
export async function runSchedule(
  url: string,
  processors: Processors,
  schedule: Schedule,
  during?: (start: number) => void,
): Promise<RunResult> {
  const c = client(url, schedule.ramp.maxVus + 50);
  try {
    await c.request('POST', '/purge-payments');
    c.samples.length = 0;
    const start = Date.now();
    const startPerf = performance.now();
    const startIso = new Date(start).toISOString();
    const found = { settled: 0, contest: 0 };
    const audits: string[] = [];
    const stageTimers = schedule.stages.map((s) =>
      setTimeout(() => {
        void configure(processors, 'default', s.default);
        void configure(processors, 'fallback', s.fallback);
      }, s.at * 1000),
    );
    /** Compares both summaries over [from, to]; returns how many parts differ. */
    const audit = async (from: string, to: string, label: string): Promise<number> => {
      let differ = 0;
      const theirs = {
        default: await processorSummary(processors, 'default', from, to),
        fallback: await processorSummary(processors, 'fallback', from, to),
      };
      const res = await c.request('GET', `/payments-summary?from=${from}&to=${to}`);
      const ours = (res.status === 200 ? JSON.parse(res.text) : EMPTY) as Summary;
      for (const name of ['default', 'fallback'] as const) {
        if (
          ours[name].totalRequests !== theirs[name].totalRequests ||
          Math.abs(ours[name].totalAmount - theirs[name].totalAmount) > 0.001
        ) {
          differ++;
          audits.push(
            `${label} ${name}: ours ${JSON.stringify(ours[name])} vs processor ${JSON.stringify(theirs[name])}`,
          );
        }
      }
      return differ;
    };
    const settledLag = settledAuditLagMs(schedule);
    const auditTimer = setInterval(() => {
      const now = Date.now();
      const at = `${Math.round((now - start) / 1000)} s`;
      const window = (lag: number) =>
        [new Date(now - lag - AUDIT_WINDOW_MS).toISOString(), new Date(now - lag).toISOString()] as const;
      void (async () => {
        found.contest += await audit(...window(CONTEST_AUDIT_LAG_MS), `${at} (contest's window)`);
        found.settled += await audit(...window(settledLag), `${at} (up to ${settledLag} ms ago)`);
      })();
    }, AUDIT_EVERY_MS);

    if (process.env.BENCH_VERBOSE === '1') console.log(`load starts ${startIso}`);
    during?.(start);
    const { sent, refused } = await ramp(c.request, schedule, start);
    clearInterval(auditTimer);
    for (const t of stageTimers) clearTimeout(t);
    const confirmed = (s: Summary) => s.default.totalRequests + s.fallback.totalRequests;
    const read = async (to: string) => {
      const res = await c.request('GET', `/payments-summary?from=${startIso}&to=${to}`);
      return (res.status === 200 ? JSON.parse(res.text) : EMPTY) as Summary;
    };
    const queuedAtEnd = sent.length - confirmed(await read(new Date().toISOString()));
    // The processors stay as the last stage left them: a backlog waiting for a default that
    // never came back must not be drained by a reset.
    let summary = EMPTY;
    let to = new Date().toISOString();
    const graceEnd = Date.now() + GRACE_MS;
    do {
      to = new Date().toISOString();
      summary = await read(to);
      if (confirmed(summary) >= sent.length) break;
      await new Promise((r) => setTimeout(r, 250));
    } while (Date.now() < graceEnd);
    const lag = sent.length - confirmed(summary);
    const final = await audit(startIso, to, 'final');
    found.settled += final;
    found.contest += final;
    const p99 = c.p99();
    return {
      accepted: sent.length,
      refused,
      sent,
      requests: c.samples.length,
      p99,
      timeline: perSecond(c.samples.map(([at, ms]) => [(at - startPerf) / 1000, ms])),
      slowPerTenSeconds: slowPerTenSeconds(c.samples, startPerf),
      queuedAtEnd,
      lag,
      inconsistencies: found.settled,
      contestInconsistencies: found.contest,
      audits,
      summary,
      score: score(summary, p99, found.settled),
    };
  } finally {
    await c.close();
    const fast = { delay: 0, failing: false };
    await configure(processors, 'default', fast);
    await configure(processors, 'fallback', fast);
  }
}
