import type { AddressInfo } from 'node:net';
import { Api, GrammyError } from 'grammy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTelegram } from '../fakes/telegram-bot-api.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { addProduct } from '../helpers/bot.ts';
import { createTestDatabase, eventually, realServers, type TestDatabase } from '../helpers/env.ts';

/**
 * Webhook mode: two API instances built by buildApp serve POST
 * /telegram/webhook; the fake Bot API posts updates to them as Telegram does.
 */
const SECRET = 'webhook-secret-for-tests_0123456789';
let db: TestDatabase;
let fake: FakeTelegram;
const apps: TestApp[] = [];

beforeAll(async () => {
  fake = await new FakeTelegram().start();
  db = await createTestDatabase();
  const servers = realServers(db.url);
  for (const id of ['api-a', 'api-b']) {
    const t = await startTestApp({
      ...servers,
      INSTANCE_ID: id,
      TELEGRAM_BOT_TOKEN: fake.token,
      TELEGRAM_API_ROOT: fake.apiRoot,
      TELEGRAM_WEBHOOK_URL: 'https://loja.example/telegram/webhook',
      TELEGRAM_WEBHOOK_SECRET: SECRET,
    });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    apps.push(t);
  }
  await addProduct(apps[0] as TestApp, { name: 'Limão Tahiti', price: '5.90', stock: 12 });
});

afterAll(async () => {
  for (const t of apps) await t.close();
  await db?.drop();
  await fake?.close();
});

const portOf = (t: TestApp) => (t.app.server.address() as AddressInfo).port;

describe('webhook mode', () => {
  it('when Telegram posts updates to either instance, then each answers them with the same bot', async () => {
    const api = new Api(fake.token, { apiRoot: fake.apiRoot });
    await api.setWebhook('https://loja.example/telegram/webhook', { secret_token: SECRET });
    for (const [i, t] of apps.entries()) {
      fake.webhookTarget = () => `http://127.0.0.1:${portOf(t)}/telegram/webhook`;
      const user = fake.user(4000 + i);
      fake.sendText(user, '/produtos limao');
      await eventually(() => expect(fake.lastBotMessage(user.id)?.text).toContain('Limão Tahiti — R$ 5,90'));
    }
    // Polling is refused while a webhook is set, as Telegram does.
    const polled = await api.getUpdates().catch((e: unknown) => e);
    expect(polled).toBeInstanceOf(GrammyError);
    expect((polled as GrammyError).error_code).toBe(409);
  });

  it('when a post does not carry the secret token, then 401 and nothing is handled', async () => {
    const t = apps[0] as TestApp;
    const update = {
      update_id: 1,
      message: { message_id: 1, date: 0, chat: { id: 4100, type: 'private' }, text: '/menu' },
    };
    for (const headers of [{}, { 'x-telegram-bot-api-secret-token': 'wrong-secret-0123456789' }]) {
      const res = await t.app.inject({ method: 'POST', url: '/telegram/webhook', headers, payload: update });
      expect(res.statusCode).toBe(401);
    }
    expect(fake.calls.some((c) => Number(c.params.chat_id) === 4100)).toBe(false);
  });
});
