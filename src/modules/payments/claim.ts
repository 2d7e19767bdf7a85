import type pg from 'pg';
import { inTransaction } from '../../platform/database.ts';
import { namedStatement } from '../../platform/named-statement.ts';
import type { Decision } from './choose-processor.ts';
import { type Claimed, type ClaimedRow, toClaimed } from './claimed.ts';
import type { ProcessorName } from './processor-client.ts';

/**
 * The lease: a payment whose worker died is due again this long after its
 * claim. A first call gets `leaseMs`; a payment pinned before, whose retry
 * may wait longer for its answer, `retryLeaseMs`.
 */
export interface Lease {
  leaseMs: number;
  retryLeaseMs: number;
}

const claimAllForStatement = namedStatement<
  Lease & { limit: number; processor: ProcessorName; requestedAt: Date }
>(
  'payment_claim_all_for',
  `WITH due AS (
     SELECT correlation_id, (processor IS NOT NULL AND requested_at IS NOT NULL) AS pinned FROM payments
     WHERE status IN ('queued', 'processing') AND next_attempt_at <= now()
     ORDER BY next_attempt_at LIMIT $limit FOR UPDATE SKIP LOCKED)
   UPDATE payments p SET status = 'processing',
          processor = CASE WHEN due.pinned THEN p.processor ELSE $processor END,
          requested_at = CASE WHEN due.pinned THEN p.requested_at ELSE $requestedAt END,
          attempts = p.attempts + 1, updated_at = now(),
          next_attempt_at = now() + make_interval(secs => CASE WHEN due.pinned THEN $retryLeaseMs::integer ELSE $leaseMs::integer END / 1000.0)
   FROM due WHERE p.correlation_id = due.correlation_id
   RETURNING p.correlation_id, p.amount::text AS amount, p.processor, p.requested_at, p.attempts - 1 AS attempts,
             p.order_id, due.pinned AS pinned_before`,
);

/**
 * The common case of claim(), in one statement (no transaction round
 * trips): every due payment goes to `processor`, bar those already pinned,
 * which stay where they are. For when the decision does not depend on how
 * long a payment has waited.
 */
export async function claimAllFor(
  db: pg.Pool,
  opts: Lease & { processor: ProcessorName; limit: number },
): Promise<Claimed[]> {
  const { rows } = await db.query<ClaimedRow>(claimAllForStatement({ ...opts, requestedAt: new Date() }));
  return rows.map((r) => toClaimed(r));
}

const pinStatement = namedStatement<{
  ids: string[];
  processors: ProcessorName[];
  requestedAts: Date[];
  leasesMs: number[];
}>(
  'payment_pin',
  `UPDATE payments p SET status = 'processing', processor = c.processor, requested_at = c.requested_at,
     attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => c.lease_ms / 1000.0), updated_at = now()
   FROM unnest($ids::uuid[], $processors::text[], $requestedAts::timestamptz[], $leasesMs::integer[])
        AS c(id, processor, requested_at, lease_ms)
   WHERE p.correlation_id = c.id`,
  { planEachCall: true },
);

/**
 * Claims due payments and pins each to a processor with the requestedAt it
 * will send (committed before any call). A payment already pinned stays
 * where it is: its last outcome was ambiguous. A payment `decide` says must
 * wait sleeps for the time it says.
 */
export async function claim(
  db: pg.Pool,
  opts: Lease & { limit: number; decide: (waitedMs: number) => Decision },
): Promise<Claimed[]> {
  return inTransaction(db, async (tx) => {
    const { rows } = await tx.query<ClaimedRow & { waited_ms: number }>({
      name: 'payment_claim',
      text: `SELECT correlation_id, amount::text AS amount, processor, requested_at, attempts, order_id,
                    (processor IS NOT NULL AND requested_at IS NOT NULL) AS pinned_before,
                    (extract(epoch FROM now() - created_at) * 1000)::float8 AS waited_ms
             FROM payments WHERE status IN ('queued', 'processing') AND next_attempt_at <= now()
             ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
      values: [opts.limit],
    });
    const claimed: Claimed[] = [];
    const waits: Array<[string, number]> = [];
    const requestedAt = new Date();
    for (const r of rows) {
      if (r.pinned_before) {
        claimed.push(toClaimed(r));
        continue;
      }
      const d = opts.decide(r.waited_ms);
      if ('use' in d)
        claimed.push(
          toClaimed(r, { processor: d.use, requestedAt, ifRefusedRetryInMs: d.ifRefusedRetryInMs }),
        );
      else waits.push([r.correlation_id, d.retryInMs]);
    }
    // Each statement is a round trip: during an outage most claims pin nothing, and idle ones change nothing.
    if (claimed.length > 0)
      await tx.query(
        pinStatement({
          ids: claimed.map((c) => c.correlationId),
          processors: claimed.map((c) => c.processor),
          requestedAts: claimed.map((c) => c.requestedAt),
          leasesMs: claimed.map((c) => (c.pinnedBefore ? opts.retryLeaseMs : opts.leaseMs)),
        }),
      );
    // Unprepared, planned at each call (see namedStatement's planEachCall).
    if (waits.length > 0)
      await tx.query({
        text: `UPDATE payments p SET next_attempt_at = now() + make_interval(secs => w.ms / 1000.0)
               FROM unnest($1::uuid[], $2::integer[]) AS w(id, ms) WHERE p.correlation_id = w.id`,
        values: [waits.map(([id]) => id), waits.map(([, ms]) => ms)],
      });
    return claimed;
  });
}

/**
 * Makes unpinned payments that sleep (waiting for the default, or backing
 * off after a refusal) due now, those due soonest first: for when the
 * default is usable again. `limit` null wakes them all. Returns how many.
 */
export async function releaseWaiting(db: pg.Pool, limit: number | null): Promise<number> {
  const { rowCount } = await db.query({
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
