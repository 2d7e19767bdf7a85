import { randomBytes } from 'node:crypto';
import { fmt } from '@grammyjs/parse-mode';
import type { Product } from '../../catalog/catalog.schemas.ts';
import { MAX_ORDER_ITEMS } from '../../orders/orders.schemas.ts';
import type { BotDeps } from '../bot-deps.ts';
import type { BotContext, SessionData } from '../context.ts';
import { type CartLine, cartView, edit, send } from '../views.ts';

const MAX_QUANTITY = 10_000;

type Cart = NonNullable<SessionData['cart']>;

/** The user's cart, created on first use with a fresh id. */
function cartIn(session: SessionData): Cart {
  session.cart ??= { id: randomBytes(8).toString('base64url'), items: {} };
  return session.cart;
}

const cartOf = async (ctx: BotContext): Promise<Cart> => cartIn(await ctx.session);

/**
 * The cart lives in the session (Redis); it reserves nothing. Quantities are
 * checked against the stock of the moment when added, and again, for real,
 * when the order is placed.
 */
export function cartActions({ catalog }: BotDeps) {
  const products = catalog.repository;

  /** The cart's products as they are now; products deleted since are dropped from it. */
  const lines = async (cart: Cart): Promise<CartLine[]> => {
    const found = await Promise.all(
      Object.entries(cart.items).map(async ([id, quantity]) => ({
        id,
        quantity,
        product: await products.findById(Number(id)),
      })),
    );
    for (const f of found) if (!f.product) delete cart.items[f.id];
    return found
      .filter((f): f is { id: string; quantity: number; product: Product } => f.product !== null)
      .map((f) => ({ product: f.product, quantity: f.quantity }));
  };

  const view = async (ctx: BotContext) => {
    const cart = await cartOf(ctx);
    return cartView(ctx, cart.id, await lines(cart));
  };

  return {
    lines,
    async show(ctx: BotContext, how: 'send' | 'edit') {
      const v = await view(ctx);
      if (how === 'send') await send(ctx, v);
      else if (!(await edit(ctx, v))) await ctx.answerCallbackQuery({ text: ctx.t('nothing-changed') });
    },

    /** One more of a product, if the stock of now allows it; answered with a short notice. */
    async add(ctx: BotContext, id: number, refresh: boolean) {
      // The product and the session are read at once: one round trip less before the answer.
      const [product, session] = await Promise.all([products.findById(id), ctx.session]);
      if (!product) return void (await ctx.answerCallbackQuery({ text: ctx.t('gone') }));
      const cart = cartIn(session);
      const key = String(id);
      const quantity = (cart.items[key] ?? 0) + 1;
      if (product.stock === 0)
        return void (await ctx.answerCallbackQuery({ text: ctx.t('sold-out', { name: product.name }) }));
      if (quantity > Math.min(product.stock, MAX_QUANTITY))
        return void (await ctx.answerCallbackQuery({
          text: ctx.t('only-left', { available: product.stock, name: product.name }),
        }));
      if (cart.items[key] === undefined && Object.keys(cart.items).length >= MAX_ORDER_ITEMS)
        return void (await ctx.answerCallbackQuery({ text: ctx.t('cart-stale') }));
      cart.items[key] = quantity;
      await ctx.answerCallbackQuery({ text: ctx.t('added', { name: product.name, quantity }) });
      if (refresh) await edit(ctx, await view(ctx));
    },

    async less(ctx: BotContext, id: number) {
      const cart = await cartOf(ctx);
      const key = String(id);
      const quantity = (cart.items[key] ?? 0) - 1;
      if (quantity > 0) cart.items[key] = quantity;
      else delete cart.items[key];
      await edit(ctx, await view(ctx));
    },

    async clear(ctx: BotContext) {
      const session = await ctx.session;
      delete session.cart;
      await ctx.answerCallbackQuery({ text: ctx.t('cart-cleared') });
      await edit(ctx, { text: fmt`${ctx.t('cart-empty')}` });
    },
  };
}

export type CartActions = ReturnType<typeof cartActions>;
