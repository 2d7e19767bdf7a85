import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { inTransaction } from '../../platform/database.ts';
import { markOrdersPaid } from '../orders/orders.repository.ts';
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
  /** A trial of a default that looked unusable: if refused, wait this long (see Decision). */
  ifRefusedRetryInMs?: number;
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
   * Durably accepts a payment (the INSERT commits before the 2xx); the
   * workers' next poll takes it. The same correlationId again: 'duplicate'
   * if the amount is the same, 'conflict' if not.
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
               ON CONFLICT (correlation_id) DO NOTHING RETURNING 1)
             SELECT EXISTS (SELECT 1 FROM ins) AS inserted,
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
   * The common case of claim(), in one statement (no transaction round
   * trips): every due payment goes to `processor`, bar those already pinned,
   * which stay where they are. For when the decision does not depend on how
   * long a payment has waited.
   */
  async claimAllFor(processor: ProcessorName, limit: number, leaseMs: number): Promise<Claimed[]> {
    const { rows } = await this.db.query<{
      correlation_id: string;
      amount: string;
      processor: ProcessorName;
      requested_at: Date;
      attempts: number;
      order_id: string | null;
      pinned_before: boolean;
    }>({
      name: 'payment_claim_all_for',
      text: `WITH due AS (
               SELECT correlation_id, (processor IS NOT NULL AND requested_at IS NOT NULL) AS pinned FROM payments
               WHERE status IN ('queued', 'processing') AND next_attempt_at <= now()
               ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
             UPDATE payments p SET status = 'processing',
                    processor = CASE WHEN due.pinned THEN p.processor ELSE $2 END,
                    requested_at = CASE WHEN due.pinned THEN p.requested_at ELSE $3 END,
                    attempts = p.attempts + 1, next_attempt_at = now() + make_interval(secs => $4 / 1000.0), updated_at = now()
             FROM due WHERE p.correlation_id = due.correlation_id
             RETURNING p.correlation_id, p.amount::text AS amount, p.processor, p.requested_at, p.attempts - 1 AS attempts,
                       p.order_id, due.pinned AS pinned_before`,
      values: [limit, processor, new Date(), leaseMs],
    });
    return rows.map((r) => ({
      attempts: r.attempts,
      orderId: r.order_id === null ? null : Number(r.order_id),
      pinnedBefore: r.pinned_before,
      correlationId: r.correlation_id,
      amount: r.amount,
      processor: r.processor,
      requestedAt: r.requested_at,
    }));
  }

  /**
   * Makes unpinned payments that sleep (waiting for the default, or backing
   * off after a refusal) due now, those due soonest first: for when the
   * default is usable again. `limit` null wakes them all. Returns how many.
   */
  async releaseWaiting(limit: number | null): Promise<number> {
    const { rowCount } = await this.db.query({
      name: 'payment_release_waiting',
      // Locked, skipping rows a worker holds: one it pinned meanwhile is re-checked against these
      // conditions, or skipped while its lock is held, so its lease is never cut short.
      text: `WITH woken AS (
               SELECT correlation_id FROM payments
               WHERE status = 'queued' AND processor IS NULL AND next_attempt_at > now()
               ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
             UPDATE payments p SET next_attempt_at = now() FROM woken WHERE p.correlation_id = woken.correlation_id`,
      values: [limit],
    });
    return rowCount ?? 0;
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
            ifRefusedRetryInMs: d.ifRefusedRetryInMs,
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
   * never give up: the processor may have charged it). A payment pinned by
   * an earlier ambiguous call stays pinned whatever a retry says short of
   * 200/422: a processor answers 500 while failing even for a payment it
   * already holds. Only the claim a worker still holds is recorded (its
   * attempt): a late worker cannot undo what a later claim did.
   */
  async record(
    outcomes: Array<{ claimed: Claimed; outcome: CallOutcome; retryInMs: number }>,
    maxOrderAttempts: number,
  ): Promise<void> {
    type Outcome = (typeof outcomes)[number];
    const next = (o: Outcome): 'done' | 'giveUp' | 'unpin' | 'retry' => {
      if (o.outcome === 'accepted' || o.outcome === 'duplicate') return 'done';
      // Refused on a first call: the processor has nothing. After an ambiguous call, nothing short of 200/422 settles it.
      if ((o.outcome === 'failed' || o.outcome === 'unreachable') && !o.claimed.pinnedBefore)
        return o.claimed.orderId !== null && o.claimed.attempts + 1 >= maxOrderAttempts ? 'giveUp' : 'unpin';
      return 'retry';
    };
    const by = {
      done: [] as Outcome[],
      giveUp: [] as Outcome[],
      unpin: [] as Outcome[],
      retry: [] as Outcome[],
    };
    for (const o of outcomes) by[next(o)].push(o);
    const { done, giveUp, unpin, retry } = by;
    const ids = (xs: typeof outcomes) => xs.map((o) => o.claimed.correlationId);
    const delays = (xs: typeof outcomes) => xs.map((o) => o.retryInMs);
    /** The attempt each claim made: the row still shows it unless another worker claimed it since. */
    const attempts = (xs: typeof outcomes) => xs.map((o) => o.claimed.attempts + 1);
    const errors = (xs: typeof outcomes) => xs.map((o) => `${o.claimed.processor}: ${o.outcome}`);
    const paidOrders = done.flatMap((o) => (o.claimed.orderId === null ? [] : [o.claimed.orderId]));
    const failedOrders = giveUp.map((o) => o.claimed.orderId as number);
    // Orders change too: one transaction. Payments alone: the one statement is atomic by itself.
    const touchesOrders = paidOrders.length > 0 || failedOrders.length > 0;
    const recordPayments = (q: pg.Pool | pg.PoolClient) =>
      q.query({
        name: 'payment_record',
        text: `WITH d AS (UPDATE payments SET status = 'processed', last_error = NULL, updated_at = now() WHERE correlation_id = ANY($1::uuid[])),
                    f AS (UPDATE payments p SET status = 'failed', last_error = 'refused by the processors', updated_at = now()
                          FROM unnest($7::uuid[], $8::integer[]) AS x(id, attempt)
                          WHERE p.correlation_id = x.id AND p.status = 'processing' AND p.attempts = x.attempt),
                    u AS (UPDATE payments p SET status = 'queued', processor = NULL, requested_at = NULL, last_error = x.error,
                            next_attempt_at = now() + make_interval(secs => x.ms / 1000.0), updated_at = now()
                          FROM unnest($2::uuid[], $3::integer[], $4::text[], $9::integer[]) AS x(id, ms, error, attempt)
                          WHERE p.correlation_id = x.id AND p.status = 'processing' AND p.attempts = x.attempt)
               UPDATE payments p SET last_error = x.error, next_attempt_at = now() + make_interval(secs => x.ms / 1000.0), updated_at = now()
               FROM unnest($5::uuid[], $6::integer[], $10::text[], $11::integer[]) AS x(id, ms, error, attempt)
               WHERE p.correlation_id = x.id AND p.status = 'processing' AND p.attempts = x.attempt`,
        values: [
          ids(done),
          ids(unpin),
          delays(unpin),
          errors(unpin),
          ids(retry),
          delays(retry),
          ids(giveUp),
          attempts(giveUp),
          attempts(unpin),
          errors(retry),
          attempts(retry),
        ],
      });
    if (!touchesOrders) {
      await recordPayments(this.db);
      return;
    }
    await inTransaction(this.db, async (tx) => {
      await recordPayments(tx);
      if (paidOrders.length > 0) {
        await markOrdersPaid(tx, paidOrders);
      }
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
      return id;
    });
    if (typeof correlationId !== 'string') return { kind: 'not_payable', status: correlationId.status };
    return { kind: 'payment', payment: (await this.find(correlationId)) as PaymentView };
  }

  /** Whether a card payment of the order is under way or done (one that failed does not count). */
  async hasActivePayment(orderId: number, db: pg.Pool | pg.PoolClient = this.db): Promise<boolean> {
    const { rowCount } = await db.query({
      name: 'payment_active_of_order',
      text: "SELECT 1 FROM payments WHERE order_id = $1 AND status <> 'failed'",
      values: [orderId],
    });
    return (rowCount ?? 0) > 0;
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
