import { Type } from 'typebox';
import type { Config } from '../../config.ts';
import type { AppInstance } from '../../http/app-instance.ts';
import { authenticate, BEARER } from '../../http/auth.ts';
import { ProblemResponses } from '../../http/problem-schema.ts';
import type { TelegramLinkRepository } from './telegram-links.repository.ts';

export interface LinkCodeDeps {
  config: Config;
  telegramLinks: TelegramLinkRepository;
}

const LinkCode = Type.Object({
  code: Type.String({ description: 'Send `/start <code>` to the bot, once, before expiresAt' }),
  expiresAt: Type.String({ format: 'date-time' }),
  startCommand: Type.String({ examples: ['/start Q2hhbmdlIG1lIHBsZWFzZQ'] }),
  deepLink: Type.Union([Type.String(), Type.Null()], {
    description: 'https://t.me/<bot>?start=<code> when TELEGRAM_BOT_USERNAME is configured',
  }),
});

/** The API side of linking: a customer asks for a one-time code, then gives it to the bot. */
export function linkCodeRoutes(app: AppInstance, { config, telegramLinks }: LinkCodeDeps): void {
  app.register(async (me: AppInstance) => {
    me.addHook('onRequest', authenticate);
    me.post(
      '/telegram/link-code',
      {
        schema: {
          tags: ['telegram'],
          summary: 'A one-time code that links a Telegram account to mine (the bot’s /start <code>)',
          security: BEARER,
          response: { 201: LinkCode, ...ProblemResponses },
        },
      },
      async (request, reply) => {
        const { code, expiresAt } = await telegramLinks.createCode(
          request.user.customerId,
          config.TELEGRAM_LINK_CODE_TTL_SECONDS,
        );
        const username = config.TELEGRAM_BOT_USERNAME;
        return reply.code(201).send({
          code,
          expiresAt,
          startCommand: `/start ${code}`,
          deepLink: username ? `https://t.me/${username}?start=${code}` : null,
        });
      },
    );
  });
}
