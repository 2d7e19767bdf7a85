import type pg from 'pg';
import { inTransaction, retryWhileUnavailable } from '../../platform/database.ts';
import { namedStatement } from '../../platform/named-statement.ts';
import { settleOrderPayments } from '../orders/settle-payment.ts';
import type { Claimed } from './claimed.ts';
import type { CallOutcome } from './processor-client.ts';

export interface Outcome {
  claimed: Claimed;
  outcome: CallOutcome;
  retryInMs: number;
}

/** How long outcomes wait for the database to come back before the worker gives them up to their lease. */
const RECORD_RETRY_MS = 30_000;

/** What a call's outcome does to its payment. */
export type Next = 'done' | 'give_up' | 'unpin' | 'retry';

function next(o: Outcome, maxOrderAttempts: number): Next {
  if (o.outcome === 'accepted' || o.outcome === 'duplicate') return 'done';
  // Refused on a first call: the processor has nothing. After an ambiguous call, nothing short of 200/422 settles it.
  if ((o.outcome === 'failed' || o.outcome === 'unreachable') && !o.claimed.pinnedBefore)
    return o.claimed.orderId !== null && o.claimed.attempts + 1 >= maxOrderAttempts ? 'give_up' : 'unpin';
  return 'retry';
}

/**
 * Records outcomes, one row each in `$ids`, `$nexts`, `$attempts`, `$delaysMs`, `$errors`. `done`
 * is recorded whatever the row shows (the processor has the payment, so it is processed); the
 * others only if the row still shows the attempt this claim made (another worker may have claimed
 * it since, and a late worker must not undo what a later claim did). Exported for a statement that
 * does more in the same commit (accept-journal.ts).
 */
export const RECORD_OUTCOMES = `UPDATE payments p SET
     status = CASE x.next WHEN 'done' THEN 'processed' WHEN 'give_up' THEN 'failed' WHEN 'unpin' THEN 'queued' ELSE p.status END,
     processor = CASE WHEN x.next = 'unpin' THEN NULL ELSE p.processor END,
     requested_at = CASE WHEN x.next = 'unpin' THEN NULL ELSE p.requested_at END,
     last_error = CASE x.next WHEN 'done' THEN NULL WHEN 'give_up' THEN 'refused by the processors' ELSE x.error END,
     next_attempt_at = CASE WHEN x.next IN ('unpin', 'retry') THEN now() + make_interval(secs => x.ms / 1000.0)
                            ELSE p.next_attempt_at END,
     updated_at = now()
   FROM unnest($ids::uuid[], $nexts::text[], $attempts::integer[], $delaysMs::integer[], $errors::text[])
        AS x(id, next, attempt, ms, error)
   WHERE p.correlation_id = x.id AND (x.next = 'done' OR (p.status = 'processing' AND p.attempts = x.attempt))`;

export interface OutcomeValues {
  ids: string[];
  nexts: Next[];
  attempts: number[];
  delaysMs: number[];
  errors: string[];
}

const recordStatement = namedStatement<OutcomeValues>(
  'payment_record',
  `${RECORD_OUTCOMES} RETURNING p.order_id, x.next`,
  { planEachCall: true },
);

/** The values RECORD_OUTCOMES reads. */
export function outcomeValues(outcomes: Outcome[], maxOrderAttempts: number): OutcomeValues {
  return {
    ids: outcomes.map((o) => o.claimed.correlationId),
    nexts: outcomes.map((o) => next(o, maxOrderAttempts)),
    /** The attempt each claim made: the row still shows it unless another worker claimed it since. */
    attempts: outcomes.map((o) => o.claimed.attempts + 1),
    delaysMs: outcomes.map((o) => o.retryInMs),
    errors: outcomes.map((o) => `${o.claimed.processor}: ${o.outcome}`),
  };
}

/**
 * Records what the processors said: accepted or duplicate → processed (an
 * order it pays becomes paid); failed or unreachable → unpinned, any
 * processor may take it next — unless it pays an order and has used up
 * maxOrderAttempts: then it fails, and the order becomes payment_failed
 * (the orders module's settleOrderPayments, in the same transaction);
 * ambiguous → stays pinned, to be asked again (it can never give up: the
 * processor may have charged it). A payment pinned by an earlier ambiguous
 * call stays pinned whatever a retry says short of 200/422: a processor
 * answers 500 while failing even for a payment it already holds.
 *
 * The processors have answered, so what they said is kept and recorded as
 * soon as the database is back (a restart): otherwise the payments they hold
 * would wait out their lease, missing from the summary meanwhile, and be
 * asked again. Recording twice changes nothing the first did.
 */
export async function recordOutcomes(
  db: pg.Pool,
  outcomes: Outcome[],
  maxOrderAttempts: number,
): Promise<void> {
  const values = outcomeValues(outcomes, maxOrderAttempts);
  const { nexts } = values;
  const statement = recordStatement(values);
  // Orders change too: one transaction. Payments alone: the one statement is atomic by itself.
  const touchesOrders = outcomes.some(
    (o, i) => o.claimed.orderId !== null && (nexts[i] === 'done' || nexts[i] === 'give_up'),
  );
  await retryWhileUnavailable(async () => {
    if (!touchesOrders) {
      await db.query(statement);
      return;
    }
    await inTransaction(db, async (tx) => {
      const { rows } = await tx.query<{ order_id: string | null; next: Next }>(statement);
      const orders = (which: Next) =>
        rows.flatMap((r) => (r.next === which && r.order_id !== null ? [Number(r.order_id)] : []));
      await settleOrderPayments(tx, { paid: orders('done'), failed: orders('give_up') });
    });
  }, RECORD_RETRY_MS);
}
