/**
 * npm run bench:credit — store credit under the Rinha de Backend 2024/Q1 load test.
 *
 * Phase 1: the contest's Gatling simulation, re-created (bench/lib/crebitos.ts:
 * same scenarios, injection, checks and judging), against the local stack in
 * the contest's shape (`stack:up --profile credit`: nginx → 2 instances →
 * PostgreSQL), and in the same run against the reference: a bare in-memory
 * node:http server behind the same nginx.
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
 *
 * Writes bench/reports/credit.html (and .png).
 */
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { type Checked, judge, load, validations } from './lib/crebitos.ts';
import { median, runAutocannon } from './lib/load.ts';
import { ROOT, spawnNode, stop, waitHealthy } from './lib/processes.ts';
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
const PORTS = { nginx: 29_999, api: 29_001, reference: 29_998 };

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
    return { name: 'reference', checked: await simulate(nginx.url), invariant: 'n/a (memory)' };
  } finally {
    nginx.stop();
    await stop(server);
  }
}

async function armazemRun(): Promise<Run> {
  const db = await scratchDatabase(ADMIN_URL, 'armazem_bench_credit');
  const stack = startStack({
    env: { DATABASE_URL: db.url, LOG_LEVEL: 'warn' },
    port: PORTS.nginx,
    apiBasePort: PORTS.api,
    instances: 2,
    profile: 'credit',
  });
  try {
    const checked = await simulate(stack.url);
    return { name: 'armazem', checked, invariant: checkCredit(db.url) };
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
    for (const run of [referenceRun, armazemRun]) {
      const result = await run();
      const s = summarize(result);
      console.log(
        `  round ${r} ${result.name.padEnd(9)} ${s.total} requests, ${s.failed} failed, p50 ${ms(s.p50)}, p99 ${ms(s.p99)}, max ${ms(s.max)}, under 250 ms ${s.percentUnderSla} %`,
      );
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
  const ratio = p99('armazem') / p99('reference');
  console.log(
    `\np99, median of rounds: armazem ${ms(p99('armazem'))}, reference ${ms(p99('reference'))} → ${ratio.toFixed(2)} × (target ≤ 1.5 ×)`,
  );
  const last = (name: string) => rows.filter((x) => x.run.name === name).at(-1);
  const armazem = last('armazem');
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
      .filter((x) => x.run.name === 'armazem')
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
      { name: 'armazem', value: Math.round(p99('armazem') * 10) / 10 },
    ],
  });
}

/** Debits per second of the one-statement conditional debit, sent straight to PostgreSQL by `clients` connections. */
async function ceiling(databaseUrl: string, customerId: number, clients: number): Promise<number> {
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
                      WHERE customer_id = $1 AND balance - 1 >= -credit_limit RETURNING balance)
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
    env: { DATABASE_URL: db.url, LOG_LEVEL: 'warn' },
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
