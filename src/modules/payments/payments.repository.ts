import type pg from 'pg';
import { accept, payOrder } from './accept.ts';
import type { Decision } from './choose-processor.ts';
import { claim, claimAllFor, type Lease, releaseWaiting } from './claim.ts';
import type { Claimed } from './claimed.ts';
import { findPayment, hasActivePayment, type PaymentView } from './payment-view.ts';
import type { ProcessorName } from './processor-client.ts';
import { type Outcome, recordOutcomes } from './record-outcome.ts';
import { queueStats, type SummaryPart, summary } from './summary.ts';

export type { Claimed, Lease, PaymentView, SummaryPart };

const leaseOf = (lease: number | Lease): Lease =>
  typeof lease === 'number' ? { leaseMs: lease, retryLeaseMs: lease } : lease;

/**
 * The payments table, behind the pools it is reached through. The
 * statements live in files named for what they do: accept.ts, claim.ts,
 * record-outcome.ts, summary.ts, payment-view.ts.
 */
export class PaymentRepository {
  private readonly db: pg.Pool;
  private readonly acceptDb: pg.Pool;
  private readonly acceptedListeners: Array<() => void> = [];

  /** `acceptDb` takes the accepting INSERTs (PAYMENTS_ASYNC_COMMIT: a pool that does not wait for the WAL flush). */
  constructor(db: pg.Pool, acceptDb: pg.Pool = db) {
    this.db = db;
    this.acceptDb = acceptDb;
  }

  /** Called after each payment this process accepts (a worker in the same process wakes). */
  onAccepted(listener: () => void): void {
    this.acceptedListeners.push(listener);
  }

  /** See accept.ts. */
  async accept(
    correlationId: string,
    amount: string,
    orderId?: number,
  ): Promise<'accepted' | 'duplicate' | 'conflict'> {
    const outcome = await accept(this.acceptDb, { correlationId, amount, orderId });
    if (outcome === 'accepted') this.accepted();
    return outcome;
  }

  /** See claim.ts. A lease in ms is the same for first calls and retries. */
  claimAllFor(processor: ProcessorName, limit: number, lease: number | Lease): Promise<Claimed[]> {
    return claimAllFor(this.db, { processor, limit, ...leaseOf(lease) });
  }

  claim(limit: number, lease: number | Lease, decide: (waitedMs: number) => Decision): Promise<Claimed[]> {
    return claim(this.db, { limit, ...leaseOf(lease), decide });
  }

  releaseWaiting(limit: number | null): Promise<number> {
    return releaseWaiting(this.db, limit);
  }

  /** See record-outcome.ts. */
  record(outcomes: Outcome[], maxOrderAttempts: number): Promise<void> {
    return recordOutcomes(this.db, outcomes, maxOrderAttempts);
  }

  async payOrder(orderId: number): ReturnType<typeof payOrder> {
    const result = await payOrder(this.db, orderId);
    if (result.kind === 'payment') this.accepted();
    return result;
  }

  private accepted(): void {
    for (const listener of this.acceptedListeners) listener();
  }

  hasActivePayment(orderId: number, db: pg.Pool | pg.PoolClient = this.db): Promise<boolean> {
    return hasActivePayment(db, orderId);
  }

  summary(from?: string, to?: string): ReturnType<typeof summary> {
    return summary(this.db, from, to);
  }

  queueStats(): ReturnType<typeof queueStats> {
    return queueStats(this.db);
  }

  async purge(): Promise<number> {
    const { rowCount } = await this.db.query('DELETE FROM payments WHERE order_id IS NULL');
    return rowCount ?? 0;
  }

  find(correlationId: string): Promise<PaymentView | null> {
    return findPayment(this.db, correlationId);
  }
}
