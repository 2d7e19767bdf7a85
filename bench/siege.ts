/**
 * bench:siege — seed 000's load test: siege holding 450 concurrent users on a
 * read route for 60 s, through nginx in front of the instances (the local
 * stack), next to the same siege on bare node:http behind the same nginx.
 * Targets: availability 100 %, 0 failed transactions.
 *
 * One client IP sends everything, so the stack's per-IP rate limit (10 r/s)
 * is lifted for the run: with it on, siege would measure the limiter. Set
 * BENCH_RATE_LIMIT (e.g. 10r/s) to run with it anyway.
 *
 * Env: BENCH_USERS (450), BENCH_SECONDS (60), BENCH_DELAY (1: each user waits
 * a random 0–1 s between requests, as siege -d1), BENCH_ROUTE
 * (/products?category=frutas), STACK_INSTANCES (2), BENCH_DATABASE_URL, REDIS_URL.
 * Writes bench/reports/siege.html (and .png): per second, from nginx's access logs.
 */
import { spawnNode, stop, waitHealthy } from './lib/processes.ts';
import { writeReport } from './lib/report.ts';
import { type SiegeReport, siege } from './lib/siege.ts';
import {
  accessLogTimeline,
  accessLogTimes,
  scratchDatabase,
  startNginxFor,
  startStack,
} from './lib/stack.ts';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const USERS = Number(process.env.BENCH_USERS ?? 450);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const DELAY = process.env.BENCH_DELAY ?? '1';
const ROUTE = process.env.BENCH_ROUTE ?? '/products?category=frutas';
const INSTANCES = Number(process.env.STACK_INSTANCES ?? 2);
const RATE = process.env.BENCH_RATE_LIMIT;

function row(name: string, r: SiegeReport, t: ReturnType<typeof accessLogTimes>): string {
  const non2xx = r.transactions - r.successful_transactions;
  const ms = (s: number) => (s * 1000).toFixed(0);
  return `| ${name} | ${r.transactions.toLocaleString('en-US')} | ${r.availability.toFixed(2)} % | ${r.failed_transactions} | ${non2xx} | ${ms(r.response_time)} | ${t.p50} | ${t.p99} | ${ms(r.longest_transaction)} | ${r.transaction_rate.toFixed(1)} |`;
}

async function main() {
  const db = await scratchDatabase(ADMIN_URL, 'armazem_bench_siege');
  const appEnv = {
    DATABASE_URL: db.url,
    REDIS_URL,
    REDIS_KEY_PREFIX: `bench-siege:${process.pid}:`,
    NODE_ENV: 'production',
  };
  const stack = startStack({
    env: appEnv,
    port: 3998,
    apiBasePort: 3921,
    instances: INSTANCES,
    ...(RATE ? { rate: RATE } : {}),
  });
  const bare = [3931, 3932].map((port) => spawnNode('bench/bare-server.ts', { PORT: String(port) }));
  for (const port of [3931, 3932]) await waitHealthy(`http://127.0.0.1:${port}/`);
  const bareNginx = startNginxFor(['127.0.0.1:3931', '127.0.0.1:3932'], 3997, { accessLog: true });
  try {
    const seed = spawnNode('src/entrypoints/seed.ts', { ...appEnv, LOG_LEVEL: 'warn' });
    await new Promise((r) => seed.once('exit', r));
    const opts = { users: USERS, seconds: SECONDS, delay: DELAY };
    const reference = await siege(`${bareNginx.url}/`, opts);
    const armazem = await siege(`${stack.url}${ROUTE}`, opts);
    await new Promise((r) => setTimeout(r, 1500)); // nginx flushes its access log every second
    const referenceTimes = accessLogTimes(bareNginx.accessLog, '/');
    const armazemTimes = accessLogTimes(stack.accessLog, ROUTE);
    console.log(
      `\nbench:siege — ${USERS} concurrent users, ${SECONDS} s, delay 0–${DELAY} s, a new connection per request (siege's default); ` +
        `rate limit ${RATE ?? 'lifted (one client IP)'}\n`,
    );
    console.log(
      '| target | transactions | availability | failed | non-2xx | avg ms (siege, 10 ms steps) | p50 ms (nginx log) | p99 ms (nginx log) | longest ms | transactions/s |',
    );
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    console.log(row('bare node:http through nginx, 2 instances (reference)', reference, referenceTimes));
    console.log(row(`GET ${ROUTE} through nginx, ${INSTANCES} instances`, armazem, armazemTimes));
    const ok = armazem.availability === 100 && armazem.failed_transactions === 0;
    console.log(
      `\ntarget: availability 100 %, 0 failed transactions → ${armazem.availability.toFixed(2)} %, ${armazem.failed_transactions} failed: ${ok ? 'MET' : 'NOT MET'}`,
    );
    const name = `GET ${ROUTE} through nginx, ${INSTANCES} instances`;
    writeReport('siege', {
      title: `bench:siege — ${USERS} concurrent users against armazem and bare node:http`,
      command: `npm run bench:siege (BENCH_USERS=${USERS} BENCH_SECONDS=${SECONDS} BENCH_DELAY=${DELAY} BENCH_ROUTE=${ROUTE} STACK_INSTANCES=${INSTANCES}${RATE ? ` BENCH_RATE_LIMIT=${RATE}` : ''})`,
      notes: [
        'siege opens a new connection per request; per-second figures come from nginx’s access log (request time at nginx). The two runs follow each other; their curves share the axes from each run’s first second.',
      ],
      checks: [
        {
          name: 'availability 100 %',
          ok: armazem.availability === 100,
          detail: `${armazem.availability.toFixed(2)} %`,
        },
        {
          name: '0 failed transactions',
          ok: armazem.failed_transactions === 0,
          detail: String(armazem.failed_transactions),
        },
      ],
      timelines: [
        {
          title: `${name} against bare node:http`,
          series: [
            {
              name: 'bare node:http through nginx (reference)',
              points: accessLogTimeline(bareNginx.accessLog, '/'),
              reference: true,
            },
            { name, points: accessLogTimeline(stack.accessLog, ROUTE) },
          ],
        },
      ],
      bars: [
        {
          title: 'Transactions per second',
          unit: 'tx/s',
          items: [
            { name: 'bare node:http (reference)', value: reference.transaction_rate, reference: true },
            { name, value: armazem.transaction_rate },
          ],
        },
        {
          title: 'p99 at nginx',
          unit: 'ms',
          items: [
            { name: 'bare node:http (reference)', value: referenceTimes.p99, reference: true },
            { name, value: armazemTimes.p99 },
          ],
        },
      ],
    });
  } finally {
    stack.down();
    bareNginx.stop();
    await Promise.all(bare.map(stop));
    await db.drop();
  }
}

await main();
