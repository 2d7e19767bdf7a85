/**
 * bench:orders — orders through the local stack (nginx, STACK_INSTANCES
 * instances, STACK_WORKERS workers), per concurrency strategy: C clients
 * buying one hot product for T seconds, then buying across many products.
 * Each figure is set against the ceiling measured in the same round: the same
 * atomic single-row UPDATE issued straight to PostgreSQL by the same driver
 * at the same concurrency, on a copy of the products table (so it cannot
 * disturb the stock invariant, checked after every phase). BENCH_ROUNDS
 * repeats strategies and ceiling in turn; the tables give medians.
 * Then seed 002's siege test (90 users, 120 s, one product with 500 units).
 *
 * Env: BENCH_CLIENTS (32), BENCH_SECONDS (10), BENCH_STRATEGIES (all),
 * BENCH_ROUNDS (1), BENCH_SIEGE (1), BENCH_SIEGE_SECONDS (120), STACK_INSTANCES (2),
 * STACK_WORKERS (1), BENCH_DATABASE_URL, REDIS_URL.
 * Writes bench/reports/orders.html (and .png).
 */
import { createHmac, randomBytes } from 'node:crypto';
import type autocannon from 'autocannon';
import pg from 'pg';
import { hashPassword } from '../src/modules/auth/password.ts';
import { OrderRepository } from '../src/modules/orders/orders.repository.ts';
import { createLogger } from '../src/platform/logger.ts';
import { migrate } from '../src/platform/migrations.ts';
import { median, runAutocannon } from './lib/load.ts';
import { type Point, type ReportSpec, Timeline, writeReport } from './lib/report.ts';
import { siege } from './lib/siege.ts';
import { accessLogTimeline, accessLogTimes, scratchDatabase, startStack } from './lib/stack.ts';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const STRATEGIES = (process.env.BENCH_STRATEGIES ?? 'atomic,pessimistic,optimistic,queued,hybrid,batched')
  .split(',')
  .filter(Boolean);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const SIEGE = process.env.BENCH_SIEGE !== '0';
const SIEGE_SECONDS = Number(process.env.BENCH_SIEGE_SECONDS ?? 120);
const INSTANCES = Number(process.env.STACK_INSTANCES ?? 2);
const SPREAD_PRODUCTS = 10_000;
const CUSTOMERS = 200;
const JWT_SECRET = randomBytes(48).toString('base64url');

const fmt = (n: number, d = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

/** An access token as the API would sign it (HS256, the stack's secret). */
function token(customerId: number): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: String(customerId), role: 'customer', iat: now, exp: now + 3600 })}`;
  return `${body}.${createHmac('sha256', JWT_SECRET).update(body).digest('base64url')}`;
}

interface Phase {
  strategy: string;
  scenario: 'hot' | 'spread';
  rps: number;
  p50: number;
  p99: number;
  codes: Record<string, number>;
  reservedPerSecond: number;
  drainSeconds: number;
  consistent: boolean;
  timeline: Point[];
}

async function counts(db: pg.Pool): Promise<Record<string, number>> {
  const { rows } = await db.query<{ status: string; n: string }>(
    'SELECT status, count(*) AS n FROM orders GROUP BY status',
  );
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

async function ordersPhase(
  url: string,
  db: pg.Pool,
  strategy: string,
  scenario: 'hot' | 'spread',
  hotId: number,
  tokens: string[],
): Promise<Phase> {
  const before = await counts(db);
  const t0 = Date.now();
  const { result, timeline } = await runAutocannon({
    url,
    connections: CLIENTS,
    duration: SECONDS,
    method: 'POST',
    requests: [
      {
        setupRequest: (req: autocannon.Request) => ({
          ...req,
          path: '/orders',
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${tokens[Math.floor(Math.random() * tokens.length)]}`,
          },
          body: JSON.stringify({
            items: [
              {
                productId: scenario === 'hot' ? hotId : 2 + Math.floor(Math.random() * SPREAD_PRODUCTS),
                quantity: 1,
              },
            ],
          }),
        }),
      },
    ],
  });
  const loadEnd = Date.now();
  // Queued orders are accepted, not yet reserved: wait for the workers to finish them.
  for (;;) {
    if (((await counts(db)).pending ?? 0) === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const drainSeconds = (Date.now() - loadEnd) / 1000;
  const after = await counts(db);
  const reserved = (after.reserved ?? 0) - (before.reserved ?? 0);
  const codes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {}))
    codes[code] = (stat as { count: number }).count;
  if (result.errors + result.timeouts > 0) codes.errors = result.errors + result.timeouts;
  const { mismatches } = await new OrderRepository(db).stockCheck();
  return {
    strategy,
    scenario,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    codes,
    reservedPerSecond: reserved / ((loadEnd - t0) / 1000 + drainSeconds),
    drainSeconds,
    consistent: mismatches.length === 0,
    timeline,
  };
}

/** The ceiling: the atomic conditional UPDATE alone, straight to PostgreSQL, same driver, same concurrency. */
async function ceiling(
  databaseUrl: string,
  scenario: 'hot' | 'spread',
  hotId: number,
): Promise<{ ops: number; p50: number; p99: number; timeline: Point[] }> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: CLIENTS });
  const latencies: number[] = [];
  const timeline = new Timeline();
  const end = Date.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (Date.now() < end) {
        const id = scenario === 'hot' ? hotId : 2 + Math.floor(Math.random() * SPREAD_PRODUCTS);
        const t = performance.now();
        await pool.query({
          name: 'ceiling',
          text: 'UPDATE ceiling_products SET stock = stock - 1 WHERE id = $1 AND stock >= 1',
          values: [id],
        });
        latencies.push(performance.now() - t);
        timeline.record(performance.now() - t);
      }
    }),
  );
  await pool.end();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round((latencies[Math.floor(q * latencies.length)] ?? 0) * 10) / 10;
  // The second the loop stopped in is partial: left out of the curve.
  const points = timeline.perSecond().filter((p) => p.t < SECONDS);
  return { ops: latencies.length / SECONDS, p50: at(0.5), p99: at(0.99), timeline: points };
}

async function main() {
  const db = await scratchDatabase(ADMIN_URL, 'armazem_bench_orders');
  const appEnv = {
    DATABASE_URL: db.url,
    REDIS_URL,
    REDIS_KEY_PREFIX: `bench-orders:${process.pid}:`,
    JWT_SECRET,
    LOG_LEVEL: 'info',
  };
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  const results: Phase[] = [];
  try {
    // Schema and data once, by SQL: the benchmark measures orders, not setup.
    await migrate(pool, createLogger({ LOG_LEVEL: 'warn', INSTANCE_ID: 'bench' }));
    const hash = await hashPassword('bench-password');
    const { rows } = await pool.query<{ id: string }>(
      `INSERT INTO customers (name, email, password_hash)
       SELECT 'Bench ' || i, 'bench' || i || '@example.com', $2 FROM generate_series(1, $1) AS i RETURNING id`,
      [CUSTOMERS, hash],
    );
    const tokens = rows.map((r) => token(Number(r.id)));
    const hotId = Number(
      (
        await pool.query<{ id: string }>(
          "INSERT INTO products (name, price, stock, category) VALUES ('Hot disc', 19.90, 100000000, 'hot') RETURNING id",
        )
      ).rows[0]?.id,
    );
    await pool.query(
      `INSERT INTO products (name, price, stock, category)
       SELECT 'Disc ' || i, 29.90, 1000000, 'spread' FROM generate_series(1, $1) AS i`,
      [SPREAD_PRODUCTS],
    );
    await pool.query('ANALYZE');
    // The ceiling's own copy: same rows, same indexes, and the orders' stock stays untouched.
    await pool.query('CREATE TABLE ceiling_products (LIKE products INCLUDING ALL)');
    await pool.query('INSERT INTO ceiling_products OVERRIDING SYSTEM VALUE SELECT * FROM products');
    await pool.query('ANALYZE ceiling_products');
    const ceilingRuns: Record<'hot' | 'spread', Array<Awaited<ReturnType<typeof ceiling>>>> = {
      hot: [],
      spread: [],
    };
    for (let round = 1; round <= ROUNDS; round++) {
      for (const strategy of STRATEGIES) {
        const stack = startStack({
          env: { ...appEnv, ORDER_CONCURRENCY: strategy },
          port: 3899,
          apiBasePort: 3861,
          instances: INSTANCES,
        });
        try {
          for (const scenario of ['hot', 'spread'] as const) {
            const phase = await ordersPhase(stack.url, pool, strategy, scenario, hotId, tokens);
            results.push(phase);
            console.log(
              `round ${round}/${ROUNDS} ${strategy.padEnd(11)} ${scenario.padEnd(6)} ${fmt(phase.rps).padStart(7)} req/s  p99 ${phase.p99} ms  ${JSON.stringify(phase.codes)}  reserved/s ${fmt(phase.reservedPerSecond)} (drain ${phase.drainSeconds.toFixed(1)} s)  invariant ${phase.consistent ? 'ok' : 'BROKEN'}`,
            );
          }
        } finally {
          stack.down();
        }
      }
      for (const scenario of ['hot', 'spread'] as const) {
        const c = await ceiling(db.url, scenario, hotId);
        ceilingRuns[scenario].push(c);
        console.log(
          `round ${round}/${ROUNDS} ceiling     ${scenario.padEnd(6)} ${fmt(c.ops).padStart(7)} op/s   p99 ${c.p99} ms`,
        );
      }
    }
    const siegeResult = SIEGE ? await siegeSeed002(appEnv, pool, tokens) : null;
    // Medians over the rounds; the curves show the median round.
    const medianOf = <T extends { ops?: number; reservedPerSecond?: number }>(
      runs: T[],
      by: (r: T) => number,
    ) => [...runs].sort((a, b) => by(a) - by(b))[Math.floor(runs.length / 2)] as T;
    const ceilings = {
      hot: {
        ...medianOf(ceilingRuns.hot, (c) => c.ops),
        ops: median(ceilingRuns.hot.map((c) => c.ops)),
        p99: median(ceilingRuns.hot.map((c) => c.p99)),
      },
      spread: {
        ...medianOf(ceilingRuns.spread, (c) => c.ops),
        ops: median(ceilingRuns.spread.map((c) => c.ops)),
        p99: median(ceilingRuns.spread.map((c) => c.p99)),
      },
    };
    const medians = STRATEGIES.flatMap((strategy) =>
      (['hot', 'spread'] as const).map((scenario) => {
        const runs = results.filter((r) => r.strategy === strategy && r.scenario === scenario);
        return {
          ...medianOf(runs, (r) => r.reservedPerSecond),
          rps: median(runs.map((r) => r.rps)),
          p50: median(runs.map((r) => r.p50)),
          p99: median(runs.map((r) => r.p99)),
          reservedPerSecond: median(runs.map((r) => r.reservedPerSecond)),
          consistent: runs.every((r) => r.consistent),
        };
      }),
    );
    console.log(
      `ceiling (pg, ${CLIENTS} connections, medians): hot ${fmt(ceilings.hot.ops)}/s, spread ${fmt(ceilings.spread.ops)}/s`,
    );

    console.log(
      `\nbench:orders — ${CLIENTS} clients × ${SECONDS} s per phase, ${ROUNDS} round(s), medians, through nginx → ${INSTANCES} instances + workers\n`,
    );
    console.log(
      '| strategy | scenario | requests/s | p50 ms | p99 ms | 201 | 202 | 409 | other | reserved/s (incl. queue drain) | × ceiling | invariant |',
    );
    console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
    for (const scenario of ['hot', 'spread'] as const) {
      const c = ceilings[scenario];
      console.log(
        `| ceiling: \`UPDATE … WHERE stock >= 1\` via pg | ${scenario} | ${fmt(c.ops)} | ${c.p50} | ${c.p99} | | | | | ${fmt(c.ops)} | 1.00 | |`,
      );
      for (const r of medians.filter((x) => x.scenario === scenario)) {
        const other = Object.entries(r.codes)
          .filter(([k]) => !['201', '202', '409'].includes(k))
          .reduce((n, [, v]) => n + v, 0);
        console.log(
          `| ${r.strategy} | ${scenario} | ${fmt(r.rps)} | ${r.p50} | ${r.p99} | ${r.codes['201'] ?? 0} | ${r.codes['202'] ?? 0} | ${r.codes['409'] ?? 0} | ${other} | ${fmt(r.reservedPerSecond)} | ${fmt(r.reservedPerSecond / c.ops, 2)} | ${r.consistent ? 'holds' : 'BROKEN'} |`,
        );
      }
    }
    // Issue 16's targets for the synchronous group commit (batched), when it ran.
    const at = (strategy: string, scenario: 'hot' | 'spread') =>
      medians.find((r) => r.strategy === strategy && r.scenario === scenario);
    const [batchedHot, batchedSpread, atomicSpread] = [
      at('batched', 'hot'),
      at('batched', 'spread'),
      at('atomic', 'spread'),
    ];
    const targets = [
      ...(batchedHot
        ? [
            {
              name: 'batched, hot product: reserved/s ≥ 1.0 × ceiling',
              ok: batchedHot.reservedPerSecond >= ceilings.hot.ops,
              detail: fmt(batchedHot.reservedPerSecond / ceilings.hot.ops, 2),
            },
            {
              name: 'batched, hot product: p99 ≤ ceiling p99',
              ok: batchedHot.p99 <= ceilings.hot.p99,
              detail: `${batchedHot.p99} vs ${ceilings.hot.p99} ms`,
            },
          ]
        : []),
      ...(batchedSpread && atomicSpread
        ? [
            {
              name: `batched, ${fmt(SPREAD_PRODUCTS)} products: reserved/s ≥ atomic`,
              ok: batchedSpread.reservedPerSecond >= atomicSpread.reservedPerSecond,
              detail: fmt(batchedSpread.reservedPerSecond / atomicSpread.reservedPerSecond, 2),
            },
          ]
        : []),
    ];
    console.log('');
    for (const t of targets) console.log(`target: ${t.name} → ${t.detail} ${t.ok ? 'MET' : 'NOT MET'}`);
    console.log(`invariant ${results.every((r) => r.consistent) ? 'held in every phase' : 'BROKEN'}`);
    const scenarioTitle = { hot: 'one hot product', spread: `${fmt(SPREAD_PRODUCTS)} products` };
    const report: ReportSpec = {
      title: `bench:orders — POST /orders per strategy against PostgreSQL's own ceiling`,
      command: `npm run bench:orders (BENCH_CLIENTS=${CLIENTS} BENCH_SECONDS=${SECONDS} BENCH_STRATEGIES=${STRATEGIES.join(',')} BENCH_ROUNDS=${ROUNDS} STACK_INSTANCES=${INSTANCES})`,
      notes: [
        'Curves: answers per second and their latency through nginx, per strategy; the reference (grey, dashed) is the ceiling — the atomic UPDATE alone, straight to PostgreSQL at the same concurrency.',
      ],
      checks: [
        ...results.map((r) => ({
          name: `stock invariant after ${r.strategy}, ${scenarioTitle[r.scenario]}`,
          ok: r.consistent,
          detail: r.consistent ? 'received = stock + held' : 'BROKEN',
        })),
        ...targets,
        ...(siegeResult?.checks ?? []),
      ],
      timelines: [
        ...(['hot', 'spread'] as const).map((scenario) => ({
          title: `POST /orders, ${scenarioTitle[scenario]}`,
          series: [
            {
              name: 'ceiling: UPDATE … WHERE stock >= 1 via pg',
              points: ceilings[scenario].timeline,
              reference: true,
            },
            ...medians
              .filter((r) => r.scenario === scenario)
              .map((r) => ({ name: r.strategy, points: r.timeline })),
          ],
        })),
        ...(siegeResult ? [siegeResult.timeline] : []),
      ],
      bars: (['hot', 'spread'] as const).map((scenario) => ({
        title: `Reserved orders per second, ${scenarioTitle[scenario]}`,
        unit: '/s',
        items: [
          { name: 'ceiling (pg alone)', value: Math.round(ceilings[scenario].ops), reference: true },
          ...medians
            .filter((r) => r.scenario === scenario)
            .map((r) => ({ name: r.strategy, value: Math.round(r.reservedPerSecond) })),
        ],
      })),
    };
    writeReport('orders', report);
  } finally {
    await pool.end();
    await db.drop();
  }
}

/** Seed 002: siege -d1 -c90 -t120s buying one product with 500 units. */
async function siegeSeed002(appEnv: Record<string, string>, pool: pg.Pool, tokens: string[]) {
  const productId = Number(
    (
      await pool.query<{ id: string }>(
        "INSERT INTO products (name, price, stock, category) VALUES ('Seed 002 disc', 49.90, 500, 'siege') RETURNING id",
      )
    ).rows[0]?.id,
  );
  const stack = startStack({ env: appEnv, port: 3899, apiBasePort: 3861, instances: INSTANCES });
  try {
    const report = await siege(
      `${stack.url}/orders POST {"items":[{"productId":${productId},"quantity":1}]}`,
      {
        users: 90,
        seconds: SIEGE_SECONDS,
        delay: '1',
        headers: ['Content-Type: application/json', `Authorization: Bearer ${tokens[0]}`],
      },
    );
    await new Promise((r) => setTimeout(r, 1500));
    const times = accessLogTimes(stack.accessLog, '/orders');
    const sold = await pool.query<{ n: string }>(
      "SELECT coalesce(sum(i.quantity), 0) AS n FROM order_items i JOIN orders o ON o.id = i.order_id WHERE i.product_id = $1 AND o.status IN ('reserved', 'paid')",
      [productId],
    );
    const stock = (
      await pool.query<{ stock: number }>('SELECT stock FROM products WHERE id = $1', [productId])
    ).rows[0]?.stock;
    const { mismatches } = await new OrderRepository(pool).stockCheck();
    console.log(
      `\nseed 002's siege: siege -d1 -c90 -t${SIEGE_SECONDS}S POST /orders (one product, 500 units), default strategy\n`,
    );
    console.log(
      '| transactions | availability | failed | sold | stock left | invariant | avg ms (siege) | p50 ms (nginx) | p99 ms (nginx) | longest ms |',
    );
    console.log('|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|');
    console.log(
      `| ${fmt(report.transactions)} | ${report.availability.toFixed(2)} % | ${report.failed_transactions} | ${sold.rows[0]?.n} | ${stock} | ${mismatches.length === 0 ? 'holds' : 'BROKEN'} | ${(report.response_time * 1000).toFixed(0)} | ${times.p50} | ${times.p99} | ${(report.longest_transaction * 1000).toFixed(0)} |`,
    );
    console.log(
      `targets: availability 100 %, 0 failed, 500 sold, average ≤ 20 ms (seed: 1.81 s); 409 answers after the sell-out are the store saying "sold out"`,
    );
    return {
      timeline: {
        title: `seed 002's siege: POST /orders, one product with 500 units (per second at nginx)`,
        series: [{ name: 'armazem through nginx', points: accessLogTimeline(stack.accessLog, '/orders') }],
      },
      checks: [
        {
          name: 'siege: availability 100 %',
          ok: report.availability === 100,
          detail: `${report.availability.toFixed(2)} %`,
        },
        {
          name: 'siege: 500 sold, no more',
          ok: Number(sold.rows[0]?.n) === 500,
          detail: `${sold.rows[0]?.n} sold, ${stock} left`,
        },
        {
          name: 'siege: stock invariant',
          ok: mismatches.length === 0,
          detail: `${mismatches.length} mismatches`,
        },
      ],
    };
  } finally {
    stack.down();
  }
}

await main();
