import type pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { CatalogRepository, type ListFilter } from '../../src/modules/catalog/catalog.repository.ts';
import { rowsRead, useOneConnection } from '../helpers/seq-scan.ts';

/**
 * Catalog listings (one statement per filter shape) read a page, however
 * small the catalog was when a shape was first listed. A search's generic
 * plan, made on a small catalog, read all of it for a term most products
 * match; a search is planned at each call. Counted by the rows the listing
 * read (pg_stat_xact_user_tables).
 */
const one = useOneConnection();
let pool: pg.Pool;
let catalog: CatalogRepository;

beforeAll(async () => {
  pool = one.pool;
  catalog = new CatalogRepository(pool);
});

const addProducts = async (n: number, name: string, price: number, category: string): Promise<number[]> =>
  (
    await pool.query<{ id: string }>(
      `INSERT INTO products (name, description, price, stock, category)
       SELECT $2 || ' ' || g, '', $3, 1, $4 FROM generate_series(1, $1::integer) g RETURNING id`,
      [n, name, price, category],
    )
  ).rows.map((r) => Number(r.id));

describe('catalog listings', () => {
  it('read a page of products, not the whole catalog, however small it was at first', async () => {
    const first = await addProducts(5, 'Blue widget', 1000, 'widgets');
    const shapes = (ids: number[]): Record<string, Omit<ListFilter, 'limit'>> => ({
      all: {},
      after: { afterId: ids[0] as number },
      before: { beforeId: ids.at(-1) as number },
      category: { category: 'widgets' },
      price: { minPrice: '500', maxPrice: '2000' },
      search: { search: 'widget' },
      // Values most of the grown catalog matches: a page is found in its first rows.
      categoryCommon: { category: 'bulk' },
      searchCommon: { search: 'item' },
    });
    // Enough calls on a small catalog for a prepared statement to settle on a generic plan.
    for (let i = 0; i < 8; i++)
      for (const filter of Object.values(shapes(first))) await catalog.list({ ...filter, limit: 10 });
    const more = await addProducts(20_000, 'Bulk item', 1, 'bulk');
    const read: Record<string, number> = {};
    for (const [name, filter] of Object.entries(shapes(more.slice(10_000)))) {
      let page: unknown[] = [];
      const rows = await rowsRead(pool, 'products', async () => {
        page = await catalog.list({ ...filter, limit: 10 });
      });
      expect(page.length, name).toBeGreaterThan(0);
      read[name] = rows.sequentially + rows.byIndex;
    }
    for (const rows of Object.values(read)) expect(rows, JSON.stringify(read)).toBeLessThan(100);
  });
});
