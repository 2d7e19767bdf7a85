import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, eventually, realServers, type TestDatabase } from '../helpers/env.ts';
import { freePort, type Started, startProcess, waitServing } from '../helpers/process.ts';

/**
 * Two real instances on one database and Redis: `near` answers repeated reads
 * from its near copy before Fastify (src/http/hot-reads.ts); `plain` keeps no
 * near copy, so Fastify answers its hits from Redis. A client must not be able
 * to tell the two answers apart. That a write on one instance is never
 * followed by the old body from another's near copy is tested in
 * cache.test.ts, whose reads go through the same server.
 */
let db: TestDatabase;
let near: { p: Started; base: string };
let plain: { p: Started; base: string };
let productId: number;

async function start(env: Record<string, string>, shared: Record<string, string>) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const p = startProcess('src/entrypoints/api.ts', {
    ...shared,
    PORT: String(port),
    NODE_ENV: 'production',
    JWT_SECRET: 'hot-read-test-secret-0123456789-abcdefghijklmnop',
    LOG_LEVEL: 'info',
    ...env,
  });
  await waitServing(p, `${base}/readyz`);
  return { p, base };
}

beforeAll(async () => {
  db = await createTestDatabase();
  const shared = realServers(db.url);
  // One after the other: the first migrates the database.
  near = await start({ INSTANCE_ID: 'hot-near' }, shared);
  plain = await start(
    { INSTANCE_ID: 'hot-plain', CACHE_NEAR_MAX_BYTES: '0', MIGRATE_ON_START: 'false' },
    shared,
  );
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  const r = await c.query(
    `INSERT INTO products (name, description, price, stock, category) VALUES ('Cajá', 'Fruta', 4.20, 9, 'frutas') RETURNING id`,
  );
  await c.end();
  productId = Number(r.rows[0].id);
}, 60_000);

afterAll(async () => {
  near?.p.child.kill('SIGKILL');
  plain?.p.child.kill('SIGKILL');
  await db?.drop();
});

const read = async (base: string, path: string, headers: Record<string, string> = {}) => {
  const res = await fetch(`${base}${path}`, { headers });
  return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
};
// Headers that differ between any two answers.
const stable = (h: Record<string, string>) => {
  const { date: _d, 'x-request-id': _r, ...rest } = h;
  return rest;
};

describe('GET /products/:id answered from the near copy', () => {
  it('carries the status, body and headers Fastify sends for a cache hit', async () => {
    const path = `/products/${productId}`;
    const first = await read(near.base, path);
    expect(first.headers['x-cache']).toBe('MISS');
    const hot = await read(near.base, path);
    await read(plain.base, path);
    const fromRedis = await read(plain.base, path);
    expect(fromRedis.headers['x-cache']).toBe('HIT');
    expect(hot.status).toBe(200);
    expect(hot.body).toBe(first.body);
    expect(stable(hot.headers)).toEqual(stable(fromRedis.headers));
    expect(JSON.parse(hot.body)).toMatchObject({ id: productId, name: 'Cajá', price: '4.20' });
  });

  it("writes the same log line and histogram sample as any request, with the caller's request id", async () => {
    const path = `/products/${productId}`;
    await read(near.base, path);
    const metricsBefore = await read(near.base, '/metrics');
    const count = (text: string) =>
      Number(
        /http_request_duration_seconds_count\{method="GET",route="\/products\/:id",status="200"\} (\d+)/.exec(
          text,
        )?.[1] ?? 0,
      );
    const res = await read(near.base, path, { 'x-request-id': 'edge-hot-1' });
    expect(res.headers['x-cache']).toBe('HIT');
    expect(res.headers['x-request-id']).toBe('edge-hot-1');
    // Log lines are buffered for up to a second.
    const line = await eventually(() => {
      const l = near.p
        .stdout()
        .split('\n')
        .find((x) => x.includes('"requestId":"edge-hot-1"'));
      expect(l).toBeDefined();
      return JSON.parse(l as string);
    }, 5000);
    expect(line).toMatchObject({
      level: 30,
      instance: 'hot-near',
      method: 'GET',
      url: path,
      status: 200,
      ms: expect.any(Number),
      msg: 'request completed',
    });
    expect(count((await read(near.base, '/metrics')).body)).toBe(count(metricsBefore.body) + 1);
  });

  it('a URL in another form (leading zeros, a query string) and HEAD get the same product from the route', async () => {
    const canonical = await read(near.base, `/products/${productId}`);
    for (const path of [`/products/00${productId}`, `/products/${productId}?utm=x`]) {
      const res = await read(near.base, path);
      expect(res.status).toBe(200);
      expect(res.body).toBe(canonical.body);
      expect(stable(res.headers)).toEqual(stable(canonical.headers));
    }
    const head = await fetch(`${near.base}/products/${productId}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(canonical.headers['content-length']);
  });
});
