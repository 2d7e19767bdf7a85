import { fmt } from '@grammyjs/parse-mode';
import { InlineKeyboard } from 'grammy';
import type { InlineQueryResult } from 'grammy/types';
import { escapeLike } from '../../../platform/sql.ts';
import type { BotDeps } from '../bot-deps.ts';
import { fitTerm } from '../callback-data.ts';
import type { BotContext } from '../context.ts';
import { formatMoney } from '../i18n.ts';
import {
  categoriesView,
  edit,
  PAGE_SIZE,
  productCardText,
  productCardView,
  productPageView,
  send,
  type View,
} from '../views.ts';

type How = 'send' | 'edit';
type Position = { after?: number; before?: number };

/** Telegram's cap on inline results per answer is 50; 20 fills a screen. */
const INLINE_RESULTS = 20;

const show = async (ctx: BotContext, view: View, how: How) => {
  if (how === 'send') await send(ctx, view);
  else if (!(await edit(ctx, view))) await ctx.answerCallbackQuery({ text: ctx.t('nothing-changed') });
};

const position = (p: Position) => ({
  ...(p.after !== undefined ? { afterId: p.after } : {}),
  ...(p.before !== undefined ? { beforeId: p.before } : {}),
});

/** A search term as typed: trimmed, spaces collapsed, cut to what a page button can carry. */
export const normaliseTerm = (text: string): string => fitTerm(text.trim().replace(/\s+/g, ' '));

/**
 * Browsing: categories, pages, search, product cards, inline results. Every
 * read goes to the catalog repository (PostgreSQL), not the API's cache, so
 * the stock shown is the stock of this moment, orders included.
 */
export function catalogActions({ catalog }: BotDeps) {
  const products = catalog.repository;
  return {
    async menu(ctx: BotContext, how: How) {
      await show(ctx, categoriesView(ctx, await products.categories()), how);
    },

    async category(ctx: BotContext, category: string, from: Position) {
      const rows = await products.list({ category, ...position(from), limit: PAGE_SIZE + 1 });
      const view = productPageView(
        ctx,
        fmt`${category}`,
        rows,
        from,
        (p) => ({ kind: 'category', category, ...p }),
        ctx.t('page-empty'),
      );
      await show(ctx, view, 'edit');
    },

    async search(ctx: BotContext, term: string, from: Position, how: How) {
      if (term === '') return void (await ctx.reply(ctx.t('search-usage')));
      const rows = await products.list({
        search: escapeLike(term.toLowerCase()),
        ...position(from),
        limit: PAGE_SIZE + 1,
      });
      if (rows.length === 0 && how === 'send') return void (await ctx.reply(ctx.t('search-empty', { term })));
      const view = productPageView(
        ctx,
        fmt`${ctx.t('search-title', { term })}`,
        rows,
        from,
        (p) => ({ kind: 'search', term, ...p }),
        ctx.t('search-empty', { term }),
      );
      await show(ctx, view, how);
    },

    /** A card as a new message (from a list), or the same card refreshed in place. */
    async product(ctx: BotContext, id: number, how: How) {
      const product = await products.findById(id);
      if (!product) {
        if (ctx.callbackQuery) await ctx.answerCallbackQuery({ text: ctx.t('gone') });
        else await ctx.reply(ctx.t('gone'));
        return;
      }
      await show(ctx, productCardView(ctx, product), how);
    },

    /** `@bot termo` in any chat: matching products, each sent as its card, paged by id. */
    async inline(ctx: BotContext) {
      const query = ctx.inlineQuery;
      if (!query) return;
      const term = query.query.trim().replace(/\s+/g, ' ').slice(0, 100);
      const after = /^[1-9][0-9]{0,15}$/.test(query.offset) ? Number(query.offset) : undefined;
      const rows = await products.list({
        ...(term ? { search: escapeLike(term.toLowerCase()) } : {}),
        ...(after !== undefined ? { afterId: after } : {}),
        limit: INLINE_RESULTS + 1,
      });
      const page = rows.slice(0, INLINE_RESULTS);
      const username = ctx.me.username;
      const results: InlineQueryResult[] = page.map((p) => {
        const card = productCardText(ctx, p);
        return {
          type: 'article',
          id: `p${p.id}`,
          title: p.name,
          description: `${formatMoney(p.price, ctx.locale)} · ${ctx.t('stock', { stock: p.stock })}`,
          input_message_content: { message_text: card.text, entities: card.entities },
          reply_markup: new InlineKeyboard().url(
            ctx.t('button-open'),
            `https://t.me/${username}?start=p${p.id.toString(36)}`,
          ),
        };
      });
      await ctx.answerInlineQuery(results, {
        // Short: the stock in a result should not be minutes old.
        cache_time: 5,
        next_offset: rows.length > INLINE_RESULTS ? String(page.at(-1)?.id) : '',
      });
    },
  };
}

export type CatalogActions = ReturnType<typeof catalogActions>;
