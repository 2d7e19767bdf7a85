import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Claimed } from '../../src/modules/payments/claimed.ts';
import { recordOutcomes } from '../../src/modules/payments/record-outcome.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { createTestDatabase, realServers, type TestDatabase } from '../helpers/env.ts';
import { rowsReadSequentially } from '../helpers/seq-scan.ts';

/**
 * Recording outcomes joins the outcomes' arrays to the payments table. A
 * prepared statement's generic plan, made while the table was nearly empty,
 * scanned the whole table on every record as it grew; the statement is
 * planned at each call for the arrays it gets. Counted by the rows the
 * recording transaction read sequentially (pg_stat_xact_user_tables).
 */
let db: TestDatabase;
let app: TestApp;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase();
  app = await startTestApp(realServers(db.url));
  // One connection: every record below runs on the same backend, and so would one cached plan.
  pool = new pg.Pool({ connectionString: db.url, max: 1 });
});
afterAll(async () => {
  await pool?.end();
  await app?.close();
  await db?.drop();
});

async function pinned(n: number): Promise<Claimed[]> {
  const ids = Array.from({ length: n }, () => randomUUID());
  const requestedAt = new Date();
  await pool.query(
    `INSERT INTO payments (correlation_id, amount, status, processor, requested_at, attempts)
     SELECT id, 10, 'processing', 'default', $2, 1 FROM unnest($1::uuid[]) AS id`,
    [ids, requestedAt],
  );
  return ids.map((correlationId) => ({
    attempts: 0,
    orderId: null,
    pinnedBefore: false,
    correlationId,
    amount: '10.00',
    processor: 'default',
    requestedAt,
  }));
}

/** Records the payments as processed; returns the rows of payments it read sequentially. */
const recordAndCountScanned = (claimed: Claimed[]) =>
  rowsReadSequentially(pool, 'payments', () =>
    recordOutcomes(
      pool,
      claimed.map((c) => ({ claimed: c, outcome: 'accepted', retryInMs: 0 })),
      3,
    ),
  );

describe('recording outcomes', () => {
  it('probes the payments it records, not the whole table, however small the table was at first', async () => {
    // Enough calls on a nearly empty table for a prepared statement to settle on a generic plan.
    for (let i = 0; i < 8; i++) await recordAndCountScanned(await pinned(3));
    await pool.query(
      `INSERT INTO payments (correlation_id, amount, status, processor, requested_at)
       SELECT gen_random_uuid(), 10, 'processed', 'default', now() FROM generate_series(1, 20000)`,
    );
    const claimed = await pinned(5);
    expect(await recordAndCountScanned(claimed)).toBeLessThan(1000);
    const { rows } = await pool.query<{ n: string }>(
      "SELECT count(*) AS n FROM payments WHERE correlation_id = ANY($1::uuid[]) AND status = 'processed'",
      [claimed.map((c) => c.correlationId)],
    );
    expect(Number(rows[0]?.n)).toBe(5);
  });
});
