import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { type TestContext, useTestApp } from './app.ts';

/**
 * Runs `work` in a transaction of its own on `db` (one connection) and
 * returns how many rows of `table` it read, by sequential scans and
 * fetched through indexes (pg_stat_xact_user_tables): how a test tells a
 * probe of a few rows from a statement that reads a whole table, or all of
 * an account's rows, whatever the machine's speed.
 */
export async function rowsRead(
  db: pg.ClientBase | pg.Pool,
  table: string,
  work: () => Promise<unknown>,
): Promise<{ sequentially: number; byIndex: number }> {
  // The counters hold what this backend has not reported yet, earlier transactions' too: only the difference is work's.
  const counts = async () => {
    const { rows } = await db.query<{ seq: string; idx: string | null }>(
      'SELECT seq_tup_read AS seq, idx_tup_fetch AS idx FROM pg_stat_xact_user_tables WHERE relname = $1',
      [table],
    );
    return { sequentially: Number(rows[0]?.seq ?? 0), byIndex: Number(rows[0]?.idx ?? 0) };
  };
  await db.query('BEGIN');
  try {
    const before = await counts();
    await work();
    const after = await counts();
    return {
      sequentially: after.sequentially - before.sequentially,
      byIndex: after.byIndex - before.byIndex,
    };
  } finally {
    await db.query('COMMIT');
  }
}

/** The rows of `table` that `work` read by sequential scans (see rowsRead). */
export const rowsReadSequentially = async (
  db: pg.ClientBase | pg.Pool,
  table: string,
  work: () => Promise<unknown>,
): Promise<number> => (await rowsRead(db, table, work)).sequentially;

/**
 * A migrated test database (useTestApp) and a pool of one connection on it:
 * every statement of a plan test runs on the same backend, and so would one
 * cached plan.
 */
export function useOneConnection(): TestContext & { pool: pg.Pool } {
  const ctx = useTestApp() as TestContext & { pool: pg.Pool };
  beforeAll(() => {
    ctx.pool = new pg.Pool({ connectionString: ctx.db.url, max: 1 });
  });
  afterAll(async () => {
    await ctx.pool?.end();
  });
  return ctx;
}
