import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startTestApp, type TestApp } from '../helpers/app.ts';
import {
  createTestDatabase,
  eventually,
  realServers,
  TEST_REDIS_URL,
  type TestDatabase,
} from '../helpers/env.ts';

let db: TestDatabase;
let a: TestApp;
let b: TestApp;

beforeAll(async () => {
  db = await createTestDatabase();
  // Two instances of the app, as behind nginx: one database, one Redis.
  const env = realServers(db.url);
  // Instance ids name their Redis connections, which one test finds and kills.
  a = await startTestApp({ ...env, INSTANCE_ID: `cache-a-${process.pid}` });
  b = await startTestApp({ ...env, INSTANCE_ID: `cache-b-${process.pid}` });
  for (const app of [a, b]) await app.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await db?.drop();
});

async function createProduct(name = 'Caju') {
  const res = await a.asAdmin({
    method: 'POST',
    url: '/products',
    ...json({ name, price: '3.50', stock: 5, category: 'frutas' }),
  });
  expect(res.statusCode).toBe(201);
  return res.json() as { id: number; name: string; stock: number };
}

/**
 * Reads go over a real socket, as every client's do. With inject() the read
 * would run inside the same event-loop turn as the other instance's write
 * reply, before this process had read Redis's invalidation from its socket —
 * an order no client of a separate process can produce.
 */
async function get(app: TestApp, url: string) {
  const address = app.app.server.address();
  if (!address || typeof address === 'string') throw new Error('the test app is not listening');
  const res = await fetch(`http://127.0.0.1:${address.port}${url}`);
  const body: unknown = await res.json();
  return {
    statusCode: res.status,
    headers: Object.fromEntries(res.headers),
    // biome-ignore lint/suspicious/noExplicitAny: as inject()'s json(): the tests read bodies of several shapes
    json: () => body as any,
  };
}
const stats = async (app: TestApp) =>
  (await get(app, '/stats')).json().cache as { hits: number; misses: number; hitRatio: number };

describe('catalog cache shared by two instances', () => {
  it('when one instance reads a product twice, then a miss then a hit; the other instance hits too', async () => {
    const p = await createProduct();
    const first = await get(a, `/products/${p.id}`);
    expect(first.headers['x-cache']).toBe('MISS');
    const second = await get(a, `/products/${p.id}`);
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.json()).toEqual(first.json());
    await eventually(async () => expect((await get(b, `/products/${p.id}`)).headers['x-cache']).toBe('HIT'));
  });

  it('when hits and misses happen on both instances, then /stats on either counts them all', async () => {
    const before = await stats(b);
    const p = await createProduct('Pitanga');
    await get(a, `/products/${p.id}`); // miss
    await eventually(async () => expect((await get(a, `/products/${p.id}`)).headers['x-cache']).toBe('HIT'));
    const after = await eventually(async () => {
      const s = await stats(b);
      expect(s.misses).toBeGreaterThanOrEqual(before.misses + 1);
      expect(s.hits).toBeGreaterThanOrEqual(before.hits + 1);
      return s;
    });
    expect(after.hitRatio).toBeCloseTo(after.hits / (after.hits + after.misses), 3);
    expect(await stats(a)).toMatchObject({ hits: expect.any(Number), misses: expect.any(Number) });
  });

  it('when one instance updates a product, then the other never serves the old value afterwards', async () => {
    const p = await createProduct('Graviola');
    await get(b, `/products/${p.id}`);
    await eventually(async () => expect((await get(b, `/products/${p.id}`)).headers['x-cache']).toBe('HIT'));
    for (let stock = 10; stock < 15; stock++) {
      const patched = await a.asAdmin({ method: 'PATCH', url: `/products/${p.id}`, ...json({ stock }) });
      expect(patched.statusCode).toBe(200);
      // Immediately after the 2xx, on the other instance: the new value.
      expect((await get(b, `/products/${p.id}`)).json().stock).toBe(stock);
      expect((await get(b, `/products/${p.id}`)).json().stock).toBe(stock);
    }
  });

  it('when a product is created, changed or deleted, then cached lists on the other instance reflect it at once', async () => {
    const url = '/products?category=cachelist';
    expect((await get(b, url)).json().items).toEqual([]);
    await eventually(async () => expect((await get(b, url)).headers['x-cache']).toBe('HIT'));
    const created = await a.asAdmin({
      method: 'POST',
      url: '/products',
      ...json({ name: 'Umbu', price: '2.00', stock: 1, category: 'cachelist' }),
    });
    const id = created.json().id;
    expect((await get(b, url)).json().items.map((p: { id: number }) => p.id)).toEqual([id]);
    await a.asAdmin({
      method: 'PUT',
      url: `/products/${id}`,
      ...json({ name: 'Umbu doce', price: '2.00', stock: 1, category: 'cachelist' }),
    });
    expect((await get(b, url)).json().items[0].name).toBe('Umbu doce');
    await a.asAdmin({ method: 'DELETE', url: `/products/${id}` });
    expect((await get(b, url)).json().items).toEqual([]);
    expect((await get(b, `/products/${id}`)).statusCode).toBe(404);
  });

  it('when the list query differs in any filter, then it is cached under its own key', async () => {
    await createProduct('Cajá');
    const one = await get(a, '/products?search=caja&limit=5');
    const other = await get(a, '/products?search=caja&limit=6');
    expect(one.headers['x-cache']).toBe('MISS');
    expect(other.headers['x-cache']).toBe('MISS');
  });

  it('when DELETE /cache/clear is called, then the next reads miss and then hit again', async () => {
    const p = await createProduct('Mangaba');
    await get(a, `/products/${p.id}`);
    await eventually(async () => expect((await get(a, `/products/${p.id}`)).headers['x-cache']).toBe('HIT'));
    const cleared = await b.asAdmin({ method: 'DELETE', url: '/cache/clear' });
    expect(cleared.statusCode).toBe(200);
    expect(cleared.json().cleared).toBeGreaterThanOrEqual(1);
    expect((await get(a, `/products/${p.id}`)).headers['x-cache']).toBe('MISS');
    await eventually(async () => expect((await get(a, `/products/${p.id}`)).headers['x-cache']).toBe('HIT'));
  });

  it('when a reader races a writer, then the body it read before the write is never served after it', async () => {
    const p = await createProduct('Bacuri');
    const cache = a.deps.catalog.cache;
    // Reader: misses and takes the version, then reads the database (old row)...
    const read = await cache.readProduct(p.id);
    expect(read.hit).toBe(false);
    const oldBody = JSON.stringify({ ...p, stock: 5 });
    // ...meanwhile a writer commits and invalidates...
    const patched = await b.asAdmin({ method: 'PATCH', url: `/products/${p.id}`, ...json({ stock: 99 }) });
    expect(patched.statusCode).toBe(200);
    // ...and only then the slow reader stores what it read.
    if (!read.hit) cache.storeProduct(p.id, read, oldBody);
    await new Promise((r) => setTimeout(r, 50));
    for (const app of [a, b]) expect((await get(app, `/products/${p.id}`)).json().stock).toBe(99);
  });
});

describe('near copies in each instance', () => {
  const near = async (app: TestApp) =>
    (await get(app, '/stats')).json().cache.near as { entries: number; bytes: number; live: boolean };

  it('when a product is read again, then the instance answers from its own copy, which /stats counts', async () => {
    const p = await createProduct('Murici');
    await get(b, `/products/${p.id}`);
    await eventually(async () => expect((await get(b, `/products/${p.id}`)).headers['x-cache']).toBe('HIT'));
    const figures = await near(b);
    expect(figures.live).toBe(true);
    expect(figures.entries).toBeGreaterThanOrEqual(1);
    expect(figures.bytes).toBeGreaterThan(0);
  });

  it('when the connection carrying Redis invalidations drops, then copies stop being served until it is back, and no write is missed', async () => {
    const p = await createProduct('Buriti');
    await get(b, `/products/${p.id}`);
    await eventually(async () => expect((await get(b, `/products/${p.id}`)).headers['x-cache']).toBe('HIT'));
    const admin = new Redis(TEST_REDIS_URL);
    try {
      const clients = (await admin.client('LIST')) as string;
      const line = clients
        .split('\n')
        .find((l) => l.includes(`name=armazem:cache-b-${process.pid}:invalidations`));
      const id = line?.match(/\bid=(\d+)/)?.[1];
      expect(id).toBeDefined();
      await admin.client('KILL', 'ID', id as string);
      // Written while b cannot hear of it: b must not serve its copy afterwards.
      const patched = await a.asAdmin({ method: 'PATCH', url: `/products/${p.id}`, ...json({ stock: 42 }) });
      expect(patched.statusCode).toBe(200);
      expect((await get(b, `/products/${p.id}`)).json().stock).toBe(42);
      // It reconnects by itself, and copies are served again.
      await eventually(async () => expect((await near(b)).live).toBe(true));
      await eventually(async () =>
        expect((await get(b, `/products/${p.id}`)).headers['x-cache']).toBe('HIT'),
      );
      await a.asAdmin({ method: 'PATCH', url: `/products/${p.id}`, ...json({ stock: 43 }) });
      expect((await get(b, `/products/${p.id}`)).json().stock).toBe(43);
    } finally {
      admin.disconnect();
    }
  });
});

describe('cache TTL', () => {
  it('when CACHE_TTL_SECONDS passes, then the entry expires and the next read misses', async () => {
    const short = await startTestApp({
      ...realServers(db.url),
      CACHE_TTL_SECONDS: '1',
    });
    await short.app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const created = await short.asAdmin({
        method: 'POST',
        url: '/products',
        ...json({ name: 'Cupuaçu', price: '9.00', stock: 1, category: 'frutas' }),
      });
      const url = `/products/${created.json().id}`;
      await get(short, url);
      await eventually(async () => expect((await get(short, url)).headers['x-cache']).toBe('HIT'));
      await new Promise((r) => setTimeout(r, 1100));
      expect((await get(short, url)).headers['x-cache']).toBe('MISS');
    } finally {
      await short.close();
    }
  });

  it('when the cache is disabled, then reads go to the database and say so', async () => {
    const off = await startTestApp({
      ...realServers(db.url),
      CACHE_ENABLED: 'false',
    });
    await off.app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const p = await createProduct('Jabuticaba');
      for (let i = 0; i < 3; i++)
        expect((await get(off, `/products/${p.id}`)).headers['x-cache']).toBe('MISS');
      expect((await get(off, '/health')).json().cache).toBe('disabled');
    } finally {
      await off.close();
    }
  });
});
