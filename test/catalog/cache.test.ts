import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startTestApp, type TestApp } from '../helpers/app.ts';
import { createTestDatabase, eventually, realServers, type TestDatabase } from '../helpers/env.ts';

let db: TestDatabase;
let a: TestApp;
let b: TestApp;

beforeAll(async () => {
  db = await createTestDatabase();
  // Two instances of the app, as behind nginx: one database, one Redis.
  const env = realServers(db.url);
  a = await startTestApp({ ...env, INSTANCE_ID: 'a' });
  b = await startTestApp({ ...env, INSTANCE_ID: 'b' });
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

const get = (app: TestApp, url: string) => app.app.inject({ method: 'GET', url });
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
    cache.storeProduct(p.id, read.hit ? null : read.version, oldBody);
    await new Promise((r) => setTimeout(r, 50));
    for (const app of [a, b]) expect((await get(app, `/products/${p.id}`)).json().stock).toBe(99);
  });
});

describe('cache TTL', () => {
  it('when CACHE_TTL_SECONDS passes, then the entry expires and the next read misses', async () => {
    const short = await startTestApp({
      ...realServers(db.url),
      CACHE_TTL_SECONDS: '1',
    });
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
