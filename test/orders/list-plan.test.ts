import type pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { OrderRepository } from '../../src/modules/orders/orders.repository.ts';
import { rowsRead, useOneConnection } from '../helpers/seq-scan.ts';

/**
 * Order listings read a page of orders, however many the table holds. A
 * prepared statement's generic plan, made while the table was small, cannot
 * use `customer_id = $1` behind `$1 IS NULL OR …`: it walked the orders
 * newest first to find one customer's. Counted by the rows the listing read
 * (pg_stat_xact_user_tables).
 */
const one = useOneConnection();
let pool: pg.Pool;
let orders: OrderRepository;
let mine: number;
let other: number;

beforeAll(async () => {
  pool = one.pool;
  orders = new OrderRepository(pool);
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO customers (name, email, password_hash)
     VALUES ('Mine', 'mine@plan.test', '!'), ('Other', 'other@plan.test', '!') RETURNING id`,
  );
  [mine, other] = rows.map((r) => Number(r.id)) as [number, number];
});

/** `n` orders of `customerId`, created `ago` before now, a second apart. */
const addOrders = (customerId: number, n: number, ago: string) =>
  pool.query(
    `INSERT INTO orders (customer_id, status, total, created_at)
     SELECT $1, 'paid', 1, now() - $3::interval + g * interval '1 second' FROM generate_series(1, $2::integer) g`,
    [customerId, n, ago],
  );

describe('order listings', () => {
  it('read a page of orders, not the whole table, however few orders it held at first', async () => {
    await addOrders(mine, 3, '2 days');
    await addOrders(other, 3, '2 days');
    // Enough calls on a small table for a prepared statement to settle on a generic plan.
    for (let i = 0; i < 8; i++) {
      expect(await orders.list({ customerId: mine, limit: 10 })).toHaveLength(3);
      expect(await orders.list({ limit: 10 })).toHaveLength(6);
    }
    // Other customers' orders, all newer than this customer's.
    await addOrders(other, 20_000, '1 day');
    const newest = (await orders.list({ customerId: mine, limit: 1 }))[0]?.id as number;
    const listings = {
      customer: () => orders.list({ customerId: mine, limit: 10 }),
      customerNextPage: () => orders.list({ customerId: mine, beforeId: newest, limit: 10 }),
      all: () => orders.list({ limit: 10 }),
    };
    const expected = { customer: 3, customerNextPage: 2, all: 10 };
    const read: Record<string, number> = {};
    for (const [name, list] of Object.entries(listings)) {
      let page: unknown[] = [];
      const rows = await rowsRead(pool, 'orders', async () => {
        page = await list();
      });
      expect(page, name).toHaveLength(expected[name as keyof typeof expected]);
      read[name] = rows.sequentially + rows.byIndex;
    }
    // A page and its cursor's row.
    for (const rows of Object.values(read)) expect(rows, JSON.stringify(read)).toBeLessThan(100);
  });
});
