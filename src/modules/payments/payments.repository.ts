import type pg from 'pg';
import { accept, payOrder } from './accept.ts';
import type { AcceptJournal, Handoff } from './accept-journal.ts';
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
  private journal: AcceptJournal | null = null;

  /** `acceptDb` takes the accepting INSERTs (PAYMENTS_ASYNC_COMMIT: a pool that does not wait for the WAL flush). */
  constructor(db: pg.Pool, acceptDb: pg.Pool = db) {
    this.db = db;
    this.acceptDb = acceptDb;
  }

  /** Accepts go to the journal from now on (PAYMENTS_JOURNAL_DIR); a worker hears of them once they are in PostgreSQL. */
  useJournal(journal: AcceptJournal): void {
    this.journal = journal;
  }

  /** A worker in this process takes the journal's accepts as they are inserted (see Handoff). */
  handOffTo(handoff: Handoff): void {
    this.journal?.useHandoff(handoff);
  }

  /** The journal's accepts are sent to PostgreSQL before this returns. */
  async close(): Promise<void> {
    await this.journal?.close();
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
  ): Promise<'accepted' | 'duplicate' | 'conflict' | 'unavailable'> {
    if (this.journal && orderId === undefined) return this.journal.accept(correlationId, amount);
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

  /** Public for the journal, which tells once its accepts are in PostgreSQL. */
  accepted(): void {
    for (const listener of this.acceptedListeners) listener();
  }

  hasActivePayment(orderId: number, db: pg.Pool | pg.PoolClient = this.db): Promise<boolean> {
    return hasActivePayment(db, orderId);
  }

  summary(from?: string, to?: string): ReturnType<typeof summary> {
    return summary(this.db, from, to);
  }

  /** The journal's accepts not yet sent count as queued. */
  async queueStats(): ReturnType<typeof queueStats> {
    const stats = await queueStats(this.db);
    return { ...stats, depth: stats.depth + (this.journal?.pendingCount ?? 0) };
  }

  async purge(): Promise<number> {
    // Accepts this instance still holds would come back after the DELETE.
    await this.journal?.discard();
    const { rowCount } = await this.db.query('DELETE FROM payments WHERE order_id IS NULL');
    return rowCount ?? 0;
  }

  async find(correlationId: string): Promise<PaymentView | null> {
    const found = await findPayment(this.db, correlationId);
    const held = found ? undefined : this.journal?.find(correlationId);
    if (!held) return found;
    // Accepted here and not yet sent: it is queued all the same.
    const at = new Date(held.acceptedAtMs).toISOString();
    return {
      ...held,
      status: 'queued',
      processor: null,
      requestedAt: null,
      attempts: 0,
      orderId: null,
      lastError: null,
      createdAt: at,
      updatedAt: at,
    };
  }
}
