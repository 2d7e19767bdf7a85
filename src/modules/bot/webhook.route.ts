import { webhookCallback } from 'grammy';
import type { AppInstance } from '../../http/app-instance.ts';
import type { BotDeps } from './bot-deps.ts';
import { createBot } from './create-bot.ts';

export const WEBHOOK_PATH = '/telegram/webhook';

/**
 * Webhook mode: Telegram posts each update to an API instance, which handles
 * it with the same bot as the poller (grammY's Fastify adapter). Any number
 * of instances can serve it; an update whose X-Telegram-Bot-Api-Secret-Token
 * is not TELEGRAM_WEBHOOK_SECRET gets 401.
 */
export async function telegramWebhookRoute(app: AppInstance, deps: BotDeps): Promise<void> {
  const bot = createBot(deps);
  const handle = webhookCallback(bot, 'fastify', {
    secretToken: deps.config.TELEGRAM_WEBHOOK_SECRET as string,
    // Telegram gives a webhook 60 s; ours answers before its own timeout sends it again.
    onTimeout: 'return',
    timeoutMilliseconds: 50_000,
  });
  app.post(WEBHOOK_PATH, { schema: { hide: true } }, handle);
}
