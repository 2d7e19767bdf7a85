import type pg from 'pg';
import { inTransaction, isOutOfRange } from '../../platform/database.ts';
import type { Order, OrderStatus } from './orders.schemas.ts';
import { applyStockDeltas, lockProducts, releaseStock } from './stock.ts';

interface OrderRow {
  id: string;
  customer_id: string;
  status: OrderStatus;
  total: string;
  rejected_product_id: string | null;
  created_at: Date;
  updated_at: Date;
  reserved_at: Date | null;
  expires_at: Date | null;
  items: Array<{ product_id: number; quantity: number; unit_price: string }>;
}

const SELECT_ORDER = `SELECT o.id, o.customer_id, o.status, o.total, o.rejected_product_id, o.created_at, o.updated_at,
         o.reserved_at, o.expires_at,
         (SELECT json_agg(json_build_object('product_id', i.product_id, 'quantity', i.quantity, 'unit_price', i.unit_price::text)
                          ORDER BY i.product_id)
          FROM order_items i WHERE i.order_id = o.id) AS items
  FROM orders o`;

function toOrder(r: OrderRow): Order {
  return {
    id: Number(r.id),
    customerId: Number(r.customer_id),
    status: r.status,
    total: r.total,
    items: (r.items ?? []).map((i) => ({
      productId: Number(i.product_id),
      quantity: i.quantity,
      unitPrice: i.unit_price,
    })),
    rejectedProductId: r.rejected_product_id === null ? null : Number(r.rejected_product_id),
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    reservedAt: r.reserved_at?.toISOString() ?? null,
    expiresAt: r.expires_at?.toISOString() ?? null,
  };
}

/** Locks an order's row (every change to an order starts here) and returns its status. */
async function lockStatus(tx: pg.PoolClient, id: number): Promise<OrderStatus | undefined> {
  const { rows } = await tx.query<{ status: OrderStatus }>({
    name: 'order_lock',
    text: 'SELECT status FROM orders WHERE id = $1 FOR UPDATE',
    values: [id],
  });
  return rows[0]?.status;
}

/**
 * reserved → paid, in the caller's transaction: how a payment (card or store
 * credit) tells orders it settled them. Returns the ids that changed.
 */
export async function markOrdersPaid(tx: pg.PoolClient, ids: number[]): Promise<number[]> {
  const { rows } = await tx.query<{ id: string }>({
    name: 'orders_mark_paid',
    text: "UPDATE orders SET status = 'paid', updated_at = now() WHERE id = ANY($1::bigint[]) AND status = 'reserved' RETURNING id",
    values: [ids],
  });
  return rows.map((r) => Number(r.id));
}

export type ChangeResult =
  | { kind: 'changed'; order: Order }
  | { kind: 'not_found' }
  | { kind: 'not_reserved'; status: OrderStatus }
  | { kind: 'not_in_order'; productId: number }
  | { kind: 'empty' }
  | { kind: 'out_of_stock'; productId: number; available: number }
  | { kind: 'total_too_large' };

export type CancelResult =
  | { kind: 'cancelled'; order: Order }
  | { kind: 'not_found' }
  | { kind: 'final'; status: OrderStatus }
  | { kind: 'paying' };

export class OrderRepository {
  private readonly db: pg.Pool;

  constructor(db: pg.Pool) {
    this.db = db;
  }

  async findById(id: number, db: pg.Pool | pg.PoolClient = this.db): Promise<Order | null> {
    const { rows } = await db.query<OrderRow>({
      name: 'order_by_id',
      text: `${SELECT_ORDER} WHERE o.id = $1`,
      values: [id],
    });
    return rows[0] ? toOrder(rows[0]) : null;
  }

  /**
   * Newest first, keyset on (created_at, id): the cursor is the last id, whose
   * exact timestamp the database looks up, so no precision is lost on the way.
   */
  async list(f: {
    customerId?: number;
    from?: string;
    to?: string;
    beforeId?: number;
    limit: number;
  }): Promise<Order[]> {
    const { rows } = await this.db.query<OrderRow>({
      // Unnamed, planned at each call (as accountSql, planEachCall): a generic plan cannot drop `$1 IS NULL OR` and walked all orders.
      text: `${SELECT_ORDER}
             WHERE ($1::bigint IS NULL OR o.customer_id = $1)
               AND ($2::timestamptz IS NULL OR o.created_at >= $2)
               AND ($3::timestamptz IS NULL OR o.created_at < $3)
               AND ($4::bigint IS NULL OR (o.created_at, o.id) < (SELECT created_at, id FROM orders WHERE id = $4))
             ORDER BY o.created_at DESC, o.id DESC LIMIT $5`,
      values: [f.customerId ?? null, f.from ?? null, f.to ?? null, f.beforeId ?? null, f.limit],
    });
    return rows.map(toOrder);
  }

  /**
   * pending or reserved → cancelled; a reserved order's stock goes back.
   * The order row is locked first, so of concurrent cancels one releases the
   * stock and the others find it already cancelled (and answer the same).
   */
  async cancel(id: number): Promise<CancelResult> {
    return inTransaction(this.db, async (tx) => {
      const status = await lockStatus(tx, id);
      if (!status) return { kind: 'not_found' as const };
      if (status === 'cancelled')
        return { kind: 'cancelled' as const, order: (await this.findById(id, tx)) as Order };
      if (status !== 'pending' && status !== 'reserved') return { kind: 'final' as const, status };
      const { rowCount: paying } = await tx.query({
        name: 'order_payment_active',
        text: "SELECT 1 FROM payments WHERE order_id = $1 AND status <> 'failed'",
        values: [id],
      });
      if (paying) return { kind: 'paying' as const };
      await tx.query({
        name: 'order_cancel',
        text: "UPDATE orders SET status = 'cancelled', updated_at = now() WHERE id = $1",
        values: [id],
      });
      if (status === 'reserved') await releaseStock(tx, [id]);
      return { kind: 'cancelled' as const, order: (await this.findById(id, tx)) as Order };
    });
  }

  /** Sets quantities of items already in a reserved order (0 removes), taking or returning the difference in stock. */
  async changeQuantities(
    id: number,
    wanted: Array<{ productId: number; quantity: number }>,
  ): Promise<ChangeResult> {
    return this.changeInTransaction(id, wanted).catch((err) => {
      if (isOutOfRange(err)) return { kind: 'total_too_large' as const };
      throw err;
    });
  }

  private changeInTransaction(
    id: number,
    wanted: Array<{ productId: number; quantity: number }>,
  ): Promise<ChangeResult> {
    return inTransaction(this.db, async (tx) => {
      const status = await lockStatus(tx, id);
      if (!status) return { kind: 'not_found' as const };
      if (status !== 'reserved') return { kind: 'not_reserved' as const, status };
      const { rows: items } = await tx.query<{ product_id: string; quantity: number }>({
        name: 'order_items_of',
        text: 'SELECT product_id, quantity FROM order_items WHERE order_id = $1',
        values: [id],
      });
      const current = new Map(items.map((i) => [Number(i.product_id), i.quantity]));
      const next = new Map(current);
      for (const w of wanted) {
        if (!current.has(w.productId)) return { kind: 'not_in_order' as const, productId: w.productId };
        next.set(w.productId, w.quantity);
      }
      if ([...next.values()].every((q) => q === 0)) return { kind: 'empty' as const };
      // Stock moves by the opposite of each quantity change.
      const deltas = new Map([...next].map(([pid, q]) => [pid, (current.get(pid) ?? 0) - q]));
      const locked = await lockProducts(
        tx,
        [...deltas.keys()].sort((a, b) => a - b),
      );
      for (const [pid, delta] of deltas) {
        const available = locked.get(pid)?.stock ?? 0;
        if (available + delta < 0) return { kind: 'out_of_stock' as const, productId: pid, available };
      }
      await applyStockDeltas(tx, deltas);
      await tx.query({
        name: 'order_items_set',
        text: `WITH w AS (SELECT * FROM unnest($2::bigint[], $3::integer[]) AS w(product_id, quantity)),
                    d AS (DELETE FROM order_items i USING w WHERE i.order_id = $1 AND i.product_id = w.product_id AND w.quantity = 0)
               UPDATE order_items i SET quantity = w.quantity FROM w
               WHERE i.order_id = $1 AND i.product_id = w.product_id AND w.quantity > 0`,
        values: [id, [...next.keys()], [...next.values()]],
      });
      await tx.query({
        name: 'order_total',
        text: `UPDATE orders SET updated_at = now(),
                 total = (SELECT COALESCE(sum(quantity * unit_price), 0) FROM order_items WHERE order_id = $1)
               WHERE id = $1`,
        values: [id],
      });
      return { kind: 'changed' as const, order: (await this.findById(id, tx)) as Order };
    });
  }

  /** The queue's depth and its oldest order's age, for metrics. */
  async queueStats(): Promise<{ depth: number; oldestAgeSeconds: number }> {
    const { rows } = await this.db.query<{ depth: string; age: number | null }>({
      name: 'order_queue_stats',
      text: "SELECT count(*) AS depth, extract(epoch FROM now() - min(created_at))::float8 AS age FROM orders WHERE status = 'pending'",
    });
    return { depth: Number(rows[0]?.depth ?? 0), oldestAgeSeconds: rows[0]?.age ?? 0 };
  }

  /** Cancels reserved orders past their expiry, releasing their stock; returns how many. */
  async sweepExpired(batch = 500): Promise<number> {
    return inTransaction(this.db, async (tx) => {
      const { rows } = await tx.query<{ id: string }>({
        name: 'order_sweep',
        text: `WITH expired AS (
                 SELECT id FROM orders WHERE status = 'reserved' AND expires_at < now()
                   -- An order being paid is not abandoned: its payment decides.
                   AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.order_id = orders.id AND p.status <> 'failed')
                 ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
               UPDATE orders o SET status = 'cancelled', updated_at = now() FROM expired WHERE o.id = expired.id RETURNING o.id`,
        values: [batch],
      });
      await releaseStock(
        tx,
        rows.map((r) => Number(r.id)),
      );
      return rows.length;
    });
  }

  /** For every product: received = stock + held by reserved and paid orders; returns the ones where it is not. */
  async stockCheck(): Promise<{
    checked: number;
    mismatches: Array<{
      productId: number;
      name: string;
      received: number;
      stock: number;
      held: number;
      difference: number;
    }>;
  }> {
    const { rows } = await this.db.query<{
      id: string;
      name: string;
      stock_received: number;
      stock: number;
      held: string;
      checked: string;
    }>(
      `WITH held AS (
         SELECT i.product_id, sum(i.quantity) AS held FROM order_items i JOIN orders o ON o.id = i.order_id
         WHERE o.status IN ('reserved', 'paid') GROUP BY i.product_id)
       SELECT p.id, p.name, p.stock_received, p.stock, COALESCE(h.held, 0) AS held, count(*) OVER () AS checked
       FROM products p LEFT JOIN held h ON h.product_id = p.id`,
    );
    const mismatches = rows
      .map((r) => ({
        productId: Number(r.id),
        name: r.name,
        received: r.stock_received,
        stock: r.stock,
        held: Number(r.held),
        difference: r.stock_received - r.stock - Number(r.held),
      }))
      .filter((m) => m.difference !== 0);
    return { checked: rows.length, mismatches };
  }
}
