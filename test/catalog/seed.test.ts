import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedCatalog } from '../../src/modules/catalog/seed-data.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { createTestDatabase, TEST_REDIS_URL, type TestDatabase, testRedisPrefix } from '../helpers/env.ts';

let db: TestDatabase;
let t: TestApp;

beforeAll(async () => {
  db = await createTestDatabase();
  t = await startTestApp({
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: testRedisPrefix(),
  });
});
afterAll(async () => {
  await t?.close();
  await db?.drop();
});

describe('db:seed', () => {
  it('when run twice, then at least 8 products in several categories exist once each, and cached lists show them', async () => {
    const emptyList = await t.app.inject({ method: 'GET', url: '/products?limit=100' });
    expect(emptyList.json().items).toEqual([]);
    const first = await seedCatalog(t.deps.db.pool, t.deps.catalog.cache);
    expect(first.length).toBeGreaterThanOrEqual(8);
    expect(await seedCatalog(t.deps.db.pool, t.deps.catalog.cache)).toEqual([]);
    const list = (await t.app.inject({ method: 'GET', url: '/products?limit=100' })).json();
    expect(list.items).toHaveLength(first.length);
    expect(new Set(list.items.map((p: { category: string }) => p.category)).size).toBeGreaterThanOrEqual(3);
  });
});
