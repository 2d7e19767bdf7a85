import type pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { CustomerRepository } from '../../src/modules/customers/customers.repository.ts';
import { rowsRead, useOneConnection } from '../helpers/seq-scan.ts';

/**
 * The admin's customer listing reads a page, however few customers there
 * were when it was first listed. Counted by the rows the listing read
 * (pg_stat_xact_user_tables).
 */
const one = useOneConnection();
let pool: pg.Pool;
let customers: CustomerRepository;

beforeAll(async () => {
  pool = one.pool;
  customers = new CustomerRepository(pool);
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
