import { decimalFromCents } from '../../credit/cents.ts';
import type { Order } from '../../orders/orders.schemas.ts';
import { payWithCredit } from '../../orders/pay-with-credit.ts';
import type { BotDeps } from '../bot-deps.ts';
import type { BotContext } from '../context.ts';
import { formatMoney } from '../i18n.ts';
import { edit, ordersView, orderView, send } from '../views.ts';
import type { CartActions } from './cart.ts';

const RECENT_ORDERS = 10;

/**
 * Ordering and paying from the chat, through the same use cases as the API:
 * OrderPlacer with the configured strategy (so the bot cannot oversell
 * either), PaymentRepository.payOrder for cards, payWithCredit for store
 * credit (what POST /orders/:id/pay does), the orders repository for cancelling; the owner rule is the API's: another customer's order is "not found".
 */
export function orderActions(deps: BotDeps, cart: CartActions) {
  const { orders, placer, payments, credit, telegramLinks, catalog, config, db } = deps;

  /** The linked armazem customer; tells the user how to link when there is none. */
  const customerOf = async (ctx: BotContext): Promise<number | null> => {
    const customerId = ctx.from ? await telegramLinks.customerOf(ctx.from.id) : null;
    if (customerId === null) {
      if (ctx.callbackQuery) await ctx.answerCallbackQuery({ text: ctx.t('need-link'), show_alert: true });
      else await ctx.reply(ctx.t('need-link'));
    }
    return customerId;
  };

  /** The order if the linked customer owns it; otherwise answered as not found. */
  const ownedOrder = async (ctx: BotContext, id: number): Promise<Order | null> => {
    const customerId = await customerOf(ctx);
    if (customerId === null) return null;
    const order = await orders.findById(id);
    if (order?.customerId === customerId) return order;
    await ctx.answerCallbackQuery({ text: ctx.t('not-yours') });
    return null;
  };

  const names = async (order: Order) => {
    const found = await Promise.all(order.items.map((i) => catalog.repository.findById(i.productId)));
    return new Map(found.filter((p) => p !== null).map((p) => [p.id, p.name]));
  };

  const showOrder = async (ctx: BotContext, order: Order, note?: string) => {
    const view = orderView(ctx, order, await names(order), note ? { note } : {});
    if (!(await edit(ctx, view))) await ctx.answerCallbackQuery({ text: ctx.t('nothing-changed') });
  };

  const minutesLeft = (order: Order) =>
    order.expiresAt
      ? Math.max(1, Math.round((Date.parse(order.expiresAt) - Date.now()) / 60_000))
      : Math.round(config.ORDER_RESERVATION_TTL / 60);

  return {
    async list(ctx: BotContext, how: 'send' | 'edit') {
      const customerId = await customerOf(ctx);
      if (customerId === null) return;
      const view = ordersView(ctx, await orders.list({ customerId, limit: RECENT_ORDERS }));
      if (how === 'send') await send(ctx, view);
      else if (!(await edit(ctx, view))) await ctx.answerCallbackQuery({ text: ctx.t('nothing-changed') });
    },

    async show(ctx: BotContext, id: number) {
      const order = await ownedOrder(ctx, id);
      if (order) await showOrder(ctx, order);
    },

    /**
     * The cart becomes an order. The cart's id is the Idempotency-Key, so the
     * button pressed twice (or an update delivered twice) places one order.
     */
    async checkout(ctx: BotContext, cartId: string) {
      const customerId = await customerOf(ctx);
      if (customerId === null) return;
      const session = await ctx.session;
      const current = session.cart;
      if (!current || current.id !== cartId) {
        await ctx.answerCallbackQuery({ text: ctx.t('cart-stale') });
        return;
      }
      const lines = await cart.lines(current);
      if (lines.length === 0) return void (await cart.show(ctx, 'edit'));
      const result = await placer.place({
        customerId,
        items: lines.map((l) => ({ productId: l.product.id, quantity: l.quantity })),
        idempotencyKey: `telegram:${cartId}`,
      });
      const nameOf = (id: number) => lines.find((l) => l.product.id === id)?.product.name ?? `#${id}`;
      switch (result.kind) {
        case 'out_of_stock':
          await ctx.answerCallbackQuery({
            text: ctx.t('order-out-of-stock', {
              available: result.available,
              name: nameOf(result.productId),
            }),
            show_alert: true,
          });
          return cart.show(ctx, 'edit');
        case 'unknown_product':
          delete current.items[String(result.productId)];
          await ctx.answerCallbackQuery({
            text: ctx.t('order-unknown-product', { name: nameOf(result.productId) }),
            show_alert: true,
          });
          return cart.show(ctx, 'edit');
        case 'contention':
          return void (await ctx.answerCallbackQuery({ text: ctx.t('order-contention'), show_alert: true }));
        case 'total_too_large':
          return void (await ctx.answerCallbackQuery({ text: ctx.t('order-too-large'), show_alert: true }));
        default: {
          const order =
            result.kind === 'replay' ? ((await orders.findById(result.orderId)) as Order) : result.order;
          delete session.cart;
          const note =
            order.status === 'pending'
              ? ctx.t('order-queued', { id: order.id })
              : ctx.t('order-reserved', {
                  id: order.id,
                  total: formatMoney(order.total, ctx.locale),
                  minutes: minutesLeft(order),
                });
          return showOrder(ctx, order, note);
        }
      }
    },

    /** By card: the payments engine takes it from here; the order becomes paid or payment_failed. */
    async payByCard(ctx: BotContext, id: number) {
      const order = await ownedOrder(ctx, id);
      if (!order) return;
      const result = await payments.payOrder(id);
      if (result.kind === 'not_payable') {
        const status = ctx.t('status', { status: result.status });
        return void (await ctx.answerCallbackQuery({
          text: ctx.t('not-payable', { status }),
          show_alert: true,
        }));
      }
      await ctx.answerCallbackQuery({ text: ctx.t('payment-started') });
      const note = ctx.t('payment-status', { status: result.payment.status });
      await showOrder(ctx, (await orders.findById(id)) as Order, note);
    },

    /** With store credit: debited and paid in one transaction, or refused with the balance. */
    async payWithCredit(ctx: BotContext, id: number) {
      const order = await ownedOrder(ctx, id);
      if (!order) return;
      const money = (cents: number) => formatMoney(decimalFromCents(cents), ctx.locale);
      const result = await payWithCredit({ pool: db.pool, orders, credit, payments }, id);
      switch (result.kind) {
        case 'paid': {
          const balance = (await credit.account(order.customerId))?.balance ?? 0;
          const note = ctx.t('paid-with-credit', {
            id,
            total: formatMoney(result.order.total, ctx.locale),
            balance: money(balance),
          });
          return showOrder(ctx, result.order, note);
        }
        case 'insufficient':
          return void (await ctx.answerCallbackQuery({
            text: ctx.t('insufficient-credit', {
              balance: money(result.balance),
              total: money(result.required),
            }),
            show_alert: true,
          }));
        case 'not_payable': {
          const status = ctx.t('status', { status: result.status });
          return void (await ctx.answerCallbackQuery({
            text: ctx.t('not-payable', { status }),
            show_alert: true,
          }));
        }
        case 'paying':
          return void (await ctx.answerCallbackQuery({ text: ctx.t('being-paid'), show_alert: true }));
        case 'not_found':
          return void (await ctx.answerCallbackQuery({ text: ctx.t('not-yours') }));
      }
    },

    async cancel(ctx: BotContext, id: number) {
      const order = await ownedOrder(ctx, id);
      if (!order) return;
      const result = await orders.cancel(id);
      switch (result.kind) {
        case 'cancelled':
          return showOrder(ctx, result.order, ctx.t('order-cancelled', { id }));
        case 'final': {
          const status = ctx.t('status', { status: result.status });
          return void (await ctx.answerCallbackQuery({ text: ctx.t('not-cancellable', { status }) }));
        }
        case 'paying':
          return void (await ctx.answerCallbackQuery({ text: ctx.t('being-paid') }));
        case 'not_found':
          return void (await ctx.answerCallbackQuery({ text: ctx.t('not-yours') }));
      }
    },
  };
}
