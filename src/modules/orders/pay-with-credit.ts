import type pg from 'pg';
import { inTransaction } from '../../platform/database.ts';
import { AccountOwned, type AccountState, type CreditRepository } from '../credit/credit.repository.ts';
import type { PaymentRepository } from '../payments/payments.repository.ts';
import { markOrdersPaid, type OrderRepository } from './orders.repository.ts';
import type { Order, OrderStatus } from './orders.schemas.ts';
import { lockOrderForPayment } from './settle-payment.ts';

type Entry = AccountState['recent'][number];

export type CreditPayResult =
  | { kind: 'paid'; order: Order; transaction: Entry | null; replayed: boolean }
  | { kind: 'not_found' }
  | { kind: 'not_payable'; status: OrderStatus }
  | { kind: 'paying' }
  | { kind: 'insufficient'; balance: number; limit: number; required: number };

/**
 * Pays a reserved order with the customer's store credit: the debit and
 * reserved → paid commit together or not at all. The order row is locked
 * first, so a card payment and a credit payment of one order never both go
 * through; paying again returns the first payment.
 */
export async function payWithCredit(
  deps: { pool: pg.Pool; orders: OrderRepository; credit: CreditRepository; payments: PaymentRepository },
  orderId: number,
): Promise<CreditPayResult> {
  // An account held by an instance (CREDIT_JOURNAL_DIR): the transaction is rolled back, the
  // holder asked to let go, and the whole payment tried again.
  return deps.credit.whileOwned(() =>
    inTransaction(deps.pool, async (tx) => {
      const order = await lockOrderForPayment(tx, orderId);
      if (!order) return { kind: 'not_found' as const };
      const paid = async (transaction: Entry | null, replayed: boolean) => ({
        kind: 'paid' as const,
        order: (await deps.orders.findById(orderId, tx)) as Order,
        transaction,
        replayed,
      });
      if (order.status === 'paid') {
        const earlier = await deps.credit.transactionOfOrder(orderId, tx);
        return earlier ? paid(earlier, true) : { kind: 'not_payable' as const, status: order.status };
      }
      if (order.status !== 'reserved') return { kind: 'not_payable' as const, status: order.status };
      if (await deps.payments.hasActivePayment(orderId, tx)) return { kind: 'paying' as const };
      const amount = order.totalCents;
      // A free order needs no debit.
      if (amount > 0) {
        const [result] = await deps.credit.postNow(tx, [
          {
            account: { customerId: order.customerId },
            kind: 'd',
            amount,
            description: `order ${orderId}`,
            orderId,
          },
        ]);
        if (result?.outcome === 'owned') throw new AccountOwned({ customerId: order.customerId });
        if (result?.outcome === 'insufficient') {
          return {
            kind: 'insufficient' as const,
            balance: result.balance as number,
            limit: result.limit as number,
            required: amount,
          };
        }
        if (result?.outcome !== 'applied')
          throw new Error(`paying order ${orderId} with credit: ${result?.outcome}`);
      }
      await markOrdersPaid(tx, [orderId]);
      return paid(amount > 0 ? await deps.credit.transactionOfOrder(orderId, tx) : null, false);
    }),
  );
}
