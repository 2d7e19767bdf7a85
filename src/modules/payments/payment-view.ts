import type pg from 'pg';
import type { ProcessorName } from './processor-client.ts';

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

export async function findPayment(
  db: pg.Pool | pg.PoolClient,
  correlationId: string,
): Promise<PaymentView | null> {
  const { rows } = await db.query<{
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

/** Whether a card payment of the order is under way or done (one that failed does not count). */
export async function hasActivePayment(db: pg.Pool | pg.PoolClient, orderId: number): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'payment_active_of_order',
    text: "SELECT 1 FROM payments WHERE order_id = $1 AND status <> 'failed'",
    values: [orderId],
  });
  return (rowCount ?? 0) > 0;
}
