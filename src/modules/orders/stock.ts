import type pg from 'pg';

/** One product's demand in an order; lines are merged per product and sorted by product id. */
export interface Line {
  productId: number;
  quantity: number;
}

/** Sums repeated products and sorts by product id: every lock is then taken in one global order. */
export function mergeLines(items: Array<{ productId: number; quantity: number }>): Line[] {
  const byProduct = new Map<number, number>();
  for (const i of items) byProduct.set(i.productId, (byProduct.get(i.productId) ?? 0) + i.quantity);
  return [...byProduct].sort(([a], [b]) => a - b).map(([productId, quantity]) => ({ productId, quantity }));
}

/**
 * Locks products in id order (the one order every path uses, so no two
 * transactions ever wait on each other in a cycle) and returns their stock.
 */
export async function lockProducts(
  tx: pg.PoolClient,
  productIds: number[],
): Promise<Map<number, { stock: number; price: string }>> {
  const { rows } = await tx.query<{ id: string; stock: number; price: string }>({
    name: 'stock_lock',
    text: 'SELECT id, stock, price FROM products WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE',
    values: [productIds],
  });
  return new Map(rows.map((r) => [Number(r.id), { stock: r.stock, price: r.price }]));
}

/** Applies per-product stock changes (negative takes, positive returns) to rows already locked. */
export async function applyStockDeltas(tx: pg.PoolClient, deltas: Map<number, number>): Promise<void> {
  const entries = [...deltas].filter(([, d]) => d !== 0);
  if (entries.length === 0) return;
  // Unprepared, planned at each call: a join to unnest() (see namedStatement's planEachCall).
  await tx.query({
    text: `UPDATE products p SET stock = p.stock + d.delta, version = p.version + 1
           FROM unnest($1::bigint[], $2::integer[]) AS d(id, delta) WHERE p.id = d.id`,
    values: [entries.map(([id]) => id), entries.map(([, d]) => d)],
  });
}

/** Puts back the stock held by these orders (cancel, expiry, failed payment). */
export async function releaseStock(tx: pg.PoolClient, orderIds: number[]): Promise<void> {
  if (orderIds.length === 0) return;
  const { rows } = await tx.query<{ product_id: string; quantity: string }>({
    name: 'stock_held_by_orders',
    text: `SELECT product_id, sum(quantity) AS quantity FROM order_items WHERE order_id = ANY($1::bigint[])
           GROUP BY product_id ORDER BY product_id`,
    values: [orderIds],
  });
  const deltas = new Map(rows.map((r) => [Number(r.product_id), Number(r.quantity)]));
  await lockProducts(tx, [...deltas.keys()]);
  await applyStockDeltas(tx, deltas);
}
