import { beforeAll, describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.ts';

let existingId: number;
const valid = { name: 'Caju', description: 'doce', price: '3.50', stock: 5, category: 'frutas' };
const ctx = useTestApp({ BODY_LIMIT_BYTES: '16384' });

beforeAll(async () => {
  const res = await ctx.t.asAdmin({ method: 'POST', url: '/products', payload: valid });
  existingId = res.json().id;
});

async function snapshot() {
  const { rows } = await ctx.t.deps.db.pool.query(
    'SELECT id, name, description, price, stock, category, updated_at FROM products ORDER BY id',
  );
  return rows;
}

interface Case {
  name: string;
  method: 'POST' | 'PUT' | 'PATCH' | 'GET' | 'DELETE';
  url?: string;
  body?: unknown;
  raw?: string;
  contentType?: string;
  status: number;
  field: string;
}

const body = (over: Record<string, unknown>) => ({ ...valid, ...over });
const without = (key: string) => Object.fromEntries(Object.entries(valid).filter(([k]) => k !== key));

const cases: Case[] = [
  {
    name: 'price as a boolean',
    method: 'POST',
    body: body({ price: true }),
    status: 400,
    field: 'body.price',
  },
  {
    name: 'stock as a numeric string',
    method: 'POST',
    body: body({ stock: '5' }),
    status: 400,
    field: 'body.stock',
  },
  {
    name: 'stock as a fraction',
    method: 'POST',
    body: body({ stock: 1.5 }),
    status: 400,
    field: 'body.stock',
  },
  { name: 'name as a number', method: 'POST', body: body({ name: 42 }), status: 400, field: 'body.name' },
  { name: 'missing name', method: 'POST', body: without('name'), status: 400, field: 'body.name' },
  { name: 'missing price', method: 'POST', body: without('price'), status: 400, field: 'body.price' },
  { name: 'missing stock', method: 'POST', body: without('stock'), status: 400, field: 'body.stock' },
  {
    name: 'missing category',
    method: 'POST',
    body: without('category'),
    status: 400,
    field: 'body.category',
  },
  { name: 'unknown field', method: 'POST', body: body({ color: 'red' }), status: 400, field: 'body.color' },
  {
    name: 'negative price',
    method: 'POST',
    body: body({ price: '-1.00' }),
    status: 400,
    field: 'body.price',
  },
  {
    name: 'negative numeric price',
    method: 'POST',
    body: body({ price: -1 }),
    status: 400,
    field: 'body.price',
  },
  {
    name: 'price with 3 decimals',
    method: 'POST',
    body: body({ price: '1.999' }),
    status: 400,
    field: 'body.price',
  },
  {
    name: 'numeric price with 3 decimals',
    method: 'POST',
    body: body({ price: 19.999 }),
    status: 400,
    field: 'body.price',
  },
  {
    name: 'price beyond 10 integer digits',
    method: 'POST',
    body: body({ price: '12345678901.00' }),
    status: 400,
    field: 'body.price',
  },
  {
    name: 'price in exponent form',
    method: 'POST',
    body: body({ price: 1e21 }),
    status: 400,
    field: 'body.price',
  },
  { name: 'negative stock', method: 'POST', body: body({ stock: -1 }), status: 400, field: 'body.stock' },
  {
    name: 'stock beyond int4',
    method: 'POST',
    body: body({ stock: 2 ** 31 }),
    status: 400,
    field: 'body.stock',
  },
  { name: 'empty name', method: 'POST', body: body({ name: '' }), status: 400, field: 'body.name' },
  { name: 'blank name', method: 'POST', body: body({ name: '   ' }), status: 400, field: 'body.name' },
  {
    name: 'name of 201 chars',
    method: 'POST',
    body: body({ name: 'x'.repeat(201) }),
    status: 400,
    field: 'body.name',
  },
  {
    name: 'description of 5001 chars',
    method: 'POST',
    body: body({ description: 'x'.repeat(5001) }),
    status: 400,
    field: 'body.description',
  },
  {
    name: 'category not a slug',
    method: 'POST',
    body: body({ category: 'Frutas Frescas' }),
    status: 400,
    field: 'body.category',
  },
  {
    name: 'category too long',
    method: 'POST',
    body: body({ category: 'a'.repeat(51) }),
    status: 400,
    field: 'body.category',
  },
  { name: 'body is an array', method: 'POST', body: [valid], status: 400, field: 'body' },
  { name: 'malformed JSON', method: 'POST', raw: '{"name": "Caju",', status: 400, field: 'body' },
  { name: 'empty JSON body', method: 'POST', raw: '', status: 400, field: 'body' },
  {
    name: 'prototype poisoning',
    method: 'POST',
    raw: '{"__proto__": {"x": 1}, "name": "a"}',
    status: 400,
    field: 'body',
  },
  {
    name: 'text/plain content type',
    method: 'POST',
    raw: JSON.stringify(valid),
    contentType: 'text/plain',
    status: 415,
    field: 'header.content-type',
  },
  {
    name: 'form content type',
    method: 'POST',
    raw: 'name=Caju',
    contentType: 'application/x-www-form-urlencoded',
    status: 415,
    field: 'header.content-type',
  },
  {
    name: 'body over the limit',
    method: 'POST',
    body: body({ description: 'x'.repeat(20_000) }),
    status: 413,
    field: 'body',
  },
  {
    name: 'PUT missing price',
    method: 'PUT',
    url: 'EXISTING',
    body: without('price'),
    status: 400,
    field: 'body.price',
  },
  {
    name: 'PATCH with an empty object',
    method: 'PATCH',
    url: 'EXISTING',
    body: {},
    status: 400,
    field: 'body',
  },
  {
    name: 'PATCH negative stock',
    method: 'PATCH',
    url: 'EXISTING',
    body: { stock: -5 },
    status: 400,
    field: 'body.stock',
  },
  {
    name: 'PATCH unknown field',
    method: 'PATCH',
    url: 'EXISTING',
    body: { id: 7 },
    status: 400,
    field: 'body.id',
  },
  {
    name: 'PATCH null name',
    method: 'PATCH',
    url: 'EXISTING',
    body: { name: null },
    status: 400,
    field: 'body.name',
  },
  { name: 'non-numeric id', method: 'GET', url: '/products/abc', status: 400, field: 'params.id' },
  { name: 'zero id', method: 'GET', url: '/products/0', status: 400, field: 'params.id' },
  { name: 'negative id', method: 'DELETE', url: '/products/-1', status: 400, field: 'params.id' },
  {
    name: 'fractional id',
    method: 'PATCH',
    url: '/products/1.5',
    body: { stock: 1 },
    status: 400,
    field: 'params.id',
  },
  {
    name: 'id beyond 2^53',
    method: 'GET',
    url: '/products/99999999999999999999',
    status: 400,
    field: 'params.id',
  },
  {
    name: 'malformed cursor',
    method: 'GET',
    url: '/products?cursor=%%%',
    status: 400,
    field: 'query.cursor',
  },
  {
    name: 'forged cursor',
    method: 'GET',
    url: `/products?cursor=${Buffer.from('p:abc').toString('base64url')}`,
    status: 400,
    field: 'query.cursor',
  },
  {
    name: 'random base64 cursor',
    method: 'GET',
    url: '/products?cursor=aGVsbG8',
    status: 400,
    field: 'query.cursor',
  },
  { name: 'limit zero', method: 'GET', url: '/products?limit=0', status: 400, field: 'query.limit' },
  {
    name: 'limit not a number',
    method: 'GET',
    url: '/products?limit=ten',
    status: 400,
    field: 'query.limit',
  },
  {
    name: 'minPrice not a decimal',
    method: 'GET',
    url: '/products?minPrice=cheap',
    status: 400,
    field: 'query.minPrice',
  },
  {
    name: 'maxPrice negative',
    method: 'GET',
    url: '/products?maxPrice=-3',
    status: 400,
    field: 'query.maxPrice',
  },
  {
    name: 'unknown query parameter',
    method: 'GET',
    url: '/products?sort=name',
    status: 400,
    field: 'query.sort',
  },
  {
    name: 'search too long',
    method: 'GET',
    url: `/products?search=${'a'.repeat(101)}`,
    status: 400,
    field: 'query.search',
  },
];

describe('bad input on catalog routes', () => {
  for (const c of cases) {
    it(`when ${c.name}, then ${c.status} problem+json names ${c.field} and nothing is written`, async () => {
      const before = await snapshot();
      const url = c.url === 'EXISTING' ? `/products/${existingId}` : (c.url ?? '/products');
      const payload = c.raw !== undefined ? c.raw : c.body !== undefined ? JSON.stringify(c.body) : undefined;
      const res = await ctx.t.asAdmin({
        method: c.method,
        url,
        ...(payload !== undefined
          ? { payload, headers: { 'content-type': c.contentType ?? 'application/json' } }
          : {}),
      });
      expect(res.statusCode, res.body).toBe(c.status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      const problem = res.json();
      expect(problem).toMatchObject({
        status: c.status,
        code: expect.any(String),
        requestId: expect.any(String),
      });
      expect(problem.errors.map((e: { field: string }) => e.field)).toContain(c.field);
      expect(await snapshot()).toEqual(before);
    });
  }
});
