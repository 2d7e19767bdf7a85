import { FormattedString, fmt } from '@grammyjs/parse-mode';
import { GrammyError, InlineKeyboard } from 'grammy';
import type { MessageEntity } from 'grammy/types';
import type { Product } from '../catalog/catalog.schemas.ts';
import { centsFromInput, decimalFromCents } from '../credit/cents.ts';
import type { Order } from '../orders/orders.schemas.ts';
import { type Action, encode } from './callback-data.ts';
import type { BotContext } from './context.ts';
import { formatMoney } from './i18n.ts';

/**
 * A message as the bot shows it: text with entities (grammY's parse-mode
 * plugin computes them, so names with `<`, `*` or `_` need no escaping) and
 * its buttons.
 */
export interface View {
  text: FormattedString;
  keyboard?: InlineKeyboard;
}

export const PAGE_SIZE = 8;
/** Telegram refuses texts over 4096 characters; a description gets at most this much of them. */
const DESCRIPTION_MAX = 1500;
const B = FormattedString.b;

const button = (text: string, action: Action) => InlineKeyboard.text(text, encode(action));

/**
 * Lines joined with '\n', as `FormattedString.join(lines, '\n')` joins them
 * (the separator keeps entities of different lines apart, so there is nothing
 * to merge), in one pass: join formats everything before each line again, so
 * its work grows with the square of the lines (the largest single allocation
 * site under bench:bot, docs/decisions.md).
 */
export function joinLines(lines: FormattedString[]): FormattedString {
  let text = '';
  const entities: MessageEntity[] = [];
  for (const [i, line] of lines.entries()) {
    if (i > 0) text += '\n';
    for (const e of line.entities) entities.push({ ...e, offset: e.offset + text.length });
    text += line.text;
  }
  return new FormattedString(text, entities);
}

const options = (view: View) => ({
  entities: view.text.entities,
  ...(view.keyboard ? { reply_markup: view.keyboard } : {}),
  link_preview_options: { is_disabled: true },
});

/** Sends the view as a new message in the chat. */
export async function send(ctx: BotContext, view: View): Promise<void> {
  await ctx.reply(view.text.text, options(view));
}

/**
 * Edits the message the pressed button belongs to. false when Telegram says
 * nothing would change (the same text and buttons): not an error for a shopper
 * who pressed Refresh.
 */
export async function edit(ctx: BotContext, view: View): Promise<boolean> {
  try {
    await ctx.editMessageText(view.text.text, options(view));
    return true;
  } catch (err) {
    if (err instanceof GrammyError && err.description.includes('message is not modified')) return false;
    throw err;
  }
}

const stockText = (ctx: BotContext, stock: number) => ctx.t('stock', { stock });

/** "Limão Tahiti — R$ 5,90 · 12 em estoque" */
export const productLine = (ctx: BotContext, p: Product): FormattedString =>
  fmt`${B(p.name)} — ${formatMoney(p.price, ctx.locale)} · ${stockText(ctx, p.stock)}`;

/** Short text for a button: Telegram shows about 30 characters of one in a row of its own. */
const label = (text: string, max = 48) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

export function categoriesView(
  ctx: BotContext,
  categories: Array<{ category: string; products: number }>,
): View {
  if (categories.length === 0) return { text: fmt`${ctx.t('menu-empty')}` };
  const keyboard = new InlineKeyboard();
  for (const c of categories) {
    keyboard
      .add(
        button(`${c.category} · ${ctx.t('category-count', { count: c.products })}`, {
          kind: 'category',
          category: c.category,
        }),
      )
      .row();
  }
  return { text: fmt`${ctx.t('menu-title')}`, keyboard };
}

/**
 * A page of products (a category or a search): one line and one button per
 * product, then ◀ ▶ that edit the same message. `rows` is what the
 * repository returned for PAGE_SIZE + 1, so one extra row tells a further page exists.
 */
export function productPageView(
  ctx: BotContext,
  title: FormattedString,
  rows: Product[],
  from: { after?: number; before?: number },
  pageAction: (position: { after?: number; before?: number }) => Action,
  empty: string,
): View {
  const backwards = from.before !== undefined;
  const more = rows.length > PAGE_SIZE;
  const items = backwards ? rows.slice(-PAGE_SIZE) : rows.slice(0, PAGE_SIZE);
  const hasPrevious = backwards ? more : from.after !== undefined;
  const hasNext = backwards ? true : more;
  const keyboard = new InlineKeyboard();
  for (const p of items) {
    keyboard
      .add(
        button(label(`${p.name}${p.stock === 0 ? ` · ${stockText(ctx, 0)}` : ''}`), {
          kind: 'product',
          id: p.id,
        }),
      )
      .row();
  }
  const first = items[0];
  const last = items.at(-1);
  if (first && hasPrevious) keyboard.add(button(ctx.t('button-prev'), pageAction({ before: first.id })));
  if (last && hasNext) keyboard.add(button(ctx.t('button-next'), pageAction({ after: last.id })));
  keyboard.row().add(button(ctx.t('button-categories'), { kind: 'menu' }));
  const lines = items.length ? items.map((p) => productLine(ctx, p)) : [fmt`${empty}`];
  return { text: joinLines([fmt`${B(title)}`, ...lines]), keyboard };
}

/** A product card's text: name, description, price, and the stock as it is now. */
export function productCardText(ctx: BotContext, p: Product): FormattedString {
  const description =
    p.description.length > DESCRIPTION_MAX ? `${p.description.slice(0, DESCRIPTION_MAX)}…` : p.description;
  return joinLines([
    fmt`${B(p.name)}`,
    ...(description ? [fmt`${description}`] : []),
    fmt`${ctx.t('price', { price: formatMoney(p.price, ctx.locale) })}`,
    fmt`${ctx.t('stock-line', { stock: p.stock })}`,
  ]);
}

/** A product card with its buttons: add to the cart (while in stock), the cart, refresh. */
export function productCardView(ctx: BotContext, p: Product): View {
  const keyboard = new InlineKeyboard();
  if (p.stock > 0) keyboard.add(button(ctx.t('button-add'), { kind: 'add', id: p.id }));
  keyboard.add(button(ctx.t('button-cart'), { kind: 'cart' })).row();
  keyboard.add(button(ctx.t('button-refresh'), { kind: 'refresh', id: p.id }));
  return { text: productCardText(ctx, p), keyboard };
}

export interface CartLine {
  product: Product;
  quantity: number;
}

export function cartView(ctx: BotContext, cartId: string, lines: CartLine[]): View {
  if (lines.length === 0) return { text: fmt`${ctx.t('cart-empty')}` };
  let cents = 0;
  const keyboard = new InlineKeyboard();
  const text = lines.map(({ product, quantity }) => {
    const subtotal = centsFromInput(product.price, 'price', 12) * quantity;
    cents += subtotal;
    keyboard
      .add(button('➖', { kind: 'less', id: product.id }))
      .add(button(label(`${product.name} × ${quantity}`, 32), { kind: 'product', id: product.id }))
      .add(button('➕', { kind: 'more', id: product.id }))
      .row();
    return fmt`${B(product.name)} × ${quantity} — ${formatMoney(decimalFromCents(subtotal), ctx.locale)}`;
  });
  keyboard
    .add(button(ctx.t('button-clear'), { kind: 'clear' }))
    .add(button(ctx.t('button-checkout'), { kind: 'checkout', cartId }));
  return {
    text: joinLines([
      fmt`${B(ctx.t('cart-title'))}`,
      ...text,
      fmt`${B(ctx.t('cart-total', { total: formatMoney(decimalFromCents(cents), ctx.locale) }))}`,
    ]),
    keyboard,
  };
}

const statusText = (ctx: BotContext, status: string) => ctx.t('status', { status });

export function ordersView(ctx: BotContext, orders: Order[]): View {
  if (orders.length === 0) return { text: fmt`${ctx.t('orders-empty')}` };
  const keyboard = new InlineKeyboard();
  const lines = orders.map((o) => {
    keyboard.add(button(`#${o.id} · ${statusText(ctx, o.status)}`, { kind: 'order', id: o.id })).row();
    return fmt`${B(`#${o.id}`)} · ${statusText(ctx, o.status)} · ${formatMoney(o.total, ctx.locale)}`;
  });
  return { text: joinLines([fmt`${B(ctx.t('orders-title'))}`, ...lines]), keyboard };
}

/** An order: its items by name, total, state, and what can be done with it now. */
export function orderView(
  ctx: BotContext,
  order: Order,
  names: Map<number, string>,
  extra: { note?: string },
): View {
  const lines = [
    fmt`${B(ctx.t('order-title', { id: order.id }))}`,
    ...order.items.map(
      (i) =>
        fmt`${names.get(i.productId) ?? `#${i.productId}`} × ${i.quantity} — ${formatMoney(i.unitPrice, ctx.locale)}`,
    ),
    fmt`${ctx.t('order-total', { total: formatMoney(order.total, ctx.locale) })}`,
    fmt`${ctx.t('order-status', { status: statusText(ctx, order.status) })}`,
    ...(extra.note ? [fmt`${extra.note}`] : []),
  ];
  const keyboard = new InlineKeyboard();
  if (order.status === 'reserved') {
    keyboard.add(button(ctx.t('button-pay-card'), { kind: 'payCard', id: order.id }));
    keyboard.add(button(ctx.t('button-pay-credit'), { kind: 'payCredit', id: order.id }));
    keyboard.row();
  }
  if (order.status === 'reserved' || order.status === 'pending')
    keyboard.add(button(ctx.t('button-cancel'), { kind: 'cancel', id: order.id }));
  keyboard.add(button(ctx.t('button-refresh'), { kind: 'order', id: order.id })).row();
  keyboard.add(button(ctx.t('button-orders'), { kind: 'orders' }));
  return { text: joinLines(lines), keyboard };
}
