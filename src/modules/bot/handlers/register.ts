import type { Bot } from 'grammy';
import type { BotDeps } from '../bot-deps.ts';
import { decode } from '../callback-data.ts';
import type { BotContext } from '../context.ts';
import { accountActions } from './account.ts';
import { cartActions } from './cart.ts';
import { catalogActions, normaliseTerm } from './catalog.ts';
import { orderActions } from './orders.ts';

/** Messages (commands, then any other text, then the rest), buttons and inline queries. */
export function registerHandlers(bot: Bot<BotContext>, deps: BotDeps): void {
  const account = accountActions(deps);
  const catalog = catalogActions(deps);
  const cart = cartActions(deps);
  const orders = orderActions(deps, cart);

  // Messages go down a branch of their own: a button press or an inline query
  // does not run the ten command filters (grammY allocates for each filter it
  // tries, per update: docs/decisions.md).
  const messages = bot.on('message');
  messages.command('start', async (ctx) => {
    const product = await account.start(ctx, ctx.match.trim());
    if (product !== null) await catalog.product(ctx, product, 'send');
  });
  messages.command('ajuda', (ctx) => account.help(ctx, false));
  messages.command('help', (ctx) => account.help(ctx, false));
  messages.command('menu', (ctx) => catalog.menu(ctx, 'send'));
  messages.command('produtos', (ctx) => catalog.search(ctx, normaliseTerm(ctx.match), {}, 'send'));
  messages.command('carrinho', (ctx) => cart.show(ctx, 'send'));
  messages.command('pedidos', (ctx) => orders.list(ctx, 'send'));
  messages.command('site', (ctx) => account.site(ctx));
  messages.command('social', (ctx) => account.social(ctx));
  messages.command('desvincular', (ctx) => account.unlink(ctx));

  // Text that is no command is taken as a search; an unknown command gets pointed to the help.
  messages.on(':text', async (ctx) => {
    const text = ctx.message.text;
    if (text.startsWith('/')) {
      const command = text.split(/\s/, 1)[0] as string;
      return void (await ctx.reply(ctx.t('unknown-command', { command })));
    }
    await catalog.search(ctx, normaliseTerm(text), {}, 'send');
  });
  messages.use((ctx) => ctx.reply(ctx.t('unknown-update')));

  bot.on('callback_query:data', async (ctx) => {
    const action = decode(ctx.callbackQuery.data);
    if (!action) return void (await ctx.answerCallbackQuery({ text: ctx.t('button-expired') }));
    switch (action.kind) {
      case 'menu':
        return catalog.menu(ctx, 'edit');
      case 'category':
        return catalog.category(ctx, action.category, action);
      case 'search':
        return catalog.search(ctx, action.term, action, 'edit');
      case 'product':
        return catalog.product(ctx, action.id, 'send');
      case 'refresh':
        return catalog.product(ctx, action.id, 'edit');
      case 'add':
        return cart.add(ctx, action.id, false);
      case 'more':
        return cart.add(ctx, action.id, true);
      case 'less':
        return cart.less(ctx, action.id);
      case 'cart':
        return cart.show(ctx, 'send');
      case 'clear':
        return cart.clear(ctx);
      case 'checkout':
        return orders.checkout(ctx, action.cartId);
      case 'orders':
        return orders.list(ctx, 'send');
      case 'order':
        return orders.show(ctx, action.id);
      case 'payCard':
        return orders.payByCard(ctx, action.id);
      case 'payCredit':
        return orders.payWithCredit(ctx, action.id);
      case 'cancel':
        return orders.cancel(ctx, action.id);
    }
  });

  bot.on('inline_query', (ctx) => catalog.inline(ctx));
}
