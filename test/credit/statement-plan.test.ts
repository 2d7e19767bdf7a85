import type pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureContestClients } from '../../src/modules/credit/contest-clients.ts';
import { CreditRepository } from '../../src/modules/credit/credit.repository.ts';
import { rowsRead, useOneConnection } from '../helpers/seq-scan.ts';

/**
 * A statement, an account and its history read an account's newest
 * transactions, however many it has. Prepared, their generic plan was made
 * while an account had a few transactions (a bitmap scan of all of them,
 * then a sort) and kept on that connection: every read then fetched all of
 * the account's transactions, slower with each one (the contest's
 * statements went from 2.5 to 8 ms over a 4-minute run). Counted by the
 * rows the read fetched (pg_stat_xact_user_tables).
 */
const one = useOneConnection();
let pool: pg.Pool;
let credit: CreditRepository;
let customerId: number;

beforeAll(async () => {
  await ensureContestClients(one.t.deps.db.pool, one.t.deps.customers);
  pool = one.pool;
  credit = new CreditRepository(pool, { maxBatch: 16, concurrency: 1 });
  const { rows } = await pool.query<{ customer_id: string }>(
    'SELECT customer_id FROM credit_contest_clients WHERE client_id = 1',
  );
  customerId = Number(rows[0]?.customer_id);
});

const reads = {
  statement: () => credit.contestAccount(1).then((a) => a?.recent ?? []),
  account: () => credit.account(customerId).then((a) => a?.recent ?? []),
  history: () => credit.history({ customerId, limit: 10 }),
};

describe('reads of an account’s newest transactions', () => {
  it('fetch those transactions, not all of the account’s, however few it had when first read', async () => {
    for (let i = 0; i < 3; i++)
      await credit.post({ account: { contestClientId: 1 }, kind: 'c', amount: 100, description: 'first' });
    // Enough calls on a small table for a prepared statement to settle on a generic plan.
    for (let i = 0; i < 8; i++) for (const read of Object.values(reads)) expect(await read()).toHaveLength(3);
    await pool.query(
      `WITH bulk AS (
         INSERT INTO credit_transactions (customer_id, kind, amount, description, balance_after)
         SELECT $1, 'c', 1, 'bulk', 300 + g FROM generate_series(1, 20000) g RETURNING 1)
       UPDATE credit_accounts SET balance = 300 + (SELECT count(*) FROM bulk) WHERE customer_id = $1`,
      [customerId],
    );
    for (const [name, read] of Object.entries(reads)) {
      let recent: Array<{ id: number; balanceAfter: number }> = [];
      const fetched = await rowsRead(pool, 'credit_transactions', async () => {
        recent = await read();
      });
      expect({ name, ...fetched }).toEqual({ name, sequentially: 0, byIndex: expect.any(Number) });
      expect(fetched.byIndex, name).toBeLessThan(100);
      // The 10 newest, newest first.
      expect(
        recent.map((t) => t.balanceAfter),
        name,
      ).toEqual(Array.from({ length: 10 }, (_, i) => 20_300 - i));
    }
  });
});
