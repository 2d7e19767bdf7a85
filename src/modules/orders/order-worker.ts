import type pg from 'pg';
import { inTransaction } from '../../platform/database.ts';
import type { Logger } from '../../platform/logger.ts';
import { inSpan } from '../../platform/tracing.ts';
import { WakeLoop } from '../../platform/wake-loop.ts';
import type { OrderRepository } from './orders.repository.ts';
import { applyStockDeltas, lockProducts } from './stock.ts';

/**
 * The queued strategy's worker. Pending orders are the queue: durable (they
 * are rows), shared by every instance, claimed with FOR UPDATE SKIP LOCKED so
 * two workers never take the same order. One transaction reserves a whole
 * batch: it locks every product the batch needs once, in id order (no
 * deadlock with other workers or with synchronous orders), decides each order
 * in order of arrival against the stock left, and commits all of it at once —
 * many reservations per durable commit. A worker killed mid-batch leaves its
 * transaction rolled back and the orders pending for the next one: nothing is
 * lost and nothing is reserved twice.
 */
export async function reservePendingBatch(
  db: pg.Pool,
  opts: { batchSize: number; reservationTtlSeconds: number },
): Promise<{ reserved: number; rejected: number }> {
  return inTransaction(db, async (tx) => {
    const { rows: orders } = await tx.query<{ id: string }>({
      name: 'queue_claim',
      text: "SELECT id FROM orders WHERE status = 'pending' ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
      values: [opts.batchSize],
    });
    if (orders.length === 0) return { reserved: 0, rejected: 0 };
    // A span only for batches that found work (idle polls would be noise).
    return inSpan('order-worker batch', { 'armazem.orders.claimed': orders.length }, async (span) => {
      const ids = orders.map((o) => Number(o.id));
      const { rows: items } = await tx.query<{ order_id: string; product_id: string; quantity: number }>({
        name: 'queue_items',
        text: 'SELECT order_id, product_id, quantity FROM order_items WHERE order_id = ANY($1::bigint[]) ORDER BY order_id, product_id',
        values: [ids],
      });
      const lines = new Map<number, Array<{ productId: number; quantity: number }>>();
      for (const i of items) {
        const list = lines.get(Number(i.order_id)) ?? [];
        list.push({ productId: Number(i.product_id), quantity: i.quantity });
        lines.set(Number(i.order_id), list);
      }
      const productIds = [...new Set(items.map((i) => Number(i.product_id)))].sort((a, b) => a - b);
      const stock = new Map([...(await lockProducts(tx, productIds))].map(([id, p]) => [id, p.stock]));

      const reserved: number[] = [];
      const rejected: Array<[number, number]> = [];
      const taken = new Map<number, number>();
      for (const orderId of ids) {
        const want = lines.get(orderId) ?? [];
        const short = want.find((l) => (stock.get(l.productId) ?? 0) < l.quantity);
        if (short) {
          rejected.push([orderId, short.productId]);
          continue;
        }
        for (const l of want) {
          stock.set(l.productId, (stock.get(l.productId) ?? 0) - l.quantity);
          taken.set(l.productId, (taken.get(l.productId) ?? 0) - l.quantity);
        }
        reserved.push(orderId);
      }
      await applyStockDeltas(tx, taken);
      await tx.query({
        name: 'queue_mark_reserved',
        text: `UPDATE orders SET status = 'reserved', reserved_at = now(), updated_at = now(),
               expires_at = now() + make_interval(secs => $2)
             WHERE id = ANY($1::bigint[])`,
        values: [reserved, opts.reservationTtlSeconds],
      });
      // Unprepared, planned at each call: a join to unnest() (see namedStatement's planEachCall).
      await tx.query({
        text: `UPDATE orders o SET status = 'rejected', rejected_product_id = r.product_id, updated_at = now()
             FROM unnest($1::bigint[], $2::bigint[]) AS r(id, product_id) WHERE o.id = r.id`,
        values: [rejected.map(([o]) => o), rejected.map(([, p]) => p)],
      });
      span.setAttributes({
        'armazem.orders.reserved': reserved.length,
        'armazem.orders.rejected': rejected.length,
      });
      return { reserved: reserved.length, rejected: rejected.length };
    });
  });
}

export interface WorkerOptions {
  batchSize: number;
  reservationTtlSeconds: number;
  /** LISTEN for new orders on a dedicated connection (not with the single-connection embedded database). */
  listen: boolean;
  /** How often to look for work when no notification arrives. */
  pollMs?: number;
  /** Listening, an idle worker backs off to this between looks: a NOTIFY wakes it anyway. */
  idlePollMaxMs?: number;
  sweepEveryMs?: number;
}

/** Runs the queue and the reservation sweeper until stopped; stop() lets the current batch finish. */
export class OrderWorker extends WakeLoop {
  private lastSweep = 0;
  private readonly orders: OrderRepository;
  private readonly opts: WorkerOptions;

  constructor(db: pg.Pool, orders: OrderRepository, log: Logger, opts: WorkerOptions) {
    super(db, log, {
      channel: 'armazem_orders',
      listen: opts.listen,
      idleMs: opts.pollMs ?? 250,
      // Each look is a transaction of three round trips; without LISTEN, polling is all there is.
      ...(opts.listen ? { maxIdleMs: opts.idlePollMaxMs } : {}),
    });
    this.orders = orders;
    this.opts = opts;
  }

  protected async step(): Promise<boolean> {
    const { reserved, rejected } = await reservePendingBatch(this.db, this.opts);
    if (reserved + rejected > 0) {
      this.log.debug({ reserved, rejected }, 'order batch processed');
      return true;
    }
    if (Date.now() - this.lastSweep > (this.opts.sweepEveryMs ?? 5000)) {
      this.lastSweep = Date.now();
      const expired = await this.orders.sweepExpired();
      if (expired > 0) this.log.info({ expired }, 'expired reservations cancelled');
    }
    return false;
  }
}
