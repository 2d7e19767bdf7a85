import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startTestApp, TEST_ADMIN, type TestApp } from '../helpers/app.ts';
import {
  createTestDatabase,
  eventually,
  realServers,
  TEST_REDIS_URL,
  type TestDatabase,
} from '../helpers/env.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';

/**
 * The app reaches the real PostgreSQL and Redis through proxies this test can
 * cut, exactly as if the servers stopped (connections dropped, new ones refused).
 */
let db: TestDatabase;
let pgProxy: TcpProxy;
let redisProxy: TcpProxy;
let t: TestApp;

beforeAll(async () => {
  db = await createTestDatabase();
  pgProxy = await TcpProxy.to(db.url);
  redisProxy = await TcpProxy.to(TEST_REDIS_URL);
  t = await startTestApp({
    ...realServers(pgProxy.via(db.url), redisProxy.via(TEST_REDIS_URL)),
    DB_CONNECT_TIMEOUT_MS: '500',
    REDIS_TIMEOUT_MS: '200',
  });
});
afterAll(async () => {
  await t?.close();
  await pgProxy?.down();
  await redisProxy?.down();
  await db?.drop();
});

const get = (url: string) => t.app.inject({ method: 'GET', url });

async function createProduct(name: string) {
  const res = await t.asAdmin({
    method: 'POST',
    url: '/products',
    ...json({ name, price: '1.00', stock: 1, category: 'outage' }),
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: number };
}

describe('database outage', () => {
  it('when the database stops, then catalog routes answer 503 problem and /health 503; when it returns, all recovers without a restart', async () => {
    const p = await createProduct('Antes');
    await pgProxy.down();
    try {
      const read = await get('/products?category=not-cached-yet');
      expect(read.statusCode).toBe(503);
      expect(read.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(read.json()).toMatchObject({ code: 'database_unavailable', title: 'Database unavailable' });
      expect(read.headers['retry-after']).toBeDefined();
      const write = await t.asAdmin({
        method: 'POST',
        url: '/products',
        ...json({ name: 'Durante', price: '1.00', stock: 1, category: 'outage' }),
      });
      expect(write.statusCode).toBe(503);
      const health = await get('/health');
      expect(health.statusCode).toBe(503);
      expect(health.json()).toMatchObject({ status: 'unhealthy', database: 'down', cache: 'up' });
      const services = (await get('/services')).json().services;
      expect(services[0]).toMatchObject({ name: 'database', status: 'down' });
    } finally {
      await pgProxy.up();
    }
    await eventually(async () => expect((await get('/health')).statusCode).toBe(200));
    expect((await get(`/products/${p.id}`)).statusCode).toBe(200);
    await createProduct('Depois');
  });
});

describe('redis outage', () => {
  it('when Redis stops, then reads come from the database and /health says degraded; when it returns, caching resumes', async () => {
    const p = await createProduct('Cacheado');
    await get(`/products/${p.id}`);
    await eventually(async () => expect((await get(`/products/${p.id}`)).headers['x-cache']).toBe('HIT'));

    await redisProxy.down();
    try {
      await eventually(async () =>
        expect((await get('/health')).json()).toMatchObject({ status: 'degraded', cache: 'down' }),
      );
      expect((await get('/health')).statusCode).toBe(200);
      const read = await get(`/products/${p.id}`);
      expect(read.statusCode).toBe(200);
      expect(read.headers['x-cache']).toBe('MISS');
      // A write while Redis is away must not leave the old body to be served later.
      const patched = await t.asAdmin({
        method: 'PATCH',
        url: `/products/${p.id}`,
        ...json({ stock: 42 }),
      });
      expect(patched.statusCode).toBe(200);
      expect((await get(`/products/${p.id}`)).json().stock).toBe(42);
      // Login limits are counted in Redis; with it gone, logging in still works.
      const login = await t.app.inject({ method: 'POST', url: '/auth/login', ...json(TEST_ADMIN) });
      expect(login.statusCode).toBe(200);
      const clear = await t.asAdmin({ method: 'DELETE', url: '/cache/clear' });
      expect(clear.statusCode).toBe(503);
      expect(clear.json().code).toBe('cache_unavailable');
      expect((await get('/stats')).statusCode).toBe(200);
    } finally {
      await redisProxy.up();
    }
    await eventually(async () => expect((await get('/health')).json().status).toBe('healthy'), 10_000);
    expect((await get(`/products/${p.id}`)).json().stock).toBe(42);
    await eventually(async () => expect((await get(`/products/${p.id}`)).headers['x-cache']).toBe('HIT'));
    expect((await get(`/products/${p.id}`)).json().stock).toBe(42);
  });
});

describe('slow database and graceful close', () => {
  it('when the app is closed with a request in flight, then that request completes and later connections are refused', async () => {
    const p = await createProduct('Lento');
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (t.app.server.address() as { port: number }).port;
    pgProxy.delayMs = 400;
    const inflight = fetch(`http://127.0.0.1:${port}/products?category=outage&search=lento`);
    await new Promise((r) => setTimeout(r, 100));
    const closing = t.app.close();
    const res = await inflight;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { items: Array<{ id: number }> }).items[0]?.id).toBe(p.id);
    await closing;
    pgProxy.delayMs = 0;
    await expect(fetch(`http://127.0.0.1:${port}/ping`)).rejects.toThrow();
  });
});
