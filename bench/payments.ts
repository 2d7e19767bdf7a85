/**
 * bench:payments — the Rinha de Backend 2025 scoring test against the local
 * stack (nginx → 2 instances, workers, the two processor emulators):
 * virtual users ramp from 1 to 550 over 60 s, each posting a 19.90 payment
 * and then sleeping 1 s; every 10 s the processors change (the stage table
 * below) and an auditor compares /payments-summary with both processors'
 * own summaries. Prints the score breakdown, p99 of every HTTP request, lag,
 * inconsistencies, and the CPU and peak memory of armazem's processes and nginx.
 *
 * BENCH_KILL=1: SIGKILL one API instance and one worker at 30 s (the stack
 * then runs 2 workers) — lag and inconsistencies must stay 0.
 * Before the stack starts, the same ramp runs against a reference: two bare
 * node:http servers behind the same nginx template — the latency floor of
 * nginx → Node on this machine under this load (BENCH_REFERENCE=0 skips it).
 * Env: BENCH_SECONDS (60), BENCH_MAX_VUS (550), BENCH_WORKERS (0: workers inside the instances),
 * BENCH_NODE_FLAGS (the instances' heap flags). Writes bench/reports/payments.html (and .png).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';
import { spawnNode, stop, waitHealthy } from './lib/processes.ts';
import { type Point, perSecond, writeReport } from './lib/report.ts';
import { accessLogTimes, type BenchStack, scratchDatabase, startNginxFor, startStack } from './lib/stack.ts';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const MAX_VUS = Number(process.env.BENCH_MAX_VUS ?? 550);
const KILL = process.env.BENCH_KILL === '1';
/** Separate worker processes; 0 runs the workers inside the two instances (the payments profile). */
const WORKERS = process.env.BENCH_WORKERS ?? (KILL ? '2' : '0');
const REFERENCE = process.env.BENCH_REFERENCE !== '0';
/** The payments profile's small heaps; BENCH_NODE_FLAGS trades memory for latency. */
const NODE_FLAGS = process.env.BENCH_NODE_FLAGS ?? '--max-semi-space-size=4 --max-old-space-size=56';
const AMOUNT = 19.9;
const FEES = { default: 0.05, fallback: 0.15 };
const PROCESSOR_PORTS = { default: 3801, fallback: 3802 };
const ADMIN = { 'x-rinha-token': '123', 'content-type': 'application/json' };

/** Every 10 s the processors change: delays in ms, failing or not (the contest's stages). */
const STAGES: Array<{ label: string; default: [number, boolean]; fallback: [number, boolean] }> = [
  { label: 'both fast', default: [0, false], fallback: [0, false] },
  { label: 'default slow', default: [100, false], fallback: [0, false] },
  { label: 'default failing', default: [0, true], fallback: [0, false] },
  { label: 'both failing and very slow', default: [1000, true], fallback: [1000, true] },
  { label: 'both slightly slow', default: [20, false], fallback: [20, false] },
  { label: 'fallback very slow', default: [0, false], fallback: [1000, false] },
];

const fmt = (n: number, d = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

async function configure(name: 'default' | 'fallback', delay: number, failing: boolean) {
  const base = `http://127.0.0.1:${PROCESSOR_PORTS[name]}/admin/configurations`;
  await fetch(`${base}/delay`, { method: 'PUT', headers: ADMIN, body: JSON.stringify({ delay }) });
  await fetch(`${base}/failure`, {
    method: 'PUT',
    headers: ADMIN,
    body: JSON.stringify({ failure: failing }),
  });
}

async function processorSummary(name: 'default' | 'fallback', from: string, to: string) {
  const res = await fetch(
    `http://127.0.0.1:${PROCESSOR_PORTS[name]}/admin/payments-summary?from=${from}&to=${to}`,
    { headers: ADMIN },
  );
  return (await res.json()) as { totalRequests: number; totalAmount: number };
}

/** Each process's CPU ticks when last seen: a process SIGKILLed mid-run keeps what it used until then. */
const lastTicks = new Map<number, number>();

/**
 * CPU seconds and memory of the stack's processes, from /proc. RSS counts
 * the pages the processes share (the node binary, mapped by both instances)
 * once per process; PSS splits each shared page among its sharers, so the
 * PSS sum is the memory the group really occupies.
 */
function sample(pids: number[]): { cpuSeconds: number; rssMb: number; pssMb: number } {
  let rssKb = 0;
  let pssKb = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      lastTicks.set(pid, Number(stat[11]) + Number(stat[12]));
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      rssKb += Number(/^Rss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
      pssKb += Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
    } catch {}
  }
  const ticks = pids.reduce((sum, pid) => sum + (lastTicks.get(pid) ?? 0), 0);
  return { cpuSeconds: ticks / 100, rssMb: rssKb / 1024, pssMb: pssKb / 1024 };
}

/** The stack's process ids (nginx, instances, queue workers), not the emulators nor supervisord (outside the budget, as dockerd is). */
function stackPids(stack: BenchStack): number[] {
  const ids: number[] = [];
  for (const n of ['nginx', 'api-1', 'api-2', 'worker-1', 'worker-2']) {
    try {
      ids.push(stack.pid(n));
    } catch {}
  }
  return ids;
}

/** An HTTP client that records every request's latency, as the contest's clients see it. */
function client(url: string) {
  const pool = new Pool(url, { connections: MAX_VUS + 50, pipelining: 1 });
  const latencies: number[] = [];
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
      latencies.push(performance.now() - t0);
      samples.push([performance.now(), performance.now() - t0]);
      return { status: res.statusCode, text };
    } catch {
      latencies.push(performance.now() - t0);
      samples.push([performance.now(), performance.now() - t0]);
      return { status: 0, text: '' };
    }
  };
  /** Per second since `start` (a performance.now() reading). */
  const timeline = (start: number): Point[] =>
    perSecond(samples.map(([at, ms]) => [(at - start) / 1000, ms]));
  const p99 = () => {
    const sorted = [...latencies].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length * 0.99)] ?? 0;
  };
  return { request, latencies, p99, timeline, close: () => pool.close().catch(() => {}) };
}

/** Virtual users ramp 1 → MAX_VUS over the run; each pays 19.90, then sleeps 1 s. */
async function ramp(request: ReturnType<typeof client>['request'], start: number) {
  const end = start + SECONDS * 1000;
  let accepted = 0;
  let failed = 0;
  const vus: Promise<void>[] = [];
  const vu = async () => {
    while (Date.now() < end) {
      const res = await request(
        'POST',
        '/payments',
        JSON.stringify({ correlationId: randomUUID(), amount: AMOUNT }),
      );
      if (res.status >= 200 && res.status < 300) accepted++;
      else failed++;
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  while (Date.now() < end) {
    const target = Math.min(
      MAX_VUS,
      1 + Math.floor(((Date.now() - start) / (SECONDS * 1000)) * (MAX_VUS - 1)),
    );
    while (vus.length < target) vus.push(vu());
    await new Promise((r) => setTimeout(r, 50));
  }
  await Promise.all(vus);
  return { accepted, failed };
}

/** The same ramp against bare node:http ×2 behind nginx: the floor this machine allows. */
async function reference(): Promise<{ p99: number; nginxP99: number; requests: number; timeline: Point[] }> {
  const ports = [3861, 3862];
  const servers = ports.map((port) => spawnNode('bench/bare-server.ts', { PORT: String(port) }));
  const nginx = startNginxFor(
    ports.map((port) => `127.0.0.1:${port}`),
    3860,
    { accessLog: true },
  );
  const c = client(nginx.url);
  try {
    for (const port of ports) await waitHealthy(`http://127.0.0.1:${port}/`);
    await waitHealthy(`${nginx.url}/`);
    console.log(`reference: the same ramp against bare node:http ×2 behind nginx (${SECONDS} s)…`);
    const startPerf = performance.now();
    await ramp(c.request, Date.now());
    await new Promise((r) => setTimeout(r, 1500)); // nginx flushes its log buffer every second
    return {
      p99: c.p99(),
      nginxP99: accessLogTimes(nginx.accessLog, '/payments').p99,
      requests: c.latencies.length,
      timeline: c.timeline(startPerf),
    };
  } finally {
    await c.close();
    nginx.stop();
    for (const s of servers) await stop(s);
  }
}

async function main() {
  const ref = REFERENCE ? await reference() : undefined;
  const db = await scratchDatabase(ADMIN_URL, 'armazem_bench_payments');
  const stack = startStack({
    env: {
      DATABASE_URL: db.url,
      REDIS_URL,
      REDIS_KEY_PREFIX: `bench-payments:${process.pid}:`,
      STACK_PROCESSORS: '1',
      STACK_PROCESSOR_BASE_PORT: String(PROCESSOR_PORTS.default),
      // As the payments profile deploys it: small heaps, and the workers inside
      // the two instances. The SIGKILL variant keeps two separate workers, one to kill.
      STACK_WORKERS: WORKERS,
      WORKER_IN_PROCESS: WORKERS === '0' ? 'true' : 'false',
      STACK_NODE_FLAGS: NODE_FLAGS,
      STACK_RUN: 'dist',
      PAYMENTS_PURGE_ENABLED: 'true',
      LOG_LEVEL: 'warn',
    },
    port: 3898,
    apiBasePort: 3851,
    instances: 2,
  });
  const { request, latencies, p99: clientP99, timeline, close } = client(stack.url);

  try {
    await request('POST', '/purge-payments');
    if (process.env.BENCH_DEBUG) {
      const pid = stack.pid('api-1');
      console.log(
        'api-1 pid',
        pid,
        'alive',
        (() => {
          try {
            process.kill(pid, 0);
            return true;
          } catch {
            return false;
          }
        })(),
      );
      console.log(readFileSync(join(stack.stateDir, 'logs', 'api-1.log'), 'utf8').slice(0, 2000));
    }
    const pids = stackPids(stack);
    const before = sample(pids);
    let peakRss = 0;
    let peakPss = 0;
    const sampler = setInterval(() => {
      const now = sample(pids);
      peakRss = Math.max(peakRss, now.rssMb);
      peakPss = Math.max(peakPss, now.pssMb);
    }, 250);
    const start = Date.now();
    const startPerf = performance.now();
    const startIso = new Date(start).toISOString();
    let inconsistencies = 0;
    const audits: string[] = [];

    // The processors' stages.
    const stageTimers = STAGES.map((s, i) =>
      setTimeout(() => {
        void configure('default', ...s.default);
        void configure('fallback', ...s.fallback);
      }, i * 10_000),
    );
    // The auditor, every 10 s: a window that ends 3 s ago, so payments in flight settle.
    const audit = async () => {
      const to = new Date(Date.now() - 3000).toISOString();
      const ours = JSON.parse(
        (await request('GET', `/payments-summary?from=${startIso}&to=${to}`)).text,
      ) as Record<string, { totalRequests: number; totalAmount: number }>;
      for (const name of ['default', 'fallback'] as const) {
        const theirs = await processorSummary(name, startIso, to);
        if (
          ours[name]?.totalRequests !== theirs.totalRequests ||
          Math.abs((ours[name]?.totalAmount ?? 0) - theirs.totalAmount) > 0.001
        ) {
          inconsistencies++;
          audits.push(`${name}: ours ${JSON.stringify(ours[name])} vs processor ${JSON.stringify(theirs)}`);
        }
      }
    };
    const auditTimer = setInterval(() => void audit(), 10_000);
    if (KILL) {
      setTimeout(() => {
        for (const part of ['api-1', 'worker-1']) {
          try {
            process.kill(stack.pid(part), 'SIGKILL');
            console.log(`${((Date.now() - start) / 1000).toFixed(1)} s: SIGKILL ${part}`);
          } catch (err) {
            console.log(`could not SIGKILL ${part}: ${(err as Error).message}`);
            if (process.env.BENCH_DEBUG)
              console.log(readFileSync(join(stack.stateDir, 'logs', `${part}.log`), 'utf8').slice(-3000));
          }
        }
      }, SECONDS * 500);
    }

    const { accepted, failed } = await ramp(request, start);
    clearInterval(auditTimer);
    for (const t of stageTimers) clearTimeout(t);
    await configure('default', 0, false);
    await configure('fallback', 0, false);

    // Lag: accepted payments not yet confirmed, after a short grace for the last ones.
    const endIso = new Date().toISOString();
    let summary: Record<'default' | 'fallback', { totalRequests: number; totalAmount: number }> = {
      default: { totalRequests: 0, totalAmount: 0 },
      fallback: { totalRequests: 0, totalAmount: 0 },
    };
    const graceEnd = Date.now() + 10_000;
    // Up to now, not to the load's end: the last payments get their requestedAt when a worker sends them.
    let toIso = endIso;
    do {
      toIso = new Date().toISOString();
      summary = JSON.parse((await request('GET', `/payments-summary?from=${startIso}&to=${toIso}`)).text);
      if (summary.default.totalRequests + summary.fallback.totalRequests >= accepted) break;
      await new Promise((r) => setTimeout(r, 250));
    } while (Date.now() < graceEnd);
    const lag = accepted - summary.default.totalRequests - summary.fallback.totalRequests;
    await audit(); // the final audit, over everything
    const finalTo = toIso;
    for (const name of ['default', 'fallback'] as const) {
      const theirs = await processorSummary(name, startIso, finalTo);
      if (summary[name].totalRequests !== theirs.totalRequests)
        audits.push(
          `final ${name}: ours ${summary[name].totalRequests} vs processor ${theirs.totalRequests}`,
        );
    }
    clearInterval(sampler);
    const after = sample(pids);

    const p99 = clientP99();
    const gross = summary.default.totalAmount + summary.fallback.totalAmount;
    const fees = summary.default.totalAmount * FEES.default + summary.fallback.totalAmount * FEES.fallback;
    const bonus = Math.max((11 - p99) * 0.02, 0);
    const fine = inconsistencies > 0 ? 0.35 : 0;
    const score = (gross - fees) * (1 + bonus) * (1 - fine);
    const maxScore = accepted * AMOUNT * (1 - FEES.default) * (1 + 0.2);

    console.log(
      `\nbench:payments — ${SECONDS} s, 1 → ${MAX_VUS} virtual users, ${KILL ? 'api-1 and worker-1 SIGKILLed at half time, ' : ''}stack: nginx → 2 instances ${WORKERS === '0' ? 'running the workers' : `+ ${WORKERS} worker process(es)`}, node ${NODE_FLAGS} + emulators\n`,
    );
    console.log('| stage (10 s each) | default (delay ms, failing) | fallback |');
    console.log('|---|---|---|');
    for (const s of STAGES)
      console.log(`| ${s.label} | ${s.default.join(', ')} | ${s.fallback.join(', ')} |`);
    console.log('\n| figure | value |');
    console.log('|---|---:|');
    console.log(
      `| payments sent / accepted (2xx) / refused | ${fmt(accepted + failed)} / ${fmt(accepted)} / ${fmt(failed)} |`,
    );
    console.log(
      `| on default / on fallback | ${fmt(summary.default.totalRequests)} / ${fmt(summary.fallback.totalRequests)} |`,
    );
    console.log(`| lag (accepted − confirmed, after 10 s grace) | ${lag} |`);
    console.log(`| inconsistencies (audits every 10 s + final) | ${inconsistencies} |`);
    console.log(
      `| p99 of all ${fmt(latencies.length)} HTTP requests (as the clients saw them) | ${p99.toFixed(2)} ms |`,
    );
    // The server's share: nginx's own request time for the payments (ms resolution).
    await new Promise((r) => setTimeout(r, 1500));
    const server = accessLogTimes(stack.accessLog, '/payments');
    console.log(
      `| POST /payments inside nginx: p50 / p99 / max (${fmt(server.count)} logged) | ${server.p50} / ${server.p99} / ${server.max} ms |`,
    );
    if (ref)
      console.log(
        `| reference, bare node:http ×2 behind nginx, same ramp (${fmt(ref.requests)} requests): p99 clients / nginx | ${ref.p99.toFixed(2)} / ${ref.nginxP99} ms (armazem ${(p99 / ref.p99).toFixed(1)}× at the clients) |`,
      );
    console.log(`| amount processed − fees | ${fmt(gross - fees, 2)} |`);
    console.log(`| bonus (11 − p99) × 0.02 / fine | ${(bonus * 100).toFixed(1)} % / ${fine * 100} % |`);
    console.log(
      `| **score** / maximum for ${fmt(accepted)} payments (all on default, p99 ≤ 1 ms) | **${fmt(score, 2)}** / ${fmt(maxScore, 2)} (${((score / maxScore) * 100).toFixed(1)} %) |`,
    );
    console.log(
      `| CPU of armazem + nginx over the run | ${(after.cpuSeconds - before.cpuSeconds).toFixed(1)} s (${((after.cpuSeconds - before.cpuSeconds) / SECONDS).toFixed(2)} cores) |`,
    );
    console.log(
      `| peak memory of armazem + nginx: PSS (shared pages counted once) / RSS (counted per process) | ${peakPss.toFixed(0)} / ${peakRss.toFixed(0)} MB |`,
    );
    const c = new (await import('pg')).default.Client({ connectionString: db.url });
    await c.connect();
    try {
      // The database work per payment: an insert and two updates (pin, record) at best; waiting and retries add more.
      const { rows: writes } = await c.query<{ n: string }>(
        "SELECT n_tup_ins + n_tup_upd AS n FROM pg_stat_all_tables WHERE relname = 'payments'",
      );
      console.log(
        `| payment row versions written (inserts + updates) per accepted payment | ${(Number(writes[0]?.n ?? 0) / accepted).toFixed(2)} |`,
      );
      for (const a of audits) console.log(`audit mismatch: ${a}`);
      if (lag !== 0) {
        // Why: the payments not confirmed, by state and last error.
        const { rows } = await c.query(
          "SELECT status, processor, last_error, attempts, count(*)::int AS n FROM payments WHERE status <> 'processed' GROUP BY 1, 2, 3, 4 ORDER BY n DESC LIMIT 10",
        );
        for (const r of rows) console.log(`unconfirmed: ${JSON.stringify(r)}`);
      }
    } finally {
      await c.end();
    }
    console.log(
      `\ntargets: 0 inconsistencies → ${inconsistencies}; lag 0 → ${lag}; p99 ≤ 1 ms → ${p99.toFixed(2)} ms; score within 1 % of the maximum → ${((score / maxScore) * 100).toFixed(1)} %; memory ≤ 200 MB → ${peakPss.toFixed(0)} MB PSS (${peakRss.toFixed(0)} MB RSS)`,
    );
    writeReport('payments', {
      title: `bench:payments — the Rinha de Backend 2025 scoring test (${SECONDS} s, 1 → ${MAX_VUS} virtual users)`,
      command: `npm run bench:payments (BENCH_SECONDS=${SECONDS} BENCH_MAX_VUS=${MAX_VUS} BENCH_WORKERS=${WORKERS}${KILL ? ' BENCH_KILL=1' : ''} BENCH_NODE_FLAGS='${NODE_FLAGS}')`,
      notes: [
        'Every request as the virtual users saw it, per second; the dashed lines mark the processors’ stages. The reference (grey, dashed) is the same ramp against bare node:http ×2 behind the same nginx, run first.',
      ],
      checks: [
        {
          name: 'no inconsistency with the processors’ summaries',
          ok: inconsistencies === 0,
          detail: `${inconsistencies} (audits every 10 s + final)`,
        },
        { name: 'lag 0: every accepted payment confirmed', ok: lag === 0, detail: String(lag) },
        {
          name: 'score within 1 % of the maximum',
          ok: score / maxScore >= 0.99,
          detail: `${((score / maxScore) * 100).toFixed(1)} %`,
        },
        { name: 'p99 ≤ 1 ms at the clients', ok: p99 <= 1, detail: `${p99.toFixed(2)} ms` },
        {
          name: 'peak memory ≤ 200 MB (PSS of armazem + nginx)',
          ok: peakPss <= 200,
          detail: `${peakPss.toFixed(0)} MB PSS, ${peakRss.toFixed(0)} MB RSS`,
        },
      ],
      timelines: [
        {
          title: 'POST /payments and GET /payments-summary as the clients saw them',
          series: [
            ...(ref
              ? [
                  {
                    name: 'bare node:http ×2 behind nginx (reference)',
                    points: ref.timeline,
                    reference: true,
                  },
                ]
              : []),
            { name: 'armazem', points: timeline(startPerf) },
          ],
          stages: STAGES.map((stage, i) => ({ at: i * 10, label: stage.label })).filter(
            (stage) => stage.at < SECONDS,
          ),
        },
      ],
      bars: [
        {
          title: 'p99 at the clients',
          unit: 'ms',
          items: [
            ...(ref ? [{ name: 'reference', value: Math.round(ref.p99 * 100) / 100, reference: true }] : []),
            { name: 'armazem', value: Math.round(p99 * 100) / 100 },
          ],
        },
        {
          title: 'Payments confirmed, by processor',
          unit: 'payments',
          items: [
            { name: 'default (fee 5 %)', value: summary.default.totalRequests },
            { name: 'fallback (fee 15 %)', value: summary.fallback.totalRequests },
          ],
        },
      ],
    });
  } finally {
    // The stack first: whatever else fails, no process may be left behind.
    stack.down();
    await close();
    await db.drop();
  }
}

await main();
