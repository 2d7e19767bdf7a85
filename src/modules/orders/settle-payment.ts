import type pg from 'pg';
import { markOrdersPaid } from './orders.repository.ts';
import type { OrderStatus } from './orders.schemas.ts';
import { releaseStock } from './stock.ts';

/**
 * How the payments engine tells orders what became of their card payments,
 * in the caller's transaction (the payment rows and the orders commit
 * together): `paid` orders go reserved → paid; `failed` ones, whose payment
 * the processors kept refusing, go reserved → payment_failed and give their
 * stock back. Orders no longer reserved are left as they are.
 */
export async function settleOrderPayments(
  tx: pg.PoolClient,
  outcome: { paid: number[]; failed: number[] },
): Promise<void> {
  if (outcome.paid.length > 0) await markOrdersPaid(tx, outcome.paid);
  if (outcome.failed.length === 0) return;
  const { rows } = await tx.query<{ id: string }>({
    name: 'orders_payment_failed',
    text: "UPDATE orders SET status = 'payment_failed', updated_at = now() WHERE id = ANY($1::bigint[]) AND status = 'reserved' RETURNING id",
    values: [outcome.failed],
  });
  await releaseStock(
    tx,
    rows.map((r) => Number(r.id)),
  );
}

export interface OrderToPay {
  status: OrderStatus;
  customerId: number;
  /** Exact decimal text, as the payment records it. */
  total: string;
  totalCents: number;
}

/**
 * Locks an order's row for paying it (by card or store credit), in the
 * caller's transaction: of two payments of one order, the second waits and
 * then sees what the first did.
 */
export async function lockOrderForPayment(tx: pg.PoolClient, orderId: number): Promise<OrderToPay | null> {
  const { rows } = await tx.query<{ status: OrderStatus; customer_id: string; total: string; cents: string }>(
    {
      name: 'order_lock_for_payment',
      text: 'SELECT status, customer_id, total::text AS total, (total * 100)::bigint AS cents FROM orders WHERE id = $1 FOR UPDATE',
      values: [orderId],
    },
  );
  const r = rows[0];
  return r
    ? { status: r.status, customerId: Number(r.customer_id), total: r.total, totalCents: Number(r.cents) }
    : null;
}
