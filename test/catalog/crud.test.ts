import { describe, expect, it } from 'vitest';
import { json, useTestApp } from '../helpers/app.ts';

const ctx = useTestApp();

const lemon = { name: 'Limão Taiti', description: 'orgânico', price: '6.90', stock: 10, category: 'frutas' };

async function create(body: Record<string, unknown> = lemon) {
  const res = await ctx.t.asAdmin({ method: 'POST', url: '/products', ...json(body) });
  expect(res.statusCode, res.body).toBe(201);
  return res;
}

describe('catalog CRUD', () => {
  it('when a product is created, then it is returned with an id, exact price, timestamps and a Location', async () => {
    const res = await create();
    const p = res.json();
    expect(p).toMatchObject({ ...lemon, id: expect.any(Number) });
    expect(res.headers.location).toBe(`/products/${p.id}`);
    expect(new Date(p.createdAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(p.updatedAt).toBe(p.createdAt);
  });

  it('when price is sent as a JSON number with up to 2 decimals, then it is stored and returned as an exact decimal string', async () => {
    const cases: Array<[unknown, string]> = [
      [19.9, '19.90'],
      [0.1, '0.10'],
      [0, '0.00'],
      [1234567890.99, '1234567890.99'],
      ['9999999999.99', '9999999999.99'],
      ['5', '5.00'],
    ];
    for (const [price, expected] of cases) {
      const p = (await create({ ...lemon, price })).json();
      expect(p.price, `price ${price}`).toBe(expected);
      const read = await ctx.t.app.inject({ method: 'GET', url: `/products/${p.id}` });
      expect(read.json().price).toBe(expected);
      // The raw JSON text carries the decimal as a string: no float on the wire.
      expect(read.body).toContain(`"price":"${expected}"`);
    }
  });

  it('when description is omitted, then it is empty', async () => {
    const { description: _, ...rest } = lemon;
    expect((await create(rest)).json().description).toBe('');
  });

  it('when a product is read by id, then it is found; an unknown id is a 404 problem', async () => {
    const p = (await create()).json();
    const ok = await ctx.t.app.inject({ method: 'GET', url: `/products/${p.id}` });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual(p);
    const missing = await ctx.t.app.inject({ method: 'GET', url: '/products/999999999' });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(missing.json()).toMatchObject({ status: 404, code: 'product_not_found' });
  });

  it('when a product is replaced with PUT, then every field changes and updatedAt moves on', async () => {
    const p = (await create()).json();
    const next = { name: 'Maçã Fuji', price: '12.50', stock: 3, category: 'frutas-frescas' };
    const res = await ctx.t.asAdmin({ method: 'PUT', url: `/products/${p.id}`, ...json(next) });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ ...next, id: p.id, description: '' });
    expect(new Date(res.json().updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(p.updatedAt).getTime());
    expect(res.json().createdAt).toBe(p.createdAt);
  });

  it('when a product is patched, then only the sent fields change', async () => {
    const p = (await create()).json();
    const res = await ctx.t.asAdmin({
      method: 'PATCH',
      url: `/products/${p.id}`,
      ...json({ stock: 0, price: 7 }),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ ...lemon, id: p.id, stock: 0, price: '7.00' });
  });

  it('when PUT, PATCH or DELETE name an unknown product, then 404 and nothing is created', async () => {
    for (const [method, body] of [
      ['PUT', lemon],
      ['PATCH', { stock: 1 }],
      ['DELETE', undefined],
    ] as const) {
      const res = await ctx.t.asAdmin({ method, url: '/products/888888888', ...(body ? json(body) : {}) });
      expect(res.statusCode, method).toBe(404);
      expect(res.json().code).toBe('product_not_found');
    }
  });

  it('when a product is deleted, then it is gone and a second delete is a 404', async () => {
    const p = (await create()).json();
    await ctx.t.app.inject({ method: 'GET', url: `/products/${p.id}` }); // cache it
    const del = await ctx.t.asAdmin({ method: 'DELETE', url: `/products/${p.id}` });
    expect(del.statusCode).toBe(204);
    expect(del.body).toBe('');
    expect((await ctx.t.app.inject({ method: 'GET', url: `/products/${p.id}` })).statusCode).toBe(404);
    expect((await ctx.t.asAdmin({ method: 'DELETE', url: `/products/${p.id}` })).statusCode).toBe(404);
  });

  it('when a name has surrounding spaces, then it is stored trimmed', async () => {
    expect((await create({ ...lemon, name: '  Caju  ' })).json().name).toBe('Caju');
  });
});
