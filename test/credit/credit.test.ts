import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.ts';
import {
  creditOf,
  creditSnapshot,
  expectCreditConsistent,
  postCredit,
  setCreditLimit,
} from '../helpers/credit.ts';
import { registerAndLogin } from '../helpers/customers.ts';
import { startProcess } from '../helpers/process.ts';

const ctx = useTestApp();

describe('store credit: the account', () => {
  it('when a customer registers, then they have an account with limit 0, balance 0 and no history', async () => {
    const me = await registerAndLogin(ctx.t);
    const res = await ctx.t.app.inject({ method: 'GET', url: '/customers/me/credit', headers: me.auth });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      customerId: me.id,
      limit: '0.00',
      balance: '0.00',
      available: '0.00',
      transactions: [],
    });
  });

  it('when an admin credits and debits, then amounts are exact and the history explains the balance', async () => {
    const c = await registerAndLogin(ctx.t);
    await setCreditLimit(ctx.t, c.id, '50.00');
    for (const [type, amount] of [
      ['credit', '0.10'],
      ['credit', 0.2],
      ['debit', '50.25'],
    ] as const) {
      const res = await postCredit(ctx.t, c.id, { type, amount, description: `${type} ${amount}` });
      expect(res.statusCode, res.body).toBe(201);
    }
    const account = await creditOf(ctx.t, c.id);
    expect(account).toMatchObject({ limit: '50.00', balance: '-49.95', available: '0.05' });
    expect(account.transactions.map((t) => [t.type, t.amount, t.balanceAfter])).toEqual([
      ['debit', '50.25', '-49.95'],
      ['credit', '0.20', '0.30'],
      ['credit', '0.10', '0.10'],
    ]);
    await expectCreditConsistent(ctx.t);
  });

  it('when a debit would take the balance below −limit, then 422 with the balance and limit, and nothing is written', async () => {
    const c = await registerAndLogin(ctx.t);
    await setCreditLimit(ctx.t, c.id, '10.00');
    expect(
      (await postCredit(ctx.t, c.id, { type: 'debit', amount: '9.99', description: 'a' })).statusCode,
    ).toBe(201);
    const before = await creditSnapshot(ctx.t);
    const res = await postCredit(ctx.t, c.id, { type: 'debit', amount: '0.02', description: 'b' });
    expect(res.statusCode).toBe(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({
      code: 'insufficient_credit',
      balance: '-9.99',
      limit: '10.00',
      available: '0.01',
      required: '0.02',
      errors: [{ field: 'body.amount' }],
    });
    expect(await creditSnapshot(ctx.t)).toEqual(before);
    // The last cent still fits.
    expect(
      (await postCredit(ctx.t, c.id, { type: 'debit', amount: '0.01', description: 'c' })).statusCode,
    ).toBe(201);
    expect((await creditOf(ctx.t, c.id)).balance).toBe('-10.00');
  });

  it('when the same Idempotency-Key comes again, then the first result is replayed; with another body, 409', async () => {
    const c = await registerAndLogin(ctx.t);
    const body = { type: 'credit' as const, amount: '7.00', description: 'refund' };
    const first = await postCredit(ctx.t, c.id, body, 'refund-42');
    expect(first.statusCode, first.body).toBe(201);
    expect(first.headers['idempotent-replayed']).toBe('false');
    const again = await postCredit(ctx.t, c.id, body, 'refund-42');
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    const other = await postCredit(ctx.t, c.id, { ...body, amount: '8.00' }, 'refund-42');
    expect(other.statusCode).toBe(409);
    expect(other.json()).toMatchObject({
      code: 'idempotency_key_reused',
      errors: [{ field: 'header.idempotency-key' }],
    });
    expect((await creditOf(ctx.t, c.id)).balance).toBe('7.00');
    // Keys belong to one account: another customer's post with the same key is its own.
    const d = await registerAndLogin(ctx.t);
    expect((await postCredit(ctx.t, d.id, body, 'refund-42')).statusCode).toBe(201);
  });

  it('when the limit would go below what the customer owes, then 409 and the limit stays', async () => {
    const c = await registerAndLogin(ctx.t);
    await setCreditLimit(ctx.t, c.id, '30.00');
    await postCredit(ctx.t, c.id, { type: 'debit', amount: '25.00', description: 'x' });
    const res = await ctx.t.asAdmin({
      method: 'PUT',
      url: `/customers/${c.id}/credit/limit`,
      payload: { limit: '20.00' },
    });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({
      code: 'credit_limit_below_balance',
      errors: [{ field: 'body.limit' }],
    });
    expect((await creditOf(ctx.t, c.id)).limit).toBe('30.00');
    await setCreditLimit(ctx.t, c.id, '25.00');
  });

  it('when a credit would take the balance over its ceiling, then 422 naming the amount', async () => {
    const c = await registerAndLogin(ctx.t);
    await ctx.t.deps.db.pool.query(
      'UPDATE credit_accounts SET balance = 999999999999990 WHERE customer_id = $1',
      [c.id],
    );
    const res = await postCredit(ctx.t, c.id, { type: 'credit', amount: '1.00', description: 'x' });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({
      code: 'credit_balance_too_large',
      errors: [{ field: 'body.amount' }],
    });
    await ctx.t.deps.db.pool.query('UPDATE credit_accounts SET balance = 0 WHERE customer_id = $1', [c.id]);
  });
});

describe('store credit: who sees and changes what', () => {
  it('when a customer asks for another customer’s account, then 404; their own by id is theirs', async () => {
    const a = await registerAndLogin(ctx.t);
    const b = await registerAndLogin(ctx.t);
    for (const url of [`/customers/${b.id}/credit`, `/customers/${b.id}/credit/transactions`]) {
      const res = await ctx.t.app.inject({ method: 'GET', url, headers: a.auth });
      expect(res.statusCode, url).toBe(404);
    }
    const own = await ctx.t.app.inject({ method: 'GET', url: `/customers/${a.id}/credit`, headers: a.auth });
    expect(own.statusCode).toBe(200);
  });

  it('when a customer tries to credit or set a limit, even on their own account, then 403 and nothing changes', async () => {
    const a = await registerAndLogin(ctx.t);
    const before = await creditSnapshot(ctx.t);
    const post = await ctx.t.app.inject({
      method: 'POST',
      url: `/customers/${a.id}/credit/transactions`,
      headers: a.auth,
      payload: { type: 'credit', amount: '1000.00', description: 'free money' },
    });
    expect(post.statusCode).toBe(403);
    const limit = await ctx.t.app.inject({
      method: 'PUT',
      url: `/customers/${a.id}/credit/limit`,
      headers: a.auth,
      payload: { limit: '1000.00' },
    });
    expect(limit.statusCode).toBe(403);
    const check = await ctx.t.app.inject({ method: 'GET', url: '/admin/credit-check', headers: a.auth });
    expect(check.statusCode).toBe(403);
    expect(await creditSnapshot(ctx.t)).toEqual(before);
  });

  it('when an admin posts to their own account, then 403', async () => {
    const adminId = (await ctx.t.deps.customers.findActiveByEmail('admin@armazem.test'))?.customer
      .id as number;
    const res = await postCredit(ctx.t, adminId, { type: 'credit', amount: '1.00', description: 'self' });
    expect(res.statusCode).toBe(403);
  });

  it('when nobody is logged in, then 401', async () => {
    const res = await ctx.t.app.inject({ method: 'GET', url: '/customers/me/credit' });
    expect(res.statusCode).toBe(401);
  });

  it('when the account does not exist, then 404', async () => {
    const res = await postCredit(ctx.t, 999_999, { type: 'credit', amount: '1.00', description: 'x' });
    expect(res.statusCode).toBe(404);
    const get = await ctx.t.asAdmin({ method: 'GET', url: '/customers/999999/credit' });
    expect(get.statusCode).toBe(404);
  });
});

describe('store credit: history', () => {
  it('pages newest first with a cursor, filters by date range, and refuses a range that ends before it starts', async () => {
    const c = await registerAndLogin(ctx.t);
    for (let i = 1; i <= 25; i++)
      await postCredit(ctx.t, c.id, { type: 'credit', amount: `${i}.00`, description: `n${i}` });
    const page = (q: string) =>
      ctx.t.app.inject({ method: 'GET', url: `/customers/me/credit/transactions?${q}`, headers: c.auth });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await page(`limit=10${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.statusCode, res.body).toBe(200);
      seen.push(...res.json().items.map((t: { description: string }) => t.description));
      cursor = res.json().nextCursor;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `n${25 - i}`));
    // The account shows the 10 newest.
    const account = await ctx.t.app.inject({ method: 'GET', url: '/customers/me/credit', headers: c.auth });
    expect(account.json().transactions.map((t: { description: string }) => t.description)).toEqual(
      seen.slice(0, 10),
    );

    const future = new Date(Date.now() + 3_600_000).toISOString();
    const none = await page(`from=${encodeURIComponent(future)}`);
    expect(none.json().items).toEqual([]);
    const all = await page(`to=${encodeURIComponent(future)}&limit=100`);
    expect(all.json().items).toHaveLength(25);
    const backwards = await page(`from=${encodeURIComponent(future)}&to=2020-01-01T00:00:00Z`);
    expect(backwards.statusCode).toBe(400);
    expect(backwards.json().errors[0].field).toBe('query.from');
  });
});

describe('the invariant check', () => {
  it('passes on consistent accounts and names an account whose balance no longer adds up (API and npm run check:credit)', async () => {
    const c = await registerAndLogin(ctx.t);
    await postCredit(ctx.t, c.id, { type: 'credit', amount: '5.00', description: 'x' });
    await expectCreditConsistent(ctx.t);
    const cli = async () => {
      const p = startProcess('src/entrypoints/cli/check-credit.ts', { DATABASE_URL: ctx.db.url });
      return { code: await p.exited, out: p.stdout() };
    };
    expect((await cli()).code).toBe(0);

    // Someone writes around the ledger: the balance no longer equals the history.
    await ctx.t.deps.db.pool.query(
      'UPDATE credit_accounts SET balance = balance + 100 WHERE customer_id = $1',
      [c.id],
    );
    const res = await ctx.t.asAdmin({ method: 'GET', url: '/admin/credit-check' });
    expect(res.json()).toMatchObject({
      ok: false,
      mismatches: [{ customerId: c.id, balance: '6.00', sumOfTransactions: '5.00', brokenLinks: 0 }],
    });
    const failed = await cli();
    expect(failed.code).toBe(1);
    expect(failed.out).toContain(`customer ${c.id}: balance 6.00`);
    await ctx.t.deps.db.pool.query(
      'UPDATE credit_accounts SET balance = balance - 100 WHERE customer_id = $1',
      [c.id],
    );
    await expectCreditConsistent(ctx.t);
  });
});
