import type { ProcessorName } from './processor-client.ts';

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

/** A claimed payment as both claim statements return it; `processor`/`requested_at` are null while unpinned. */
export interface ClaimedRow {
  correlation_id: string;
  amount: string;
  processor: ProcessorName | null;
  requested_at: Date | null;
  /** Before this claim. */
  attempts: number;
  order_id: string | null;
  pinned_before: boolean;
}

/** Where an unpinned payment goes now, and the requestedAt it will be sent with. */
export type Pin = Pick<Claimed, 'processor' | 'requestedAt' | 'ifRefusedRetryInMs'>;

/** Row → Claimed; a payment pinned before keeps its processor and requestedAt whatever `pin` says. */
export function toClaimed(r: ClaimedRow, pin?: Pin): Claimed {
  const processor = r.pinned_before ? r.processor : (pin?.processor ?? r.processor);
  const requestedAt = r.pinned_before ? r.requested_at : (pin?.requestedAt ?? r.requested_at);
  if (processor === null || requestedAt === null)
    throw new Error(`payment ${r.correlation_id} claimed without a processor to pin it to`);
  return {
    attempts: r.attempts,
    orderId: r.order_id === null ? null : Number(r.order_id),
    pinnedBefore: r.pinned_before,
    correlationId: r.correlation_id,
    amount: r.amount,
    processor,
    requestedAt,
    ...(pin?.ifRefusedRetryInMs === undefined ? {} : { ifRefusedRetryInMs: pin.ifRefusedRetryInMs }),
  };
}
