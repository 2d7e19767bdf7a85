import type { InjectOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { json, startTestApp, useTestApp } from '../helpers/app.ts';
import { registerAndLogin, type Session } from '../helpers/customers.ts';
import { createProduct, expectStockConsistent, stockOf } from '../helpers/orders.ts';
import { startProcess } from '../helpers/process.ts';

const ctx = useTestApp({ ORDER_CONCURRENCY: 'atomic' });
const as = (s: Session, opts: InjectOptions) =>
  ctx.t.app.inject({ ...opts, headers: { ...(opts.headers ?? {}), ...s.auth } });
const place = (s: Session, items: unknown, headers: Record<string, string> = {}) =>
  as(s, {
    method: 'POST',
    url: '/orders',
    headers: { 'content-type': 'application/json', ...headers },
    payload: JSON.stringify({ items }),
  });

describe('POST /orders', () => {
  it('reserves all items at once, sums a repeated product, captures unit prices and computes the total exactly', async () => {
    const s = await registerAndLogin(ctx.t);
    const lp = await createProduct(ctx.t, { price: '19.90', stock: 5 });
    const pick = await createProduct(ctx.t, { price: '0.10', stock: 5 });
    const res = await place(s, [
      { productId: lp, quantity: 1 },
      { productId: pick, quantity: 1 },
      { productId: lp, quantity: 2 },
    ]);
    expect(res.statusCode).toBe(201);
    expect(res.headers.location).toBe(`/orders/${res.json().id}`);
    expect(res.json()).toMatchObject({
      status: 'reserved',
      customerId: s.id,
      total: '59.80',
      items: [
        { productId: lp, quantity: 3, unitPrice: '19.90' },
        { productId: pick, quantity: 1, unitPrice: '0.10' },
      ],
      expiresAt: expect.any(String),
    });
    expect(await stockOf(ctx.t, lp)).toBe(2);
    // A later price change does not touch the order.
    await ctx.t.asAdmin({ method: 'PATCH', url: `/products/${lp}`, ...json({ price: '25.00' }) });
    expect((await as(s, { method: 'GET', url: `/orders/${res.json().id}` })).json().items[0].unitPrice).toBe(
      '19.90',
    );
  });

  it('when one item is short, then 409 naming that product and nothing is taken from the others', async () => {
    const s = await registerAndLogin(ctx.t);
    const plenty = await createProduct(ctx.t, { stock: 10 });
    const scarce = await createProduct(ctx.t, { stock: 1 });
    const res = await place(s, [
      { productId: plenty, quantity: 3 },
      { productId: scarce, quantity: 2 },
    ]);
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'out_of_stock', errors: [{ field: 'body.items[1].quantity' }] });
    expect(res.json().detail).toContain(`product ${scarce}`);
    expect(await stockOf(ctx.t, plenty)).toBe(10);
    expect(await stockOf(ctx.t, scarce)).toBe(1);
  });

  it.each([
    ['a zero quantity', [{ productId: 1, quantity: 0 }], 'body.items[0].quantity'],
    ['a negative quantity', [{ productId: 1, quantity: -2 }], 'body.items[0].quantity'],
    ['a fractional quantity', [{ productId: 1, quantity: 1.5 }], 'body.items[0].quantity'],
    ['a quantity as text', [{ productId: 1, quantity: '2' }], 'body.items[0].quantity'],
    ['a malformed product id', [{ productId: 'abc', quantity: 1 }], 'body.items[0].productId'],
    ['an unknown product', [{ productId: 999_999, quantity: 1 }], 'body.items[0].productId'],
    ['no items', [], 'body.items'],
    ['51 items', Array.from({ length: 51 }, (_, i) => ({ productId: i + 1, quantity: 1 })), 'body.items'],
    ['an unknown field', [{ productId: 1, quantity: 1, price: '0.01' }], 'body.items[0].price'],
  ])('when an order has %s, then 400 naming %s and nothing is written', async (_, items, field) => {
    const s = await registerAndLogin(ctx.t);
    const before = await ctx.t.deps.db.pool.query(
      'SELECT (SELECT count(*) FROM orders) AS o, (SELECT sum(stock) FROM products) AS s',
    );
    const res = await place(s, items);
    expect(res.statusCode).toBe(400);
    expect(res.json().errors.map((e: { field: string }) => e.field)).toContain(field);
    const after = await ctx.t.deps.db.pool.query(
      'SELECT (SELECT count(*) FROM orders) AS o, (SELECT sum(stock) FROM products) AS s',
    );
    expect(after.rows).toEqual(before.rows);
  });

  it('when the token is missing or the Idempotency-Key malformed, then 401 or 400', async () => {
    const s = await registerAndLogin(ctx.t);
    const p = await createProduct(ctx.t);
    expect(
      (
        await ctx.t.app.inject({
          method: 'POST',
          url: '/orders',
          ...json({ items: [{ productId: p, quantity: 1 }] }),
        })
      ).statusCode,
    ).toBe(401);
    const bad = await place(s, [{ productId: p, quantity: 1 }], { 'idempotency-key': 'x'.repeat(201) });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].field).toBe('header.idempotency-key');
  });
});

describe('reading orders', () => {
  it('shows an order to its owner and admins; anyone else gets 404', async () => {
    const owner = await registerAndLogin(ctx.t);
    const other = await registerAndLogin(ctx.t);
    const p = await createProduct(ctx.t);
    const id = (await place(owner, [{ productId: p, quantity: 1 }])).json().id;
    expect((await as(owner, { method: 'GET', url: `/orders/${id}` })).statusCode).toBe(200);
    expect((await as(other, { method: 'GET', url: `/orders/${id}` })).statusCode).toBe(404);
    expect((await as(other, { method: 'POST', url: `/orders/${id}/cancel` })).statusCode).toBe(404);
    expect((await ctx.t.asAdmin({ method: 'GET', url: `/orders/${id}` })).json().customerId).toBe(owner.id);
    expect((await as(owner, { method: 'GET', url: '/orders/abc' })).json().errors[0].field).toBe('params.id');
  });

  it('lists my orders newest first, by date range, in cursor pages; admins filter by customer', async () => {
    const me = await registerAndLogin(ctx.t);
    const someoneElse = await registerAndLogin(ctx.t);
    const p = await createProduct(ctx.t, { stock: 100 });
    const mine: number[] = [];
    for (let i = 0; i < 7; i++) mine.push((await place(me, [{ productId: p, quantity: 1 }])).json().id);
    await place(someoneElse, [{ productId: p, quantity: 1 }]);
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: Array<{ id: number }>; nextCursor: string | null } = (
        await as(me, { method: 'GET', url: `/orders?limit=3${cursor ? `&cursor=${cursor}` : ''}` })
      ).json();
      seen.push(...page.items.map((o) => o.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...mine].reverse());
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await as(me, { method: 'GET', url: `/orders?from=${future}` })).json().items).toEqual([]);
    expect(
      (await as(me, { method: 'GET', url: `/orders?to=${future}&limit=100` })).json().items,
    ).toHaveLength(7);
    expect((await as(me, { method: 'GET', url: `/orders?customerId=${someoneElse.id}` })).statusCode).toBe(
      403,
    );
    const forAdmin = await ctx.t.asAdmin({ method: 'GET', url: `/orders?customerId=${someoneElse.id}` });
    expect(forAdmin.json().items.map((o: { customerId: number }) => o.customerId)).toEqual([someoneElse.id]);
    for (const url of [
      '/orders?from=yesterday',
      '/orders?limit=0',
      '/orders?cursor=%%',
      '/orders?status=paid',
    ]) {
      expect((await as(me, { method: 'GET', url })).statusCode, url).toBe(400);
    }
  });
});

describe('changing and cancelling', () => {
  it('changes quantities of a reserved order, moving stock with them', async () => {
    const s = await registerAndLogin(ctx.t);
    const a = await createProduct(ctx.t, { price: '2.00', stock: 10 });
    const b = await createProduct(ctx.t, { price: '3.00', stock: 10 });
    const id = (
      await place(s, [
        { productId: a, quantity: 4 },
        { productId: b, quantity: 1 },
      ])
    ).json().id;
    const patch = (items: unknown) => as(s, { method: 'PATCH', url: `/orders/${id}`, ...json({ items }) });
    const changed = await patch([{ productId: a, quantity: 1 }]);
    expect(changed.statusCode).toBe(200);
    expect(changed.json()).toMatchObject({
      total: '5.00',
      items: [
        { productId: a, quantity: 1 },
        { productId: b, quantity: 1 },
      ],
    });
    expect(await stockOf(ctx.t, a)).toBe(9);
    expect((await patch([{ productId: b, quantity: 0 }])).json().items).toEqual([
      { productId: a, quantity: 1, unitPrice: '2.00' },
    ]);
    expect(await stockOf(ctx.t, b)).toBe(10);
    const tooMany = await patch([{ productId: a, quantity: 11 }]);
    expect(tooMany.statusCode).toBe(409);
    expect(tooMany.json().code).toBe('out_of_stock');
    expect((await patch([{ productId: a, quantity: 0 }])).json().errors[0].field).toBe('body.items');
    expect((await patch([{ productId: b, quantity: 1 }])).json().errors[0].field).toBe(
      'body.items[0].productId',
    );
    await as(s, { method: 'POST', url: `/orders/${id}/cancel` });
    const afterCancel = await patch([{ productId: a, quantity: 2 }]);
    expect(afterCancel.statusCode).toBe(409);
    expect(afterCancel.json().code).toBe('order_not_changeable');
    expect(await stockOf(ctx.t, a)).toBe(10);
    await expectStockConsistent(ctx.t);
  });

  it('never moves an order out of a final state, even by SQL', async () => {
    const s = await registerAndLogin(ctx.t);
    const id = (await place(s, [{ productId: await createProduct(ctx.t), quantity: 1 }])).json().id;
    await as(s, { method: 'POST', url: `/orders/${id}/cancel` });
    await expect(
      ctx.t.deps.db.pool.query("UPDATE orders SET status = 'reserved' WHERE id = $1", [id]),
    ).rejects.toThrow(/cannot go from cancelled to reserved/);
  });

  it('when a product has orders, then deleting it is a 409', async () => {
    const s = await registerAndLogin(ctx.t);
    const p = await createProduct(ctx.t);
    await place(s, [{ productId: p, quantity: 1 }]);
    const res = await ctx.t.asAdmin({ method: 'DELETE', url: `/products/${p}` });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('product_in_use');
  });
});

describe('reservation expiry', () => {
  it('cancels reserved orders left unpaid past ORDER_RESERVATION_TTL and releases their stock', async () => {
    const short = await startTestApp({ DATABASE_URL: ctx.db.url, ORDER_RESERVATION_TTL: '1' });
    try {
      const s = await registerAndLogin(short);
      const p = await createProduct(short, { stock: 4 });
      const placed = await short.app.inject({
        method: 'POST',
        url: '/orders',
        headers: { ...s.auth, 'content-type': 'application/json' },
        payload: JSON.stringify({ items: [{ productId: p, quantity: 3 }] }),
      });
      expect(placed.json().status).toBe('reserved');
      expect(await short.deps.orders.sweepExpired()).toBe(0); // not yet
      await new Promise((r) => setTimeout(r, 1100));
      expect(await short.deps.orders.sweepExpired()).toBe(1);
      expect((await short.deps.orders.findById(placed.json().id))?.status).toBe('cancelled');
      expect(await stockOf(short, p)).toBe(4);
      await expectStockConsistent(short);
    } finally {
      await short.close();
    }
  });
});

describe('stock check', () => {
  it('reports every product whose stock does not add up, by endpoint and by `npm run check:stock`', async () => {
    await expectStockConsistent(ctx.t);
    const ok = startProcess('src/entrypoints/cli/check-stock.ts', { DATABASE_URL: ctx.db.url });
    expect(await ok.exited).toBe(0);
    expect(ok.stdout()).toMatch(/OK: no differences/);
    const p = await createProduct(ctx.t, { stock: 7 });
    // A write that bypasses the rules: the check must see it.
    await ctx.t.deps.db.pool.query('UPDATE products SET stock = stock - 2 WHERE id = $1', [p]);
    const res = await ctx.t.asAdmin({ method: 'GET', url: '/admin/stock-check' });
    expect(res.json()).toMatchObject({
      ok: false,
      mismatches: [{ productId: p, received: 7, stock: 5, held: 0, difference: 2 }],
    });
    const failing = startProcess('src/entrypoints/cli/check-stock.ts', { DATABASE_URL: ctx.db.url });
    expect(await failing.exited).toBe(1);
    expect(failing.stdout()).toMatch(new RegExp(`product ${p} .*difference 2`));
    await ctx.t.deps.db.pool.query('UPDATE products SET stock = stock + 2 WHERE id = $1', [p]);
    const customer = await registerAndLogin(ctx.t);
    expect((await as(customer, { method: 'GET', url: '/admin/stock-check' })).statusCode).toBe(403);
  });
});
