import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, eventually, realServers, type TestDatabase } from '../helpers/env.ts';
import { freePort, type Started, startProcess, waitServing } from '../helpers/process.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';

/**
 * Probes as an orchestrator sees them, on real processes: liveness never
 * depends on the database, readiness does, and a stopping process is not
 * ready while it still serves.
 */
let db: TestDatabase;
let proxy: TcpProxy;
const running: Started[] = [];
const env = (databaseUrl: string) => ({
  ...realServers(databaseUrl),
  NODE_ENV: 'production',
  JWT_SECRET: 'probes-test-secret-0123456789-abcdefghijklmnop',
  LOG_LEVEL: 'warn',
});
const status = async (url: string) => {
  const res = await fetch(url);
  return { code: res.status, body: (await res.json()) as Record<string, unknown> };
};

beforeAll(async () => {
  db = await createTestDatabase();
  proxy = await TcpProxy.to(db.url);
});
afterAll(async () => {
  for (const p of running) p.child.kill('SIGKILL');
  await proxy?.down();
  await db?.drop();
});

describe('liveness and readiness', () => {
  it('an API process with migrations pending is live but not ready, and ready once they are applied', async () => {
    const port = await freePort();
    const api = startProcess('src/entrypoints/api.ts', {
      ...env(db.url),
      PORT: String(port),
      MIGRATE_ON_START: 'false',
    });
    running.push(api);
    const base = `http://127.0.0.1:${port}`;
    await waitServing(api, `${base}/livez`);
    expect(await status(`${base}/readyz`)).toEqual({
      code: 503,
      body: { status: 'not_ready', database: 'up', migrations: 'pending' },
    });
    const migrate = startProcess('src/entrypoints/migrate.ts', env(db.url));
    expect(await migrate.exited).toBe(0);
    expect(await status(`${base}/readyz`)).toEqual({
      code: 200,
      body: { status: 'ready', database: 'up', migrations: 'applied' },
    });
    api.child.kill('SIGTERM');
    await api.exited;
  }, 60_000);

  it('when the database is cut, /readyz is 503 and /livez stays 200; both recover', async () => {
    const port = await freePort();
    const api = startProcess('src/entrypoints/api.ts', { ...env(proxy.via(db.url)), PORT: String(port) });
    running.push(api);
    const base = `http://127.0.0.1:${port}`;
    await waitServing(api, `${base}/readyz`);
    await proxy.down();
    await eventually(async () =>
      expect((await status(`${base}/readyz`)).body).toMatchObject({ database: 'down' }),
    );
    expect((await status(`${base}/readyz`)).code).toBe(503);
    expect(await status(`${base}/livez`)).toEqual({ code: 200, body: { status: 'live' } });
    await proxy.up();
    await eventually(async () => expect((await status(`${base}/readyz`)).code).toBe(200), 10_000);
    api.child.kill('SIGTERM');
    await api.exited;
  }, 60_000);

  it('on SIGTERM an API process answers /readyz 503 (draining) for SHUTDOWN_DRAIN_MS while still serving, then exits', async () => {
    const port = await freePort();
    const api = startProcess('src/entrypoints/api.ts', {
      ...env(db.url),
      PORT: String(port),
      SHUTDOWN_DRAIN_MS: '2000',
    });
    running.push(api);
    const base = `http://127.0.0.1:${port}`;
    await waitServing(api, `${base}/readyz`);
    api.child.kill('SIGTERM');
    await eventually(async () =>
      expect(await status(`${base}/readyz`)).toEqual({
        code: 503,
        body: { status: 'draining', database: 'up', migrations: 'applied' },
      }),
    );
    expect((await fetch(`${base}/products`)).status).toBe(200);
    expect(await api.exited).toBe(0);
  }, 60_000);

  it('the worker role serves /livez, /readyz and /metrics on WORKER_METRICS_PORT', async () => {
    const port = await freePort();
    const worker = startProcess('src/entrypoints/worker.ts', {
      ...env(db.url),
      WORKER_METRICS_PORT: String(port),
    });
    running.push(worker);
    const base = `http://127.0.0.1:${port}`;
    await waitServing(worker, `${base}/readyz`);
    expect(await status(`${base}/livez`)).toEqual({ code: 200, body: { status: 'live' } });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^payment_queue_depth 0$/m);
    expect((await fetch(`${base}/nothing`)).status).toBe(404);
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    // The worker's own connections are gone once it stopped.
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const { rowCount } = await c.query(
      "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'armazem/worker%'",
    );
    await c.end();
    expect(rowCount).toBe(0);
  }, 60_000);
});
