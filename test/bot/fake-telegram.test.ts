import { Api, GrammyError } from 'grammy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTelegram } from '../fakes/telegram-bot-api.ts';

/** The fake is only useful if it refuses what Telegram refuses: checked here through grammY's own client. */
let fake: FakeTelegram;
let api: Api;
beforeAll(async () => {
  fake = await new FakeTelegram().start();
  api = new Api(fake.token, { apiRoot: fake.apiRoot });
  fake.user(1);
});
afterAll(() => fake.close());

const refusal = async (call: Promise<unknown>) => {
  const err = await call.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GrammyError);
  return err as GrammyError;
};

describe('the fake Bot API', () => {
  it('refuses bad markup in its parse modes, as Telegram does', async () => {
    expect((await refusal(api.sendMessage(1, '<blink>oi</blink>', { parse_mode: 'HTML' }))).description).toBe(
      'Bad Request: can\'t parse entities: Unsupported start tag "blink" at byte offset 0',
    );
    expect(
      (await refusal(api.sendMessage(1, 'R$ 5.90', { parse_mode: 'MarkdownV2' }))).description,
    ).toContain("Character '.' is reserved");
    expect((await api.sendMessage(1, '<b>oi</b> &amp; tchau', { parse_mode: 'HTML' })).text).toBe(
      '<b>oi</b> &amp; tchau',
    );
  });

  it('refuses callback data over 64 bytes, non-public URL buttons and empty text', async () => {
    const data = (n: number) => ({
      reply_markup: { inline_keyboard: [[{ text: 'x', callback_data: 'é'.repeat(n) }]] },
    });
    expect((await refusal(api.sendMessage(1, 'oi', data(33)))).description).toBe(
      'Bad Request: BUTTON_DATA_INVALID',
    );
    expect((await api.sendMessage(1, 'oi', data(32))).reply_markup).toBeDefined();
    const url = { reply_markup: { inline_keyboard: [[{ text: 'x', url: 'http://localhost:3000' }]] } };
    expect((await refusal(api.sendMessage(1, 'oi', url))).description).toContain('Wrong HTTP URL');
    expect((await refusal(api.sendMessage(1, '  '))).description).toBe('Bad Request: message text is empty');
    expect((await refusal(api.sendMessage(999, 'oi'))).description).toBe('Bad Request: chat not found');
  });

  it('refuses an edit to the same content, and a second answer to a button press', async () => {
    const m = await api.sendMessage(1, 'oi', {
      reply_markup: { inline_keyboard: [[{ text: 'a', callback_data: 'a' }]] },
    });
    const edit = refusal(api.editMessageText(1, m.message_id, 'oi', { reply_markup: m.reply_markup }));
    expect((await edit).description).toContain('message is not modified');
    const update = fake.press(fake.user(1), fake.messages(1).at(-1) as never, 'a');
    const id = update.callback_query?.id as string;
    expect(await api.answerCallbackQuery(id)).toBe(true);
    expect((await refusal(api.answerCallbackQuery(id))).description).toContain('query is too old');
  });

  it('holds a long poll until an update comes, confirms by offset, and ends an earlier poll with 409', async () => {
    const pending = await api.getUpdates({ timeout: 0 });
    await api.getUpdates({ offset: (pending.at(-1)?.update_id ?? 0) + 1, timeout: 0 });
    const waiting = api.getUpdates({ timeout: 10 });
    const first = api.getUpdates({ timeout: 10 });
    expect((await refusal(waiting)).error_code).toBe(409);
    const update = fake.sendText(fake.user(1), 'olá');
    expect((await first).map((u) => u.update_id)).toEqual([update.update_id]);
    expect(await api.getUpdates({ offset: update.update_id + 1, timeout: 0 })).toEqual([]);
    expect(fake.unconfirmed).toBe(0);
  });

  it('answers 401 to a wrong token, 404 to an unknown method, and 429 with retry_after when told to', async () => {
    expect((await refusal(new Api('1:wrongtoken', { apiRoot: fake.apiRoot }).getMe())).error_code).toBe(401);
    expect(
      (
        await refusal(
          (api.raw as unknown as Record<string, (p: object) => Promise<unknown>>).fooBar?.(
            {},
          ) as Promise<unknown>,
        )
      ).error_code,
    ).toBe(404);
    fake.failNext('getMe', 1, {
      code: 429,
      description: 'Too Many Requests: retry after 3',
      parameters: { retry_after: 3 },
    });
    const tooMany = await refusal(api.getMe());
    expect(tooMany.error_code).toBe(429);
    expect(tooMany.parameters.retry_after).toBe(3);
  });
});
