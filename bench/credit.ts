/**
 * npm run bench:credit — store credit under the Rinha de Backend 2024/Q1 load test.
 *
 * Phase 1: the contest's Gatling simulation, re-created (bench/lib/crebitos.ts:
 * same scenarios, injection, checks and judging), against the local stack in
 * the contest's shape (`stack:up --profile credit`: nginx → 2 instances →
 * PostgreSQL), and in the same run against the reference: a bare in-memory
 * node:http server behind the same nginx — and the floor: two bare node:http
 * servers sending armazem's own SQL to PostgreSQL (bench/crebitos-pg-reference.ts),
 * what the database hop alone costs, so the report tells that cost from armazem's own.
 *
 * Phase 2: debits per second on one hot account through the stack, against
 * the database's own ceiling in the same run — the same one-statement
 * conditional UPDATE (with its transaction row) sent straight to PostgreSQL.
 *
 *   BENCH_ROUNDS (1)             phase-1 rounds; each runs the reference, then armazem
 *   BENCH_RAMP_SECONDS (120)     the ramp, then BENCH_CONSTANT_SECONDS (120) at full rate, as in the contest
 *   BENCH_HOT_ROUNDS (3)         phase-2 rounds, BENCH_HOT_SECONDS (10) each, BENCH_HOT_CONNECTIONS (64)
 *   BENCH_PHASES (1,2)           which phases to run
 *   BENCH_DATABASE_URL           an admin URL of the PostgreSQL to make scratch databases on
 *   BENCH_FLOOR (1)              0 skips the floor's run
 *   BENCH_VARIANTS               armazem runs per round, each with its own environment, to compare
 *                                levers in one session: "base;async=CREDIT_X=1,DB_POOL_MAX=4" (name=K=V,…)
 *
 * Writes bench/reports/credit.html (and .png).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { type Checked, judge, load, validations } from './lib/crebitos.ts';
import { median, runAutocannon } from './lib/load.ts';
import { cpuSecondsOf, postgresCpuSeconds, ROOT, spawnNode, stop, waitHealthy } from './lib/processes.ts';
import { type BarGroup, type Point, perSecond, type ReportSpec, writeReport } from './lib/report.ts';
import { scratchDatabase, startNginxFor, startStack } from './lib/stack.ts';

const env = process.env;
const ADMIN_URL = env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ROUNDS = Number(env.BENCH_ROUNDS ?? 1);
const RAMP = Number(env.BENCH_RAMP_SECONDS ?? 120);
const CONSTANT = Number(env.BENCH_CONSTANT_SECONDS ?? 120);
const HOT_ROUNDS = Number(env.BENCH_HOT_ROUNDS ?? 3);
const HOT_SECONDS = Number(env.BENCH_HOT_SECONDS ?? 10);
const HOT_CONNECTIONS = Number(env.BENCH_HOT_CONNECTIONS ?? 64);
const PHASES = (env.BENCH_PHASES ?? '1,2').split(',');
const FLOOR = env.BENCH_FLOOR !== '0';
const PORTS = { nginx: 29_999, api: 29_001, reference: 29_998, floor: [29_996, 29_997] };
const FLOOR_NAME = 'bare + pg';
/** The stack runs compiled dist/, as the image does (type stripping costs memory per process: docs/decisions.md). */
const AS_DEPLOYED = { STACK_RUN: 'dist' };

const pct = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
const ms = (n: number) => `${n.toFixed(1)} ms`;

/** What the report shows, filled by the phases that run. */
const report: Required<Pick<ReportSpec, 'checks' | 'timelines'>> & { bars: BarGroup[] } = {
  checks: [],
  timelines: [],
  bars: [],
};
/** The load's answers per second of the run (validation steps carry no `at`). */
const timelineOf = (run: Run): Point[] =>
  perSecond(
    run.checked.flatMap((c) => {
      const at = (c as Checked & { at?: number }).at;
      return at === undefined ? [] : [[at, c.answer.ms] as [number, number]];
    }),
  );

interface Run {
  name: string;
  checked: Checked[];
  invariant: string;
  /** Where the CPU went during the simulation. */
  cpu?: string;
}

/** Busy and total jiffies of the whole machine, from /proc/stat. */
function machineJiffies(): { busy: number; total: number } {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
}

/** Runs `work` and says where the CPU went meanwhile: the machine, the client (this process), PostgreSQL, and `pids`. */
async function cpuDuring<T>(pids: Record<string, number>, work: () => Promise<T>): Promise<[T, string]> {
  const m0 = machineJiffies();
  const c0 = process.cpuUsage();
  const pg0 = postgresCpuSeconds();
  const p0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSecondsOf(pid)]));
  const t0 = performance.now();
  const result = await work();
  const wall = (performance.now() - t0) / 1000;
  const m1 = machineJiffies();
  const c1 = process.cpuUsage(c0);
  const parts = [
    `machine ${Math.round((100 * (m1.busy - m0.busy)) / (m1.total - m0.total))} % busy over ${wall.toFixed(0)} s`,
    `client ${((c1.user + c1.system) / 1e6).toFixed(1)} s`,
    `postgres (all) ${(postgresCpuSeconds() - pg0).toFixed(1)} s`,
    ...Object.entries(pids).map(([k, pid]) => `${k} ${(cpuSecondsOf(pid) - (p0[k] ?? 0)).toFixed(1)} s`),
  ];
  return [result, `    CPU: ${parts.join(', ')}`];
}

/** The whole simulation against `base`: validation steps, then the load. */
const simulate = (base: string) =>
  validations(base, () => load(base, { rampSeconds: RAMP, constantSeconds: CONSTANT }));

function summarize(run: Run) {
  const times = run.checked.map((c) => c.answer.ms).sort((a, b) => a - b);
  const failures = new Map<string, number>();
  for (const f of run.checked.flatMap((c) => c.failures)) {
    const key = `${f.request}: ${f.check.replace(/, found .*$/, '')}`;
    failures.set(key, (failures.get(key) ?? 0) + 1);
  }
  return {
    ...judge(run.checked),
    failed: run.checked.filter((c) => c.failures.length > 0).length,
    failures,
    p50: pct(times, 0.5),
    p75: pct(times, 0.75),
    p99: pct(times, 0.99),
    max: times.at(-1) ?? 0,
  };
}

/**
 * Where a run's slowest 1 % sits: per request type (p50/p99 and share of the
 * slow ones), per 10 s of the load, and the p99 without the load's first 20 s.
 */
function tail(run: Run): string[] {
  const timed = run.checked.map((c) => ({ c, at: (c as Checked & { at?: number }).at }));
  const times = timed.map((x) => x.c.answer.ms).sort((a, b) => a - b);
  const cut = pct(times, 0.99);
  const slow = timed.filter((x) => x.c.answer.ms >= cut);
  const byType = [...new Set(timed.map((x) => x.c.request))].map((type) => {
    const t = timed
      .filter((x) => x.c.request === type)
      .map((x) => x.c.answer.ms)
      .sort((a, b) => a - b);
    const n = slow.filter((x) => x.c.request === type).length;
    return `${type} ${t.length}: p50 ${ms(pct(t, 0.5))} p99 ${ms(pct(t, 0.99))}, ${n} of the slow`;
  });
  const buckets = new Map<number, number>();
  for (const x of slow) {
    const b = x.at === undefined ? -1 : Math.floor(x.at / 10) * 10;
    buckets.set(b, (buckets.get(b) ?? 0) + 1);
  }
  const perSecond = new Map<number, number>();
  for (const x of slow)
    if (x.at !== undefined) perSecond.set(Math.floor(x.at), (perSecond.get(Math.floor(x.at)) ?? 0) + 1);
  const worst = [...perSecond.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6);
  const late = timed
    .filter((x) => x.at !== undefined && x.at >= 20)
    .map((x) => x.c.answer.ms)
    .sort((a, b) => a - b);
  return [
    `    slowest 1 % (≥ ${ms(cut)}, ${slow.length}): ${byType.join('; ')}`,
    `    by 10 s of the load (-1 = validations): ${[...buckets.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([b, n]) => `${b}: ${n}`)
      .join(', ')}; p99 from 20 s on ${ms(pct(late, 0.99))}`,
    `    busiest seconds of the slow: ${worst.map(([t, n]) => `${t} s: ${n}`).join(', ')}`,
  ];
}

function checkCredit(databaseUrl: string): string {
  const r = spawnSync(process.execPath, ['src/entrypoints/cli/check-credit.ts'], {
    cwd: ROOT,
    env: { ...env, DATABASE_URL: databaseUrl, NODE_ENV: 'development' },
    encoding: 'utf8',
  });
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  return `${r.status === 0 ? 'ok' : 'BROKEN'} (${last})`;
}

async function referenceRun(): Promise<Run> {
  const server = spawnNode('bench/crebitos-reference.ts', { PORT: String(PORTS.reference) });
  const nginx = startNginxFor([`127.0.0.1:${PORTS.reference}`], PORTS.nginx);
  try {
    await waitHealthy(`${nginx.url}/clientes/1/extrato`);
    const [checked, cpu] = await cpuDuring({ server: server.pid ?? 0, nginx: nginx.pid() }, () =>
      simulate(nginx.url),
    );
    return { name: 'reference', checked, invariant: 'n/a (memory)', cpu };
  } finally {
    nginx.stop();
    await stop(server);
  }
}

/** Two bare node:http servers with armazem's SQL (the floor) behind the same nginx, on a scratch database set up as `credit:contest-setup` does. */
async function floorRun(): Promise<Run> {
  const db = await scratchDatabase(ADMIN_URL, 'armazem_bench_credit_floor');
  const setup = spawnSync(process.execPath, ['src/entrypoints/cli/credit-contest-setup.ts'], {
    cwd: ROOT,
    env: { ...env, DATABASE_URL: db.url, NODE_ENV: 'development', LOG_LEVEL: 'warn' },
    encoding: 'utf8',
  });
  if (setup.status !== 0) throw new Error(`credit:contest-setup failed:\n${setup.stdout}${setup.stderr}`);
  const servers = PORTS.floor.map((port) =>
    spawnNode('bench/crebitos-pg-reference.ts', { PORT: String(port), DATABASE_URL: db.url }),
  );
  const nginx = startNginxFor(
    PORTS.floor.map((port) => `127.0.0.1:${port}`),
    PORTS.nginx,
  );
  try {
    await waitHealthy(`${nginx.url}/clientes/1/extrato`);
    const [checked, cpu] = await cpuDuring(
      { 'server-1': servers[0]?.pid ?? 0, 'server-2': servers[1]?.pid ?? 0, nginx: nginx.pid() },
      () => simulate(nginx.url),
    );
    return { name: FLOOR_NAME, checked, invariant: checkCredit(db.url), cpu };
  } finally {
    nginx.stop();
    for (const s of servers) await stop(s);
    await db.drop();
  }
}

/** BENCH_VARIANTS: name=K=V,K=V;… — each an armazem run per round with these variables on top. */
const VARIANTS: Array<{ name: string; env: Record<string, string> }> = (env.BENCH_VARIANTS ?? 'armazem')
  .split(';')
  .filter(Boolean)
  .map((v) => {
    const [name, ...rest] = v.split('=');
    const pairs = rest.join('=');
    return {
      name: name?.trim() || 'armazem',
      env: Object.fromEntries(
        pairs
          .split(',')
          .filter(Boolean)
          .map((kv) => {
            const [k, ...val] = kv.split('=');
            return [k?.trim() ?? '', val.join('=')];
          }),
      ),
    };
  });

async function armazemRun(variant: { name: string; env: Record<string, string> }): Promise<Run> {
  const db = await scratchDatabase(ADMIN_URL, 'armazem_bench_credit');
  const stack = startStack({
    env: { DATABASE_URL: db.url, ...AS_DEPLOYED, ...variant.env },
    port: PORTS.nginx,
    apiBasePort: PORTS.api,
    instances: 2,
    profile: 'credit',
  });
  try {
    const [checked, cpu] = await cpuDuring(
      { 'api-1': stack.pid('api-1'), 'api-2': stack.pid('api-2'), nginx: stack.pid('nginx') },
      () => simulate(stack.url),
    );
    return { name: variant.name, checked, invariant: checkCredit(db.url), cpu };
  } finally {
    stack.down();
    await db.drop();
  }
}

async function phase1() {
  console.log(
    `\n## Phase 1: the contest's load test (ramp ${RAMP} s + ${CONSTANT} s constant; débitos → 220/s, créditos → 110/s, extratos → 10/s; a new connection per request)`,
  );
  const runs: Run[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    // The variants' (and the floor's) order rotates each round, so none always runs right after the reference.
    const runners = [...(FLOOR ? [floorRun] : []), ...VARIANTS.map((v) => () => armazemRun(v))];
    const order = runners.map((_, i) => runners[(i + r - 1) % runners.length] as () => Promise<Run>);
    for (const run of [referenceRun, ...order]) {
      const result = await run();
      const s = summarize(result);
      console.log(
        `  round ${r} ${result.name.padEnd(9)} ${s.total} requests, ${s.failed} failed, p50 ${ms(s.p50)}, p99 ${ms(s.p99)}, max ${ms(s.max)}, under 250 ms ${s.percentUnderSla} %`,
      );
      for (const line of tail(result)) console.log(line);
      if (result.cpu) console.log(result.cpu);
      runs.push(result);
    }
  }
  const rows = runs.map((run) => ({ run, s: summarize(run) }));
  console.log(
    '\n| run | requests | failed checks | p50 | p75 | p99 | max | OK under 250 ms | payout (USD) | invariant |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const { run, s } of rows) {
    console.log(
      `| ${run.name} | ${s.total} | ${s.failed} | ${ms(s.p50)} | ${ms(s.p75)} | ${ms(s.p99)} | ${ms(s.max)} | ${s.percentUnderSla} % | ${s.payout.toLocaleString('en-US')} | ${run.invariant} |`,
    );
  }
  for (const { run, s } of rows) {
    for (const [check, n] of s.failures) console.log(`  ${run.name} failed: ${check} × ${n}`);
  }
  const p99 = (name: string) => median(rows.filter((x) => x.run.name === name).map((x) => x.s.p99));
  const main = VARIANTS[0]?.name ?? 'armazem';
  const ratio = p99(main) / p99('reference');
  for (const v of VARIANTS) {
    const each = rows.filter((x) => x.run.name === v.name).map((x) => (x.s.p99 / 1).toFixed(1));
    console.log(
      `\np99, median of rounds: ${v.name} ${ms(p99(v.name))} (rounds ${each.join(', ')}), reference ${ms(p99('reference'))} → ${(p99(v.name) / p99('reference')).toFixed(2)} × (target ≤ 1.5 ×)`,
    );
  }
  if (FLOOR) {
    const each = rows.filter((x) => x.run.name === FLOOR_NAME).map((x) => x.s.p99.toFixed(1));
    console.log(
      `floor (${FLOOR_NAME}: bare node:http ×2 with armazem's SQL), median of rounds: ${ms(p99(FLOOR_NAME))} (rounds ${each.join(', ')}) → ${(p99(FLOOR_NAME) / p99('reference')).toFixed(2)} × the reference; ${main} ${(p99(main) / p99(FLOOR_NAME)).toFixed(2)} × the floor`,
    );
  }
  const last = (name: string) => rows.filter((x) => x.run.name === name).at(-1);
  const armazem = last(main);
  const reference = last('reference');
  report.timelines.push({
    title: 'The contest’s load (last round), every request on a new connection',
    series: [
      ...(reference
        ? [
            {
              name: 'bare in-memory node:http (reference)',
              points: timelineOf(reference.run),
              reference: true,
            },
          ]
        : []),
      ...(armazem ? [{ name: 'armazem', points: timelineOf(armazem.run) }] : []),
    ],
    stages: [{ at: RAMP, label: 'ramp ends: constant rate' }],
  });
  report.checks.push(
    { name: 'p99 ≤ 1.5 × the reference', ok: ratio <= 1.5, detail: `${ratio.toFixed(2)} ×` },
    ...rows
      .filter((x) => x.run.name === main)
      .flatMap(({ run, s }) => [
        {
          name: 'every contest check passed',
          ok: s.failed === 0,
          detail: `${s.failed} failed of ${s.total}`,
        },
        {
          name: 'credit invariant after the load',
          ok: run.invariant.startsWith('ok'),
          detail: run.invariant,
        },
      ]),
  );
  report.bars.push({
    title: 'p99, median of rounds',
    unit: 'ms',
    items: [
      { name: 'reference', value: Math.round(p99('reference') * 10) / 10, reference: true },
      ...(FLOOR ? [{ name: FLOOR_NAME, value: Math.round(p99(FLOOR_NAME) * 10) / 10, reference: true }] : []),
      { name: 'armazem', value: Math.round(p99(main) * 10) / 10 },
    ],
  });
}

/**
 * The stack holds the account after its own measure (CREDIT_JOURNAL_DIR): asked to let it go the
 * way any other writer asks, so that the statements below, which skip a held account as
 * credit_post() does, go to an account nobody holds.
 */
async function letGo(databaseUrl: string, customerId: number): Promise<void> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    for (let tries = 0; tries < 100; tries++) {
      const { rows } = await c.query<{ owner: string | null }>(
        'SELECT owner FROM credit_accounts WHERE customer_id = $1',
        [customerId],
      );
      if (!rows[0]?.owner) return;
      await c.query("SELECT pg_notify('armazem_credit_release', $1)", [String(customerId)]);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`the stack did not let account ${customerId} go`);
  } finally {
    await c.end();
  }
}

/** Debits per second of the one-statement conditional debit, sent straight to PostgreSQL by `clients` connections. */
async function ceiling(databaseUrl: string, customerId: number, clients: number): Promise<number> {
  await letGo(databaseUrl, customerId);
  const conns = await Promise.all(
    Array.from({ length: clients }, async () => {
      const c = new pg.Client({ connectionString: databaseUrl });
      await c.connect();
      return c;
    }),
  );
  const statement = {
    name: 'ceiling_debit',
    text: `WITH u AS (UPDATE credit_accounts SET balance = balance - 1, updated_at = now()
                      WHERE customer_id = $1 AND owner IS NULL AND balance - 1 >= -credit_limit RETURNING balance)
           INSERT INTO credit_transactions (customer_id, kind, amount, description, balance_after)
           SELECT $1, 'd', 1, 'ceiling', balance FROM u`,
    values: [customerId],
  };
  let done = 0;
  const deadline = performance.now() + HOT_SECONDS * 1000;
  await Promise.all(
    conns.map(async (c) => {
      while (performance.now() < deadline) {
        const r = await c.query(statement);
        done += r.rowCount ?? 0;
      }
    }),
  );
  await Promise.all(conns.map((c) => c.end()));
  return done / HOT_SECONDS;
}

/** Debits per second on one contest client through the stack, and their latency. */
async function hotThroughStack(
  url: string,
): Promise<{ rate: number; p50: number; p99: number; refused: number; timeline: Point[] }> {
  const { result, timeline } = await runAutocannon({
    url,
    connections: HOT_CONNECTIONS,
    duration: HOT_SECONDS,
    requests: [
      {
        method: 'POST',
        path: '/clientes/4/transacoes',
        headers: { 'content-type': 'application/json' },
        body: '{"valor": 1, "tipo": "d", "descricao": "hot"}',
      },
    ],
  });
  return {
    rate: result['2xx'] / HOT_SECONDS,
    p50: result.latency.p50,
    p99: result.latency.p99,
    refused: result.non2xx + result.errors + result.timeouts,
    timeline,
  };
}

async function phase2() {
  console.log(
    `\n## Phase 2: debits on one hot account (contest client 4), ${HOT_SECONDS} s per measure; stack with ${HOT_CONNECTIONS} connections`,
  );
  const db = await scratchDatabase(ADMIN_URL, 'armazem_bench_credit_hot');
  const stack = startStack({
    env: { DATABASE_URL: db.url, ...AS_DEPLOYED },
    port: PORTS.nginx,
    apiBasePort: PORTS.api,
    instances: 2,
    profile: 'credit',
  });
  try {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const { rows } = await c.query<{ customer_id: string }>(
      'SELECT customer_id FROM credit_contest_clients WHERE client_id = 4',
    );
    await c.end();
    const customerId = Number(rows[0]?.customer_id);
    const ceilings: number[] = [];
    const stacks: Array<Awaited<ReturnType<typeof hotThroughStack>>> = [];
    for (let r = 1; r <= HOT_ROUNDS; r++) {
      const byClients: string[] = [];
      let best = 0;
      for (const clients of [1, 8, 32]) {
        const rate = await ceiling(db.url, customerId, clients);
        byClients.push(`${clients}: ${Math.round(rate)}/s`);
        best = Math.max(best, rate);
      }
      ceilings.push(best);
      const s = await hotThroughStack(stack.url);
      stacks.push(s);
      console.log(
        `  round ${r}: database ceiling ${Math.round(best)}/s (clients ${byClients.join(', ')}); through the stack ${Math.round(s.rate)}/s, p50 ${s.p50} ms, p99 ${s.p99} ms, refused ${s.refused} → ${(s.rate / best).toFixed(2)} ×`,
      );
    }
    const ceil = median(ceilings);
    const rate = median(stacks.map((s) => s.rate));
    const invariant = checkCredit(db.url);
    console.log(
      `\ndebits/s, median of rounds: through the stack ${Math.round(rate)}, database ceiling ${Math.round(ceil)} → ${(rate / ceil).toFixed(2)} × (target ≥ 1 ×); invariant ${invariant}`,
    );
    report.timelines.push({
      title: `Debits on one hot account through the stack (last round, ${HOT_CONNECTIONS} connections)`,
      series: [{ name: 'armazem', points: stacks.at(-1)?.timeline ?? [] }],
    });
    report.checks.push(
      {
        name: 'hot-account debits/s ≥ the database’s one-statement ceiling',
        ok: rate >= ceil,
        detail: `${(rate / ceil).toFixed(2)} ×`,
      },
      {
        name: 'credit invariant after the hot-account run',
        ok: invariant.startsWith('ok'),
        detail: invariant,
      },
    );
    report.bars.push({
      title: 'Debits per second on one hot account, median of rounds',
      unit: '/s',
      items: [
        {
          name: 'database ceiling (one statement per debit, straight to PostgreSQL)',
          value: Math.round(ceil),
          reference: true,
        },
        { name: 'through the stack (group commit)', value: Math.round(rate) },
      ],
    });
  } finally {
    stack.down();
    await db.drop();
  }
}

if (PHASES.includes('1')) await phase1();
if (PHASES.includes('2')) await phase2();
writeReport('credit', {
  title: 'bench:credit — store credit under the Rinha de Backend 2024/Q1 load test',
  command: `npm run bench:credit (BENCH_PHASES=${PHASES.join(',')} BENCH_ROUNDS=${ROUNDS} BENCH_RAMP_SECONDS=${RAMP} BENCH_CONSTANT_SECONDS=${CONSTANT} BENCH_HOT_ROUNDS=${HOT_ROUNDS} BENCH_HOT_SECONDS=${HOT_SECONDS})`,
  notes: [
    'Phase 1 reference: a bare in-memory node:http server behind the same nginx, measured in the same run.',
  ],
  ...report,
});
