import { Api, GrammyError, HttpError } from 'grammy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { botApiFetch } from '../../src/modules/bot/api-fetch.ts';
import { FakeTelegram } from '../fakes/telegram-bot-api.ts';

/** The bot's Bot API transport, through grammY's own client, against the fake Bot API. */
let fake: FakeTelegram;
let api: Api;
beforeAll(async () => {
  fake = await new FakeTelegram().start();
  api = new Api(fake.token, { apiRoot: fake.apiRoot, fetch: botApiFetch });
  fake.user(1);
});
afterAll(() => fake.close());

/** grammY types its signals with its abort-controller shim's type; the platform's is the same at run time. */
type Signal = Parameters<Api['getMe']>[0];

describe('botApiFetch', () => {
  it('carries a call and its answer, non-ASCII text and entities included', async () => {
    const text = 'Limão Tahiti 🍋 — R$ 5,90';
    const sent = await api.sendMessage(1, text, { entities: [{ type: 'bold', offset: 0, length: 12 }] });
    expect(sent.text).toBe(text);
    const call = fake.calls.findLast((c) => c.method === 'sendMessage');
    expect(call?.params.text).toBe(text);
    expect(call?.params.entities).toEqual([{ type: 'bold', offset: 0, length: 12 }]);
  });

  it("gives grammY Telegram's refusals as answers, which it turns into GrammyError", async () => {
    const err = await api.sendMessage(999, 'oi').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GrammyError);
    expect((err as GrammyError).description).toBe('Bad Request: chat not found');
  });

  it('ends a long poll at once when its signal aborts (how the runner stops)', async () => {
    const controller = new AbortController();
    const started = performance.now();
    const poll = api
      .getUpdates({ timeout: 30 }, controller.signal as unknown as Signal)
      .catch((e: unknown) => e);
    await fake.waitForCall((c) => c.method === 'getUpdates');
    controller.abort();
    expect(await poll).toBeInstanceOf(HttpError);
    expect(performance.now() - started).toBeLessThan(5_000);
    // The connection pool still serves the next call.
    expect((await api.getMe()).username).toBe(fake.bot.username);
  });

  it('refuses a call whose signal was aborted before it started, without sending it', async () => {
    const controller = new AbortController();
    controller.abort();
    const before = fake.calls.length;
    expect(await api.getMe(controller.signal as unknown as Signal).catch((e: unknown) => e)).toBeInstanceOf(
      HttpError,
    );
    expect(fake.calls.length).toBe(before);
  });
});
