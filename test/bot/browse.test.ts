import { beforeAll, describe, expect, it } from 'vitest';
import { registerCommands } from '../../src/modules/bot/commands.ts';
import { addProduct, callsDuring, useBot } from '../helpers/bot.ts';
import { registerAndLogin } from '../helpers/customers.ts';
import { placeOrder } from '../helpers/orders.ts';

/** Handler tests: the bot from createBot, driven with bot.handleUpdate against the fake Bot API. */
const ctx = useBot({
  STORE_NAME: 'Sabores da Terra',
  STORE_SITE_URL: 'https://saboresdaterra.example',
  STORE_SOCIAL_LINKS:
    'Instagram=https://instagram.com/saboresdaterra,Facebook=https://facebook.com/saboresdaterra',
});

const ids: Record<string, number> = {};
beforeAll(async () => {
  const { t } = ctx;
  ids.limao = await addProduct(t, {
    name: 'Limão Tahiti',
    price: '5.90',
    stock: 12,
    description: 'Limão orgânico, colhido na semana.',
  });
  ids.tomate = await addProduct(t, { name: 'Tomate <cereja> & *italiano*', price: '8.50', stock: 0 });
  for (let i = 1; i <= 10; i++)
    await addProduct(t, { name: `Queijo ${i}`, category: 'laticinios', price: '30.00' });
});

describe('bot: browsing', () => {
  it('when a shopper sends /start, then they are greeted in Portuguese with the commands and how to link', async () => {
    const { fake, say } = ctx;
    const msg = await say(fake.user(1001), '/start');
    expect(msg.text).toContain('Olá, Cliente 1001! Eu sou o bot da loja Sabores da Terra');
    expect(msg.text).toContain('/menu — categorias e produtos');
    expect(msg.text).toContain('/start seguido do código');
  });

  it('when the shopper’s Telegram is in English, then the bot answers in English', async () => {
    const { fake, say } = ctx;
    const msg = await say(fake.user(1002, { language_code: 'en' }), '/ajuda');
    expect(msg.text).toContain('/menu — categories and products');
  });

  it('when the commands are registered, then Telegram gets the Portuguese menu and the English one', async () => {
    const { fake, bot } = ctx;
    await registerCommands(bot.api);
    expect(fake.commands.get('')?.map((c) => c.command)).toEqual(
      expect.arrayContaining(['start', 'menu', 'produtos', 'site', 'social', 'ajuda', 'pedidos', 'carrinho']),
    );
    expect(fake.commands.get('')?.find((c) => c.command === 'menu')?.description).toBe(
      'Categorias e produtos',
    );
    expect(fake.commands.get('en')?.find((c) => c.command === 'menu')?.description).toBe(
      'Categories and products',
    );
  });

  it('when /menu, then categories; a category lists products with price and live stock, paged in the same message', async () => {
    const { fake, say, tap } = ctx;
    const user = fake.user(1003);
    const menu = await say(user, '/menu');
    expect(menu.text).toBe('Escolha uma categoria:');
    expect(menu.reply_markup?.inline_keyboard.flat().map((b) => b.text)).toEqual([
      'frutas · 2 produtos',
      'laticinios · 10 produtos',
    ]);

    const fruits = await tap(user, menu, 'frutas');
    expect(fruits.message_id).toBe(menu.message_id);
    expect(fruits.text).toContain('Limão Tahiti — R$ 5,90 · 12 em estoque');
    expect(fruits.text).toContain('Tomate <cereja> & *italiano* — R$ 8,50 · esgotado');

    const back = await tap(user, fruits, 'Categorias');
    const cheese = await tap(user, back, 'laticinios');
    expect(cheese.text.split('\n')).toHaveLength(1 + 8);
    expect(cheese.text).toContain('Queijo 8 —');
    expect(cheese.text).not.toContain('Queijo 9 —');
    const page2 = await tap(user, cheese, 'Próximos');
    expect(page2.message_id).toBe(menu.message_id);
    expect(page2.text).toContain('Queijo 9 —');
    expect(page2.text).toContain('Queijo 10 —');
    expect(page2.reply_markup?.inline_keyboard.flat().some((b) => b.text.includes('Próximos'))).toBe(false);
    const page1 = await tap(user, page2, 'Anteriores');
    expect(page1.text).toBe(cheese.text);
    // Every press was answered.
    const presses = fake.calls.filter((c) => c.method === 'answerCallbackQuery');
    expect(presses.every((c) => c.ok)).toBe(true);
    expect(presses.length).toBeGreaterThanOrEqual(5);
  });

  it('when /produtos limao, then "Limão Tahiti" is found: accents and case do not matter', async () => {
    const { fake, say } = ctx;
    const user = fake.user(1004);
    for (const term of ['limao', 'LIMÃO', 'tahi']) {
      const msg = await say(user, `/produtos ${term}`);
      expect(msg.text, term).toContain(`Resultados para “${term}”`);
      expect(msg.text, term).toContain('Limão Tahiti — R$ 5,90 · 12 em estoque');
    }
    expect((await say(user, '/produtos abacaxi')).text).toBe(
      'Nada encontrado para “abacaxi”. Veja as categorias em /menu.',
    );
    expect((await say(user, '/produtos')).text).toContain('por exemplo: /produtos limão');
    // Plain text is a search too.
    expect((await say(user, 'limão')).text).toContain('Limão Tahiti');
  });

  it('when a product is opened, then its card shows name, description, price and stock; names need no escaping', async () => {
    const { fake, say, tap } = ctx;
    const user = fake.user(1005);
    const list = await say(user, '/produtos tomate');
    const calls = await callsDuring(fake, () => tap(user, list, 'Tomate'));
    const card = fake.lastBotMessage(user.id);
    expect(card?.message_id).not.toBe(list.message_id);
    expect(card?.text).toBe('Tomate <cereja> & *italiano*\nPreço: R$ 8,50\nEstoque: esgotado');
    // Bold name as an entity, no parse mode: nothing in the name is taken as markup.
    expect(card?.entities).toEqual([
      { type: 'bold', offset: 0, length: 'Tomate <cereja> & *italiano*'.length },
    ]);
    expect(calls.find((c) => c.method === 'sendMessage')?.params.parse_mode).toBeUndefined();
    // Sold out: no "add" button.
    expect(card?.reply_markup?.inline_keyboard.flat().map((b) => b.text)).not.toContain(
      '➕ Adicionar ao carrinho',
    );

    const lemon = await tap(user, await say(user, '/produtos limao'), 'Limão');
    const lemonCard = fake.lastBotMessage(user.id);
    expect(lemon).toBeDefined();
    expect(lemonCard?.text).toBe(
      'Limão Tahiti\nLimão orgânico, colhido na semana.\nPreço: R$ 5,90\nEstoque: 12',
    );
  });

  it('when the stock changes after an order through the API, then Refresh on the card shows it at once', async () => {
    const { fake, say, tap, t } = ctx;
    const user = fake.user(1006);
    await tap(user, await say(user, '/produtos limao'), 'Limão');
    const card = fake.lastBotMessage(user.id);
    if (!card) throw new Error('no card');
    expect(card.text).toContain('Estoque: 12');

    // Unchanged: Telegram refuses the identical edit; the shopper is told nothing changed.
    const same = await callsDuring(fake, () => tap(user, card, 'Atualizar'));
    expect(same.find((c) => c.method === 'editMessageText')?.error?.description).toContain(
      'message is not modified',
    );
    expect(same.find((c) => c.method === 'answerCallbackQuery')?.params.text).toBe('Nada mudou.');

    const buyer = await registerAndLogin(t);
    await placeOrder(t, buyer, [{ productId: ids.limao as number, quantity: 3 }]);
    const after = await tap(user, card, 'Atualizar');
    expect(after.text).toContain('Estoque: 9');
  });

  it('when an unknown command is sent, then the answer points to /ajuda', async () => {
    const { fake, say } = ctx;
    expect((await say(fake.user(1007), '/comprar')).text).toBe(
      'Não conheço o comando /comprar. Veja o que sei fazer em /ajuda.',
    );
  });

  it('when /site and /social, then the configured links come as URL buttons', async () => {
    const { fake, say } = ctx;
    const user = fake.user(1008);
    const site = await say(user, '/site');
    expect(site.reply_markup?.inline_keyboard.flat()[0]?.url).toBe('https://saboresdaterra.example');
    const social = await say(user, '/social');
    expect(social.reply_markup?.inline_keyboard.flat().map((b) => [b.text, b.url])).toEqual([
      ['Instagram', 'https://instagram.com/saboresdaterra'],
      ['Facebook', 'https://facebook.com/saboresdaterra'],
    ]);
  });

  it('when someone types @bot limao in any chat, then matching products come as inline results with live stock', async () => {
    const { fake, handle } = ctx;
    const user = fake.user(1009);
    await handle(fake.inlineQuery(user, 'limao'));
    const answer = fake.calls.filter((c) => c.method === 'answerInlineQuery').at(-1);
    expect(answer?.ok).toBe(true);
    const results = answer?.params.results as Array<Record<string, unknown>>;
    expect(results.map((r) => r.title)).toEqual(['Limão Tahiti']);
    expect(results[0]?.description).toMatch(/R\$ 5,90 · \d+ em estoque/);
    const markup = results[0]?.reply_markup as { inline_keyboard: Array<Array<{ url: string }>> };
    const link = markup.inline_keyboard[0]?.[0]?.url;
    expect(link).toBe(`https://t.me/armazem_test_bot?start=p${ids.limao?.toString(36)}`);

    // Empty query: the catalog, paged with next_offset.
    await handle(fake.inlineQuery(user, ''));
    const all = fake.calls.filter((c) => c.method === 'answerInlineQuery').at(-1);
    expect(all?.params.results).toHaveLength(12);
    expect(all?.params.next_offset).toBe('');
  });

  it('when the deep link /start p<id> is opened, then that product’s card is shown', async () => {
    const { fake, say } = ctx;
    const msg = await say(fake.user(1010), `/start p${ids.limao?.toString(36)}`);
    expect(msg.text.startsWith('Limão Tahiti\n')).toBe(true);
  });

  it('when a button carries data the bot did not make, then the press is answered and nothing else happens', async () => {
    const { fake, handle } = ctx;
    const user = fake.user(1011);
    const menu = await ctx.say(user, '/menu');
    if (!menu.reply_markup) throw new Error('no keyboard');
    menu.reply_markup.inline_keyboard.push([{ text: 'forjado', callback_data: 'zzz-not-ours' }]);
    const calls = await callsDuring(fake, () => handle(fake.press(user, menu, 'zzz-not-ours')));
    expect(calls.map((c) => c.method)).toEqual(['answerCallbackQuery']);
    expect(calls[0]?.params.text).toBe('Este botão não vale mais; use /menu.');
  });
});
