import type pg from 'pg';

/**
 * Runs `work` in a transaction of its own on `db` (one connection) and
 * returns how many rows of `table` it read by sequential scans
 * (pg_stat_xact_user_tables): how a test tells an index probe from a
 * statement that reads a whole table, whatever the machine's speed.
 */
export async function rowsReadSequentially(
  db: pg.ClientBase | pg.Pool,
  table: string,
  work: () => Promise<unknown>,
): Promise<number> {
  await db.query('BEGIN');
  try {
    await work();
    const { rows } = await db.query<{ n: string }>(
      'SELECT seq_tup_read AS n FROM pg_stat_xact_user_tables WHERE relname = $1',
      [table],
    );
    return Number(rows[0]?.n ?? 0);
  } finally {
    await db.query('COMMIT');
  }
}
