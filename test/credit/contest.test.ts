import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validations } from '../../bench/lib/crebitos.ts';
import { ensureContestClients } from '../../src/modules/credit/contest-clients.ts';
import { warmUpCredit } from '../../src/modules/credit/warm-up.ts';
import { type TestApp, useTestApp } from '../helpers/app.ts';
import { creditOf, expectCreditConsistent, startContestInstances } from '../helpers/credit.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/env.ts';

/**
 * The Rinha de Backend 2024/Q1 contract, checked by the contest's own
 * validation steps (re-created in bench/lib/crebitos.ts, which bench:credit
 * also runs) against two instances on one database — the second applies
 * transactions with asynchronous commit, as the credit profile does — both
 * warmed up first (CREDIT_WARMUP), which must change nothing.
 */
let db: TestDatabase;
let apps: TestApp[] = [];
/** Requests alternate between the two instances. */
let base: () => string;

beforeAll(async () => {
  db = await createTestDatabase();
  ({ apps, base } = await startContestInstances(
    db.url,
    ['false', 'true'].map((asyncCommit) => ({ CREDIT_ASYNC_COMMIT: asyncCommit })),
    (t) => warmUpCredit(t.app, t.deps.credit, { connections: 3, rounds: 16 }),
  ));
});
afterAll(async () => {
  for (const t of apps) await t.close();
  await db?.drop();
});

const t = () => apps[0] as TestApp;

describe('Rinha de Backend 2024/Q1 routes', () => {
  it('are warmed up without a trace: no transaction, every balance still 0', async () => {
    const { rows } = await t().deps.db.pool.query<{ n: number; total: string }>(
      `SELECT (SELECT count(*)::int FROM credit_transactions) AS n,
              (SELECT coalesce(sum(abs(balance)), 0) FROM credit_accounts) AS total`,
    );
    expect(rows[0]).toEqual({ n: 0, total: '0' });
  });

  it('pass every check of the contest’s validation steps (25 concurrent debits and credits, statements, invalid bodies, client 6)', async () => {
    const checked = await validations(base);
    expect(checked.length).toBeGreaterThan(100);
    expect(checked.flatMap((c) => c.failures)).toEqual([]);
    // Invalid bodies are 422, as the contest asks (it tolerates 400 only for a fractional valor).
    expect(checked.filter((c) => c.answer.status === 422)).toHaveLength(25);
    await expectCreditConsistent(t());
  });

  it('when a debit exceeds the limit, then 422 and the balance does not move', async () => {
    const post = (body: object) =>
      fetch(`${base()}/clientes/2/transacoes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const before = (await (await fetch(`${base()}/clientes/2/extrato`)).json()) as {
      saldo: { total: number };
    };
    const res = await post({ valor: 80_001 + before.saldo.total, tipo: 'd', descricao: 'demais' });
    expect(res.status).toBe(422);
    const after = (await (await fetch(`${base()}/clientes/2/extrato`)).json()) as {
      saldo: { total: number };
    };
    expect(after.saldo.total).toBe(before.saldo.total);
    const fits = await post({ valor: 80_000 + before.saldo.total, tipo: 'd', descricao: 'tudo' });
    expect(fits.status).toBe(200);
    expect(await fits.json()).toEqual({ limite: 80_000, saldo: -80_000 });
  });

  it('serve the same rows the native API reads: a contest client is an armazem customer with a credit account', async () => {
    const { rows } = await t().deps.db.pool.query<{ customer_id: string }>(
      'SELECT customer_id FROM credit_contest_clients WHERE client_id = 3',
    );
    const customerId = Number(rows[0]?.customer_id);
    await fetch(`${base()}/clientes/3/transacoes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ valor: 1234, tipo: 'd', descricao: 'nativo' }),
    });
    const contest = (await (await fetch(`${base()}/clientes/3/extrato`)).json()) as {
      saldo: { total: number; limite: number };
    };
    const native = await creditOf(t(), customerId);
    expect(native.limit).toBe('10000.00');
    expect(Math.round(Number(native.balance) * 100)).toBe(contest.saldo.total);
    expect(native.transactions[0]).toMatchObject({ type: 'debit', amount: '12.34', description: 'nativo' });
  });

  it('keep existing clients untouched when the setup runs again', async () => {
    const { rows } = await t().deps.db.pool.query<{ customer_id: string }>(
      'SELECT customer_id FROM credit_contest_clients WHERE client_id = 1',
    );
    const customerId = Number(rows[0]?.customer_id);
    await t().asAdmin({
      method: 'PUT',
      url: `/customers/${customerId}/credit/limit`,
      payload: { limit: '2000.00' },
    });
    const before = await creditOf(t(), customerId);
    expect(await ensureContestClients(t().deps.db.pool, t().deps.customers)).toEqual([]);
    expect(await creditOf(t(), customerId)).toEqual(before);
    expect(before.limit).toBe('2000.00');
  });

  it('answer 404 for a client that does not exist, and 422 naming the field for a bad body', async () => {
    expect(
      (
        await fetch(`${base()}/clientes/6/transacoes`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"valor": 1, "tipo": "c", "descricao": "x"}',
        })
      ).status,
    ).toBe(404);
    const res = await fetch(`${base()}/clientes/1/transacoes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"valor": 1, "tipo": "c"}',
    });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await res.json()) as { errors: Array<{ field: string }> }).errors[0]?.field).toBe(
      'body.descricao',
    );
  });
});

describe('Rinha de Backend 2024/Q1 routes, off by default', () => {
  const ctx = useTestApp();
  it('are not served unless CREDIT_CONTEST_ROUTES is on', async () => {
    const res = await ctx.t.app.inject({ method: 'GET', url: '/clientes/1/extrato' });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('route_not_found');
  });
});
