import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startTestApp, type TestApp } from '../helpers/app.ts';
import { createTestDatabase, eventually, type TestDatabase, testRedisPrefix } from '../helpers/env.ts';
import { type RedisCluster, startRedisCluster } from '../helpers/redis-cluster.ts';

/**
 * armazem on a real 3-master Redis Cluster (REDIS_CLUSTER_NODES, no
 * REDIS_URL): the catalog cache, its statistics, clearing and the login
 * limits all work, and keys land on every master. A multi-key command over
 * two slots would fail here with CROSSSLOT.
 */
let cluster: RedisCluster;
let db: TestDatabase;
let t: TestApp;
const prefix = testRedisPrefix();
const ids: number[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  db = await createTestDatabase();
  t = await startTestApp({
    DATABASE_URL: db.url,
    REDIS_CLUSTER_NODES: cluster.nodesEnv,
    REDIS_KEY_PREFIX: prefix,
    LOGIN_RATE_LIMIT_PER_EMAIL: '2',
  });
  for (let i = 0; i < 30; i++) {
    const res = await t.asAdmin({
      method: 'POST',
      url: '/products',
      ...json({ name: `Produto ${i}`, price: '1.00', stock: 5, category: i % 2 ? 'pares' : 'impares' }),
    });
    ids.push(res.json().id);
  }
}, 60_000);

afterAll(async () => {
  await t?.close();
  await db?.drop();
  await cluster?.stop();
});

const get = (url: string) => t.app.inject({ method: 'GET', url });
/** Our keys on one master, by SCAN on that node alone. */
async function keysOn(master: RedisCluster['masters'][number], pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await master.scan(cursor, 'MATCH', `${prefix}${pattern}`, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

describe('Redis Cluster (REDIS_CLUSTER_NODES)', () => {
  it('reports the cluster in /services and /health', async () => {
    const [, cache] = (await get('/services')).json().services;
    expect(cache).toMatchObject({
      kind: 'redis',
      status: 'up',
      description: expect.stringMatching(/^redis cluster /),
    });
    expect(cache.details).toMatchObject({ clusterState: 'ok', clusterMasters: 3 });
    expect((await get('/health')).json()).toMatchObject({ status: 'healthy', cache: 'up' });
  });

  it('caches product reads (a miss, then hits) with keys spread over every master', async () => {
    for (const id of ids) expect((await get(`/products/${id}`)).headers['x-cache']).toBe('MISS');
    for (const id of ids)
      await eventually(async () => expect((await get(`/products/${id}`)).headers['x-cache']).toBe('HIT'));
    for (const master of cluster.masters)
      expect((await keysOn(master, 'catalog:{p*}:body')).length).toBeGreaterThan(0);
    // The two counters share a slot (one MGET reads both).
    const stats = (await get('/stats')).json().cache;
    expect(stats.hits).toBeGreaterThanOrEqual(ids.length);
    expect(stats.misses).toBeGreaterThanOrEqual(ids.length);
  });

  it('after a write, no read serves the old product or list', async () => {
    const id = ids[0] as number;
    await eventually(async () =>
      expect((await get('/products?category=impares')).headers['x-cache']).toBe('HIT'),
    );
    const patched = await t.asAdmin({
      method: 'PATCH',
      url: `/products/${id}`,
      ...json({ name: 'Renomeado' }),
    });
    expect(patched.statusCode).toBe(200);
    expect((await get(`/products/${id}`)).json().name).toBe('Renomeado');
    const list = await get('/products?category=impares');
    expect(list.headers['x-cache']).toBe('MISS');
    expect(list.json().items.map((p: { name: string }) => p.name)).toContain('Renomeado');
  });

  it('DELETE /cache/clear empties the catalog bodies on every master', async () => {
    for (const id of ids)
      await eventually(async () => expect((await get(`/products/${id}`)).headers['x-cache']).toBe('HIT'));
    const cleared = await t.asAdmin({ method: 'DELETE', url: '/cache/clear' });
    expect(cleared.statusCode).toBe(200);
    expect(cleared.json().cleared).toBeGreaterThanOrEqual(ids.length);
    for (const master of cluster.masters) {
      expect(await keysOn(master, 'catalog:{p*}:body')).toEqual([]);
      expect(await keysOn(master, 'catalog:{lists}:q:*')).toEqual([]);
    }
    expect((await get(`/products/${ids[1]}`)).headers['x-cache']).toBe('MISS');
  });

  it('counts login attempts in the cluster: past the per-email limit, 429', async () => {
    const attempt = () =>
      t.app.inject({
        method: 'POST',
        url: '/auth/login',
        ...json({ email: 'nobody@armazem.test', password: 'wrong-password' }),
      });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await attempt()).statusCode);
    expect(statuses).toEqual([401, 401, 429]);
  });
});
