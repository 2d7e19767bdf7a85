import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { creditOf, creditSnapshot, expectCreditConsistent, setCreditLimit } from '../helpers/credit.ts';
import { registerAndLogin, type Session } from '../helpers/customers.ts';
import { createTestDatabase, realServers, type TestDatabase } from '../helpers/env.ts';
import { createProduct, expectStockConsistent, placeOrder } from '../helpers/orders.ts';

/** Orders paid with store credit: the debit and the order's change commit together, on any instance. */
let db: TestDatabase;
let t: TestApp;
let other: TestApp;
const bases: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  t = await startTestApp(realServers(db.url));
  other = await startTestApp(realServers(db.url));
  for (const app of [t, other]) {
    await app.app.listen({ port: 0, host: '127.0.0.1' });
    bases.push(`http://127.0.0.1:${(app.app.server.address() as { port: number }).port}`);
  }
});
afterAll(async () => {
  await t?.close();
  await other?.close();
  await db?.drop();
});

const pay = (buyer: Session, orderId: number, payload?: unknown) =>
  t.app.inject({
    method: 'POST',
    url: `/orders/${orderId}/pay`,
    headers: buyer.auth,
    ...(payload === undefined ? {} : { payload: payload as object }),
  });

async function orderStatus(id: number): Promise<string> {
  const { rows } = await t.deps.db.pool.query<{ status: string }>('SELECT status FROM orders WHERE id = $1', [
    id,
  ]);
  return rows[0]?.status ?? 'missing';
}

describe('paying an order with store credit', () => {
  it('when the credit covers it, then the order is paid and the total debited, in one answer; paying again replays it', async () => {
    const buyer = await registerAndLogin(t);
    await setCreditLimit(t, buyer.id, '100.00');
    const productId = await createProduct(t, { price: '19.90', stock: 5 });
    const order = await placeOrder(t, buyer, [{ productId, quantity: 2 }]);
    const res = await pay(buyer, order.id, { method: 'credit' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      method: 'credit',
      order: { id: order.id, status: 'paid', total: '39.80' },
      transaction: { type: 'debit', amount: '39.80', balanceAfter: '-39.80', orderId: order.id },
    });
    const again = await pay(buyer, order.id, { method: 'credit' });
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json().transaction).toEqual(res.json().transaction);
    expect((await creditOf(t, buyer.id)).balance).toBe('-39.80');
    // Paid is final: no card payment, no cancel.
    expect((await pay(buyer, order.id)).statusCode).toBe(409);
    expect((await pay(buyer, order.id, { method: 'card' })).statusCode).toBe(409);
    await expectCreditConsistent(t);
    await expectStockConsistent(t);
  });

  it('when the credit does not cover it, then 422 with the balance and limit, and neither the order nor the account changes', async () => {
    const buyer = await registerAndLogin(t);
    await setCreditLimit(t, buyer.id, '10.00');
    const productId = await createProduct(t, { price: '10.01', stock: 5 });
    const order = await placeOrder(t, buyer, [{ productId, quantity: 1 }]);
    const before = await creditSnapshot(t);
    const res = await pay(buyer, order.id, { method: 'credit' });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({
      code: 'insufficient_credit',
      balance: '0.00',
      limit: '10.00',
      available: '10.00',
      required: '10.01',
      errors: [{ field: 'body.method' }],
    });
    expect(await orderStatus(order.id)).toBe('reserved');
    expect(await creditSnapshot(t)).toEqual(before);
  });

  it('when two orders that together exceed the credit are paid at once on two instances, then exactly one is paid', async () => {
    for (let round = 0; round < 5; round++) {
      const buyer = await registerAndLogin(t);
      await setCreditLimit(t, buyer.id, '30.00');
      const productId = await createProduct(t, { price: '20.00', stock: 10 });
      const a = await placeOrder(t, buyer, [{ productId, quantity: 1 }]);
      const b = await placeOrder(t, buyer, [{ productId, quantity: 1 }]);
      const statuses = await Promise.all(
        [a, b].map(async (o, i) => {
          const res = await fetch(`${bases[i]}/orders/${o.id}/pay`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...buyer.auth },
            body: JSON.stringify({ method: 'credit' }),
          });
          return res.status;
        }),
      );
      expect(statuses.sort()).toEqual([200, 422]);
      expect([await orderStatus(a.id), await orderStatus(b.id)].sort()).toEqual(['paid', 'reserved']);
      expect((await creditOf(t, buyer.id)).balance).toBe('-20.00');
    }
    await expectCreditConsistent(t);
  });

  it('when the order change fails after the debit, then neither happens', async () => {
    const buyer = await registerAndLogin(t);
    await setCreditLimit(t, buyer.id, '100.00');
    const productId = await createProduct(t, { price: '5.00', stock: 5 });
    const order = await placeOrder(t, buyer, [{ productId, quantity: 1 }]);
    // A failure in the database exactly between the two writes: the order refuses to become paid.
    await t.deps.db.pool.query(`
      CREATE FUNCTION test_refuse_paid() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'disk full'; END $$;
      CREATE TRIGGER test_refuse_paid BEFORE UPDATE OF status ON orders
        FOR EACH ROW WHEN (NEW.id = ${order.id} AND NEW.status = 'paid') EXECUTE FUNCTION test_refuse_paid();`);
    try {
      const before = await creditSnapshot(t);
      const res = await pay(buyer, order.id, { method: 'credit' });
      expect(res.statusCode).toBe(500);
      expect(res.json().code).toBe('internal_error');
      expect(await creditSnapshot(t)).toEqual(before);
      expect(await orderStatus(order.id)).toBe('reserved');
    } finally {
      await t.deps.db.pool.query(
        'DROP TRIGGER test_refuse_paid ON orders; DROP FUNCTION test_refuse_paid();',
      );
    }
    // Once the fault is gone, the same payment goes through.
    expect((await pay(buyer, order.id, { method: 'credit' })).statusCode).toBe(200);
    await expectCreditConsistent(t);
  });

  it('when a card payment is under way, then credit is refused with 409 and nothing is debited', async () => {
    const buyer = await registerAndLogin(t);
    await setCreditLimit(t, buyer.id, '100.00');
    const productId = await createProduct(t, { price: '5.00', stock: 5 });
    const order = await placeOrder(t, buyer, [{ productId, quantity: 1 }]);
    expect((await pay(buyer, order.id)).statusCode).toBe(202);
    const res = await pay(buyer, order.id, { method: 'credit' });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('order_being_paid');
    expect((await creditOf(t, buyer.id)).balance).toBe('0.00');
  });

  it('when someone pays another customer’s order, then 404 and nothing moves', async () => {
    const owner = await registerAndLogin(t);
    const thief = await registerAndLogin(t);
    await setCreditLimit(t, thief.id, '100.00');
    const productId = await createProduct(t, { price: '5.00', stock: 5 });
    const order = await placeOrder(t, owner, [{ productId, quantity: 1 }]);
    const res = await pay(thief, order.id, { method: 'credit' });
    expect(res.statusCode).toBe(404);
    expect(await orderStatus(order.id)).toBe('reserved');
    expect((await creditOf(t, thief.id)).balance).toBe('0.00');
  });

  it('when the method is neither card nor credit, then 400 naming body.method', async () => {
    const buyer = await registerAndLogin(t);
    const productId = await createProduct(t, { stock: 5 });
    const order = await placeOrder(t, buyer, [{ productId, quantity: 1 }]);
    const res = await pay(buyer, order.id, { method: 'cash' });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors.map((e: { field: string }) => e.field)).toContain('body.method');
    expect(await orderStatus(order.id)).toBe('reserved');
  });
});
