import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { inTransaction } from '../../platform/database.ts';
import { releaseStock } from '../orders/stock.ts';
import type { Decision } from './choose-processor.ts';
import type { CallOutcome, ProcessorName } from './processor-client.ts';

export interface Claimed {
  attempts: number;
  orderId: number | null;
  /** It was already pinned: its last call was ambiguous. */
  pinnedBefore: boolean;
  correlationId: string;
  amount: string;
  processor: ProcessorName;
  requestedAt: Date;
}

export interface PaymentView {
  correlationId: string;
  amount: string;
  status: 'queued' | 'processing' | 'processed' | 'failed';
  processor: ProcessorName | null;
  requestedAt: string | null;
  attempts: number;
  orderId: number | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
}

export type SummaryPart = { totalRequests: number; totalAmount: number };

export class PaymentRepository {
  private readonly db: pg.Pool;
  private readonly acceptDb: pg.Pool;

  /** `acceptDb` takes the accepting INSERTs (PAYMENTS_ASYNC_COMMIT: a pool that does not wait for the WAL flush). */
  constructor(db: pg.Pool, acceptDb: pg.Pool = db) {
    this.db = db;
    this.acceptDb = acceptDb;
  }

  /**
   * Durably accepts a payment (the INSERT commits before the 2xx) and wakes
   * the workers. The same correlationId again: 'duplicate' if the amount is
   * the same, 'conflict' if not.
   */
  async accept(
    correlationId: string,
    amount: string,
    orderId?: number,
  ): Promise<'accepted' | 'duplicate' | 'conflict'> {
    const { rows } = await this.acceptDb.query<{ inserted: boolean; existing: string | null }>({
      name: 'payment_accept',
      text: `WITH ins AS (
               INSERT INTO payments (correlation_id, amount, order_id) VALUES ($1, $2, $3)
               ON CONFLICT (correlation_id) DO NOTHING RETURNING 1),
             n AS (SELECT pg_notify('armazem_payments', '') FROM ins)
             SELECT EXISTS (SELECT 1 FROM ins) AND (SELECT count(*) FROM n) = 1 AS inserted,
                    (SELECT amount::text FROM payments WHERE correlation_id = $1) AS existing`,
      values: [correlationId, amount, orderId ?? null],
    });
    const r = rows[0];
    if (r?.inserted) return 'accepted';
    // A concurrent duplicate committed while this statement waited: its snapshot cannot see it; look again.
    const existing = r?.existing ?? (await this.find(correlationId))?.amount;
    return existing !== undefined && Number(existing) === Number(amount) ? 'duplicate' : 'conflict';
  }

  /**
   * Claims due payments and pins each to a processor with the requestedAt it
   * will send (committed before any call). A payment already pinned stays
   * where it is: its last outcome was ambiguous. `leaseMs` later, a payment
   * whose worker died is due again.
   */
  async claim(limit: number, leaseMs: number, decide: (waitedMs: number) => Decision): Promise<Claimed[]> {
    return inTransaction(this.db, async (tx) => {
      const { rows } = await tx.query<{
        correlation_id: string;
        amount: string;
        processor: ProcessorName | null;
        requested_at: Date | null;
        attempts: number;
        order_id: string | null;
        waited_ms: number;
      }>({
        name: 'payment_claim',
        text: `SELECT correlation_id, amount::text AS amount, processor, requested_at, attempts, order_id,
                      (extract(epoch FROM now() - created_at) * 1000)::float8 AS waited_ms
               FROM payments WHERE status IN ('queued', 'processing') AND next_attempt_at <= now()
               ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
        values: [limit],
      });
      const claimed: Claimed[] = [];
      const waits: Array<[string, number]> = [];
      const now = new Date();
      for (const r of rows) {
        if (r.processor && r.requested_at) {
          claimed.push({
            attempts: r.attempts,
            orderId: r.order_id === null ? null : Number(r.order_id),
            pinnedBefore: true,
            correlationId: r.correlation_id,
            amount: r.amount,
            processor: r.processor,
            requestedAt: r.requested_at,
          });
          continue;
        }
        const d = decide(r.waited_ms);
        if ('use' in d) {
          claimed.push({
            attempts: r.attempts,
            orderId: r.order_id === null ? null : Number(r.order_id),
            pinnedBefore: false,
            correlationId: r.correlation_id,
            amount: r.amount,
            processor: d.use,
            requestedAt: now,
          });
        } else waits.push([r.correlation_id, d.retryInMs]);
      }
      await tx.query({
        name: 'payment_pin',
        text: `UPDATE payments p SET status = 'processing', processor = c.processor, requested_at = c.requested_at,
                 attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => $4 / 1000.0), updated_at = now()
               FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) AS c(id, processor, requested_at) WHERE p.correlation_id = c.id`,
        values: [
          claimed.map((c) => c.correlationId),
          claimed.map((c) => c.processor),
          claimed.map((c) => c.requestedAt),
          leaseMs,
        ],
      });
      await tx.query({
        name: 'payment_defer',
        text: `UPDATE payments p SET next_attempt_at = now() + make_interval(secs => w.ms / 1000.0)
               FROM unnest($1::uuid[], $2::integer[]) AS w(id, ms) WHERE p.correlation_id = w.id`,
        values: [waits.map(([id]) => id), waits.map(([, ms]) => ms)],
      });
      return claimed;
    });
  }

  /**
   * Records what the processors said: accepted or duplicate → processed (an
   * order it pays becomes paid); failed or unreachable → unpinned, any
   * processor may take it next — unless it pays an order and has used up
   * maxOrderAttempts: then it fails, the order becomes payment_failed and its
   * stock is released; ambiguous → stays pinned, to be asked again (it can
   * never give up: the processor may have charged it).
   */
  async record(
    outcomes: Array<{ claimed: Claimed; outcome: CallOutcome; retryInMs: number }>,
    maxOrderAttempts: number,
  ): Promise<void> {
    const done = outcomes.filter((o) => o.outcome === 'accepted' || o.outcome === 'duplicate');
    const refused = outcomes.filter((o) => o.outcome === 'failed' || o.outcome === 'unreachable');
    const giveUp = refused.filter(
      (o) => o.claimed.orderId !== null && o.claimed.attempts + 1 >= maxOrderAttempts,
    );
    const unpin = refused.filter((o) => !giveUp.includes(o));
    const retry = outcomes.filter((o) => o.outcome === 'ambiguous');
    const ids = (xs: typeof outcomes) => xs.map((o) => o.claimed.correlationId);
    const delays = (xs: typeof outcomes) => xs.map((o) => o.retryInMs);
    await inTransaction(this.db, async (tx) => {
      await tx.query({
        name: 'payment_record',
        text: `WITH d AS (UPDATE payments SET status = 'processed', last_error = NULL, updated_at = now() WHERE correlation_id = ANY($1::uuid[])),
                    f AS (UPDATE payments SET status = 'failed', last_error = 'refused by the processors', updated_at = now()
                          WHERE correlation_id = ANY($7::uuid[])),
                    u AS (UPDATE payments p SET status = 'queued', processor = NULL, requested_at = NULL, last_error = x.error,
                            next_attempt_at = now() + make_interval(secs => x.ms / 1000.0), updated_at = now()
                          FROM unnest($2::uuid[], $3::integer[], $4::text[]) AS x(id, ms, error) WHERE p.correlation_id = x.id)
               UPDATE payments p SET last_error = 'ambiguous', next_attempt_at = now() + make_interval(secs => x.ms / 1000.0), updated_at = now()
               FROM unnest($5::uuid[], $6::integer[]) AS x(id, ms) WHERE p.correlation_id = x.id`,
        values: [
          ids(done),
          ids(unpin),
          delays(unpin),
          unpin.map((o) => `${o.claimed.processor}: ${o.outcome}`),
          ids(retry),
          delays(retry),
          ids(giveUp),
        ],
      });
      const paidOrders = done.flatMap((o) => (o.claimed.orderId === null ? [] : [o.claimed.orderId]));
      if (paidOrders.length > 0) {
        await tx.query({
          name: 'payment_orders_paid',
          text: "UPDATE orders SET status = 'paid', updated_at = now() WHERE id = ANY($1::bigint[]) AND status = 'reserved'",
          values: [paidOrders],
        });
      }
      const failedOrders = giveUp.map((o) => o.claimed.orderId as number);
      if (failedOrders.length > 0) {
        const { rows } = await tx.query<{ id: string }>({
          name: 'payment_orders_failed',
          text: "UPDATE orders SET status = 'payment_failed', updated_at = now() WHERE id = ANY($1::bigint[]) AND status = 'reserved' RETURNING id",
          values: [failedOrders],
        });
        await releaseStock(
          tx,
          rows.map((r) => Number(r.id)),
        );
      }
    });
  }

  /**
   * Starts paying a reserved order: one payment per order, for its total.
   * Paying again returns the payment already under way.
   */
  async payOrder(
    orderId: number,
  ): Promise<{ kind: 'payment'; payment: PaymentView } | { kind: 'not_payable'; status: string }> {
    const correlationId = await inTransaction(this.db, async (tx) => {
      const { rows } = await tx.query<{ status: string; total: string }>({
        name: 'payment_order_lock',
        text: 'SELECT status, total::text AS total FROM orders WHERE id = $1 FOR UPDATE',
        values: [orderId],
      });
      const order = rows[0];
      const { rows: existing } = await tx.query<{ correlation_id: string }>({
        name: 'payment_of_order',
        text: 'SELECT correlation_id FROM payments WHERE order_id = $1',
        values: [orderId],
      });
      if (existing[0]) return existing[0].correlation_id;
      if (order?.status !== 'reserved') return { status: order?.status ?? 'missing' };
      const id = randomUUID();
      await tx.query({
        name: 'payment_order_insert',
        text: 'INSERT INTO payments (correlation_id, amount, order_id) VALUES ($1, $2, $3)',
        values: [id, order.total, orderId],
      });
      await tx.query("SELECT pg_notify('armazem_payments', '')");
      return id;
    });
    if (typeof correlationId !== 'string') return { kind: 'not_payable', status: correlationId.status };
    return { kind: 'payment', payment: (await this.find(correlationId)) as PaymentView };
  }

  /** Processed payments per processor, by the requestedAt sent; sums are exact numerics. */
  async summary(from?: string, to?: string): Promise<{ default: SummaryPart; fallback: SummaryPart }> {
    const { rows } = await this.db.query<{ processor: ProcessorName; n: string; total: string }>({
      name: 'payment_summary',
      text: `SELECT processor, count(*) AS n, COALESCE(sum(amount), 0)::text AS total FROM payments
             WHERE status = 'processed' AND ($1::timestamptz IS NULL OR requested_at >= $1) AND ($2::timestamptz IS NULL OR requested_at <= $2)
             GROUP BY processor`,
      values: [from ?? null, to ?? null],
    });
    const part = (name: ProcessorName): SummaryPart => {
      const r = rows.find((x) => x.processor === name);
      return { totalRequests: Number(r?.n ?? 0), totalAmount: Number(r?.total ?? 0) };
    };
    return { default: part('default'), fallback: part('fallback') };
  }

  /** The work not yet confirmed, for metrics. */
  async queueStats(): Promise<{ depth: number; oldestAgeSeconds: number }> {
    const { rows } = await this.db.query<{ depth: string; age: number | null }>({
      name: 'payment_queue_stats',
      text: "SELECT count(*) AS depth, extract(epoch FROM now() - min(created_at))::float8 AS age FROM payments WHERE status IN ('queued', 'processing')",
    });
    return { depth: Number(rows[0]?.depth ?? 0), oldestAgeSeconds: rows[0]?.age ?? 0 };
  }

  async purge(): Promise<number> {
    const { rowCount } = await this.db.query('DELETE FROM payments WHERE order_id IS NULL');
    return rowCount ?? 0;
  }

  async find(correlationId: string): Promise<PaymentView | null> {
    const { rows } = await this.db.query<{
      correlation_id: string;
      amount: string;
      status: PaymentView['status'];
      processor: ProcessorName | null;
      requested_at: Date | null;
      attempts: number;
      order_id: string | null;
      last_error: string | null;
      created_at: Date;
      updated_at: Date;
    }>({
      name: 'payment_find',
      text: `SELECT correlation_id, amount::text AS amount, status, processor, requested_at, attempts, order_id, last_error, created_at, updated_at
             FROM payments WHERE correlation_id = $1`,
      values: [correlationId],
    });
    const r = rows[0];
    if (!r) return null;
    return {
      correlationId: r.correlation_id,
      amount: r.amount,
      status: r.status,
      processor: r.processor,
      requestedAt: r.requested_at?.toISOString() ?? null,
      attempts: r.attempts,
      orderId: r.order_id === null ? null : Number(r.order_id),
      lastError: r.last_error,
      createdAt: r.created_at.toISOString(),
      updatedAt: r.updated_at.toISOString(),
    };
  }
}
