import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPaymentWorker } from '../../src/modules/payments/create-worker.ts';
import type { PaymentWorker } from '../../src/modules/payments/payment-worker.ts';
import { json, startTestApp, type TestApp } from '../helpers/app.ts';
import { registerAndLogin } from '../helpers/customers.ts';
import { createTestDatabase, eventually, realServers, type TestDatabase } from '../helpers/env.ts';
import { createProduct, expectStockConsistent, placeOrder, stockOf } from '../helpers/orders.ts';
import { type Processors, startProcessors } from '../helpers/processors.ts';

let db: TestDatabase;
let t: TestApp;
let worker: PaymentWorker;
let processors: Processors;

beforeAll(async () => {
  db = await createTestDatabase();
  processors = await startProcessors({ healthWindowMs: 200 });
  t = await startTestApp({
    ...realServers(db.url),
    ...processors.env,
    PAYMENT_TIMEOUT_MS: '300',
    PAYMENT_MAX_WAIT_MS: '600',
    PAYMENTS_PURGE_ENABLED: 'true',
    PAYMENT_ORDER_MAX_ATTEMPTS: '3',
  });
  worker = createPaymentWorker(t.deps);
  await worker.start();
});
afterAll(async () => {
  await worker?.stop();
  await t?.close();
  await processors?.close();
  await db?.drop();
});

const configure = (name: 'default' | 'fallback', what: 'delay' | 'failure', value: number | boolean) =>
  processors.configure(name, what, value);
const processorSummary = (name: 'default' | 'fallback') => processors.summary(name);
const pay = (correlationId: string, amount: number | string = 19.9) =>
  t.app.inject({ method: 'POST', url: '/payments', ...json({ correlationId, amount }) });
/** A payment as an admin sees it (an order's payment is not public). */
const status = async (id: string) => (await t.asAdmin({ method: 'GET', url: `/payments/${id}` })).json();
const ourSummary = async (query = '') =>
  (await t.app.inject({ method: 'GET', url: `/payments-summary${query}` })).json();

beforeEach(async () => {
  // Nothing of the previous test may still be on its way to a processor.
  await eventually(async () => {
    const { rows } = await t.deps.db.pool.query(
      "SELECT count(*) AS n FROM payments WHERE status IN ('queued', 'processing')",
    );
    expect(Number(rows[0].n)).toBe(0);
  }, 10_000);
  for (const name of ['default', 'fallback'] as const) {
    await configure(name, 'failure', false);
    await configure(name, 'delay', 0);
  }
  await processors.purge();
  await t.app.inject({ method: 'POST', url: '/purge-payments' });
});

/** The audit the Rinha runs: our summary must equal what each processor recorded. */
async function expectSummaryMatchesProcessors() {
  const ours = await ourSummary();
  expect(ours.default).toEqual({
    totalRequests: (await processorSummary('default')).totalRequests,
    totalAmount: (await processorSummary('default')).totalAmount,
  });
  expect(ours.fallback).toEqual({
    totalRequests: (await processorSummary('fallback')).totalRequests,
    totalAmount: (await processorSummary('fallback')).totalAmount,
  });
}

describe('POST /payments', () => {
  it('accepts with 202 and no body, then processes the payment once, on the default processor', async () => {
    const id = randomUUID();
    const res = await pay(id, 19.9);
    expect(res.statusCode).toBe(202);
    expect(res.body).toBe('');
    await eventually(
      async () =>
        expect(await status(id)).toMatchObject({
          status: 'processed',
          processor: 'default',
          amount: '19.90',
        }),
      5000,
    );
    await expectSummaryMatchesProcessors();
    expect(await ourSummary()).toEqual({
      default: { totalRequests: 1, totalAmount: 19.9 },
      fallback: { totalRequests: 0, totalAmount: 0 },
    });
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/payments_processor_calls_total\{processor="default",outcome="accepted"\} [1-9]/);
  });

  it('takes any positive amount with up to 2 decimals, summed exactly', async () => {
    for (const amount of [1234567.89, '0.01', 19.9, '999999999999.99'])
      expect((await pay(randomUUID(), amount)).statusCode).toBe(202);
    await eventually(async () => expect((await ourSummary()).default.totalRequests).toBe(4), 5000);
    expect((await ourSummary()).default.totalAmount).toBe(1000001234587.79);
    await expectSummaryMatchesProcessors();
  });

  it('treats the same correlationId and amount as a harmless repeat, another amount as 409', async () => {
    const id = randomUUID();
    expect((await pay(id, 10)).statusCode).toBe(202);
    expect((await pay(id, '10.00')).statusCode).toBe(202);
    const conflict = await pay(id, 11);
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json()).toMatchObject({
      code: 'correlation_id_reused',
      errors: [{ field: 'body.correlationId' }],
    });
    await eventually(async () => expect((await status(id)).status).toBe('processed'), 5000);
    expect((await processorSummary('default')).totalRequests).toBe(1);
  });

  it('sent at once many times with one correlationId: one payment, the same amount 202, another 409', async () => {
    const id = randomUUID();
    const amounts = Array.from({ length: 16 }, (_, i) => (i % 4 === 3 ? 12 : 10));
    const statuses = await Promise.all(amounts.map(async (a) => [a, (await pay(id, a)).statusCode]));
    const kept = Number((await status(id)).amount);
    for (const [a, code] of statuses) expect(code).toBe(a === kept ? 202 : 409);
    await eventually(async () => expect((await status(id)).status).toBe('processed'), 5000);
    expect((await processorSummary('default')).totalRequests).toBe(1);
  });

  it.each([
    ['no correlationId', { amount: 1 }, 'body.correlationId'],
    ['a correlationId that is not a UUID', { correlationId: 'abc', amount: 1 }, 'body.correlationId'],
    ['no amount', { correlationId: randomUUID() }, 'body.amount'],
    ['a zero amount', { correlationId: randomUUID(), amount: 0 }, 'body.amount'],
    ['a negative amount', { correlationId: randomUUID(), amount: -5 }, 'body.amount'],
    ['three decimals', { correlationId: randomUUID(), amount: 1.999 }, 'body.amount'],
    ['an amount as words', { correlationId: randomUUID(), amount: 'ten' }, 'body.amount'],
    ['an unknown field', { correlationId: randomUUID(), amount: 1, currency: 'BRL' }, 'body.currency'],
  ])('when the payment has %s, then 400 naming %s and nothing is stored', async (_, body, field) => {
    const before = (await t.deps.db.pool.query('SELECT count(*) FROM payments')).rows[0].count;
    const res = await t.app.inject({ method: 'POST', url: '/payments', ...json(body) });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors.map((e: { field: string }) => e.field)).toContain(field);
    expect((await t.deps.db.pool.query('SELECT count(*) FROM payments')).rows[0].count).toBe(before);
  });
});

describe('routing', () => {
  it('when the default fails, payments wait for it, then go to the fallback past the wait budget; never to both', async () => {
    await configure('default', 'failure', true);
    const ids = Array.from({ length: 5 }, () => randomUUID());
    for (const id of ids) await pay(id, 10);
    await eventually(async () => expect((await ourSummary()).fallback.totalRequests).toBe(5), 8000);
    for (const id of ids)
      expect(await status(id)).toMatchObject({ status: 'processed', processor: 'fallback' });
    expect((await processorSummary('default')).totalRequests).toBe(0);
    await expectSummaryMatchesProcessors();
  });

  it('when a call times out (ambiguous), the payment is asked of the same processor again, where 422 settles it', async () => {
    await configure('default', 'delay', 500); // beyond PAYMENT_TIMEOUT_MS: the first call times out, the processor still takes it
    const id = randomUUID();
    await pay(id, 7.5);
    await eventually(async () => expect((await status(id)).status).toBe('processed'), 8000);
    const p = await status(id);
    expect(p.processor).toBe('default');
    expect(p.attempts).toBeGreaterThanOrEqual(2);
    expect((await processorSummary('fallback')).totalRequests).toBe(0);
    expect(await processorSummary('default')).toMatchObject({ totalRequests: 1, totalAmount: 7.5 });
    await expectSummaryMatchesProcessors();
  });

  it('a payment whose retry after a timeout meets a failing processor that holds it is settled by asking: processed there, never charged twice', async () => {
    await configure('default', 'delay', 500); // the first call times out, the processor still takes it
    const id = randomUUID();
    await pay(id, 4.2);
    await eventually(async () => expect((await processorSummary('default')).totalRequests).toBe(1), 5000);
    // Now the default answers 500 (its failure check runs before its duplicate check): that says
    // nothing about the payment it already holds; GET /payments/:id does.
    await configure('default', 'failure', true);
    await configure('default', 'delay', 0);
    await eventually(
      async () => expect(await status(id)).toMatchObject({ status: 'processed', processor: 'default' }),
      5000,
    );
    expect((await processorSummary('fallback')).totalRequests).toBe(0);
    await expectSummaryMatchesProcessors();
    await configure('default', 'failure', false);
  });

  it('a payment whose first call timed out at a failing processor that does not hold it stays pinned there: never charged twice', async () => {
    // The call must time out: it waits twice the reported response time, so the shared report
    // must say the default is fast when it is sent.
    await eventually(async () => {
      const report = JSON.parse((await t.deps.kv.get('payments:{health}:default')) ?? 'null');
      expect(report?.health).toEqual({ failing: false, minResponseTime: 0 });
    }, 8000);
    await configure('default', 'failure', true);
    await configure('default', 'delay', 500); // the first call times out; the processor then answers 500, storing nothing
    const id = randomUUID();
    await pay(id, 4.3);
    await new Promise((r) => setTimeout(r, 2500)); // well past the 600 ms wait budget
    expect(await status(id)).toMatchObject({ status: 'processing', processor: 'default' });
    expect((await processorSummary('fallback')).totalRequests).toBe(0);
    await configure('default', 'delay', 0);
    await configure('default', 'failure', false);
    await eventually(async () => expect((await status(id)).status).toBe('processed'), 15_000);
    expect((await status(id)).processor).toBe('default');
    expect((await processorSummary('fallback')).totalRequests).toBe(0);
    await expectSummaryMatchesProcessors();
  });

  it('when both processors fail, payments are kept and go through once one recovers', async () => {
    await configure('default', 'failure', true);
    await configure('fallback', 'failure', true);
    const id = randomUUID();
    await pay(id, 3);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await status(id)).status).not.toBe('processed');
    await configure('default', 'failure', false);
    await eventually(async () => expect((await status(id)).status).toBe('processed'), 8000);
    await expectSummaryMatchesProcessors();
  });
});

describe('summary and purge', () => {
  it('filters the summary by the requestedAt sent to the processor', async () => {
    await pay(randomUUID(), 1);
    await eventually(async () => expect((await ourSummary()).default.totalRequests).toBe(1), 5000);
    const future = new Date(Date.now() + 60_000).toISOString();
    const past = new Date(Date.now() - 60_000).toISOString();
    expect((await ourSummary(`?from=${future}`)).default.totalRequests).toBe(0);
    expect((await ourSummary(`?from=${past}&to=${future}`)).default.totalRequests).toBe(1);
    expect((await t.app.inject({ method: 'GET', url: '/payments-summary?from=yesterday' })).statusCode).toBe(
      400,
    );
    expect((await t.app.inject({ method: 'GET', url: `/payments/${randomUUID()}` })).statusCode).toBe(404);
  });

  it('purges only when enabled or for an admin', async () => {
    const locked = await startTestApp({ DATABASE_URL: db.url, PAYMENTS_PURGE_ENABLED: 'false' });
    try {
      expect((await locked.app.inject({ method: 'POST', url: '/purge-payments' })).statusCode).toBe(403);
      expect((await locked.asAdmin({ method: 'POST', url: '/purge-payments' })).statusCode).toBe(200);
    } finally {
      await locked.close();
    }
  });
});

// Last: order payments stay (they are store records, not test traffic), so summaries are not compared after these.
describe('orders pay through the engine', () => {
  it('pays a reserved order: 202 with its payment, then the order is paid; paying again returns the same payment', async () => {
    const buyer = await registerAndLogin(t);
    const productId = await createProduct(t, { price: '19.90', stock: 5 });
    const order = await placeOrder(t, buyer, [{ productId, quantity: 2 }]);
    const pay = await t.app.inject({ method: 'POST', url: `/orders/${order.id}/pay`, headers: buyer.auth });
    expect(pay.statusCode).toBe(202);
    expect(pay.json()).toMatchObject({ amount: '39.80', orderId: order.id, status: 'queued' });
    expect(pay.headers.location).toBe(`/payments/${pay.json().correlationId}`);
    const again = await t.app.inject({ method: 'POST', url: `/orders/${order.id}/pay`, headers: buyer.auth });
    expect(again.json().correlationId).toBe(pay.json().correlationId);
    await eventually(async () => expect((await t.deps.orders.findById(order.id))?.status).toBe('paid'), 5000);
    expect(await status(pay.json().correlationId)).toMatchObject({
      status: 'processed',
      processor: 'default',
    });
    expect(await stockOf(t, productId)).toBe(3);
    await expectStockConsistent(t);
    const other = await registerAndLogin(t);
    expect(
      (await t.app.inject({ method: 'POST', url: `/orders/${order.id}/pay`, headers: other.auth }))
        .statusCode,
    ).toBe(404);
    // The order's payment is its owner's to see: not another customer's, not an anonymous caller's.
    const look = (headers: Record<string, string>) =>
      t.app.inject({ method: 'GET', url: `/payments/${pay.json().correlationId}`, headers });
    expect((await look(buyer.auth)).statusCode).toBe(200);
    expect((await look(other.auth)).statusCode).toBe(404);
    expect((await look({})).statusCode).toBe(404);
  });

  it('while an order is being paid it cannot be cancelled', async () => {
    await configure('default', 'delay', 300);
    const buyer = await registerAndLogin(t);
    const order = await placeOrder(t, buyer, [{ productId: await createProduct(t), quantity: 1 }]);
    await t.app.inject({ method: 'POST', url: `/orders/${order.id}/pay`, headers: buyer.auth });
    const cancel = await t.app.inject({
      method: 'POST',
      url: `/orders/${order.id}/cancel`,
      headers: buyer.auth,
    });
    expect(cancel.statusCode).toBe(409);
    expect(cancel.json().code).toBe('order_being_paid');
    await eventually(async () => expect((await t.deps.orders.findById(order.id))?.status).toBe('paid'), 5000);
  });

  it('when the processors refuse the payment every time, the order becomes payment_failed and its stock comes back', async () => {
    await configure('default', 'failure', true);
    await configure('fallback', 'failure', true);
    const buyer = await registerAndLogin(t);
    const productId = await createProduct(t, { stock: 4 });
    const order = await placeOrder(t, buyer, [{ productId, quantity: 3 }]);
    expect(await stockOf(t, productId)).toBe(1);
    const pay = await t.app.inject({ method: 'POST', url: `/orders/${order.id}/pay`, headers: buyer.auth });
    await eventually(
      async () => expect((await t.deps.orders.findById(order.id))?.status).toBe('payment_failed'),
      10_000,
    );
    expect(await status(pay.json().correlationId)).toMatchObject({ status: 'failed', attempts: 3 });
    expect(await stockOf(t, productId)).toBe(4);
    await expectStockConsistent(t);
  });

  it('refuses to pay an order that is not reserved', async () => {
    const buyer = await registerAndLogin(t);
    const order = await placeOrder(t, buyer, [{ productId: await createProduct(t), quantity: 1 }]);
    await t.app.inject({ method: 'POST', url: `/orders/${order.id}/cancel`, headers: buyer.auth });
    const res = await t.app.inject({ method: 'POST', url: `/orders/${order.id}/pay`, headers: buyer.auth });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('order_not_payable');
  });
});
