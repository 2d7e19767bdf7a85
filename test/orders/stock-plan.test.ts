import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyStockDeltas } from '../../src/modules/orders/stock.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { createTestDatabase, realServers, type TestDatabase } from '../helpers/env.ts';
import { rowsReadSequentially } from '../helpers/seq-scan.ts';

/**
 * Stock changes join the changed products' arrays to the products table. A
 * prepared statement's generic plan, made while the catalog was nearly
 * empty, read the whole table on every change as the catalog grew; the
 * statement is planned at each call. Counted by the rows the changing
 * transaction read sequentially (pg_stat_xact_user_tables).
 */
let db: TestDatabase;
let app: TestApp;
let pool: pg.Pool;
let client: pg.PoolClient;

beforeAll(async () => {
  db = await createTestDatabase();
  app = await startTestApp(realServers(db.url));
  // One connection: every change below runs on the same backend, and so would one cached plan.
  pool = new pg.Pool({ connectionString: db.url, max: 1 });
  client = await pool.connect();
});
afterAll(async () => {
  client?.release();
  await pool?.end();
  await app?.close();
  await db?.drop();
});

const addProducts = async (n: number): Promise<number[]> =>
  (
    await client.query<{ id: string }>(
      `INSERT INTO products (name, description, price, stock, category)
       SELECT 'product ' || g, '', 1, 100, 'bench' FROM generate_series(1, $1::integer) g RETURNING id`,
      [n],
    )
  ).rows.map((r) => Number(r.id));

const changeAndCountScanned = (deltas: Map<number, number>) =>
  rowsReadSequentially(client, 'products', () => applyStockDeltas(client, deltas));

describe('stock changes', () => {
  it('probe the products they change, not the whole catalog, however small it was at first', async () => {
    const first = await addProducts(5);
    // Enough calls on a small catalog for a prepared statement to settle on a generic plan.
    for (let i = 0; i < 8; i++) await changeAndCountScanned(new Map(first.slice(0, 3).map((id) => [id, 1])));
    const more = await addProducts(20_000);
    const changed = [more[100] as number, more[15_000] as number];
    expect(await changeAndCountScanned(new Map(changed.map((id) => [id, 5])))).toBeLessThan(1000);
    const { rows } = await client.query<{ stock: number }>(
      'SELECT stock FROM products WHERE id = ANY($1::bigint[]) ORDER BY id',
      [changed],
    );
    expect(rows.map((r) => r.stock)).toEqual([105, 105]);
  });
});
