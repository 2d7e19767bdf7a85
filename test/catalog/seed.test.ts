import { describe, expect, it } from 'vitest';
import { seedCatalog } from '../../src/modules/catalog/seed-data.ts';
import { useTestApp } from '../helpers/app.ts';

const ctx = useTestApp();

describe('db:seed', () => {
  it('when run twice, then at least 8 products in several categories exist once each, and cached lists show them', async () => {
    const emptyList = await ctx.t.app.inject({ method: 'GET', url: '/products?limit=100' });
    expect(emptyList.json().items).toEqual([]);
    const first = await seedCatalog(ctx.t.deps.db.pool, ctx.t.deps.catalog.cache);
    expect(first.length).toBeGreaterThanOrEqual(8);
    expect(await seedCatalog(ctx.t.deps.db.pool, ctx.t.deps.catalog.cache)).toEqual([]);
    const list = (await ctx.t.app.inject({ method: 'GET', url: '/products?limit=100' })).json();
    expect(list.items).toHaveLength(first.length);
    expect(new Set(list.items.map((p: { category: string }) => p.category)).size).toBeGreaterThanOrEqual(3);
  });
});
