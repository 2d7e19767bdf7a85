import type pg from 'pg';
import { isOutOfRange } from '../../platform/database.ts';
import type { Product } from './catalog.schemas.ts';

interface ProductRow {
  id: string;
  name: string;
  description: string;
  price: string;
  stock: number;
  category: string;
  created_at: Date;
  updated_at: Date;
}

/** Values already validated and normalised (price as an exact decimal string). */
export interface ProductValues {
  name: string;
  description: string;
  price: string;
  stock: number;
  category: string;
}

export interface ListFilter {
  /** Folded (lower-case, accents kept; the database strips them) and LIKE-escaped. */
  search?: string;
  category?: string;
  minPrice?: string;
  maxPrice?: string;
  afterId?: number;
  /** The page before this id (still returned in id order). */
  beforeId?: number;
  limit: number;
}

export const PRODUCT_IN_USE = 'product_in_use' as const;
/** The new stock plus the units orders hold would not fit the stock columns (integer). */
export const STOCK_TOO_LARGE = 'stock_too_large' as const;

const COLUMNS = 'id, name, description, price, stock, category, created_at, updated_at';

function toProduct(row: ProductRow): Product {
  return {
    id: Number(row.id),
    name: row.name,
    description: row.description,
    price: row.price,
    stock: row.stock,
    category: row.category,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** Explicit SQL; hot statements are named so PostgreSQL plans them once per connection. */
export class CatalogRepository {
  private readonly db: pg.Pool;

  constructor(db: pg.Pool) {
    this.db = db;
  }

  async create(v: ProductValues): Promise<Product> {
    const { rows } = await this.db.query<ProductRow>({
      name: 'catalog_insert',
      text: `INSERT INTO products (name, description, price, stock, category) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
      values: [v.name, v.description, v.price, v.stock, v.category],
    });
    return toProduct(rows[0] as ProductRow);
  }

  async findById(id: number): Promise<Product | null> {
    const { rows } = await this.db.query<ProductRow>({
      name: 'catalog_by_id',
      text: `SELECT ${COLUMNS} FROM products WHERE id = $1`,
      values: [id],
    });
    return rows[0] ? toProduct(rows[0]) : null;
  }

  /** PUT and PATCH alike: a null leaves the column as it is. */
  async update(id: number, v: Partial<ProductValues>): Promise<Product | null | typeof STOCK_TOO_LARGE> {
    const rows = await this.db
      .query<ProductRow>({
        name: 'catalog_update',
        // An absolute stock edit counts as a restock (or write-off) of the
        // difference, so the stock invariant keeps holding; it bumps the version
        // the optimistic strategy checks.
        text: `UPDATE products SET
               name = COALESCE($2, name), description = COALESCE($3, description), price = COALESCE($4, price),
               stock = COALESCE($5, stock), stock_received = stock_received + (COALESCE($5, stock) - stock),
               version = version + CASE WHEN $5::integer IS NULL THEN 0 ELSE 1 END,
               category = COALESCE($6, category), updated_at = now()
             WHERE id = $1 RETURNING ${COLUMNS}`,
        values: [
          id,
          v.name ?? null,
          v.description ?? null,
          v.price ?? null,
          v.stock ?? null,
          v.category ?? null,
        ],
      })
      .catch((err: { code?: string }) => {
        // received = stock + held must fit an integer too: the database refuses the sum.
        if (isOutOfRange(err)) return STOCK_TOO_LARGE;
        throw err;
      });
    if (rows === STOCK_TOO_LARGE) return STOCK_TOO_LARGE;
    return rows.rows[0] ? toProduct(rows.rows[0]) : null;
  }

  /** false when there is no such product; PRODUCT_IN_USE when orders refer to it. */
  async delete(id: number): Promise<boolean | typeof PRODUCT_IN_USE> {
    try {
      const { rowCount } = await this.db.query({
        name: 'catalog_delete',
        text: 'DELETE FROM products WHERE id = $1',
        values: [id],
      });
      return rowCount === 1;
    } catch (err) {
      if ((err as { code?: string }).code === '23503') return PRODUCT_IN_USE;
      throw err;
    }
  }

  /**
   * Keyset pagination in id order: rows inserted while a client pages get
   * higher ids, so no page skips or repeats a row. Each combination of
   * filters is its own named statement, so each gets a plan that fits it;
   * a search is planned at each call.
   */
  async list(f: ListFilter): Promise<Product[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    const add = (sql: (p: string) => string, value: unknown) => {
      values.push(value);
      where.push(sql(`$${values.length}`));
    };
    if (f.search !== undefined)
      add((p) => `armazem_fold(name) LIKE '%' || armazem_fold(${p}) || '%'`, f.search);
    if (f.category !== undefined) add((p) => `category = ${p}`, f.category);
    if (f.minPrice !== undefined) add((p) => `price >= ${p}::numeric`, f.minPrice);
    if (f.maxPrice !== undefined) add((p) => `price <= ${p}::numeric`, f.maxPrice);
    if (f.afterId !== undefined) add((p) => `id > ${p}`, f.afterId);
    if (f.beforeId !== undefined) add((p) => `id < ${p}`, f.beforeId);
    values.push(f.limit);
    const shape = ['s', 'c', 'min', 'max', 'after', 'before'].filter(
      (_, i) => [f.search, f.category, f.minPrice, f.maxPrice, f.afterId, f.beforeId][i] !== undefined,
    );
    const backwards = f.beforeId !== undefined;
    const { rows } = await this.db.query<ProductRow>({
      // A search is unnamed, planned at each call (as accountSql, planEachCall): its generic plan read the whole catalog for a common term.
      ...(f.search === undefined ? { name: `catalog_list_${shape.join('_') || 'all'}` } : {}),
      text: `SELECT ${COLUMNS} FROM products ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id ${backwards ? 'DESC' : ''} LIMIT $${values.length}`,
      values,
    });
    const products = rows.map(toProduct);
    return backwards ? products.reverse() : products;
  }

  /** Every category with how many products it has, by name. */
  async categories(): Promise<Array<{ category: string; products: number }>> {
    const { rows } = await this.db.query<{ category: string; n: string }>({
      name: 'catalog_categories',
      text: 'SELECT category, count(*) AS n FROM products GROUP BY category ORDER BY category',
    });
    return rows.map((r) => ({ category: r.category, products: Number(r.n) }));
  }

  async count(): Promise<number> {
    const { rows } = await this.db.query<{ n: string }>({
      name: 'catalog_count',
      text: 'SELECT count(*) AS n FROM products',
    });
    return Number(rows[0]?.n ?? 0);
  }
}
