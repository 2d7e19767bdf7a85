import { describe, expect, it } from 'vitest';
import { json, useTestApp } from '../helpers/app.ts';

const ctx = useTestApp({ INSTANCE_ID: 'ops-1' });

const get = (url: string, headers: Record<string, string> = {}) =>
  ctx.t.app.inject({ method: 'GET', url, headers });

describe('operations routes', () => {
  it('GET / names the API, its version and its links', async () => {
    const res = await get('/');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      name: 'armazem',
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      instance: 'ops-1',
    });
    expect(res.json().links).toMatchObject({
      products: '/products',
      health: '/health',
      docs: '/docs',
      openapi: '/openapi.json',
    });
  });

  it('GET /health reports database and cache up', async () => {
    const res = await get('/health');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'healthy', database: 'up', cache: 'up' });
    expect(Date.parse(res.json().timestamp)).toBeGreaterThan(Date.now() - 10_000);
  });

  it('GET /livez answers while the process serves; GET /readyz once the database has every migration', async () => {
    expect((await get('/livez')).json()).toEqual({ status: 'live' });
    const ready = await get('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', database: 'up', migrations: 'applied' });
  });

  it('GET /services details each dependency with version, latency and pool or memory figures', async () => {
    const res = await get('/services');
    expect(res.statusCode).toBe(200);
    const [database, cache] = res.json().services;
    expect(database).toMatchObject({
      name: 'database',
      kind: 'postgres',
      status: 'up',
      version: expect.stringMatching(/^1[5-9]/),
    });
    expect(database.latencyMs).toBeGreaterThanOrEqual(0);
    expect(database.details).toMatchObject({ poolMax: 10, poolTotal: expect.any(Number) });
    expect(database.description).not.toMatch(/password/);
    expect(cache).toMatchObject({
      name: 'cache',
      kind: 'redis',
      status: 'up',
      version: expect.stringMatching(/^\d+\./),
    });
    expect(cache.details.usedMemoryBytes).toBeGreaterThan(0);
  });

  it('GET /stats counts products and cache traffic', async () => {
    const created = await ctx.t.asAdmin({
      method: 'POST',
      url: '/products',
      ...json({ name: 'Açaí', price: '24.00', stock: 1, category: 'congelados' }),
    });
    await get(`/products/${created.json().id}`);
    const res = await get('/stats');
    expect(res.statusCode).toBe(200);
    expect(res.json().database.products).toBe(1);
    expect(res.json().cache).toMatchObject({ enabled: true, available: true, ttlSeconds: 300 });
    expect(res.json().cache.misses).toBeGreaterThanOrEqual(1);
  });

  it('GET /ping tells which instance and process answered', async () => {
    const res = await get('/ping');
    expect(res.json()).toMatchObject({ instance: 'ops-1', pid: process.pid, uptime: expect.any(Number) });
  });

  it('when a caller sends a safe X-Request-Id, then it is echoed, in errors too; an unsafe one is replaced', async () => {
    expect((await get('/ping', { 'x-request-id': 'edge-123' })).headers['x-request-id']).toBe('edge-123');
    const missing = await get('/products/424242', { 'x-request-id': 'edge-456' });
    expect(missing.headers['x-request-id']).toBe('edge-456');
    expect(missing.json().requestId).toBe('edge-456');
    const unsafe = await get('/ping', { 'x-request-id': 'bad id\nwith newline' });
    expect(unsafe.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect((await get('/ping')).headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('when a route does not exist, then a JSON 404 problem', async () => {
    const res = await ctx.t.asAdmin({ method: 'POST', url: '/nowhere?x=1' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ code: 'route_not_found', instance: '/nowhere' });
  });

  it('serves an OpenAPI 3.1 document built from the route schemas, and the docs page', async () => {
    const doc = (await get('/openapi.json')).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/products', '/products/{id}', '/health', '/cache/clear']),
    );
    expect(doc.paths['/products'].post.requestBody.content['application/json'].schema.required).toEqual(
      expect.arrayContaining(['name', 'price', 'stock', 'category']),
    );
    expect(doc.components.schemas.Problem).toBeDefined();
    const docs = await get('/docs/');
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toContain('swagger');
  });
});

describe('GET /metrics', () => {
  it('exposes Prometheus metrics: HTTP latency by route, cache lookups, the database pool, the order queue', async () => {
    const created = await ctx.t.asAdmin({
      method: 'POST',
      url: '/products',
      ...json({ name: 'Medido', price: '1.00', stock: 1, category: 'metricas' }),
    });
    await get(`/products/${created.json().id}`);
    await get(`/products/${created.json().id}`);
    const res = await get('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toMatch(
      /http_request_duration_seconds_bucket\{le="0.001",method="GET",route="\/products\/:id",status="200"\}/,
    );
    expect(res.body).toMatch(/catalog_cache_requests_total\{result="miss"\} [1-9]/);
    expect(res.body).toMatch(/db_pool_connections\{state="total"\} [1-9]/);
    expect(res.body).toMatch(/^order_queue_depth 0$/m);
    expect(res.body).toMatch(/^process_cpu_seconds_total /m);
    // Route templates, not raw URLs: one series per route, whatever the ids.
    expect(res.body).not.toMatch(/route="\/products\/\d/);
  });
});

describe('unexpected failures', () => {
  it('when a query fails for an internal reason, then 500 problem+json without internals', async () => {
    await ctx.t.deps.db.pool.query('ALTER TABLE products RENAME TO products_gone');
    try {
      const res = await get('/products?category=any-internal');
      expect(res.statusCode).toBe(500);
      expect(res.json()).toMatchObject({
        code: 'internal_error',
        detail: 'an unexpected error occurred',
        requestId: expect.any(String),
      });
      expect(res.body).not.toMatch(/products_gone|relation|does not exist|at .*\.ts/);
    } finally {
      await ctx.t.deps.db.pool.query('ALTER TABLE products_gone RENAME TO products');
    }
  });
});
