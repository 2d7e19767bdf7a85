import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { expectCreditConsistent, setCreditLimit } from '../helpers/credit.ts';
import { registerAndLogin } from '../helpers/customers.ts';
import { createTestDatabase, realServers, type TestDatabase } from '../helpers/env.ts';
import { histogramCount } from '../helpers/metrics.ts';

/**
 * Two instances on one database, each with its own pool and its own batcher,
 * hit by real parallel HTTP requests: the balance never passes −limit and
 * always equals what the answers said was accepted.
 */
let db: TestDatabase;
let one: TestApp;
let two: TestApp;
const bases: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  for (const _ of [0, 1]) {
    const t = await startTestApp(realServers(db.url));
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    bases.push(`http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`);
    if (!one) one = t;
    else two = t;
  }
});
afterAll(async () => {
  await one?.close();
  await two?.close();
  await db?.drop();
});

type Post = { type: 'credit' | 'debit'; amount: string; description: string };

/** Posts each body through the instances in turn, all at once; returns status and body of each. */
async function postAll(customerId: number, bodies: Post[], key?: (i: number) => string) {
  return Promise.all(
    bodies.map(async (body, i) => {
      const res = await fetch(`${bases[i % 2]}/customers/${customerId}/credit/transactions`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...one.admin,
          ...(key ? { 'idempotency-key': key(i) } : {}),
        },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown>, sent: body };
    }),
  );
}

/** Credit statements both instances have sent (the credit_batch_size histogram's count). */
const statements = () => histogramCount([one, two], 'credit_batch_size');

const cents = (decimal: unknown) => Math.round(Number(decimal) * 100);

async function account(customerId: number) {
  const { rows } = await one.deps.db.pool.query<{ balance: string; credit_limit: string }>(
    'SELECT balance, credit_limit FROM credit_accounts WHERE customer_id = $1',
    [customerId],
  );
  return { balance: Number(rows[0]?.balance), limit: Number(rows[0]?.credit_limit) };
}

/** Every balance the account ever had, oldest first, from its history. */
async function balances(customerId: number): Promise<number[]> {
  const { rows } = await one.deps.db.pool.query<{ balance_after: string }>(
    'SELECT balance_after FROM credit_transactions WHERE customer_id = $1 ORDER BY id',
    [customerId],
  );
  return rows.map((r) => Number(r.balance_after));
}

describe('store credit under concurrency, two instances', () => {
  it('when 300 debits race on one account, then the balance never passes −limit and equals the sum of the 201s', async () => {
    const c = await registerAndLogin(one);
    await setCreditLimit(one, c.id, '1000.00');
    // 300 × 7.00 = 2,100.00 asked against 1,000.00 of credit: 142 fit.
    const results = await postAll(
      c.id,
      Array.from({ length: 300 }, (_, i) => ({
        type: 'debit' as const,
        amount: '7.00',
        description: `d${i}`,
      })),
    );
    const statuses = results.map((r) => r.status);
    expect(
      statuses.every((s) => s === 201 || s === 422),
      statuses.join(','),
    ).toBe(true);
    const accepted = results.filter((r) => r.status === 201);
    expect(accepted).toHaveLength(142);
    for (const r of results.filter((r) => r.status === 422)) expect(r.body.code).toBe('insufficient_credit');
    const { balance, limit } = await account(c.id);
    expect(balance).toBe(-accepted.length * 700);
    expect(Math.min(...(await balances(c.id)))).toBeGreaterThanOrEqual(-limit);
    await expectCreditConsistent(one);
  });

  it('when debits arrive while the account is held, then they wait together and go in fewer statements than requests', async () => {
    const c = await registerAndLogin(one);
    await setCreditLimit(one, c.id, '100.00');
    const before = await statements();
    // A transaction holds the account's row: each instance's first batches (4 at most) wait on
    // it, and every debit that arrives meanwhile queues in its instance's batcher.
    const holder = await one.deps.db.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM credit_accounts WHERE customer_id = $1 FOR UPDATE', [c.id]);
      const posted = postAll(
        c.id,
        Array.from({ length: 40 }, (_, i) => ({
          type: 'debit' as const,
          amount: '1.00',
          description: `h${i}`,
        })),
      );
      await new Promise((r) => setTimeout(r, 500));
      await holder.query('COMMIT');
      const results = await posted;
      expect(results.map((r) => r.status)).toEqual(Array(40).fill(201));
    } finally {
      holder.release();
    }
    expect((await account(c.id)).balance).toBe(-4000);
    // At most 4 batches an instance waited on the lock; the rest went in one or two more each.
    expect((await statements()) - before).toBeLessThanOrEqual(2 * (4 + 2));
  });

  it('when 300 credits and debits of different sizes race, then balance = Σ accepted credits − Σ accepted debits ≥ −limit at every step', async () => {
    const c = await registerAndLogin(one);
    await setCreditLimit(one, c.id, '50.00');
    const bodies = Array.from({ length: 300 }, (_, i) => ({
      type: (i % 3 === 0 ? 'credit' : 'debit') as Post['type'],
      amount: `${(i % 17) + 1}.${String(i % 100).padStart(2, '0')}`,
      description: `m${i}`,
    }));
    const results = await postAll(c.id, bodies);
    expect(results.every((r) => r.status === 201 || r.status === 422)).toBe(true);
    const sum = results
      .filter((r) => r.status === 201)
      .reduce((n, r) => n + (r.sent.type === 'credit' ? 1 : -1) * cents(r.sent.amount), 0);
    const { balance, limit } = await account(c.id);
    expect(balance).toBe(sum);
    const steps = await balances(c.id);
    expect(steps).toHaveLength(results.filter((r) => r.status === 201).length);
    expect(Math.min(...steps)).toBeGreaterThanOrEqual(-limit);
    // Each answer's balanceAfter is a step the account really went through.
    for (const r of results.filter((r) => r.status === 201))
      expect(steps).toContain(cents(r.body.balanceAfter));
    await expectCreditConsistent(one);
  });

  it('when one request is retried 40 times at once with its Idempotency-Key, then it is applied once and every answer is the first', async () => {
    const c = await registerAndLogin(one);
    const body: Post = { type: 'credit', amount: '12.34', description: 'cashback' };
    const results = await postAll(
      c.id,
      Array.from({ length: 40 }, () => body),
      () => 'cashback-2026-12',
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(39);
    for (const r of results) expect(r.body).toEqual(results[0]?.body);
    expect((await account(c.id)).balance).toBe(1234);
    expect(await balances(c.id)).toEqual([1234]);
  });

  it('when transactions land together, then the statement lists them newest first in the order they were applied, ties included', async () => {
    const c = await registerAndLogin(one);
    await setCreditLimit(one, c.id, '100.00');
    await postAll(
      c.id,
      Array.from({ length: 60 }, (_, i) => ({
        type: (i % 2 ? 'credit' : 'debit') as Post['type'],
        amount: `${(i % 5) + 1}.00`,
        description: `t${i}`,
      })),
    );
    const res = await one.app.inject({
      method: 'GET',
      url: `/customers/${c.id}/credit/transactions?limit=100`,
      headers: one.admin,
    });
    const items = res.json().items as Array<{
      type: string;
      amount: string;
      balanceAfter: string;
      createdAt: string;
    }>;
    expect(items).toHaveLength(60);
    // Newest first: each balance is the next older one plus this transaction, and time never goes up.
    for (let i = 0; i < items.length; i++) {
      const t = items[i] as (typeof items)[number];
      const older = items[i + 1];
      const before = older ? cents(older.balanceAfter) : 0;
      expect(cents(t.balanceAfter)).toBe(before + (t.type === 'credit' ? 1 : -1) * cents(t.amount));
      if (older) expect(Date.parse(t.createdAt)).toBeGreaterThanOrEqual(Date.parse(older.createdAt));
    }
    const account = await one.app.inject({
      method: 'GET',
      url: `/customers/${c.id}/credit`,
      headers: one.admin,
    });
    expect(account.json().balance).toBe(items[0]?.balanceAfter);
    expect(account.json().transactions).toEqual(items.slice(0, 10));
  });
});
