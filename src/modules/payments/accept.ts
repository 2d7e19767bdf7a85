import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { inTransaction } from '../../platform/database.ts';
import { namedStatement } from '../../platform/named-statement.ts';
import { lockOrderForPayment } from '../orders/settle-payment.ts';
import { findPayment, type PaymentView } from './payment-view.ts';

const acceptStatement = namedStatement<{ correlationId: string; amount: string; orderId: number | null }>(
  'payment_accept',
  `INSERT INTO payments (correlation_id, amount, order_id) VALUES ($correlationId, $amount, $orderId)
   ON CONFLICT (correlation_id) DO NOTHING`,
);

/**
 * Durably accepts a payment (the INSERT commits before the 2xx); the
 * workers' next poll takes it. The same correlationId again: 'duplicate'
 * if the amount is the same, 'conflict' if not.
 */
export async function accept(
  db: pg.Pool,
  payment: { correlationId: string; amount: string; orderId?: number },
): Promise<'accepted' | 'duplicate' | 'conflict'> {
  const { rowCount } = await db.query(acceptStatement({ ...payment, orderId: payment.orderId ?? null }));
  if (rowCount === 1) return 'accepted';
  // Only a reused correlationId reads the payment: the INSERT waited for a concurrent one to commit, so it is there.
  const existing = (await findPayment(db, payment.correlationId))?.amount;
  return existing !== undefined && Number(existing) === Number(payment.amount) ? 'duplicate' : 'conflict';
}

/**
 * Starts paying a reserved order: one payment per order, for its total.
 * Paying again returns the payment already under way.
 */
export async function payOrder(
  db: pg.Pool,
  orderId: number,
): Promise<{ kind: 'payment'; payment: PaymentView } | { kind: 'not_payable'; status: string }> {
  const correlationId = await inTransaction(db, async (tx) => {
    const order = await lockOrderForPayment(tx, orderId);
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
  return { kind: 'payment', payment: (await findPayment(db, correlationId)) as PaymentView };
}
