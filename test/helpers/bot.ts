import type { Bot } from 'grammy';
import { afterAll, beforeAll, expect } from 'vitest';
import type { BotContext } from '../../src/modules/bot/context.ts';
import { createBot } from '../../src/modules/bot/create-bot.ts';
import { type FakeMessage, FakeTelegram, type FakeUser, type Update } from '../fakes/telegram-bot-api.ts';
import { json, startTestApp, type TestApp } from './app.ts';
import { createTestDatabase, realServers, type TestDatabase } from './env.ts';

export interface BotTestContext {
  db: TestDatabase;
  t: TestApp;
  fake: FakeTelegram;
  bot: Bot<BotContext>;
  /** Hands an update to the bot as the runner would, and waits until it is handled. */
  handle(update: Update): Promise<void>;
  /** The user sends text; returns the bot's latest message in their chat afterwards. */
  say(user: FakeUser, text: string): Promise<FakeMessage>;
  /** The user presses the button labelled `label` on `message`; returns that message as it is afterwards. */
  tap(user: FakeUser, message: FakeMessage, label: string): Promise<FakeMessage>;
}

/**
 * A file's setup for handler tests: a database, the production app (for the
 * API side: products, customers, orders), the fake Bot API, and the bot built
 * by `createBot` on the app's own dependencies, driven with `bot.handleUpdate`.
 */
export function useBot(env: Record<string, string> = {}): BotTestContext {
  const ctx = {} as BotTestContext;
  beforeAll(async () => {
    ctx.fake = await new FakeTelegram().start();
    ctx.db = await createTestDatabase();
    ctx.t = await startTestApp({
      ...realServers(ctx.db.url),
      TELEGRAM_BOT_TOKEN: ctx.fake.token,
      TELEGRAM_API_ROOT: ctx.fake.apiRoot,
      ...env,
    });
    ctx.bot = createBot(ctx.t.deps);
    await ctx.bot.init();
    ctx.handle = (update) => ctx.bot.handleUpdate(update as Parameters<Bot['handleUpdate']>[0]);
    ctx.say = async (user, text) => {
      await ctx.handle(ctx.fake.sendText(user, text));
      return ctx.fake.lastBotMessage(user.id) as FakeMessage;
    };
    ctx.tap = async (user, message, label) => {
      await ctx.handle(ctx.fake.pressLabel(user, message, label));
      return ctx.fake.messages(user.id).find((m) => m.message_id === message.message_id) as FakeMessage;
    };
  });
  afterAll(async () => {
    await ctx.t?.close();
    await ctx.db?.drop();
    await ctx.fake?.close();
  });
  return ctx;
}

/** The Bot API calls made while `run` ran. */
export async function callsDuring(fake: FakeTelegram, run: () => Promise<unknown>) {
  const from = fake.calls.length;
  await run();
  return fake.calls.slice(from);
}

/** Creates a product through the API as the admin; returns its id. */
export async function addProduct(
  t: TestApp,
  p: { name: string; price?: string; stock?: number; category?: string; description?: string },
): Promise<number> {
  const res = await t.asAdmin({
    method: 'POST',
    url: '/products',
    ...json({ price: '10.00', stock: 10, category: 'frutas', ...p }),
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

/** A one-time link code from the API, as the customer would get it. */
export async function linkCode(t: TestApp, auth: { authorization: string }): Promise<string> {
  const res = await t.app.inject({ method: 'POST', url: '/telegram/link-code', headers: auth });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().code;
}
