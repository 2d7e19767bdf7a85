import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { programPid } from '../../scripts/lib/supervisor.ts';
import {
  createTestDatabase,
  eventually,
  sqlOnce,
  TEST_REDIS_URL,
  type TestDatabase,
} from '../helpers/env.ts';
import { alive, freePort, portPair, startProcess } from '../helpers/process.ts';
import { type Processors, startProcessors } from '../helpers/processors.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';

/**
 * The restart suite: the local stack (nginx, two instances, a worker process)
 * takes orders through the queue and payments to the processors while its
 * PostgreSQL connections are terminated, PostgreSQL "restarts" (every
 * connection dropped, new ones refused for a while) and Redis restarts.
 * Afterwards every accepted order and payment completes, the invariants
 * hold, and no process was restarted by hand.
 */
const stateDir = mkdtempSync(join(tmpdir(), 'armazem-restart-'));
let db: TestDatabase;
let pgProxy: TcpProxy;
let redisProxy: TcpProxy;
let processors: Processors;
let base: string;
let stackEnv: Record<string, string>;
const ADMIN = { email: 'restart-admin@armazem.test', password: 'restart-admin-password' };

async function stack(command: string) {
  const p = startProcess('scripts/stack.ts', stackEnv, [command]);
  const code = await p.exited;
  return { code, out: p.stdout() + p.stderr() };
}

/** As supervisord reports them: a process it had restarted would show a new pid. */
const pids = () => ['api-1', 'api-2', 'worker-1'].map((name) => programPid(stateDir, name));

const sql = <T extends pg.QueryResultRow>(text: string, values: unknown[] = []) =>
  sqlOnce<T>(db.url, text, values);

beforeAll(async () => {
  db = await createTestDatabase();
  pgProxy = await TcpProxy.to(db.url);
  redisProxy = await TcpProxy.to(TEST_REDIS_URL);
  processors = await startProcessors();
  const nginxPort = await freePort();
  stackEnv = {
    STACK_DIR: stateDir,
    STACK_PORT: String(nginxPort),
    STACK_API_BASE_PORT: String((await portPair())[0]),
    STACK_WORKERS: '1',
    STACK_PROCESSORS: '0',
    STACK_RATE_LIMIT: '100000r/s',
    STACK_RATE_BURST: '100000',
    ...processors.env,
    DATABASE_URL: pgProxy.via(db.url),
    REDIS_URL: redisProxy.via(TEST_REDIS_URL),
    REDIS_KEY_PREFIX: `t:${randomUUID().slice(0, 8)}:`,
    ORDER_CONCURRENCY: 'queued',
    DB_CONNECT_TIMEOUT_MS: '500',
    REDIS_TIMEOUT_MS: '300',
    LOG_LEVEL: 'warn',
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
  };
  const up = await stack('up');
  expect(up.code, up.out).toBe(0);
  base = `http://127.0.0.1:${nginxPort}`;
}, 120_000);

afterAll(async () => {
  await stack('down');
  await processors?.close();
  await pgProxy?.down();
  await redisProxy?.down();
  await db?.drop();
  rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  }).catch(() => null);

describe('restarts under load', () => {
  it('when PostgreSQL connections are terminated, PostgreSQL restarts and Redis restarts mid-stream, then every accepted order and payment completes and nothing was restarted by hand', async () => {
    const started = pids();
    const login = (await post('/auth/login', ADMIN)) as Response;
    const auth = { authorization: `Bearer ${((await login.json()) as { accessToken: string }).accessToken}` };
    const products: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await post(
        '/products',
        { name: `Restart ${i}`, price: '2.50', stock: 400, category: 'restart' },
        auth,
      );
      products.push(((await (res as Response).json()) as { id: number }).id);
    }

    const accepted = { orders: [] as number[], payments: [] as string[] };
    let refused = 0;
    // A payment answered with an error may still have committed (the commit's reply lost with its
    // connection): the client would retry it with the same correlationId. It may be processed.
    let paymentsRefused = 0;
    let running = true;
    const producer = (async () => {
      for (let i = 0; running; i++) {
        const order = await post('/orders', { items: [{ productId: products[i % 4], quantity: 1 }] }, auth);
        if (order?.status === 202 || order?.status === 201)
          accepted.orders.push(((await order.json()) as { id: number }).id);
        else refused++;
        const id = randomUUID();
        const payment = await post('/payments', { correlationId: id, amount: 1.5 });
        if (payment?.ok) accepted.payments.push(id);
        else {
          refused++;
          paymentsRefused++;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

    await wait(1500);
    // Every connection of this database dropped by the server, as an administrator would.
    await sql(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [db.name],
    );
    await wait(1500);
    // PostgreSQL restarts: connections dropped, new ones refused for two seconds.
    await pgProxy.down();
    await wait(2000);
    await pgProxy.up();
    await wait(1500);
    // Redis restarts.
    await redisProxy.down();
    await wait(2000);
    await redisProxy.up();
    await wait(1500);
    running = false;
    await producer;
    expect(accepted.orders.length).toBeGreaterThan(20);
    expect(accepted.payments.length).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(0);

    // Everything accepted completes, by the processes that were already running.
    await eventually(
      async () => {
        const [pending] = await sql<{ n: number }>(
          "SELECT count(*)::int AS n FROM orders WHERE status = 'pending'",
        );
        expect(pending?.n).toBe(0);
        const [open] = await sql<{ n: number }>(
          "SELECT count(*)::int AS n FROM payments WHERE status IN ('queued', 'processing')",
        );
        expect(open?.n).toBe(0);
      },
      60_000,
      250,
    );
    const orders = await sql<{ id: string; status: string }>(
      'SELECT id, status FROM orders WHERE id = ANY($1::bigint[])',
      [accepted.orders],
    );
    expect(orders).toHaveLength(accepted.orders.length);
    expect(orders.every((o) => o.status === 'reserved')).toBe(true);
    const payments = await sql<{ correlation_id: string; status: string }>(
      'SELECT correlation_id, status FROM payments WHERE correlation_id = ANY($1::uuid[])',
      [accepted.payments],
    );
    expect(payments).toHaveLength(accepted.payments.length);
    expect(payments.every((p) => p.status === 'processed')).toBe(true);

    // The invariants: stock adds up; our summary is exactly what the processors recorded.
    const check = (await (await fetch(`${base}/admin/stock-check`, { headers: auth })).json()) as {
      ok: boolean;
    };
    expect(check.ok).toBe(true);
    const ours = (await (await fetch(`${base}/payments-summary`)).json()) as Record<
      'default' | 'fallback',
      { totalRequests: number; totalAmount: number }
    >;
    for (const name of ['default', 'fallback'] as const) {
      const theirs = await processors.summary(name);
      expect(ours[name].totalRequests).toBe(theirs.totalRequests);
      expect(ours[name].totalAmount).toBeCloseTo(theirs.totalAmount, 2);
    }
    const processed = ours.default.totalRequests + ours.fallback.totalRequests;
    expect(processed).toBeGreaterThanOrEqual(accepted.payments.length);
    expect(processed).toBeLessThanOrEqual(accepted.payments.length + paymentsRefused);

    // Nobody restarted anything, by hand or by supervisord: the same processes, all alive and ready.
    expect(pids()).toEqual(started);
    for (const pid of started) expect(alive(pid as number)).toBe(true);
    expect((await stack('status')).out).not.toMatch(/STARTING|BACKOFF|STOPPED|EXITED|FATAL|not ready/);
  }, 150_000);
});
