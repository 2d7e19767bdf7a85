/**
 * bench:bot — N simulated Telegram users (BENCH_USERS, 200) use the store's
 * bot at once through the project's fake Bot API, each in a closed loop:
 * /menu, a category button, a product button, "add to cart", /produtos
 * <term>, an inline query; each waits for the bot's reply before its next
 * step, pausing 0.5–1.5 × BENCH_THINK_MS (1000) as a person would; with
 * BENCH_THINK_MS=0 they go as fast as the bot answers (its saturation).
 * A reply is the call that answers the update: sendMessage or
 * editMessageText for a message, answerCallbackQuery for a button press
 * (the bot answers a press after editing or sending), answerInlineQuery.
 *
 * The reference, measured in the same run, alternating round by round, is a
 * minimal grammY bot (bench/lib/reference-bot.ts) that answers every update
 * with a static text, polled by the same runner through the same fake.
 * Printed: updates handled per second and reply latency p50/p99 for each,
 * per round and as medians over BENCH_ROUNDS (5) rounds of BENCH_SECONDS (10)
 * after BENCH_WARMUP_SECONDS (8: first runs of each code path are compiled
 * then), with the bot process's CPU and peak RSS. The target (armazem's p99
 * ≤ 2× the reference's) is judged on the median of the per-round ratios: a
 * round's two halves run back to back, so they share the machine's noise.
 *
 * The armazem bot runs as `npm run bot` would (src/entrypoints/bot.ts) on a
 * scratch database of BENCH_PRODUCTS (200) products and the local Redis, its
 * flood limit raised out of the way (the limiter still counts every update
 * in memory, as the poller does). BENCH_BY_STEP=1 prints latencies per step.
 * Env also: BENCH_DATABASE_URL, REDIS_URL, BENCH_NODE_FLAGS (both bots),
 * BENCH_ARMAZEM_NODE_FLAGS (armazem's bot only, to try a V8 flag).
 * Writes bench/reports/bot.html (and .png).
 */

import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { createLogger } from '../src/platform/logger.ts';
import { migrate } from '../src/platform/migrations.ts';
import {
  type Call,
  type FakeMessage,
  FakeTelegram,
  type FakeUser,
  type Update,
} from '../test/fakes/telegram-bot-api.ts';
import { median } from './lib/load.ts';
import { cpuSecondsOf, spawnNode, stop } from './lib/processes.ts';
import { type Point, Timeline, writeReport } from './lib/report.ts';
import { scratchDatabase } from './lib/stack.ts';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const USERS = Number(process.env.BENCH_USERS ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const THINK_MS = Number(process.env.BENCH_THINK_MS ?? 1000);
const PRODUCTS = Number(process.env.BENCH_PRODUCTS ?? 200);
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const ARMAZEM_FLAGS = process.env.BENCH_ARMAZEM_NODE_FLAGS?.split(' ').filter(Boolean) ?? NODE_FLAGS;
const CATEGORIES = ['frutas', 'verduras', 'laticinios', 'mercearia', 'bebidas'];
const NAMES = [
  'Limão Tahiti',
  'Maçã Fuji',
  'Pão de queijo',
  'Café torrado',
  'Mel silvestre',
  'Açúcar mascavo',
];

type Step =
  | { kind: 'text'; text: string }
  | { kind: 'button'; pick: 'first' | 'add' }
  | { kind: 'inline'; query: string };
const SCENARIO: Step[] = [
  { kind: 'text', text: '/menu' },
  { kind: 'button', pick: 'first' },
  { kind: 'button', pick: 'first' },
  { kind: 'button', pick: 'add' },
  { kind: 'text', text: '/produtos limao' },
  { kind: 'inline', query: 'queijo' },
];

interface RoundResult {
  handled: number;
  perSecond: number;
  p50: number;
  p99: number;
  errors: number;
  cpuSeconds: number;
  rssMb: number;
  /** Replies per second of the measured window and their latency. */
  timeline: Point[];
}

const quantile = (sorted: number[], q: number) =>
  sorted.length === 0
    ? Number.NaN
    : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const peakRssMb = (pid: number) =>
  Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

/** Which call answers an update, for the latency clock. */
function answers(call: Call, update: Update): boolean {
  if (update.callback_query)
    return (
      call.method === 'answerCallbackQuery' && call.params.callback_query_id === update.callback_query.id
    );
  if (update.inline_query)
    return call.method === 'answerInlineQuery' && call.params.inline_query_id === update.inline_query.id;
  const chat = update.message?.chat.id;
  return (
    (call.method === 'sendMessage' || call.method === 'editMessageText') &&
    Number(call.params.chat_id) === chat
  );
}

async function seed(url: string): Promise<void> {
  const client = new pg.Pool({ connectionString: url, max: 1 });
  try {
    await migrate(client, createLogger({ LOG_LEVEL: 'warn', INSTANCE_ID: 'bench' }));
    const rows = Array.from({ length: PRODUCTS }, (_, i) => [
      `${NAMES[i % NAMES.length]} ${i + 1}`,
      `Produto ${i + 1}, orgânico.`,
      (5 + (i % 40) + 0.9).toFixed(2),
      1_000_000,
      CATEGORIES[i % CATEGORIES.length],
    ]);
    await client.query(
      `INSERT INTO products (name, description, price, stock, category)
       SELECT * FROM unnest($1::text[], $2::text[], $3::numeric[], $4::int[], $5::text[])`,
      [0, 1, 2, 3, 4].map((k) => rows.map((r) => r[k])),
    );
  } finally {
    await client.end();
  }
}

/** One round: start the bot, let USERS users loop through the scenario, measure, stop it. */
async function round(fake: FakeTelegram, child: ChildProcess, label: string): Promise<RoundResult> {
  const pid = child.pid as number;
  // Ready once it polls.
  await fake.waitForCall((c) => c.method === 'getUpdates', 60_000);
  const latencies: number[] = [];
  const byStep = new Map<string, number[]>();
  let errors = 0;
  let measuring = false;
  let timeline = new Timeline();
  let running = true;
  const pending = new Map<number, { update: Update; at: number; step: string; done: () => void }>();
  const off = fake.onCall((call) => {
    if (!call.ok && call.method !== 'getUpdates') errors++;
    for (const [id, p] of pending) {
      if (!answers(call, p.update)) continue;
      pending.delete(id);
      if (measuring) {
        latencies.push(call.at - p.at);
        timeline.record(call.at - p.at, call.at);
        byStep.set(p.step, [...(byStep.get(p.step) ?? []), call.at - p.at]);
      }
      p.done();
      return;
    }
  });
  const send = (step: string, make: () => Update) =>
    new Promise<void>((resolve) => {
      const at = performance.now();
      const update = make();
      const timer = setTimeout(() => {
        pending.delete(update.update_id);
        errors++;
        resolve();
      }, 10_000);
      pending.set(update.update_id, {
        update,
        at,
        step,
        done: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });

  const user = async (u: FakeUser) => {
    let last: FakeMessage | undefined;
    if (THINK_MS > 0) await sleep(Math.random() * THINK_MS);
    for (let i = 0; running; i = (i + 1) % SCENARIO.length) {
      const step = SCENARIO[i] as Step;
      if (step.kind === 'text') await send(step.text, () => fake.sendText(u, step.text));
      else if (step.kind === 'inline') await send('inline', () => fake.inlineQuery(u, step.query));
      else {
        last = fake.lastBotMessage(u.id);
        const buttons = last?.reply_markup?.inline_keyboard.flat().filter((b) => b.callback_data) ?? [];
        const button =
          (step.pick === 'add' && buttons.find((b) => b.text.includes('Adicionar'))) || buttons[0];
        if (!last || !button?.callback_data) continue;
        const data = button.callback_data;
        await send(`button ${data[0]}`, () => fake.press(u, last as FakeMessage, data));
      }
      // People do not tap in step: each pause is 0.5–1.5 × BENCH_THINK_MS.
      if (THINK_MS > 0) await sleep(THINK_MS * (0.5 + Math.random()));
    }
  };
  const users = Array.from({ length: USERS }, (_, i) => fake.user(10_000 + i, { first_name: `U${i}` }));
  const loops = users.map(user);
  await sleep(WARMUP * 1000);
  const cpuBefore = cpuSecondsOf(pid);
  timeline = new Timeline();
  measuring = true;
  await sleep(SECONDS * 1000);
  measuring = false;
  const cpu = cpuSecondsOf(pid) - cpuBefore;
  const rss = peakRssMb(pid);
  running = false;
  await Promise.all(loops);
  off();
  latencies.sort((a, b) => a - b);
  const result = {
    handled: latencies.length,
    perSecond: latencies.length / SECONDS,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    errors,
    cpuSeconds: cpu,
    rssMb: rss,
    timeline: timeline.perSecond().filter((p) => p.t < SECONDS),
  };
  console.log(
    `  ${label.padEnd(9)} ${result.perSecond.toFixed(0).padStart(6)} updates/s  p50 ${result.p50.toFixed(2).padStart(7)} ms  p99 ${result.p99.toFixed(2).padStart(7)} ms  errors ${errors}  CPU ${cpu.toFixed(1)} s  peak RSS ${rss.toFixed(0)} MB`,
  );
  if (process.env.BENCH_BY_STEP === '1') {
    for (const [step, xs] of [...byStep].sort()) {
      xs.sort((a, b) => a - b);
      console.log(
        `    ${step.padEnd(16)} n ${String(xs.length).padStart(5)}  p50 ${quantile(xs, 0.5).toFixed(2)} ms  p99 ${quantile(xs, 0.99).toFixed(2)} ms  max ${(xs.at(-1) ?? 0).toFixed(0)} ms`,
      );
    }
  }
  return result;
}

const fake = await new FakeTelegram(`${Date.now() % 1e9}:${randomBytes(24).toString('base64url')}`, {
  recordCalls: false,
  messagesPerChat: 20,
}).start();
const db = await scratchDatabase(ADMIN_URL, 'armazem_bench_bot');
await seed(db.url);
const env = {
  TELEGRAM_BOT_TOKEN: fake.token,
  TELEGRAM_API_ROOT: fake.apiRoot,
};
const armazemEnv = {
  ...env,
  NODE_ENV: 'production',
  JWT_SECRET: randomBytes(48).toString('base64url'),
  DATABASE_URL: db.url,
  REDIS_URL,
  REDIS_KEY_PREFIX: `bench-bot-${process.pid}:`,
  MIGRATE_ON_START: 'false',
  LOG_LEVEL: 'warn',
  BOT_FLOOD_LIMIT: '1000000',
  INSTANCE_ID: 'bench-bot',
};

console.log(
  `bench:bot — ${USERS} users, ${ROUNDS} rounds of ${SECONDS} s (after ${WARMUP} s warm-up), think ${THINK_MS} ms, ${PRODUCTS} products`,
);
const results: Record<'reference' | 'armazem', RoundResult[]> = { reference: [], armazem: [] };
try {
  for (let r = 1; r <= ROUNDS; r++) {
    console.log(`round ${r}`);
    for (const which of ['reference', 'armazem'] as const) {
      const child =
        which === 'reference'
          ? spawnNode('bench/lib/reference-bot.ts', env, NODE_FLAGS)
          : spawnNode('src/entrypoints/bot.ts', armazemEnv, ARMAZEM_FLAGS);
      try {
        results[which].push(await round(fake, child, which));
      } finally {
        await stop(child);
      }
    }
    const [a, b] = [results.armazem.at(-1), results.reference.at(-1)] as [RoundResult, RoundResult];
    console.log(
      `  ratio     p99 ${(a.p99 / b.p99).toFixed(2)} ×  p50 ${(a.p50 / b.p50).toFixed(2)} ×  throughput ${(a.perSecond / b.perSecond).toFixed(2)} ×`,
    );
  }
} finally {
  await fake.close();
  await db.drop();
}

const summary = (which: 'reference' | 'armazem') => ({
  perSecond: median(results[which].map((x) => x.perSecond)),
  p50: median(results[which].map((x) => x.p50)),
  p99: median(results[which].map((x) => x.p99)),
});
const ref = summary('reference');
const ours = summary('armazem');
console.log('\nmedians');
for (const [name, s] of [
  ['reference', ref],
  ['armazem', ours],
] as const)
  console.log(
    `  ${name.padEnd(9)} ${s.perSecond.toFixed(0).padStart(6)} updates/s  p50 ${s.p50.toFixed(2)} ms  p99 ${s.p99.toFixed(2)} ms`,
  );
/** Median over the rounds of armazem's figure over the reference's in the same round. */
const ratioOf = (f: (r: RoundResult) => number) =>
  median(results.armazem.map((a, i) => f(a) / f(results.reference[i] as RoundResult)));
const p99Ratios = results.armazem.map((a, i) => a.p99 / (results.reference[i] as RoundResult).p99);
const ratio = median(p99Ratios);
console.log(
  `armazem p99 = ${ratio.toFixed(2)} × the reference's, median of the per-round ratios (target ≤ 2×: ${ratio <= 2 ? 'met' : 'NOT met'}; rounds ${p99Ratios.map((x) => x.toFixed(2)).join(', ')}); p50 ${ratioOf((r) => r.p50).toFixed(2)} ×; throughput ${ratioOf((r) => r.perSecond).toFixed(2)} ×`,
);
writeReport('bot', {
  title: `bench:bot — ${USERS} Telegram users against the store's bot and a minimal grammY bot`,
  command: `npm run bench:bot (BENCH_USERS=${USERS} BENCH_ROUNDS=${ROUNDS} BENCH_SECONDS=${SECONDS} BENCH_THINK_MS=${THINK_MS})`,
  notes: [
    'Replies per second and their latency (update sent → the call that answers it, at the fake Bot API), last round; the reference (grey, dashed) is a minimal grammY bot answering a static text through the same runner and fake, in the same rounds.',
  ],
  checks: [
    {
      name: 'armazem p99 ≤ 2 × the reference (median of the per-round ratios)',
      ok: ratio <= 2,
      detail: `${ratio.toFixed(2)} ×`,
    },
    {
      name: 'no update unanswered or refused',
      ok: results.armazem.every((r) => r.errors === 0),
      detail: `${results.armazem.reduce((n, r) => n + r.errors, 0)} in all rounds`,
    },
  ],
  timelines: [
    {
      title: 'Updates answered',
      series: [
        {
          name: 'minimal grammY bot (reference)',
          points: results.reference.at(-1)?.timeline ?? [],
          reference: true,
        },
        { name: 'armazem bot', points: results.armazem.at(-1)?.timeline ?? [] },
      ],
    },
  ],
  bars: [
    {
      title: 'Updates per second, median of rounds',
      unit: '/s',
      items: [
        { name: 'reference', value: Math.round(ref.perSecond), reference: true },
        { name: 'armazem', value: Math.round(ours.perSecond) },
      ],
    },
    {
      title: 'Reply p99, median of rounds',
      unit: 'ms',
      items: [
        { name: 'reference', value: Math.round(ref.p99 * 100) / 100, reference: true },
        { name: 'armazem', value: Math.round(ours.p99 * 100) / 100 },
      ],
    },
  ],
});
process.exit(0);
