import type { Context, LazySessionFlavor } from 'grammy';
import type { Locale, Translate } from './i18n.ts';

/** What the bot keeps per Telegram user (in Redis when configured): the cart. */
export interface SessionData {
  /** `id` is new for every cart, so an order button pressed twice places one order (its Idempotency-Key). */
  cart?: { id: string; items: Record<string, number> };
}

export type BotContext = Context &
  LazySessionFlavor<SessionData> & {
    locale: Locale;
    t: Translate;
  };
