import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { programPid, programStates, supervisorFiles } from '../../scripts/lib/supervisor.ts';
import { FakeTelegram } from '../fakes/telegram-bot-api.ts';
import { createTestDatabase, eventually, realServers, type TestDatabase } from '../helpers/env.ts';
import { alive, freePort, portPair, startProcess } from '../helpers/process.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';

/**
 * The real local stack (`npm run stack:up`): supervisord running nginx from
 * the OS packages in front of two api processes, a worker, the processor
 * emulators and the bot (on a fake Bot API), on private ports. The database
 * is reached through a proxy so a test can make requests slow.
 */
const stateDir = mkdtempSync(join(tmpdir(), 'armazem-stack-'));
let db: TestDatabase;
let pgProxy: TcpProxy;
let nginxPort: number;
let apiPorts: [number, number];
let processorPorts: [number, number];
let botPort: number;
let telegram: FakeTelegram;
let stackEnv: Record<string, string>;
let admin: { authorization: string };

async function stack(...args: string[]): Promise<{ code: number | null; out: string }> {
  const p = startProcess('scripts/stack.ts', { ...stackEnv }, args);
  const code = await p.exited;
  return { code, out: p.stdout() + p.stderr() };
}

/** The program's pid as supervisord reports it. */
const pidOf = (name: string) => {
  const pid = programPid(stateDir, name);
  if (pid === null) throw new Error(`${name} has no pid: ${JSON.stringify(programStates(stateDir))}`);
  return pid;
};
const stateOf = (name: string) => programStates(stateDir)?.find((s) => s.name === name);
/** supervisord started the program again: RUNNING under a pid other than `old`. */
async function restartedAfter(name: string, old: number): Promise<number> {
  let pid = 0;
  await eventually(
    () => {
      const s = stateOf(name);
      expect(s?.state).toBe('RUNNING');
      expect(s?.pid).not.toBe(old);
      pid = s?.pid as number;
    },
    30_000,
    250,
  );
  expect(alive(old)).toBe(false);
  return pid;
}
const via = (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${nginxPort}${path}`, init);
const jsonBody = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

beforeAll(async () => {
  db = await createTestDatabase();
  pgProxy = await TcpProxy.to(db.url);
  nginxPort = await freePort();
  apiPorts = await portPair();
  processorPorts = await portPair();
  botPort = await freePort();
  telegram = await new FakeTelegram().start();
  stackEnv = {
    STACK_DIR: stateDir,
    STACK_PORT: String(nginxPort),
    STACK_API_BASE_PORT: String(apiPorts[0]),
    STACK_INSTANCES: '2',
    STACK_PROCESSOR_BASE_PORT: String(processorPorts[0]),
    STACK_RATE_LIMIT: '10r/s',
    STACK_RATE_BURST: '20',
    STACK_BOT_PORT: String(botPort),
    TELEGRAM_BOT_TOKEN: telegram.token,
    TELEGRAM_API_ROOT: telegram.apiRoot,
    ...realServers(pgProxy.via(db.url)),
    LOG_LEVEL: 'warn',
    ADMIN_EMAIL: 'stack-admin@armazem.test',
    ADMIN_PASSWORD: 'stack-admin-password',
  };
  const up = await stack('up');
  expect(up.code, up.out).toBe(0);
  expect(up.out).toMatch(/stack is up/);
  expect(up.out).toContain(`http://127.0.0.1:${nginxPort}`);
  // The stack made a strong JWT secret for its production-mode instances, readable by its owner only.
  expect(statSync(join(stateDir, 'jwt-secret')).mode & 0o077).toBe(0);
  const login = await via(
    '/auth/login',
    jsonBody({ email: stackEnv.ADMIN_EMAIL, password: stackEnv.ADMIN_PASSWORD }),
  );
  expect(login.status).toBe(200);
  admin = { authorization: `Bearer ${((await login.json()) as { accessToken: string }).accessToken}` };
}, 90_000);

afterAll(async () => {
  await stack('down');
  await pgProxy?.down();
  await db?.drop();
  await telegram?.close();
  rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

/** Posts a payment through nginx; resolves once a worker has taken the `nth` to the default processor. */
async function payViaWorker(amount: number, nth: number) {
  const res = await via('/payments', jsonBody({ correlationId: randomUUID(), amount }));
  expect(res.status).toBe(202);
  await eventually(async () => {
    const summary = (await (await via('/payments-summary')).json()) as {
      default: { totalRequests: number };
    };
    expect(summary.default.totalRequests).toBe(nth);
  }, 15_000);
}

const waitRateWindow = () => new Promise((r) => setTimeout(r, 2100));

describe('local stack: nginx in front of two instances', () => {
  it('spreads requests round-robin over every instance, each also reachable directly', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++)
      seen.add(((await (await via('/ping')).json()) as { instance: string }).instance);
    expect([...seen].sort()).toEqual(['api-1', 'api-2']);
    for (const [i, port] of apiPorts.entries()) {
      const res = await fetch(`http://127.0.0.1:${port}/ping`);
      expect(((await res.json()) as { instance: string }).instance).toBe(`api-${i + 1}`);
    }
    const status = await stack('status');
    expect(status.out).toMatch(/nginx\s+RUNNING\s+\d+\s+\S+\s+ready/);
    expect(status.out).toMatch(/api-2\s+RUNNING\s+\d+\s+\S+\s+ready/);
    expect(status.out).toMatch(/worker-1\s+RUNNING\s+\d+\s+-\s+ready/);
    expect(status.out).toMatch(/processors\s+RUNNING\s+\d+\s+\S+ \S+\s+ready/);
    expect(status.out).toMatch(/bot\s+RUNNING\s+\d+\s+\S+\s+ready/);
    // A second stack on the same ports refuses to start (its health checks would reach this one).
    const other = startProcess('scripts/stack.ts', { ...stackEnv, STACK_DIR: `${stateDir}-other` }, ['up']);
    expect(await other.exited).not.toBe(0);
    expect(other.stderr() + other.stdout()).toMatch(/already in use/);
    rmSync(`${stateDir}-other`, { recursive: true, force: true });
  });

  it('answers probes through nginx but keeps /metrics for Prometheus on the instances only', async () => {
    expect((await via('/livez')).status).toBe(200);
    expect(await (await via('/readyz')).json()).toEqual({
      status: 'ready',
      database: 'up',
      migrations: 'applied',
    });
    const hidden = await via('/metrics');
    expect(hidden.status).toBe(404);
    expect(hidden.headers.get('content-type')).toBe('application/problem+json');
    expect(await hidden.json()).toMatchObject({ code: 'route_not_found' });
    expect(await (await via('/metrics?x=1')).text()).not.toMatch(/http_request_duration_seconds/);
    const direct = await fetch(`http://127.0.0.1:${apiPorts[0]}/metrics`);
    expect(direct.status).toBe(200);
    expect(await direct.text()).toMatch(/http_request_duration_seconds_bucket/);
  });

  it('populates sample data and demonstrates the cache: a miss, then a hit, with their times', async () => {
    const populate = await stack('populate');
    expect(populate.code, populate.out).toBe(0);
    expect(populate.out).toMatch(/seeded 10 products|already present/);
    const demo = await stack('cache-demo');
    expect(demo.code, demo.out).toBe(0);
    expect(demo.out).toMatch(
      /first read .* x-cache: MISS in [\d.]+ ms[\s\S]*second read .* x-cache: HIT in [\d.]+ ms/,
    );
  });

  it('takes a payment through nginx to the emulated processor, via the worker process', async () => {
    await payViaWorker(19.9, 1);
    const processor = await fetch(`http://127.0.0.1:${processorPorts[0]}/admin/payments-summary`, {
      headers: { 'x-rinha-token': '123' },
    });
    expect(await processor.json()).toMatchObject({ totalRequests: 1, totalAmount: 19.9 });
  });

  it('passes the request id through to the instance and back, and writes a JSON access log', async () => {
    const res = await via('/products?limit=1', { headers: { 'x-request-id': 'stack-trace-1' } });
    expect(res.headers.get('x-request-id')).toBe('stack-trace-1');
    const generated = (await via('/ping')).headers.get('x-request-id');
    expect(generated).toMatch(/^[0-9a-f]{32}$/); // nginx's $request_id
    await eventually(() => {
      const lines = readFileSync(join(stateDir, 'logs', 'nginx-access.log'), 'utf8')
        .trim()
        .split('\n');
      const entry = lines.map((l) => JSON.parse(l)).find((e) => e.requestId === 'stack-trace-1');
      expect(entry).toMatchObject({ method: 'GET', uri: '/products?limit=1', status: 200 });
    }, 5000);
  });

  it('answers 429 problem+json with Retry-After past the rate limit on store routes, and never throttles payments routes', async () => {
    await waitRateWindow();
    const store = await Promise.all(Array.from({ length: 60 }, () => via('/products?limit=1')));
    const limited = store.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(store.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(20);
    expect(limited[0]?.headers.get('retry-after')).toBe('1');
    expect(limited[0]?.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await limited[0]?.json()).toMatchObject({ status: 429, code: 'rate_limited' });

    const payments = await Promise.all(Array.from({ length: 60 }, () => via('/payments', jsonBody({}))));
    expect(payments.filter((r) => r.status === 429)).toHaveLength(0);
    const summaries = await Promise.all(Array.from({ length: 60 }, () => via('/payments-summary')));
    expect(summaries.filter((r) => r.status === 429)).toHaveLength(0);
  });

  it('when an instance is SIGKILLed, a write it was handling is not replayed elsewhere, GETs keep succeeding, and supervisord brings it back', async () => {
    await waitRateWindow();
    const ids: number[] = [];
    for (const name of ['Vítima 1', 'Vítima 2']) {
      const res = await via(
        '/products',
        jsonBody({ name, price: '1.00', stock: 1, category: 'stack' }, admin),
      );
      expect(res.status).toBe(201);
      ids.push(((await res.json()) as { id: number }).id);
    }
    // Both DELETEs reach the database and wait for its answer, one on each instance.
    pgProxy.delayMs = 1000;
    const deletes = ids.map((id) => via(`/products/${id}`, { method: 'DELETE', headers: admin }));
    await new Promise((r) => setTimeout(r, 400));
    const killed = pidOf('api-1');
    process.kill(killed, 'SIGKILL');
    const statuses = await Promise.all(deletes.map(async (p) => (await p).status));
    pgProxy.delayMs = 0;
    // The killed instance's DELETE is answered 503 (nginx's problem), never resent to api-2.
    expect(statuses.sort()).toEqual([204, 503]);

    await waitRateWindow();
    for (let i = 0; i < 15; i++) {
      const res = await via('/products?category=stack');
      expect(res.status, `GET #${i}`).toBe(200);
    }
    // As compose's `restart: unless-stopped`: supervisord starts it again, and nginx sends to it again.
    const pid = await restartedAfter('api-1', killed);
    await eventually(
      async () => {
        const instances = new Set<string>();
        for (let i = 0; i < 4; i++)
          instances.add(((await (await via('/ping')).json()) as { instance: string }).instance);
        expect([...instances].sort()).toEqual(['api-1', 'api-2']);
      },
      20_000,
      500,
    );
    const direct = (await (await fetch(`http://127.0.0.1:${apiPorts[0]}/ping`)).json()) as { pid: number };
    expect(direct.pid).toBe(pid);
    expect((await stack('status')).out).toMatch(new RegExp(`api-1\\s+RUNNING\\s+${pid}\\s+\\S+\\s+ready`));
  });

  it('when the worker is SIGKILLed, supervisord restarts it and it takes the next payment', async () => {
    const killed = pidOf('worker-1');
    process.kill(killed, 'SIGKILL');
    const pid = await restartedAfter('worker-1', killed);
    await eventually(
      async () => expect((await stack('status')).out).toMatch(/worker-1\s+RUNNING.*ready/),
      15_000,
    );
    await payViaWorker(5, 2);
    expect(alive(pid)).toBe(true);
  });

  it('when the bot is SIGKILLed, supervisord restarts it and it polls again', async () => {
    const killed = pidOf('bot');
    process.kill(killed, 'SIGKILL');
    await restartedAfter('bot', killed);
    await eventually(async () => {
      expect((await fetch(`http://127.0.0.1:${botPort}/livez`)).status).toBe(200);
    }, 30_000);
  });

  it('when an instance gets SIGTERM, it finishes its in-flight request before exiting (and is started again)', async () => {
    const pid = pidOf('api-2');
    pgProxy.delayMs = 600;
    const inflight = fetch(`http://127.0.0.1:${apiPorts[1]}/products?search=in-flight`);
    await new Promise((r) => setTimeout(r, 200));
    process.kill(pid, 'SIGTERM');
    const res = await inflight;
    pgProxy.delayMs = 0;
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ items: [] });
    await eventually(() => expect(alive(pid)).toBe(false), 15_000);
    // An exit nobody asked supervisord for is restarted, whatever its code.
    await restartedAfter('api-2', pid);
  });

  it('stops instances on request (stack ctl stop): nginx then answers for them with a problem', async () => {
    const stop = await stack('ctl', 'stop', 'api-1', 'api-2');
    expect(stop.code, stop.out).toBe(0);
    expect(stateOf('api-1')?.state).toBe('STOPPED');
    const none = await via('/ping');
    expect(none.status).toBe(503);
    expect(await none.json()).toMatchObject({ code: 'service_unavailable' });
    // Stopped on request stays stopped: nothing restarts it.
    await new Promise((r) => setTimeout(r, 3000));
    expect(stateOf('api-2')?.state).toBe('STOPPED');
    expect((await stack('status')).out).toMatch(/api-2\s+STOPPED\s+-/);
  });

  it('after stack:down, no process of the stack is left, supervisord included', async () => {
    const names = ['nginx', 'worker-1', 'processors', 'bot'];
    const pids = names.map(pidOf);
    const supervisord = Number(readFileSync(supervisorFiles(stateDir).pidFile, 'utf8'));
    for (const pid of [...pids, supervisord]) expect(alive(pid)).toBe(true);
    const down = await stack('down');
    expect(down.code, down.out).toBe(0);
    for (const pid of [...pids, supervisord]) expect(alive(pid)).toBe(false);
    await expect(via('/ping')).rejects.toThrow();
    const status = await stack('status');
    expect(status.out).toMatch(/is down/);
    expect(status.out).not.toMatch(/RUNNING/);
  });
});
