import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustomerRepository } from '../../src/modules/customers/customers.repository.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { createTestDatabase, realServers, type TestDatabase } from '../helpers/env.ts';
import { rowsRead } from '../helpers/seq-scan.ts';

/**
 * The admin's customer listing reads a page, however few customers there
 * were when it was first listed. Counted by the rows the listing read
 * (pg_stat_xact_user_tables).
 */
let db: TestDatabase;
let app: TestApp;
let pool: pg.Pool;
let customers: CustomerRepository;

beforeAll(async () => {
  db = await createTestDatabase();
  app = await startTestApp(realServers(db.url));
  // One connection: every listing below runs on the same backend, and so would one cached plan.
  pool = new pg.Pool({ connectionString: db.url, max: 1 });
  customers = new CustomerRepository(pool);
});
afterAll(async () => {
  await pool?.end();
  await app?.close();
  await db?.drop();
});

const addCustomers = (n: number, name: string) =>
  pool.query(
    `INSERT INTO customers (name, email, password_hash)
     SELECT $2 || ' ' || g, lower($2) || g || '@plan.test', '!' FROM generate_series(1, $1::integer) g`,
    [n, name],
  );

describe('customer listings', () => {
  it('read a page of customers, not the whole table, however few there were at first', async () => {
    await addCustomers(5, 'Early');
    // Enough calls on a small table for a prepared statement to settle on a generic plan.
    for (let i = 0; i < 8; i++) {
      await customers.list({ limit: 10 });
      await customers.list({ search: 'early', limit: 10 });
    }
    await addCustomers(20_000, 'Bulk');
    const listings = {
      all: () => customers.list({ afterId: 10_000, limit: 10 }),
      // A term most customers match: a page is found in the first rows.
      search: () => customers.list({ search: 'bulk', afterId: 10_000, limit: 10 }),
    };
    const read: Record<string, number> = {};
    for (const [name, list] of Object.entries(listings)) {
      let page: unknown[] = [];
      const rows = await rowsRead(pool, 'customers', async () => {
        page = await list();
      });
      expect(page, name).toHaveLength(10);
      read[name] = rows.sequentially + rows.byIndex;
    }
    for (const rows of Object.values(read)) expect(rows, JSON.stringify(read)).toBeLessThan(100);
  });
});
