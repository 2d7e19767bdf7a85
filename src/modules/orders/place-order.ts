import type pg from 'pg';
import type { Config } from '../../config.ts';
import { Batcher } from '../../platform/batcher.ts';
import { inTransaction, isOutOfRange } from '../../platform/database.ts';
import type { Order } from './orders.schemas.ts';
import { type Line, lockProducts, mergeLines } from './stock.ts';

export type Strategy = Config['ORDER_CONCURRENCY'];

export type PlaceResult =
  | { kind: 'reserved'; order: Order }
  | { kind: 'pending'; order: Order }
  /** The same Idempotency-Key was used before: the order it created. */
  | { kind: 'replay'; orderId: number }
  | { kind: 'out_of_stock'; productId: number; available: number }
  | { kind: 'unknown_product'; productId: number }
  | { kind: 'contention' }
  /** Its total would not fit an order's total (numeric(14,2)); nothing was written. */
  | { kind: 'total_too_large' };

export interface PlaceOrder {
  customerId: number;
  items: Array<{ productId: number; quantity: number }>;
  idempotencyKey?: string;
}

class Abort extends Error {
  readonly result: PlaceResult;
  constructor(result: PlaceResult) {
    super(result.kind);
    this.result = result;
  }
}

/** An order that could not get its stock; nothing it wrote survives (the transaction rolls back). */
const abort = (r: PlaceResult): never => {
  throw new Abort(r);
};

/**
 * Places an order with the configured concurrency strategy. Every strategy
 * is all-or-nothing across items, captures unit prices at order time and
 * takes row locks in product-id order, so two orders contending for the
 * same products in opposite orders cannot deadlock.
 */
export class OrderPlacer {
  private readonly db: pg.Pool;
  private readonly config: Config;
  private readonly batcher: Batcher<PlaceOrder & { lines: Line[] }, PlaceResult>;

  /** `onBatch` sees the size of each batched group (a metric). */
  constructor(db: pg.Pool, config: Config, onBatch?: (size: number) => void) {
    this.db = db;
    this.config = config;
    this.batcher = new Batcher((orders) => this.placeBatch(orders), {
      maxBatch: config.ORDER_SYNC_BATCH,
      ...(onBatch ? { onBatch } : {}),
    });
  }

  async place(input: PlaceOrder, strategy: Strategy = this.config.ORDER_CONCURRENCY): Promise<PlaceResult> {
    const lines = mergeLines(input.items);
    const order = { ...input, lines };
    if (input.idempotencyKey) {
      const earlier = await this.findByKey(input.customerId, input.idempotencyKey);
      if (earlier) return { kind: 'replay', orderId: earlier };
    }
    try {
      switch (strategy) {
        case 'atomic':
          // The common case, one product and no key, is one autocommit statement:
          // one round trip, one durable commit.
          if (lines.length === 1 && !input.idempotencyKey)
            return await this.reserveInOneStatement(order, lines[0] as Line);
          return await this.reserveNow(order, (tx, l) => this.takeConditionally(tx, l));
        case 'pessimistic':
          return await this.reserveNow(order, (tx, l) => this.takeLocked(tx, l));
        case 'optimistic':
          return await this.placeOptimistic(order);
        case 'queued':
          return await this.enqueue(order);
        case 'hybrid':
          return await this.placeHybrid(order);
        case 'batched':
          return await this.batcher.submit(order);
        default:
          throw new Error(`unknown strategy ${String(strategy satisfies never)}`);
      }
    } catch (err) {
      if (err instanceof Abort) return err.result;
      if (isOutOfRange(err)) return { kind: 'total_too_large' };
      throw err;
    }
  }

  /**
   * batched: the orders that arrived while the previous group was at the
   * database, decided together by order_place_batch() (see its migration):
   * one statement, one durable commit, an answer for each.
   */
  private async placeBatch(orders: Array<PlaceOrder & { lines: Line[] }>): Promise<PlaceResult[]> {
    // A lone order of one product, no key (low load): the atomic strategy's one statement is the cheapest.
    const [only] = orders;
    if (orders.length === 1 && only && only.lines.length === 1 && !only.idempotencyKey)
      return [await this.reserveInOneStatement(only, only.lines[0] as Line)];
    const lineOf = orders.flatMap((o, i) => o.lines.map((l) => ({ order: i + 1, ...l })));
    const { rows } = await this.db.query<{
      outcome: 'reserved' | 'replay' | 'out_of_stock' | 'unknown_product' | 'total_too_large';
      order_id: string | null;
      total: string | null;
      created_at: Date | null;
      reserved_at: Date | null;
      expires_at: Date | null;
      product_id: string | null;
      available: number | null;
      unit_prices: string[] | null;
    }>({
      name: 'order_place_batch',
      text: `SELECT outcome, order_id, total::text AS total, created_at, reserved_at, expires_at, product_id, available,
                    unit_prices::text[] AS unit_prices
             FROM order_place_batch($1::bigint[], $2::text[], $3::integer[], $4::bigint[], $5::integer[], $6) ORDER BY idx`,
      values: [
        orders.map((o) => o.customerId),
        orders.map((o) => o.idempotencyKey ?? null),
        lineOf.map((l) => l.order),
        lineOf.map((l) => l.productId),
        lineOf.map((l) => l.quantity),
        this.config.ORDER_RESERVATION_TTL,
      ],
    });
    return rows.map((r, i): PlaceResult => {
      const order = orders[i] as PlaceOrder & { lines: Line[] };
      switch (r.outcome) {
        case 'reserved': {
          const prices = new Map(order.lines.map((l, j) => [l.productId, r.unit_prices?.[j] as string]));
          const row = {
            id: r.order_id as string,
            total: r.total as string,
            created_at: r.created_at as Date,
            updated_at: r.created_at as Date,
            reserved_at: r.reserved_at,
            expires_at: r.expires_at,
          };
          return { kind: 'reserved', order: toOrder(row, order, prices, 'reserved') };
        }
        case 'replay':
          return { kind: 'replay', orderId: Number(r.order_id) };
        case 'out_of_stock':
          return { kind: 'out_of_stock', productId: Number(r.product_id), available: r.available as number };
        case 'unknown_product':
          return { kind: 'unknown_product', productId: Number(r.product_id) };
        default:
          return { kind: 'total_too_large' };
      }
    });
  }

  /** Locks nothing up front: one conditional UPDATE per product, in id order. */
  private async takeConditionally(tx: pg.PoolClient, lines: Line[]): Promise<Map<number, string>> {
    const prices = new Map<number, string>();
    for (const line of lines) {
      const { rows } = await tx.query<{ price: string }>({
        name: 'order_take_conditional',
        text: 'UPDATE products SET stock = stock - $2, version = version + 1 WHERE id = $1 AND stock >= $2 RETURNING price',
        values: [line.productId, line.quantity],
      });
      if (!rows[0]) abort(await this.whyNot(tx, line));
      prices.set(line.productId, (rows[0] as { price: string }).price);
    }
    return prices;
  }

  /** SELECT … FOR UPDATE (READ COMMITTED), check, then write. */
  private async takeLocked(tx: pg.PoolClient, lines: Line[]): Promise<Map<number, string>> {
    const locked = await lockProducts(
      tx,
      lines.map((l) => l.productId),
    );
    for (const line of lines) {
      const product = locked.get(line.productId);
      if (!product) abort({ kind: 'unknown_product', productId: line.productId });
      else if (product.stock < line.quantity)
        abort({ kind: 'out_of_stock', productId: line.productId, available: product.stock });
    }
    // Unprepared, planned at each call: a join to unnest() (see namedStatement's planEachCall).
    await tx.query({
      text: `UPDATE products p SET stock = p.stock - d.quantity, version = p.version + 1
             FROM unnest($1::bigint[], $2::integer[]) AS d(id, quantity) WHERE p.id = d.id`,
      values: [lines.map((l) => l.productId), lines.map((l) => l.quantity)],
    });
    return new Map(lines.map((l) => [l.productId, (locked.get(l.productId) as { price: string }).price]));
  }

  /** Reads without locks, writes only if nobody changed the row since (version check), retrying a bounded number of times. */
  private async placeOptimistic(order: PlaceOrder & { lines: Line[] }): Promise<PlaceResult> {
    for (let attempt = 1; attempt <= this.config.ORDER_OPTIMISTIC_RETRIES; attempt++) {
      const outcome = await this.reserveNow(order, async (tx, lines) => {
        const { rows } = await tx.query<{ id: string; stock: number; price: string; version: number }>({
          name: 'order_read_versions',
          text: 'SELECT id, stock, price, version FROM products WHERE id = ANY($1::bigint[])',
          values: [lines.map((l) => l.productId)],
        });
        const seen = new Map(rows.map((r) => [Number(r.id), r]));
        for (const line of lines) {
          const p = seen.get(line.productId);
          if (!p) abort({ kind: 'unknown_product', productId: line.productId });
          else if (p.stock < line.quantity)
            abort({ kind: 'out_of_stock', productId: line.productId, available: p.stock });
        }
        for (const line of lines) {
          const p = seen.get(line.productId) as { version: number };
          const { rowCount } = await tx.query({
            name: 'order_take_versioned',
            text: 'UPDATE products SET stock = stock - $2, version = version + 1 WHERE id = $1 AND version = $3',
            values: [line.productId, line.quantity, p.version],
          });
          if (rowCount !== 1) abort({ kind: 'contention' });
        }
        return new Map(lines.map((l) => [l.productId, (seen.get(l.productId) as { price: string }).price]));
      }).catch((err) => {
        if (err instanceof Abort && err.result.kind === 'contention') return null;
        throw err;
      });
      if (outcome) return outcome;
      // Jittered, growing pause so the losers of a race do not collide again at once.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(2 ** attempt, 50)));
    }
    return { kind: 'contention' };
  }

  /** Tries to reserve within ORDER_SYNC_BUDGET_MS of lock waiting; past it, the order goes to the queue. */
  private async placeHybrid(order: PlaceOrder & { lines: Line[] }): Promise<PlaceResult> {
    try {
      return await this.reserveNow(
        order,
        (tx, l) => this.takeConditionally(tx, l),
        this.config.ORDER_SYNC_BUDGET_MS,
      );
    } catch (err) {
      // 55P03 lock_not_available: the budget ran out waiting for a busy product row.
      if ((err as { code?: string }).code === '55P03') return this.enqueue(order);
      throw err;
    }
  }

  /**
   * One transaction: take the stock with `take`, then record the order as
   * reserved. A concurrent request with the same Idempotency-Key makes the
   * INSERT a no-op; this transaction then rolls back its stock and the
   * earlier order is returned.
   */
  private async reserveNow(
    order: PlaceOrder & { lines: Line[] },
    take: (tx: pg.PoolClient, lines: Line[]) => Promise<Map<number, string>>,
    lockBudgetMs?: number,
  ): Promise<PlaceResult> {
    return inTransaction(this.db, async (tx) => {
      if (lockBudgetMs !== undefined) await tx.query(`SET LOCAL lock_timeout = ${Math.trunc(lockBudgetMs)}`);
      const prices = await take(tx, order.lines);
      const created = await this.insertOrder(tx, order, prices, 'reserved');
      if (created === null) {
        abort({
          kind: 'replay',
          orderId: (await this.findByKey(order.customerId, order.idempotencyKey as string, tx)) as number,
        });
      }
      return { kind: 'reserved', order: created as Order };
    });
  }

  /**
   * queued: one autocommit statement records the order as pending, with the
   * prices of now, and NOTIFYs the workers at commit. Nothing is written when
   * a product is unknown or the Idempotency-Key already names an order.
   */
  private async enqueue(order: PlaceOrder & { lines: Line[] }): Promise<PlaceResult> {
    const ids = order.lines.map((l) => l.productId);
    const { rows } = await this.db.query<OrderInsertRow & { found: string[] }>({
      name: 'order_enqueue',
      text: `WITH p AS (SELECT id, price FROM products WHERE id = ANY($3::bigint[])),
                  x AS (SELECT x.id, x.quantity, p.price FROM unnest($3::bigint[], $4::integer[]) AS x(id, quantity) JOIN p ON p.id = x.id),
                  o AS (
                    INSERT INTO orders (customer_id, status, total, idempotency_key)
                    SELECT $1, 'pending', (SELECT COALESCE(sum(quantity * price), 0) FROM x), $2
                    WHERE (SELECT count(*) FROM p) = cardinality($3::bigint[])
                    ON CONFLICT (customer_id, idempotency_key) DO NOTHING
                    RETURNING ${ORDER_RETURNING}),
                  i AS (INSERT INTO order_items (order_id, product_id, quantity, unit_price) SELECT o.id, x.id, x.quantity, x.price FROM o, x),
                  n AS (SELECT pg_notify('armazem_orders', '') FROM o)
             SELECT o.*, (SELECT array_agg(id::text) FROM p) AS found, (SELECT count(*) FROM n) AS notified
             FROM (SELECT 1) AS one LEFT JOIN o ON true`,
      values: [order.customerId, order.idempotencyKey ?? null, ids, order.lines.map((l) => l.quantity)],
    });
    const row = rows[0] as OrderInsertRow & { found: string[] | null };
    const found = new Set((row.found ?? []).map(Number));
    const missing = ids.find((id) => !found.has(id));
    if (missing !== undefined) return { kind: 'unknown_product', productId: missing };
    if (row.id === null)
      return {
        kind: 'replay',
        orderId: (await this.findByKey(order.customerId, order.idempotencyKey as string)) as number,
      };
    const prices = await this.pricesOf(ids);
    return { kind: 'pending', order: toOrder(row, order, prices, 'pending') };
  }

  /** atomic, one product: take the stock and record the order in a single statement. */
  private async reserveInOneStatement(
    order: PlaceOrder & { lines: Line[] },
    line: Line,
  ): Promise<PlaceResult> {
    const { rows } = await this.db.query<OrderInsertRow & { price: string }>({
      name: 'order_reserve_one',
      text: `WITH u AS (UPDATE products SET stock = stock - $2, version = version + 1 WHERE id = $1 AND stock >= $2 RETURNING id, price),
                  o AS (
                    INSERT INTO orders (customer_id, status, total, reserved_at, expires_at)
                    SELECT $3, 'reserved', u.price * $2, now(), now() + make_interval(secs => $4) FROM u
                    RETURNING ${ORDER_RETURNING}),
                  i AS (INSERT INTO order_items (order_id, product_id, quantity, unit_price) SELECT o.id, u.id, $2, u.price FROM o, u)
             SELECT o.*, u.price FROM u, o`,
      values: [line.productId, line.quantity, order.customerId, this.config.ORDER_RESERVATION_TTL],
    });
    const row = rows[0];
    if (!row) return this.whyNot(this.db, line);
    return {
      kind: 'reserved',
      order: toOrder(row, order, new Map([[line.productId, row.price]]), 'reserved'),
    };
  }

  private async pricesOf(ids: number[]): Promise<Map<number, string>> {
    const { rows } = await this.db.query<{ id: string; price: string }>({
      name: 'order_prices',
      text: 'SELECT id, price FROM products WHERE id = ANY($1::bigint[])',
      values: [ids],
    });
    return new Map(rows.map((r) => [Number(r.id), r.price]));
  }

  /** Inserts the order and its items; null when its Idempotency-Key already names an order. */
  private async insertOrder(
    tx: pg.PoolClient,
    order: PlaceOrder & { lines: Line[] },
    prices: Map<number, string>,
    status: 'reserved' | 'pending',
  ): Promise<Order | null> {
    const unitPrices = order.lines.map((l) => prices.get(l.productId) as string);
    const { rows } = await tx.query<OrderInsertRow>({
      name: `order_insert_${status}`,
      text: `WITH o AS (
               INSERT INTO orders (customer_id, status, total, idempotency_key, reserved_at, expires_at)
               SELECT $1, $2::text,
                      (SELECT COALESCE(sum(q * p), 0) FROM unnest($5::integer[], $6::numeric[]) AS x(q, p)), $3,
                      CASE WHEN $2::text = 'reserved' THEN now() END,
                      CASE WHEN $2::text = 'reserved' THEN now() + make_interval(secs => $7) END
               ON CONFLICT (customer_id, idempotency_key) DO NOTHING
               RETURNING ${ORDER_RETURNING}),
             i AS (
               INSERT INTO order_items (order_id, product_id, quantity, unit_price)
               SELECT o.id, x.product_id, x.quantity, x.unit_price
               FROM o, unnest($4::bigint[], $5::integer[], $6::numeric[]) AS x(product_id, quantity, unit_price))
             SELECT * FROM o`,
      values: [
        order.customerId,
        status,
        order.idempotencyKey ?? null,
        order.lines.map((l) => l.productId),
        order.lines.map((l) => l.quantity),
        unitPrices,
        this.config.ORDER_RESERVATION_TTL,
      ],
    });
    return rows[0] ? toOrder(rows[0], order, prices, status) : null;
  }

  /** Why a conditional take found no row: no such product, or not enough of it. */
  private async whyNot(tx: pg.Pool | pg.PoolClient, line: Line): Promise<PlaceResult> {
    const { rows } = await tx.query<{ stock: number }>({
      name: 'order_stock_of',
      text: 'SELECT stock FROM products WHERE id = $1',
      values: [line.productId],
    });
    return rows[0]
      ? { kind: 'out_of_stock', productId: line.productId, available: rows[0].stock }
      : { kind: 'unknown_product', productId: line.productId };
  }

  private async findByKey(
    customerId: number,
    key: string,
    db: pg.Pool | pg.PoolClient = this.db,
  ): Promise<number | null> {
    const { rows } = await db.query<{ id: string }>({
      name: 'order_by_key',
      text: 'SELECT id FROM orders WHERE customer_id = $1 AND idempotency_key = $2',
      values: [customerId, key],
    });
    return rows[0] ? Number(rows[0].id) : null;
  }
}

const ORDER_RETURNING = 'id, total::text AS total, created_at, updated_at, reserved_at, expires_at';

interface OrderInsertRow {
  id: string;
  total: string;
  created_at: Date;
  updated_at: Date;
  reserved_at: Date | null;
  expires_at: Date | null;
}

/** The order as just written, from what the INSERT returned: no second read. */
function toOrder(
  row: OrderInsertRow,
  order: PlaceOrder & { lines: Line[] },
  prices: Map<number, string>,
  status: 'reserved' | 'pending',
): Order {
  return {
    id: Number(row.id),
    customerId: order.customerId,
    status,
    total: row.total,
    items: order.lines.map((l) => ({
      productId: l.productId,
      quantity: l.quantity,
      unitPrice: prices.get(l.productId) as string,
    })),
    rejectedProductId: null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    reservedAt: row.reserved_at?.toISOString() ?? null,
    expiresAt: row.expires_at?.toISOString() ?? null,
  };
}
