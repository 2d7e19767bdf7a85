/**
 * bench:bot's reference: a minimal grammY bot that answers every update with
 * a static text, polled by the same runner through the same fake Bot API. Its
 * reply carries one button, so the simulated users have something to press.
 * Env: TELEGRAM_BOT_TOKEN, TELEGRAM_API_ROOT.
 */
import { run } from '@grammyjs/runner';
import { Bot, InlineKeyboard } from 'grammy';

const bot = new Bot(process.env.TELEGRAM_BOT_TOKEN as string, {
  client: { apiRoot: process.env.TELEGRAM_API_ROOT as string },
});
const keyboard = new InlineKeyboard().text('ok', 'ok');
bot.on('message', (ctx) => ctx.reply('Olá!', { reply_markup: keyboard }));
bot.on('callback_query', (ctx) => ctx.answerCallbackQuery({ text: 'Olá!' }));
bot.on('inline_query', (ctx) =>
  ctx.answerInlineQuery([
    { type: 'article', id: '1', title: 'Olá!', input_message_content: { message_text: 'Olá!' } },
  ]),
);
const runner = run(bot, {
  runner: { fetch: { allowed_updates: ['message', 'callback_query', 'inline_query'] } },
});
process.once('SIGTERM', () => void runner.stop().then(() => process.exit(0)));
