import { beforeAll, describe, expect, it } from 'vitest';
import { ensureContestClients } from '../../src/modules/credit/contest-clients.ts';
import { useTestApp } from '../helpers/app.ts';
import { creditSnapshot } from '../helpers/credit.ts';
import { registerAndLogin, type Session } from '../helpers/customers.ts';
import { createProduct, placeOrder } from '../helpers/orders.ts';

const ctx = useTestApp({ CREDIT_CONTEST_ROUTES: 'true' });
let customer: Session;
let orderId: number;

beforeAll(async () => {
  await ensureContestClients(ctx.t.deps.db.pool, ctx.t.deps.customers);
  customer = await registerAndLogin(ctx.t);
  const productId = await createProduct(ctx.t, { stock: 5 });
  orderId = (await placeOrder(ctx.t, customer, [{ productId, quantity: 1 }])).id;
});

interface Case {
  name: string;
  method: 'GET' | 'POST' | 'PUT';
  /** CUSTOMER and ORDER are replaced by the test's customer and order ids. */
  url: string;
  as: 'admin' | 'customer' | 'anonymous';
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  status: number;
  field: string;
}

const post = { type: 'credit', amount: '1.00', description: 'x' };
const tx = { valor: 1, tipo: 'c', descricao: 'x' };
const admin = (c: Omit<Case, 'as'>): Case => ({ ...c, as: 'admin' });

const cases: Case[] = [
  // PUT /customers/:id/credit/limit
  ...[
    ['a missing limit', {}, 'body.limit'],
    ['a negative limit', { limit: '-1.00' }, 'body.limit'],
    ['a limit with 3 decimals', { limit: '1.001' }, 'body.limit'],
    ['a limit beyond 11 integer digits', { limit: '123456789012.00' }, 'body.limit'],
    ['a limit as a boolean', { limit: true }, 'body.limit'],
    ['a limit in exponent form', { limit: 1e21 }, 'body.limit'],
    ['an unknown field', { limit: '1.00', balance: '5.00' }, 'body.balance'],
  ].map(([name, body, field]) =>
    admin({
      name: `limit: ${name}`,
      method: 'PUT',
      url: '/customers/CUSTOMER/credit/limit',
      body,
      status: 400,
      field: field as string,
    }),
  ),
  admin({
    name: 'limit: a non-numeric id',
    method: 'PUT',
    url: '/customers/abc/credit/limit',
    body: { limit: '1.00' },
    status: 400,
    field: 'params.id',
  }),
  admin({
    name: 'limit: id 0',
    method: 'PUT',
    url: '/customers/0/credit/limit',
    body: { limit: '1.00' },
    status: 400,
    field: 'params.id',
  }),
  // POST /customers/:id/credit/transactions
  ...[
    ['an unknown type', { ...post, type: 'gift' }, 'body.type'],
    ['a zero amount', { ...post, amount: '0.00' }, 'body.amount'],
    ['a zero numeric amount', { ...post, amount: 0 }, 'body.amount'],
    ['a negative amount', { ...post, amount: '-5.00' }, 'body.amount'],
    ['an amount with 3 decimals', { ...post, amount: 1.999 }, 'body.amount'],
    ['an amount beyond 10 integer digits', { ...post, amount: '12345678901.00' }, 'body.amount'],
    ['an amount as text words', { ...post, amount: 'ten' }, 'body.amount'],
    ['an empty description', { ...post, description: '' }, 'body.description'],
    ['a description of 201 characters', { ...post, description: 'x'.repeat(201) }, 'body.description'],
    ['a description as a number', { ...post, description: 5 }, 'body.description'],
    ['a missing type', { amount: '1.00', description: 'x' }, 'body.type'],
    ['a missing amount', { type: 'credit', description: 'x' }, 'body.amount'],
    ['an unknown field', { ...post, customerId: 1 }, 'body.customerId'],
    ['a body that is an array', [post], 'body'],
  ].map(([name, body, field]) =>
    admin({
      name: `post: ${name}`,
      method: 'POST',
      url: '/customers/CUSTOMER/credit/transactions',
      body,
      status: 400,
      field: field as string,
    }),
  ),
  admin({
    name: 'post: malformed JSON',
    method: 'POST',
    url: '/customers/CUSTOMER/credit/transactions',
    raw: '{"type": "credit",',
    status: 400,
    field: 'body',
  }),
  admin({
    name: 'post: an Idempotency-Key with a space',
    method: 'POST',
    url: '/customers/CUSTOMER/credit/transactions',
    body: post,
    headers: { 'idempotency-key': 'a b' },
    status: 400,
    field: 'header.idempotency-key',
  }),
  admin({
    name: 'post: an Idempotency-Key of 201 characters',
    method: 'POST',
    url: '/customers/CUSTOMER/credit/transactions',
    body: post,
    headers: { 'idempotency-key': 'k'.repeat(201) },
    status: 400,
    field: 'header.idempotency-key',
  }),
  // GET …/credit/transactions
  ...[
    ['limit 0', 'limit=0', 'query.limit'],
    ['limit 101', 'limit=101', 'query.limit'],
    ['a forged cursor', `cursor=${Buffer.from('p:abc').toString('base64url')}`, 'query.cursor'],
    ['a date that is not one', 'from=yesterday', 'query.from'],
    ['a range that ends before it starts', 'from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', 'query.from'],
    ['an unknown parameter', 'sort=amount', 'query.sort'],
  ].map(
    ([name, q, field]): Case => ({
      name: `history: ${name}`,
      method: 'GET',
      url: `/customers/me/credit/transactions?${q}`,
      as: 'customer',
      status: 400,
      field: field as string,
    }),
  ),
  // POST /orders/:id/pay
  {
    name: 'pay: an unknown method',
    method: 'POST',
    url: '/orders/ORDER/pay',
    as: 'customer',
    body: { method: 'cash' },
    status: 400,
    field: 'body.method',
  },
  {
    name: 'pay: an unknown field',
    method: 'POST',
    url: '/orders/ORDER/pay',
    as: 'customer',
    body: { method: 'credit', amount: '1.00' },
    status: 400,
    field: 'body.amount',
  },
  // The Rinha routes answer 422, as the contest asks.
  ...[
    ['valor 0', { ...tx, valor: 0 }, 'body.valor'],
    ['valor as a string', { ...tx, valor: '1' }, 'body.valor'],
    ['valor with decimals', { ...tx, valor: 1.2 }, 'body.valor'],
    ['valor beyond 10^12', { ...tx, valor: 1e13 }, 'body.valor'],
    ['tipo x', { ...tx, tipo: 'x' }, 'body.tipo'],
    ['descricao of 11 characters', { ...tx, descricao: '12345678901' }, 'body.descricao'],
    ['descricao empty', { ...tx, descricao: '' }, 'body.descricao'],
    ['descricao null', { ...tx, descricao: null }, 'body.descricao'],
    ['a missing valor', { tipo: 'c', descricao: 'x' }, 'body.valor'],
    ['an unknown field', { ...tx, extra: 1 }, 'body.extra'],
  ].map(
    ([name, body, field]): Case => ({
      name: `rinha: ${name}`,
      method: 'POST',
      url: '/clientes/1/transacoes',
      as: 'anonymous',
      body,
      status: 422,
      field: field as string,
    }),
  ),
  {
    name: 'rinha: a non-numeric client id',
    method: 'POST',
    url: '/clientes/abc/transacoes',
    as: 'anonymous',
    body: tx,
    status: 422,
    field: 'params.id',
  },
  {
    name: 'rinha: statement of client 0',
    method: 'GET',
    url: '/clientes/0/extrato',
    as: 'anonymous',
    status: 422,
    field: 'params.id',
  },
];

async function everything() {
  const { rows } = await ctx.t.deps.db.pool.query('SELECT id, status, updated_at FROM orders ORDER BY id');
  return { credit: await creditSnapshot(ctx.t), orders: rows };
}

describe('bad input on store-credit routes', () => {
  for (const c of cases) {
    it(`when ${c.name}, then ${c.status} problem+json names ${c.field} and nothing is written`, async () => {
      const before = await everything();
      const url = c.url.replace('CUSTOMER', String(customer.id)).replace('ORDER', String(orderId));
      const payload = c.raw ?? (c.body === undefined ? undefined : JSON.stringify(c.body));
      const auth = c.as === 'admin' ? ctx.t.admin : c.as === 'customer' ? customer.auth : {};
      const res = await ctx.t.app.inject({
        method: c.method,
        url,
        headers: {
          ...auth,
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
          ...c.headers,
        },
        ...(payload === undefined ? {} : { payload }),
      });
      expect(res.statusCode, res.body).toBe(c.status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json().errors.map((e: { field: string }) => e.field)).toContain(c.field);
      expect(await everything()).toEqual(before);
    });
  }
});
