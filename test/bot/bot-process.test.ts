import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeMessage, FakeTelegram, type FakeUser } from '../fakes/telegram-bot-api.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { addProduct, linkCode } from '../helpers/bot.ts';
import { postCredit } from '../helpers/credit.ts';
import { registerAndLogin } from '../helpers/customers.ts';
import { createTestDatabase, eventually, realServers, type TestDatabase } from '../helpers/env.ts';
import { placeOrder, stockOf } from '../helpers/orders.ts';
import { freePort, ROOT, type Started, startProcess } from '../helpers/process.ts';

/**
 * End to end: the real `bot` process (npm run bot's entry point) polls the
 * fake Bot API; the API side (products, link codes, orders) goes through the
 * production app on the same PostgreSQL and Redis.
 */
let db: TestDatabase;
let t: TestApp;
let fake: FakeTelegram;
let bot: Started;
let metricsPort: number;
let env: Record<string, string>;

beforeAll(async () => {
  fake = await new FakeTelegram().start();
  db = await createTestDatabase();
  const servers = realServers(db.url);
  t = await startTestApp(servers);
  metricsPort = await freePort();
  env = {
    ...servers,
    NODE_ENV: 'production',
    JWT_SECRET: 'bot-process-test-secret-0123456789-abcdefghij',
    LOG_LEVEL: 'warn',
    TELEGRAM_BOT_TOKEN: fake.token,
    TELEGRAM_API_ROOT: fake.apiRoot,
    BOT_METRICS_PORT: String(metricsPort),
    INSTANCE_ID: 'bot-e2e',
  };
  bot = startProcess(`${ROOT}src/entrypoints/bot.ts`, env);
  await eventually(async () => {
    expect(bot.child.exitCode, bot.stderr() + bot.stdout()).toBeNull();
    const res = await fetch(`http://127.0.0.1:${metricsPort}/health`);
    expect(res.status).toBe(200);
  }, 30_000);
});

afterAll(async () => {
  if (bot && bot.child.exitCode === null) bot.child.kill('SIGKILL');
  await t?.close();
  await db?.drop();
  await fake?.close();
});

/** The user sends text; resolves with the bot's next new or edited message in the chat. */
async function say(user: FakeUser, text: string): Promise<FakeMessage> {
  const since = fake.calls.length;
  fake.sendText(user, text);
  await fake.waitForCall(
    (c) => c.method === 'sendMessage' && Number(c.params.chat_id) === user.id && c.ok,
    10_000,
    since,
  );
  return fake.lastBotMessage(user.id) as FakeMessage;
}

/** The user presses a button; resolves once the press is answered and the bot's edit or message (if any) made. */
async function tap(user: FakeUser, message: FakeMessage, label: string, expect: 'edit' | 'send' | 'answer') {
  const since = fake.calls.length;
  const update = fake.pressLabel(user, message, label);
  const id = update.callback_query?.id;
  await fake.waitForCall(
    (c) => c.method === 'answerCallbackQuery' && c.params.callback_query_id === id,
    10_000,
    since,
  );
  if (expect === 'edit') await fake.waitForCall((c) => c.method === 'editMessageText', 10_000, since);
  if (expect === 'send') await fake.waitForCall((c) => c.method === 'sendMessage', 10_000, since);
  return expect === 'edit'
    ? (fake.messages(user.id).find((m) => m.message_id === message.message_id) as FakeMessage)
    : (fake.lastBotMessage(user.id) as FakeMessage);
}

describe('the bot process against the fake Bot API', () => {
  it('when it starts, then it registers the commands in both languages, drops any webhook and polls with a timeout', async () => {
    expect(fake.commands.get('')?.map((c) => c.command)).toContain('menu');
    expect(fake.commands.get('en')?.find((c) => c.command === 'ajuda')?.description).toBe('Help');
    expect(fake.calls.some((c) => c.method === 'deleteWebhook')).toBe(true);
    const poll = fake.calls.filter((c) => c.method === 'getUpdates').at(-1);
    expect(Number(poll?.params.timeout)).toBeGreaterThan(0);
  });

  it('when a shopper browses and searches, then the answers come through long polling, with and without accents', async () => {
    await addProduct(t, { name: 'Limão Tahiti', price: '5.90', stock: 12, category: 'frutas' });
    const user = fake.user(3001);
    const menu = await say(user, '/menu');
    expect(menu.text).toBe('Escolha uma categoria:');
    const fruits = await tap(user, menu, 'frutas', 'edit');
    expect(fruits.text).toContain('Limão Tahiti — R$ 5,90 · 12 em estoque');
    for (const term of ['limao', 'Limão'])
      expect((await say(user, `/produtos ${term}`)).text).toContain('Limão Tahiti');
    // Every update was confirmed by a later offset.
    await eventually(() => expect(fake.unconfirmed).toBe(0));
  });

  it('when stock changes through an API order, then the card shows it at once; a linked shopper orders and pays with credit', async () => {
    const cafe = await addProduct(t, {
      name: 'Café do sítio',
      price: '20.00',
      stock: 5,
      category: 'mercearia',
    });
    const user = fake.user(3002);
    const list = await say(user, '/produtos cafe');
    const card = await tap(user, list, 'Café do sítio', 'send');
    expect(card.text).toContain('Estoque: 5');
    await placeOrder(t, await registerAndLogin(t), [{ productId: cafe, quantity: 2 }]);
    const refreshed = await tap(user, card, 'Atualizar', 'edit');
    expect(refreshed.text).toContain('Estoque: 3');

    const customer = await registerAndLogin(t);
    await postCredit(t, customer.id, { type: 'credit', amount: '50.00', description: 'vale' });
    expect((await say(user, `/start ${await linkCode(t, customer.auth)}`)).text).toContain('Conta vinculada');
    await tap(user, refreshed, 'Adicionar', 'answer');
    const cart = await say(user, '/carrinho');
    const order = await tap(user, cart, 'Fazer pedido', 'edit');
    expect(order.text).toContain('Situação: reservado');
    expect(await stockOf(t, cafe)).toBe(2);
    const paid = await tap(user, order, 'Pagar com crédito', 'edit');
    expect(paid.text).toContain('Situação: pago');
    expect((await say(user, '/pedidos')).text).toMatch(/#\d+ · pago · R\$ 20,00/);
  });

  it('when Telegram answers 429 with retry_after, then the reply is sent again after it and arrives', async () => {
    const user = fake.user(3003);
    fake.failNext('sendMessage', 1, {
      code: 429,
      description: 'Too Many Requests: retry after 1',
      parameters: { retry_after: 1 },
    });
    const started = performance.now();
    const msg = await say(user, '/ajuda');
    expect(msg.text).toContain('/menu');
    const sends = fake.calls.filter(
      (c) => c.method === 'sendMessage' && Number(c.params.chat_id) === user.id,
    );
    expect(sends.map((c) => c.error?.error_code ?? 200)).toEqual([429, 200]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('when a shopper floods the bot, then the first update over the limit is told to wait and the rest are dropped', async () => {
    const user = fake.user(3004);
    const since = fake.calls.length;
    for (let i = 0; i < 14; i++) fake.sendText(user, '/ajuda');
    await eventually(() => {
      const texts = fake.calls
        .slice(since)
        .filter((c) => c.method === 'sendMessage' && Number(c.params.chat_id) === user.id)
        .map((c) => String(c.params.text));
      expect(texts.filter((x) => x.startsWith('Calma!'))).toHaveLength(1);
      expect(texts).toHaveLength(13);
    });
  });

  it('when a second process polls the same bot, then Telegram ends the first poll with 409 and that process exits saying why', async () => {
    const second = startProcess(`${ROOT}src/entrypoints/bot.ts`, {
      ...env,
      BOT_METRICS_PORT: '0',
      INSTANCE_ID: 'bot-2',
    });
    expect(await bot.exited).toBe(1);
    expect(bot.stderr()).toContain('409 Conflict: terminated by other getUpdates request');
    expect(bot.stderr()).toContain('only one process may poll a bot');
    // The one left polling serves.
    bot = second;
    expect((await say(fake.user(3005), '/menu')).text).toBe('Escolha uma categoria:');
  });

  it('when SIGTERM arrives during a long poll, then the process stops within a few seconds, exit code 0', async () => {
    const started = performance.now();
    bot.child.kill('SIGTERM');
    const code = await bot.exited;
    expect(code).toBe(0);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('when TELEGRAM_WEBHOOK_URL is set, then the bot role registers the webhook with its secret and exits 0', async () => {
    const p = startProcess(`${ROOT}src/entrypoints/bot.ts`, {
      ...env,
      BOT_METRICS_PORT: '0',
      TELEGRAM_WEBHOOK_URL: 'https://loja.example/telegram/webhook',
      TELEGRAM_WEBHOOK_SECRET: 'webhook-secret-for-tests_0123456789',
    });
    expect(await p.exited).toBe(0);
    expect(fake.webhook).toMatchObject({
      url: 'https://loja.example/telegram/webhook',
      secret_token: 'webhook-secret-for-tests_0123456789',
    });
    fake.webhook = null;
  });

  it('when TELEGRAM_BOT_TOKEN is missing, then the bot role refuses to start and names it', async () => {
    const { TELEGRAM_BOT_TOKEN: _, ...rest } = env;
    const p = startProcess(`${ROOT}src/entrypoints/bot.ts`, rest);
    expect(await p.exited).toBe(78);
    expect(p.stderr()).toContain('TELEGRAM_BOT_TOKEN: required for the bot role');
  });
});
