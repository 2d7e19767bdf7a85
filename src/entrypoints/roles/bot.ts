import { run } from '@grammyjs/runner';
import closeWithGrace from 'close-with-grace';
import { GrammyError } from 'grammy';
import { createDeps } from '../../deps.ts';
import { registerCommands } from '../../modules/bot/commands.ts';
import { ALLOWED_UPDATES, createBot } from '../../modules/bot/create-bot.ts';
import { drain, serveOps } from '../../modules/ops/ops-server.ts';
import { createLogger } from '../../platform/logger.ts';
import { stopTracing } from '../../platform/tracing.ts';
import { loadConfigOrExit } from '../load-config.ts';

// The bot role: the store's Telegram bot, polling (one process per bot) or registering the webhook.
const config = loadConfigOrExit();
if (!config.TELEGRAM_BOT_TOKEN) {
  console.error(
    'armazem: invalid configuration:\n  TELEGRAM_BOT_TOKEN: required for the bot role (from @BotFather)',
  );
  process.exit(78);
}
const log = createLogger(config);
log.info({ instance: config.INSTANCE_ID, apiRoot: config.TELEGRAM_API_ROOT }, 'armazem bot starting');
const deps = await createDeps(config, log);
// Loaded only when used: node-pg-migrate costs memory in every process that loads it.
if (config.MIGRATE_ON_START) await (await import('../../platform/migrations.ts')).migrate(deps.db.pool, log);

// The poller is the only process that sees this bot's updates: flood counts stay in memory.
const bot = createBot(deps, { localFloodLimit: !config.TELEGRAM_WEBHOOK_URL });
/** When getUpdates last answered: the poller is healthy while it keeps answering. */
let lastPoll = Date.now();
bot.api.config.use(async (prev, method, payload, signal) => {
  const result = await prev(method, payload, signal);
  if (method === 'getUpdates' && result.ok) lastPoll = Date.now();
  return result;
});
await bot.init();
await registerCommands(bot.api);

if (config.TELEGRAM_WEBHOOK_URL) {
  // Webhook mode: the API instances serve updates; this only tells Telegram where.
  await bot.api.setWebhook(config.TELEGRAM_WEBHOOK_URL, {
    secret_token: config.TELEGRAM_WEBHOOK_SECRET as string,
    allowed_updates: [...ALLOWED_UPDATES],
  });
  log.info({ url: config.TELEGRAM_WEBHOOK_URL }, 'webhook registered; the api instances serve the updates');
  await deps.close();
  log.flush();
  process.exit(0);
}

// Long polling: a webhook left from webhook mode would make Telegram refuse getUpdates (409).
await bot.api.deleteWebhook();
const runner = run(bot, {
  runner: { fetch: { allowed_updates: [...ALLOWED_UPDATES] } },
  sink: { concurrency: config.BOT_CONCURRENCY },
});
log.info({ username: bot.botInfo.username }, 'bot polling');
// The runner stops for good on 401 and 409; say why and exit, so the supervisor sees it.
runner.task()?.catch(async (err: unknown) => {
  const conflict = err instanceof GrammyError && err.error_code === 409;
  console.error(
    conflict
      ? `armazem bot: Telegram refused polling (409 ${err.description}): only one process may poll a bot; run one bot service, or set TELEGRAM_WEBHOOK_URL to serve updates from every API instance`
      : `armazem bot: polling stopped: ${String(err)}`,
  );
  await deps.close().catch(() => {});
  process.exit(1);
});

const POLL_TIMEOUT_MS = 30_000;
// Live while getUpdates keeps answering; /readyz as every role (database, migrations, not stopping).
const polling = () => {
  const lastPollAgoMs = Date.now() - lastPoll;
  return { live: runner.isRunning() && lastPollAgoMs < 2 * POLL_TIMEOUT_MS, lastPollAgoMs };
};
const metricsServer = config.BOT_METRICS_PORT
  ? serveOps(
      deps,
      config.BOT_METRICS_PORT,
      config.HOST,
      () => {
        const { live, lastPollAgoMs } = polling();
        return { live, details: { lastPollAgoMs } };
      },
      {
        '/health': () => {
          const { live, lastPollAgoMs } = polling();
          return { status: live ? 200 : 503, body: { status: live ? 'ok' : 'stalled', lastPollAgoMs } };
        },
      },
    )
  : null;
log.flush();

// SIGTERM: stop polling (the pending getUpdates is aborted), finish the updates in hand, close.
closeWithGrace({ delay: config.SHUTDOWN_TIMEOUT_MS + config.SHUTDOWN_DRAIN_MS }, async ({ signal, err }) => {
  if (err) log.error({ err }, 'fatal error; shutting down');
  else log.info({ signal }, 'bot shutting down');
  await drain(deps);
  metricsServer?.close();
  if (runner.isRunning()) await runner.stop();
  await deps.close();
  await stopTracing();
  log.info('stopped');
  log.flush();
});
