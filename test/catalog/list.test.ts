import { beforeAll, describe, expect, it } from 'vitest';
import { json, useTestApp } from '../helpers/app.ts';

const ctx = useTestApp();

beforeAll(async () => {
  for (const p of [
    { name: 'Limão Taiti', price: '6.90', stock: 1, category: 'frutas' },
    { name: 'LIMÃO siciliano', price: '9.50', stock: 1, category: 'frutas' },
    { name: 'Maçã Fuji', price: '12.50', stock: 1, category: 'frutas' },
    { name: 'Pão de Açúcar (LP)', price: '150.00', stock: 1, category: 'discos' },
    { name: 'Desconto 50% off', price: '1.00', stock: 1, category: 'promo' },
    { name: 'Desconto 50 reais', price: '2.00', stock: 1, category: 'promo' },
    { name: 'snake_case mug', price: '30.00', stock: 1, category: 'promo' },
    { name: 'snakeXcase mug', price: '30.00', stock: 1, category: 'promo' },
  ]) {
    const res = await ctx.t.asAdmin({ method: 'POST', url: '/products', ...json(p) });
    expect(res.statusCode).toBe(201);
  }
});

async function names(query: string): Promise<string[]> {
  const res = await ctx.t.app.inject({ method: 'GET', url: `/products?${query}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().items.map((p: { name: string }) => p.name);
}

describe('catalog listing', () => {
  it('when search has no accents or a different case, then it still finds accented names', async () => {
    expect(await names('search=limao')).toEqual(['Limão Taiti', 'LIMÃO siciliano']);
    expect(await names('search=LIMÃO')).toEqual(['Limão Taiti', 'LIMÃO siciliano']);
    expect(await names('search=acuc')).toEqual(['Pão de Açúcar (LP)']);
    expect(await names('search=maca%20fu')).toEqual(['Maçã Fuji']);
  });

  it('when search contains LIKE wildcards, then they match literally', async () => {
    expect(await names(`search=${encodeURIComponent('50%')}`)).toEqual(['Desconto 50% off']);
    expect(await names('search=snake_case')).toEqual(['snake_case mug']);
  });

  it('when filtering by category and price range, then only matching products come back, in id order', async () => {
    expect(await names('category=frutas')).toEqual(['Limão Taiti', 'LIMÃO siciliano', 'Maçã Fuji']);
    expect(await names('category=frutas&minPrice=7&maxPrice=12.50')).toEqual([
      'LIMÃO siciliano',
      'Maçã Fuji',
    ]);
    expect(await names('maxPrice=2.00')).toEqual(['Desconto 50% off', 'Desconto 50 reais']);
    expect(await names('minPrice=100')).toEqual(['Pão de Açúcar (LP)']);
    expect(await names('category=frutas&search=taiti')).toEqual(['Limão Taiti']);
    expect(await names('category=nada')).toEqual([]);
  });

  it('when no limit is given, then pages hold 20; limit above 100 is refused', async () => {
    const res = await ctx.t.app.inject({ method: 'GET', url: '/products' });
    expect(res.json().items.length).toBeLessThanOrEqual(20);
    const tooMany = await ctx.t.app.inject({ method: 'GET', url: '/products?limit=101' });
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().errors[0].field).toBe('query.limit');
  });

  it('when paging with the cursor, then every product is seen once and the last page has no cursor', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await ctx.t.app.inject({
        method: 'GET',
        url: `/products?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
      });
      const page: { items: Array<{ id: number; name: string }>; nextCursor: string | null } = res.json();
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((p: { name: string }) => p.name));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(await names('limit=100'));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('when rows are inserted while a client pages, then no row is skipped or repeated', async () => {
    const before = (await ctx.t.app.inject({ method: 'GET', url: '/products?limit=100' }))
      .json()
      .items.map((p: { id: number }) => p.id);
    const inserts = Array.from({ length: 30 }, (_, i) =>
      ctx.t.asAdmin({
        method: 'POST',
        url: '/products',
        ...json({ name: `novo ${i}`, price: '1.00', stock: 1, category: 'novos' }),
      }),
    );
    const seen: number[] = [];
    let cursor: string | null = null;
    const paging = (async () => {
      do {
        const res = await ctx.t.app.inject({
          method: 'GET',
          url: `/products?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        });
        const page: { items: Array<{ id: number; name: string }>; nextCursor: string | null } = res.json();
        seen.push(...page.items.map((p: { id: number }) => p.id));
        cursor = page.nextCursor;
      } while (cursor);
    })();
    await Promise.all([...inserts, paging]);
    expect(new Set(seen).size).toBe(seen.length); // nothing repeated
    for (const id of before) expect(seen).toContain(id); // nothing that existed before was skipped
    expect([...seen].sort((a, b) => a - b)).toEqual(seen); // one stable order
  });

  it('when a filter is combined with the cursor, then later pages keep the filter', async () => {
    const first = (await ctx.t.app.inject({ method: 'GET', url: '/products?category=promo&limit=2' })).json();
    expect(first.items).toHaveLength(2);
    const second = (
      await ctx.t.app.inject({
        method: 'GET',
        url: `/products?category=promo&limit=2&cursor=${first.nextCursor}`,
      })
    ).json();
    expect(second.items.map((p: { name: string }) => p.name)).toEqual(['snake_case mug', 'snakeXcase mug']);
    expect(second.nextCursor).toBeNull();
  });
});
