import { expect } from 'vitest';
import { ensureContestClients } from '../../src/modules/credit/contest-clients.ts';
import { startTestApp, type TestApp } from './app.ts';
import { realServers } from './env.ts';

/**
 * Instances with the contest routes on, one per environment, on one
 * database with the contest's clients, each prepared by `prepare` and then
 * listening; `base()` takes them in turn.
 */
export async function startContestInstances(
  dbUrl: string,
  envs: Array<Record<string, string>>,
  prepare: (t: TestApp) => Promise<unknown>,
) {
  const apps: TestApp[] = [];
  const bases: string[] = [];
  for (const env of envs) {
    const t = await startTestApp({ ...realServers(dbUrl), CREDIT_CONTEST_ROUTES: 'true', ...env });
    await ensureContestClients(t.deps.db.pool, t.deps.customers);
    await prepare(t);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    apps.push(t);
    bases.push(`http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`);
  }
  let turn = 0;
  return { apps, bases, base: () => bases[turn++ % bases.length] as string };
}

/** Sets a customer's credit limit as the admin. */
export async function setCreditLimit(t: TestApp, customerId: number, limit: string): Promise<void> {
  const res = await t.asAdmin({
    method: 'PUT',
    url: `/customers/${customerId}/credit/limit`,
    payload: { limit },
  });
  expect(res.statusCode, res.body).toBe(200);
}

/** Posts a credit or debit as the admin; returns the response. */
export function postCredit(
  t: TestApp,
  customerId: number,
  body: { type: 'credit' | 'debit'; amount: string | number; description: string },
  idempotencyKey?: string,
) {
  return t.asAdmin({
    method: 'POST',
    url: `/customers/${customerId}/credit/transactions`,
    payload: body,
    ...(idempotencyKey ? { headers: { 'idempotency-key': idempotencyKey } } : {}),
  });
}

/** The account as its owner or the admin sees it. */
export async function creditOf(t: TestApp, customerId: number) {
  const res = await t.asAdmin({ method: 'GET', url: `/customers/${customerId}/credit` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as {
    limit: string;
    balance: string;
    available: string;
    transactions: Array<{
      id: number;
      type: string;
      amount: string;
      balanceAfter: string;
      orderId: number | null;
    }>;
  };
}

/** Every account adds up, checked the way an admin would. */
export async function expectCreditConsistent(t: TestApp): Promise<void> {
  const res = await t.asAdmin({ method: 'GET', url: '/admin/credit-check' });
  expect(res.statusCode).toBe(200);
  expect(res.json().mismatches).toEqual([]);
  expect(res.json().ok).toBe(true);
}

/** Rows of the credit tables, to show that a refused request wrote nothing. */
export async function creditSnapshot(t: TestApp) {
  const q = (sql: string) => t.deps.db.pool.query(sql).then((r) => r.rows);
  return {
    accounts: await q('SELECT * FROM credit_accounts ORDER BY customer_id'),
    transactions: await q('SELECT * FROM credit_transactions ORDER BY id'),
  };
}
