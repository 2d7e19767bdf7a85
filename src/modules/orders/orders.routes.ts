import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { AppError, ERRORS } from '../../errors.ts';
import type { AppInstance } from '../../http/app-instance.ts';
import { assertOwnerOrAdmin, authenticate, BEARER, type Principal, requireAdmin } from '../../http/auth.ts';
import { decodeCursor, toPage } from '../../http/cursor.ts';
import { IdempotencyHeaders } from '../../http/idempotency.ts';
import { ProblemResponses } from '../../http/problem-schema.ts';
import { assertRange } from '../../http/range.ts';
import type { Database } from '../../platform/database.ts';
import { type CreditRepository, toTransaction } from '../credit/credit.repository.ts';
import { insufficientCredit } from '../credit/credit.routes.ts';
import { CreditTransaction } from '../credit/credit.schemas.ts';
import type { PaymentRepository } from '../payments/payments.repository.ts';
import { Payment } from '../payments/payments.schemas.ts';
import type { OrderRepository } from './orders.repository.ts';
import {
  ChangeOrderInput,
  MAX_QUANTITY,
  Order,
  OrderListQuery,
  OrderPage,
  PlaceOrderInput,
  StockCheck,
} from './orders.schemas.ts';
import { payWithCredit } from './pay-with-credit.ts';
import type { OrderPlacer } from './place-order.ts';

export interface OrdersDeps {
  db: Database;
  orders: OrderRepository;
  placer: OrderPlacer;
  payments: PaymentRepository;
  credit: CreditRepository;
}

const OrderParams = Type.Object(
  { id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) },
  { additionalProperties: false },
);

const outOfStock = (productId: number, available: number, field: string) =>
  new AppError({
    code: 'out_of_stock',
    detail: `product ${productId} has ${available} left`,
    errors: [{ field, message: `product ${productId}: only ${available} left` }],
  });

const totalTooLarge = () =>
  new AppError({
    code: 'order_total_too_large',
    detail: 'the order’s total would exceed 999999999999.99',
    errors: [{ field: 'body.items', message: 'the total of these items would exceed 999999999999.99' }],
  });

/** Lines of one product are merged: their sum must stay within one line's bound too. */
function assertMergedQuantities(items: Array<{ productId: number; quantity: number }>): void {
  const sums = new Map<number, number>();
  for (const [i, item] of items.entries()) {
    const sum = (sums.get(item.productId) ?? 0) + item.quantity;
    sums.set(item.productId, sum);
    if (sum > MAX_QUANTITY)
      throw ERRORS.invalidField(
        `body.items[${i}].quantity`,
        `product ${item.productId} adds up to ${sum} units in this order; at most ${MAX_QUANTITY}`,
      );
  }
}

const notPayable = (status: string) =>
  ERRORS.conflict(
    'order_not_payable',
    'params.id',
    `a ${status} order cannot be paid; only reserved ones can`,
  );

const PayOrderInput = Type.Union(
  [
    Type.Object(
      {
        method: Type.Union([Type.Literal('card'), Type.Literal('credit')], {
          description: 'card (the default): through the payments engine; credit: the customer’s store credit',
        }),
      },
      { additionalProperties: false },
    ),
    Type.Null(),
  ],
  { description: 'Optional; no body pays by card' },
);

const CreditPayment = Type.Object({
  method: Type.Literal('credit'),
  order: Order,
  transaction: Type.Union([CreditTransaction, Type.Null()], {
    description: 'The debit; null for a free order',
  }),
});

/** 201 when the order was reserved, 202 (with where to follow it) when it was queued. */
function sendOrder(reply: FastifyReply, order: Order, queued: boolean): FastifyReply {
  reply.header('location', `/orders/${order.id}`);
  return reply.code(queued ? 202 : 201).send(order);
}

export function orderRoutes(app: AppInstance, { db, orders, placer, payments, credit }: OrdersDeps): void {
  const pool = db.pool;
  /** The order, if it exists and the caller may see it (its owner or an admin); 404 otherwise. */
  const ownedOrder = async (user: Principal, id: number): Promise<Order> => {
    const order = await orders.findById(id);
    if (!order) throw ERRORS.notFound('order', id);
    assertOwnerOrAdmin(user, order.customerId, 'order', id);
    return order;
  };

  app.register(async (owned: AppInstance) => {
    owned.addHook('onRequest', authenticate);

    owned.post(
      '/orders',
      {
        schema: {
          tags: ['orders'],
          summary: 'Place an order: 201 reserved, or 202 queued (Location to follow it)',
          security: BEARER,
          headers: IdempotencyHeaders,
          body: PlaceOrderInput,
          response: { 201: Order, 202: Order, ...ProblemResponses },
        },
      },
      async (request, reply) => {
        const { items } = request.body;
        assertMergedQuantities(items);
        const indexOf = (productId: number) => items.findIndex((i) => i.productId === productId);
        const key = request.headers['idempotency-key'];
        const result = await placer.place({
          customerId: request.user.customerId,
          items,
          ...(key ? { idempotencyKey: key } : {}),
        });
        switch (result.kind) {
          case 'out_of_stock':
            throw outOfStock(
              result.productId,
              result.available,
              `body.items[${indexOf(result.productId)}].quantity`,
            );
          case 'unknown_product':
            throw ERRORS.invalidField(
              `body.items[${indexOf(result.productId)}].productId`,
              `product ${result.productId} does not exist`,
            );
          case 'total_too_large':
            throw totalTooLarge();
          case 'contention':
            throw new AppError({
              code: 'concurrent_update',
              detail: 'the products changed while the order was placed, too many times; retry',
              headers: { 'retry-after': '1' },
            });
          case 'replay': {
            // The same request again: the order it made, as it is now.
            const order = (await orders.findById(result.orderId)) as Order;
            return sendOrder(reply, order, order.status === 'pending');
          }
          default:
            return sendOrder(reply, result.order, result.kind === 'pending');
        }
      },
    );

    owned.get(
      '/orders/:id',
      {
        schema: {
          tags: ['orders'],
          summary: 'An order (its owner or an admin)',
          security: BEARER,
          params: OrderParams,
          response: { 200: Order, ...ProblemResponses },
        },
      },
      async (request) => {
        return ownedOrder(request.user, request.params.id);
      },
    );

    owned.get(
      '/orders',
      {
        schema: {
          tags: ['orders'],
          summary: 'My orders, newest first (admins: everyone’s, or one customer’s)',
          security: BEARER,
          querystring: OrderListQuery,
          response: { 200: OrderPage, ...ProblemResponses },
        },
      },
      async (request) => {
        const q = request.query;
        assertRange(q.from, q.to);
        if (q.customerId !== undefined && request.user.role !== 'admin')
          throw ERRORS.forbidden('only admins filter by customer');
        const customerId = request.user.role === 'admin' ? q.customerId : request.user.customerId;
        const rows = await orders.list({
          ...(customerId !== undefined ? { customerId } : {}),
          ...(q.from ? { from: q.from } : {}),
          ...(q.to ? { to: q.to } : {}),
          ...(q.cursor ? { beforeId: decodeCursor(q.cursor) } : {}),
          limit: q.limit + 1,
        });
        return toPage(rows, q.limit);
      },
    );

    owned.patch(
      '/orders/:id',
      {
        schema: {
          tags: ['orders'],
          summary: 'Change quantities of a reserved order (0 removes an item); stock moves with them',
          security: BEARER,
          params: OrderParams,
          body: ChangeOrderInput,
          response: { 200: Order, ...ProblemResponses },
        },
      },
      async (request) => {
        const id = request.params.id;
        await ownedOrder(request.user, id);
        const { items } = request.body;
        const indexOf = (productId: number) => items.findIndex((i) => i.productId === productId);
        const result = await orders.changeQuantities(id, items);
        switch (result.kind) {
          case 'changed':
            return result.order;
          case 'not_found':
            throw ERRORS.notFound('order', id);
          case 'not_reserved':
            throw ERRORS.conflict(
              'order_not_changeable',
              'params.id',
              `a ${result.status} order cannot change; only reserved ones can`,
            );
          case 'not_in_order':
            throw ERRORS.invalidField(
              `body.items[${indexOf(result.productId)}].productId`,
              'is not in this order; place a new order for it',
            );
          case 'empty':
            throw ERRORS.invalidField('body.items', 'would leave the order empty; cancel it instead');
          case 'out_of_stock':
            throw outOfStock(
              result.productId,
              result.available,
              `body.items[${indexOf(result.productId)}].quantity`,
            );
          case 'total_too_large':
            throw totalTooLarge();
        }
      },
    );

    owned.post(
      '/orders/:id/cancel',
      {
        schema: {
          tags: ['orders'],
          summary: 'Cancel a pending or reserved order; its stock is released exactly once',
          security: BEARER,
          params: OrderParams,
          response: { 200: Order, ...ProblemResponses },
        },
      },
      async (request) => {
        const id = request.params.id;
        await ownedOrder(request.user, id);
        const result = await orders.cancel(id);
        if (result.kind === 'not_found') throw ERRORS.notFound('order', id);
        if (result.kind === 'final')
          throw ERRORS.conflict(
            'order_not_cancellable',
            'params.id',
            `a ${result.status} order cannot be cancelled`,
          );
        if (result.kind === 'paying') {
          throw ERRORS.conflict(
            'order_being_paid',
            'params.id',
            'its payment is under way; the payment decides the order',
          );
        }
        return result.order;
      },
    );

    owned.post(
      '/orders/:id/pay',
      {
        schema: {
          tags: ['orders'],
          summary:
            'Pay a reserved order. By card (the default): 202, through the payments engine; the order becomes paid or payment_failed. With store credit: 200, debited and paid in one transaction, or 422',
          security: BEARER,
          params: OrderParams,
          body: PayOrderInput,
          response: { 200: CreditPayment, 202: Payment, ...ProblemResponses },
        },
      },
      async (request, reply) => {
        const id = request.params.id;
        await ownedOrder(request.user, id);
        if (request.body?.method === 'credit') {
          const result = await payWithCredit({ pool, orders, credit, payments }, id);
          switch (result.kind) {
            case 'paid':
              return reply
                .code(200)
                .header('idempotent-replayed', String(result.replayed))
                .send({
                  method: 'credit' as const,
                  order: result.order,
                  transaction: result.transaction ? toTransaction(result.transaction) : null,
                });
            case 'not_found':
              throw ERRORS.notFound('order', id);
            case 'not_payable':
              throw notPayable(result.status);
            case 'paying':
              throw ERRORS.conflict(
                'order_being_paid',
                'params.id',
                'a card payment of this order is under way; it decides the order',
              );
            case 'insufficient':
              throw insufficientCredit('body.method', result.balance, result.limit, result.required);
          }
        }
        const result = await payments.payOrder(id);
        if (result.kind === 'not_payable') throw notPayable(result.status);
        return reply
          .code(202)
          .header('location', `/payments/${result.payment.correlationId}`)
          .send(result.payment);
      },
    );
  });

  app.register(async (admin: AppInstance) => {
    admin.addHook('onRequest', requireAdmin);
    admin.get(
      '/admin/stock-check',
      {
        schema: {
          tags: ['orders'],
          summary: 'Check every product: received = stock + held by reserved and paid orders',
          security: BEARER,
          response: { 200: StockCheck, ...ProblemResponses },
        },
      },
      async () => {
        const { checked, mismatches } = await orders.stockCheck();
        return { ok: mismatches.length === 0, checkedProducts: checked, mismatches };
      },
    );
  });
}
