import { autoRetry } from '@grammyjs/auto-retry';
import { limit } from '@grammyjs/ratelimiter';
import { sequentialize } from '@grammyjs/runner';
import { RedisAdapter } from '@grammyjs/storage-redis';
import { Bot, type Context, lazySession, MemorySessionStorage, type StorageAdapter } from 'grammy';
import type { UserFromGetMe } from 'grammy/types';
import type { Redis } from 'ioredis';
import { inSpan } from '../../platform/tracing.ts';
import { botApiFetch } from './api-fetch.ts';
import type { BotDeps } from './bot-deps.ts';
import type { BotContext, SessionData } from './context.ts';
import { registerHandlers } from './handlers/register.ts';
import { localeOf, TRANSLATIONS } from './i18n.ts';

export interface BotOptions {
  /** Known identity (tests); otherwise `bot.init()` asks Telegram (getMe). */
  botInfo?: UserFromGetMe;
  /**
   * Count flood limits in this process instead of Redis: right for the one
   * process that polls (nobody else sees its updates), and one Redis round
   * trip less per update. Webhook instances share the counts through Redis.
   */
  localFloodLimit?: boolean;
}

/** Carts outlive a conversation pause, not a season. */
const SESSION_TTL_SECONDS = 30 * 86_400;

/** The updates the bot handles; anything else Telegram would send is not asked for. */
export const ALLOWED_UPDATES = ['message', 'callback_query', 'inline_query'] as const;

/** Which kind of update (message, callback_query, inline_query): the key beside update_id. */
const updateType = (ctx: Context): string =>
  Object.keys(ctx.update).find((k) => k !== 'update_id') ?? 'unknown';

/** Updates from one user, and in one chat, are handled in order; different ones run concurrently. */
const orderingKeys = (ctx: Context): string[] => {
  const keys: string[] = [];
  if (ctx.chat) keys.push(`c${ctx.chat.id}`);
  if (ctx.from) keys.push(`u${ctx.from.id}`);
  return keys;
};

/**
 * The store's Telegram bot: the same for long polling (the `bot` role, with
 * grammY's runner) and for webhooks (the API's POST /telegram/webhook), and
 * what the tests drive with `bot.handleUpdate`.
 */
export function createBot(deps: BotDeps, options: BotOptions = {}): Bot<BotContext> {
  const { config, log, kv } = deps;
  if (!config.TELEGRAM_BOT_TOKEN) throw new Error('TELEGRAM_BOT_TOKEN is required for the bot');
  const bot = new Bot<BotContext>(config.TELEGRAM_BOT_TOKEN, {
    client: { apiRoot: config.TELEGRAM_API_ROOT, fetch: botApiFetch },
    ...(options.botInfo ? { botInfo: options.botInfo } : {}),
  });
  // Telegram's 429 (after its retry_after) and 5xx are retried; a refusal (400) is not.
  bot.api.config.use(autoRetry({ maxRetryAttempts: 5, maxDelaySeconds: 60 }));

  // Each update timed by kind, and one span per update with tracing on: its SQL, Redis and Bot API calls nest in it.
  bot.use((ctx, next) => {
    const type = updateType(ctx);
    const done = deps.metrics.botUpdates.startTimer({ type });
    return inSpan(
      'bot update',
      { 'telegram.update_id': ctx.update.update_id, 'telegram.update_type': type },
      () => next(),
    ).finally(done);
  });
  bot.use(sequentialize(orderingKeys));
  bot.use((ctx, next) => {
    ctx.locale = localeOf(ctx.from?.language_code);
    ctx.t = TRANSLATIONS[ctx.locale];
    return next();
  });
  bot.use(answerEveryButton);
  // Per-user flood limit, counted in Redis when several instances handle updates (webhooks).
  bot.use(
    limit<BotContext, NonNullable<typeof kv.redisClient>>({
      timeFrame: config.BOT_FLOOD_WINDOW_MS,
      limit: config.BOT_FLOOD_LIMIT,
      storageClient: (!options.localFloodLimit && kv.redisClient) || 'MEMORY_STORE',
      keyPrefix: 'bot:flood:',
      onLimitExceeded: async (ctx) => {
        if (ctx.callbackQuery) await ctx.answerCallbackQuery({ text: ctx.t('flood') });
        else if (ctx.message) await ctx.reply(ctx.t('flood'));
      },
    }),
  );
  const storage: StorageAdapter<SessionData> = kv.redisClient
    ? // Single-key GET/SET/DEL only, which a Redis Cluster client serves as well.
      new RedisAdapter<SessionData>({ instance: kv.redisClient as Redis, ttl: SESSION_TTL_SECONDS })
    : new MemorySessionStorage<SessionData>(SESSION_TTL_SECONDS * 1000);
  // Lazy: browsing never reads the session; only the cart does.
  bot.use(
    lazySession({
      initial: (): SessionData => ({}),
      getSessionKey: (ctx) => (ctx.from ? `bot:session:${ctx.from.id}` : undefined),
      storage,
    }),
  );

  registerHandlers(bot, deps);

  bot.catch(async ({ error, ctx }) => {
    log.error({ err: error, update: ctx.update.update_id }, 'bot update failed');
    // ctx.t is missing when the failure came before the locale was picked.
    if (ctx.message && ctx.t) await ctx.reply(ctx.t('error')).catch(() => {});
  });
  return bot;
}

/**
 * Every button press gets an answer (Telegram shows a spinner until then):
 * the handler's own, or an empty one after it, or the error text if it failed;
 * never two.
 */
async function answerEveryButton(ctx: BotContext, next: () => Promise<void>): Promise<void> {
  if (!ctx.callbackQuery) return next();
  let answered = false;
  const answer = ctx.answerCallbackQuery.bind(ctx);
  // Telegram refuses a second answer; the first one (usually the more specific) stands.
  ctx.answerCallbackQuery = async (other) => {
    if (answered) return true;
    answered = true;
    return answer(other);
  };
  try {
    await next();
  } catch (err) {
    if (!answered) await answer({ text: ctx.t('error') }).catch(() => {});
    answered = true;
    throw err;
  } finally {
    if (!answered) await answer();
  }
}
