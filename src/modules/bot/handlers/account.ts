import { FormattedString, fmt } from '@grammyjs/parse-mode';
import { InlineKeyboard } from 'grammy';
import type { BotDeps } from '../bot-deps.ts';
import type { BotContext } from '../context.ts';
import { LINK_CODE_PATTERN } from '../telegram-links.repository.ts';
import { send } from '../views.ts';

/** `/start p<id>`: the deep link an inline result carries to a product. */
export const PRODUCT_START = /^p([0-9a-z]{1,11})$/;

/** The store's social links from STORE_SOCIAL_LINKS ("Name=url,Name=url"). */
export const socialLinks = (value: string | undefined): Array<{ name: string; url: string }> =>
  (value ?? '')
    .split(',')
    .filter(Boolean)
    .map((pair) => {
      const at = pair.indexOf('=');
      return { name: pair.slice(0, at).trim(), url: pair.slice(at + 1) };
    });

/** Greeting, help, the store's links, and linking a Telegram user to an armazem account. */
export function accountActions({ config, telegramLinks }: BotDeps) {
  const social = socialLinks(config.STORE_SOCIAL_LINKS);

  const help = async (ctx: BotContext, greeting: boolean) => {
    const linked = ctx.from ? (await telegramLinks.customerOf(ctx.from.id)) !== null : false;
    const parts = [
      ...(greeting
        ? [
            fmt`${FormattedString.b(ctx.t('welcome', { name: ctx.from?.first_name ?? '', store: config.STORE_NAME }))}`,
          ]
        : []),
      fmt`${ctx.t('commands')}`,
      fmt`${ctx.t(linked ? 'linked-as' : 'how-to-link')}`,
    ];
    await send(ctx, { text: FormattedString.join(parts, '\n\n') });
  };

  return {
    help,

    /** `/start`, `/start <link code>` or `/start p<product>`. Returns the product id for the last. */
    async start(ctx: BotContext, payload: string): Promise<number | null> {
      const product = PRODUCT_START.exec(payload);
      if (product) return Number.parseInt(product[1] as string, 36);
      if (LINK_CODE_PATTERN.test(payload) && ctx.from) {
        const customerId = await telegramLinks.link(payload, ctx.from.id);
        await ctx.reply(ctx.t(customerId === null ? 'link-invalid' : 'linked'));
        return null;
      }
      await help(ctx, true);
      return null;
    },

    async unlink(ctx: BotContext) {
      if (!ctx.from) return;
      await ctx.reply(ctx.t((await telegramLinks.unlink(ctx.from.id)) ? 'unlinked' : 'not-linked-yet'));
    },

    async site(ctx: BotContext) {
      if (!config.STORE_SITE_URL) return void (await ctx.reply(ctx.t('site-missing')));
      await ctx.reply(ctx.t('site'), {
        reply_markup: new InlineKeyboard().url(ctx.t('button-site'), config.STORE_SITE_URL),
      });
    },

    async social(ctx: BotContext) {
      if (social.length === 0) return void (await ctx.reply(ctx.t('social-missing')));
      const keyboard = new InlineKeyboard();
      for (const link of social) keyboard.url(link.name, link.url).row();
      await ctx.reply(ctx.t('social'), { reply_markup: keyboard });
    },
  };
}
