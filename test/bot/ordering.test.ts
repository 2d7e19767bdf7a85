import { beforeAll, describe, expect, it } from 'vitest';
import { json } from '../helpers/app.ts';
import { addProduct, callsDuring, linkCode, useBot } from '../helpers/bot.ts';
import { creditOf, postCredit } from '../helpers/credit.ts';
import { registerAndLogin } from '../helpers/customers.ts';
import { expectStockConsistent, placeOrder, stockOf } from '../helpers/orders.ts';

/** Handler tests: linking an account, the cart, ordering, paying and /pedidos. */
const ctx = useBot({ BOT_FLOOD_LIMIT: '1000' });

const ids: Record<string, number> = {};
beforeAll(async () => {
  ids.mel = await addProduct(ctx.t, {
    name: 'Mel silvestre',
    price: '25.00',
    stock: 5,
    category: 'mercearia',
  });
  ids.cafe = await addProduct(ctx.t, {
    name: 'Café torrado',
    price: '32.50',
    stock: 3,
    category: 'mercearia',
  });
});

/** A Telegram user linked to a new armazem customer through the API's one-time code. */
async function linkedShopper(telegramId: number) {
  const { t, fake, say } = ctx;
  const customer = await registerAndLogin(t);
  const user = fake.user(telegramId);
  const msg = await say(user, `/start ${await linkCode(t, customer.auth)}`);
  expect(msg.text).toBe('Conta vinculada! Agora você pode fazer pedidos pelo carrinho.');
  return { customer, user };
}

/** Opens a product's card and presses "add" `times` times; returns the card. */
async function addToCart(user: ReturnType<typeof ctx.fake.user>, product: string, times = 1) {
  const { say, tap, fake } = ctx;
  await tap(user, await say(user, `/produtos ${product}`), product);
  const card = fake.lastBotMessage(user.id);
  if (!card) throw new Error('no card');
  for (let i = 0; i < times; i++) await tap(user, card, 'Adicionar');
  return card;
}

describe('bot: linking an account', () => {
  it('when a code from POST /telegram/link-code is sent with /start, then it links once and never again', async () => {
    const { t, fake, say } = ctx;
    const customer = await registerAndLogin(t);
    const res = await t.app.inject({ method: 'POST', url: '/telegram/link-code', headers: customer.auth });
    expect(res.statusCode).toBe(201);
    const { code, startCommand, expiresAt } = res.json();
    expect(code).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(startCommand).toBe(`/start ${code}`);
    expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now());

    expect((await say(fake.user(2001), `/start ${code}`)).text).toContain('Conta vinculada');
    expect((await say(fake.user(2002), `/start ${code}`)).text).toContain('não vale mais');
    expect((await say(fake.user(2001), '/ajuda')).text).toContain('Sua conta está vinculada');
  });

  it('when the link code is asked for without a token, then 401', async () => {
    const res = await ctx.t.app.inject({ method: 'POST', url: '/telegram/link-code' });
    expect(res.statusCode).toBe(401);
  });

  it('when the code has expired, then it does not link', async () => {
    const { t, fake, say } = ctx;
    const customer = await registerAndLogin(t);
    const code = await linkCode(t, customer.auth);
    await t.deps.db.pool.query("UPDATE telegram_link_codes SET expires_at = now() - interval '1 second'");
    expect((await say(fake.user(2003), `/start ${code}`)).text).toContain('não vale mais');
  });

  it('when someone who has not linked presses "place order", then they are told how to link and nothing is ordered', async () => {
    const { fake, tap } = ctx;
    const user = fake.user(2004);
    await addToCart(user, 'Mel silvestre');
    const cart = await ctx.say(user, '/carrinho');
    const calls = await callsDuring(fake, () => tap(user, cart, 'Fazer pedido'));
    expect(calls.find((c) => c.method === 'answerCallbackQuery')?.params).toMatchObject({
      text: expect.stringContaining('vincule primeiro sua conta'),
      show_alert: true,
    });
    expect(await stockOf(ctx.t, ids.mel as number)).toBe(5);
  });

  it('when the account is erased, then its Telegram link no longer orders', async () => {
    const { customer, user } = await linkedShopper(2005);
    const erased = await ctx.t.app.inject({ method: 'DELETE', url: '/customers/me', headers: customer.auth });
    expect([200, 204]).toContain(erased.statusCode);
    expect((await ctx.say(user, '/pedidos')).text).toContain('vincule primeiro sua conta');
  });
});

describe('bot: cart, order, payment', () => {
  it('when a linked shopper fills the cart and places the order, then stock is reserved with the configured strategy', async () => {
    const { fake, say, tap, t } = ctx;
    const { customer, user } = await linkedShopper(2101);
    await addToCart(user, 'Mel silvestre', 2);
    const added = fake.calls.filter((c) => c.method === 'answerCallbackQuery').at(-1);
    expect(added?.params.text).toBe('Mel silvestre no carrinho (2).');
    await addToCart(user, 'Café torrado');

    let cart = await say(user, '/carrinho');
    expect(cart.text).toBe(
      'Seu carrinho\nMel silvestre × 2 — R$ 50,00\nCafé torrado × 1 — R$ 32,50\nTotal: R$ 82,50',
    );
    cart = await tap(user, cart, '➖');
    expect(cart.text).toContain('Mel silvestre × 1 — R$ 25,00');
    cart = await tap(user, cart, '➕');
    expect(cart.text).toContain('Total: R$ 82,50');

    const order = await tap(user, cart, 'Fazer pedido');
    expect(order.message_id).toBe(cart.message_id);
    expect(order.text).toMatch(/^Pedido #\d+\n/);
    expect(order.text).toContain('Situação: reservado, aguardando pagamento');
    expect(order.text).toMatch(/Pedido #\d+ reservado: R\$ 82,50\. Pague em até 15 minutos/);
    expect(await stockOf(t, ids.mel as number)).toBe(3);
    expect(await stockOf(t, ids.cafe as number)).toBe(2);

    // The API sees the same order, as its owner.
    const mine = await t.app.inject({ method: 'GET', url: '/orders', headers: customer.auth });
    expect(mine.json().items).toHaveLength(1);
    expect(mine.json().items[0]).toMatchObject({ status: 'reserved', total: '82.50' });
    // The cart is empty now, and the old "place order" button cannot order twice.
    expect((await say(user, '/carrinho')).text).toContain('Seu carrinho está vazio');
    await expectStockConsistent(t);
  });

  it('when the same order button is delivered twice at once, then one order is placed', async () => {
    const { fake, handle, t } = ctx;
    const { customer, user } = await linkedShopper(2102);
    await addToCart(user, 'Café torrado');
    const cart = await ctx.say(user, '/carrinho');
    const data = cart.reply_markup?.inline_keyboard
      .flat()
      .find((b) => b.text.includes('Fazer pedido'))?.callback_data;
    await Promise.all([
      handle(fake.press(user, cart, data as string)),
      handle(fake.press(user, cart, data as string)),
    ]);
    const mine = await t.app.inject({ method: 'GET', url: '/orders', headers: customer.auth });
    expect(mine.json().items).toHaveLength(1);
  });

  it('when the stock ran out after the product went into the cart, then the order is refused and nothing is taken', async () => {
    const { say, tap, t, fake } = ctx;
    const { user } = await linkedShopper(2103);
    const sal = await addProduct(t, { name: 'Sal rosa', stock: 2, category: 'mercearia' });
    await addToCart(user, 'Sal rosa', 2);
    // Someone else buys one through the API meanwhile.
    await placeOrder(t, await registerAndLogin(t), [{ productId: sal, quantity: 1 }]);
    const cart = await say(user, '/carrinho');
    const calls = await callsDuring(fake, () => tap(user, cart, 'Fazer pedido'));
    expect(calls.find((c) => c.method === 'answerCallbackQuery')?.params.text).toBe(
      'Só há 1 de Sal rosa em estoque. Ajuste o carrinho e tente de novo.',
    );
    expect(await stockOf(t, sal)).toBe(1);
  });

  it('when adding more than the stock of now, then the cart refuses it', async () => {
    const { fake, tap } = ctx;
    const user = fake.user(2104);
    const card = await addToCart(user, 'Café torrado');
    const calls = await callsDuring(fake, async () => {
      for (let i = 0; i < 3; i++) await tap(user, card, 'Adicionar');
    });
    const answers = calls.filter((c) => c.method === 'answerCallbackQuery').map((c) => c.params.text);
    expect(answers.at(-1)).toMatch(/^Só há \d de Café torrado em estoque\.$/);
  });

  it('when the order is paid by card, then the payments engine has it; /pedidos shows it; paying again is the same payment', async () => {
    const { say, tap, t } = ctx;
    const { user } = await linkedShopper(2105);
    await addToCart(user, 'Mel silvestre');
    const order = await tap(user, await say(user, '/carrinho'), 'Fazer pedido');
    const orderId = Number(/Pedido #(\d+)/.exec(order.text)?.[1]);
    const paying = await tap(user, order, 'Pagar com cartão');
    expect(paying.text).toContain('Pagamento: na fila');
    const { rows } = await t.deps.db.pool.query(
      'SELECT amount::text AS amount FROM payments WHERE order_id = $1',
      [orderId],
    );
    expect(rows).toEqual([{ amount: '25.00' }]);
    await tap(user, paying, 'Pagar com cartão');
    const again = await t.deps.db.pool.query('SELECT count(*)::int AS n FROM payments WHERE order_id = $1', [
      orderId,
    ]);
    expect(again.rows[0].n).toBe(1);

    const list = await say(user, '/pedidos');
    expect(list.text).toContain(`#${orderId} · reservado, aguardando pagamento · R$ 25,00`);
  });

  it('when a reserved order is cancelled from the chat, then its stock goes back', async () => {
    const { say, tap, t } = ctx;
    const { user } = await linkedShopper(2106);
    const before = await stockOf(t, ids.cafe as number);
    await addToCart(user, 'Café torrado');
    const order = await tap(user, await say(user, '/carrinho'), 'Fazer pedido');
    expect(await stockOf(t, ids.cafe as number)).toBe(before - 1);
    const cancelled = await tap(user, order, 'Cancelar');
    expect(cancelled.text).toContain('Situação: cancelado');
    expect(await stockOf(t, ids.cafe as number)).toBe(before);
  });

  it('when a shopper forges a button for someone else’s order, then it is "not found", as in the API', async () => {
    const { fake, handle, t } = ctx;
    const other = await registerAndLogin(t);
    const theirs = await placeOrder(t, other, [{ productId: ids.mel as number, quantity: 1 }]);
    const { user } = await linkedShopper(2107);
    const msg = await ctx.say(user, '/pedidos');
    msg.reply_markup = { inline_keyboard: [[{ text: 'x', callback_data: `y${theirs.id.toString(36)}` }]] };
    const calls = await callsDuring(fake, () => handle(fake.press(user, msg, `y${theirs.id.toString(36)}`)));
    expect(calls.map((c) => [c.method, c.params.text])).toEqual([
      ['answerCallbackQuery', 'Pedido não encontrado.'],
    ]);
    const { rows } = await t.deps.db.pool.query(
      'SELECT count(*)::int AS n FROM payments WHERE order_id = $1',
      [theirs.id],
    );
    expect(rows[0].n).toBe(0);
  });

  it('when the admin lowers a price, then the cart shows the new one and the order is placed at it', async () => {
    const { say, t } = ctx;
    const { user } = await linkedShopper(2108);
    const cha = await addProduct(t, { name: 'Chá mate', price: '12.00', stock: 10, category: 'mercearia' });
    await addToCart(user, 'Chá mate');
    await t.asAdmin({ method: 'PATCH', url: `/products/${cha}`, ...json({ price: '9.90' }) });
    expect((await say(user, '/carrinho')).text).toContain('Chá mate × 1 — R$ 9,90');
  });

  it('when the order is paid with store credit, then the balance is debited and the order is paid in one step', async () => {
    const { say, tap, t } = ctx;
    const { customer, user } = await linkedShopper(2109);
    expect(
      (await postCredit(t, customer.id, { type: 'credit', amount: '30.00', description: 'vale' })).statusCode,
    ).toBe(201);
    await addToCart(user, 'Mel silvestre');
    const order = await tap(user, await say(user, '/carrinho'), 'Fazer pedido');
    const paid = await tap(user, order, 'Pagar com crédito');
    expect(paid.text).toContain('Situação: pago');
    expect(paid.text).toMatch(/Pedido #\d+ pago com crédito da loja: R\$ 25,00\. Saldo: R\$ 5,00\./);
    // Paid: no more payment or cancel buttons.
    expect(paid.reply_markup?.inline_keyboard.flat().map((b) => b.text)).not.toContain(
      '💰 Pagar com crédito',
    );
    expect((await creditOf(t, customer.id)).balance).toBe('5.00');
    const mine = await t.app.inject({ method: 'GET', url: '/orders', headers: customer.auth });
    expect(mine.json().items[0]).toMatchObject({ status: 'paid', total: '25.00' });
  });

  it('when the credit does not cover the order, then the shopper is told the balance and nothing is debited', async () => {
    const { say, tap, t, fake } = ctx;
    const { customer, user } = await linkedShopper(2110);
    await postCredit(t, customer.id, { type: 'credit', amount: '10.00', description: 'vale' });
    await addProduct(t, { name: 'Geleia de amora', price: '25.00', stock: 4, category: 'mercearia' });
    await addToCart(user, 'Geleia de amora');
    const order = await tap(user, await say(user, '/carrinho'), 'Fazer pedido');
    const calls = await callsDuring(fake, () => tap(user, order, 'Pagar com crédito'));
    expect(calls.find((c) => c.method === 'answerCallbackQuery')?.params.text).toBe(
      'Crédito insuficiente: seu saldo é R$ 10,00 e o pedido custa R$ 25,00.',
    );
    expect((await creditOf(t, customer.id)).balance).toBe('10.00');
  });
});
