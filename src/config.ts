import { hostname } from 'node:os';
import { type Static, Type } from 'typebox';
import { Value } from 'typebox/value';

/**
 * The environment, described once. `loadConfig` is the only reader of
 * `process.env`; everything else receives the frozen `Config` it returns.
 */
const Env = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('production'), Type.Literal('test')], {
    default: 'development',
  }),
  HOST: Type.String({ default: '0.0.0.0', minLength: 1 }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  INSTANCE_ID: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  LOG_LEVEL: Type.Union(
    [
      Type.Literal('fatal'),
      Type.Literal('error'),
      Type.Literal('warn'),
      Type.Literal('info'),
      Type.Literal('debug'),
      Type.Literal('trace'),
      Type.Literal('silent'),
    ],
    { default: 'info' },
  ),

  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  /** Where the embedded database keeps its files when DATABASE_URL is absent. */
  DATA_DIR: Type.String({ default: './data', minLength: 1 }),
  DB_POOL_MAX: Type.Integer({ minimum: 1, maximum: 200, default: 10 }),
  DB_CONNECT_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 2000 }),
  DB_STATEMENT_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000 }),
  MIGRATE_ON_START: Type.Boolean({ default: true }),

  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  /** A Redis Cluster instead: comma-separated seed node URLs (credentials and TLS from the first). */
  REDIS_CLUSTER_NODES: Type.Optional(Type.String({ pattern: '^rediss?://[^,\\s]+(,rediss?://[^,\\s]+)*$' })),
  /** Namespaces every key, so several deployments (or test files) can share one Redis. */
  REDIS_KEY_PREFIX: Type.String({ default: 'armazem:', pattern: '^[A-Za-z0-9:_-]{0,64}$' }),
  /** How long Redis may stay silent while it owes replies before the connection is dropped. */
  REDIS_TIMEOUT_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: 1000 }),

  CACHE_ENABLED: Type.Boolean({ default: true }),
  CACHE_TTL_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 300 }),

  /** Signs access tokens (HS256). Required, at least 32 characters, outside development. */
  JWT_SECRET: Type.Optional(Type.String({ minLength: 1 })),
  ACCESS_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 30, maximum: 86_400, default: 900 }),
  REFRESH_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 31_536_000, default: 2_592_000 }),
  /** The first admin, created (or promoted) at start when both are set. */
  ADMIN_EMAIL: Type.Optional(Type.String({ format: 'email', maxLength: 254 })),
  ADMIN_PASSWORD: Type.Optional(Type.String({ minLength: 10, maxLength: 200 })),
  /** Login attempts per client IP, and per email, in each window; shared by every instance through Redis. */
  LOGIN_RATE_LIMIT_PER_IP: Type.Integer({ minimum: 1, maximum: 100_000, default: 20 }),
  LOGIN_RATE_LIMIT_PER_EMAIL: Type.Integer({ minimum: 1, maximum: 100_000, default: 5 }),
  LOGIN_RATE_WINDOW_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 60 }),
  /** Comma-separated origins allowed by CORS; unset: no cross-origin access. */
  CORS_ORIGINS: Type.Optional(Type.String({ pattern: '^(\\*|https?://[^,\\s]+(,https?://[^,\\s]+)*)$' })),
  /** Proxies whose X-Forwarded-For is believed: "true", or addresses, CIDRs and presets (loopback, uniquelocal). */
  TRUST_PROXY: Type.Optional(Type.String({ pattern: '^(true|false|[0-9A-Za-z.:/,\\s-]+)$' })),

  /** How POST /orders keeps stock from overselling (see docs/decisions.md for the measured choice). */
  ORDER_CONCURRENCY: Type.Union(
    [
      Type.Literal('atomic'),
      Type.Literal('pessimistic'),
      Type.Literal('optimistic'),
      Type.Literal('queued'),
      Type.Literal('hybrid'),
      Type.Literal('batched'),
    ],
    { default: 'atomic' },
  ),
  /** batched: orders decided together per statement (and durable commit) at most. */
  ORDER_SYNC_BATCH: Type.Integer({ minimum: 1, maximum: 10_000, default: 256 }),
  /** hybrid: how long a reservation may wait for row locks before the order goes to the queue (202). */
  ORDER_SYNC_BUDGET_MS: Type.Integer({ minimum: 1, maximum: 10_000, default: 50 }),
  /** Reserved orders not paid within this are cancelled by the sweeper and their stock released. */
  ORDER_RESERVATION_TTL: Type.Integer({ minimum: 1, maximum: 604_800, default: 900 }),
  /** optimistic: attempts before answering 409. */
  ORDER_OPTIMISTIC_RETRIES: Type.Integer({ minimum: 1, maximum: 1000, default: 30 }),
  /** Pending orders a worker reserves per transaction. */
  ORDER_QUEUE_BATCH: Type.Integer({ minimum: 1, maximum: 10_000, default: 500 }),
  /** The worker role serves GET /metrics on this port (0: off). */
  WORKER_METRICS_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 0 }),
  /** Run the queue worker and sweeper inside the API process (default: only in the embedded mode). */
  WORKER_IN_PROCESS: Type.Optional(Type.Boolean()),

  PAYMENT_PROCESSOR_URL_DEFAULT: Type.String({ pattern: '^https?://', default: 'http://127.0.0.1:8001' }),
  PAYMENT_PROCESSOR_URL_FALLBACK: Type.String({ pattern: '^https?://', default: 'http://127.0.0.1:8002' }),
  /**
   * A processor call without an answer by then is ambiguous, and retried on the same processor.
   * Long: a slow processor still takes the payment after we stop waiting, and until we ask
   * again our summary lacks what its summary has (calls do not hold up the worker meanwhile).
   */
  PAYMENT_TIMEOUT_MS: Type.Integer({ minimum: 50, maximum: 60_000, default: 10_000 }),
  /**
   * A payment the default processor cannot take goes to the fallback after waiting this long.
   * 25 s outlasts the contest's 20 s default outage: bench:payments measured 93.8 % of the
   * maximum with it, all on the default, against 91.8 % with 3 s (1,788 payments on the fallback).
   */
  PAYMENT_MAX_WAIT_MS: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 25_000 }),
  /**
   * An outage of the default this long is a long one: payments stop waiting for it and go to the
   * fallback at once, so nothing is left queued if it lasts to the end. Shorter outages are waited
   * out (the contest's last 10 s); figures in docs/decisions.md.
   */
  PAYMENT_LONG_OUTAGE_MS: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 12_000 }),
  /** How often an idle payment worker looks for due payments: a payment waits at most this long to be sent. */
  PAYMENT_POLL_MS: Type.Integer({ minimum: 1, maximum: 60_000, default: 25 }),
  /** Payments a worker claims per round. */
  PAYMENT_BATCH: Type.Integer({ minimum: 1, maximum: 10_000, default: 200 }),
  /**
   * Payments whose processor calls may be out at once, per worker (and connections per processor):
   * a processor answering in 3 s at the test's 550 payments a second holds ≈1,650 calls.
   */
  PAYMENT_MAX_IN_FLIGHT: Type.Integer({ minimum: 1, maximum: 100_000, default: 2000 }),
  /** An order's payment that processors refuse this many times fails; the order's stock is released. */
  PAYMENT_ORDER_MAX_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 1000, default: 10 }),
  /**
   * Accept payments without waiting for the WAL flush: the payment is in
   * PostgreSQL before the 2xx, so it survives SIGKILL of any armazem process;
   * a crash of PostgreSQL itself could lose the last ≈0.6 s of accepts.
   */
  PAYMENTS_ASYNC_COMMIT: Type.Boolean({ default: true }),
  /** Lets anyone call POST /purge-payments (test runs); otherwise admins only. */
  PAYMENTS_PURGE_ENABLED: Type.Boolean({ default: false }),

  /** Credits and debits applied per database round trip at most: concurrent ones share one statement and one commit. */
  CREDIT_BATCH: Type.Integer({ minimum: 1, maximum: 10_000, default: 256 }),
  /** Credit batches at the database at once, per instance (each holds a connection). */
  CREDIT_BATCH_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 4 }),
  /**
   * Serve the Rinha de Backend 2024/Q1 routes (/clientes/{id}/transacoes and /extrato) on the store-credit
   * accounts, without login as in the contest, and create the contest's five clients at start when missing.
   */
  CREDIT_CONTEST_ROUTES: Type.Boolean({ default: false }),
  /**
   * OpenTelemetry traces, sent over OTLP/HTTP when the endpoint is set (nothing is loaded otherwise).
   * The SDK reads these standard variables itself; they are declared here so a bad value stops the start.
   */
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://' })),
  OTEL_EXPORTER_OTLP_PROTOCOL: Type.Union([Type.Literal('http/protobuf'), Type.Literal('http/json')], {
    default: 'http/protobuf',
  }),
  OTEL_EXPORTER_OTLP_HEADERS: Type.Optional(Type.String({ pattern: '^[^=,\\s]+=[^,]*(,[^=,\\s]+=[^,]*)*$' })),
  OTEL_SERVICE_NAME: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  OTEL_RESOURCE_ATTRIBUTES: Type.Optional(Type.String({ pattern: '^[^=,]+=[^,]*(,[^=,]+=[^,]*)*$' })),
  OTEL_TRACES_SAMPLER: Type.Optional(
    Type.Union([
      Type.Literal('always_on'),
      Type.Literal('always_off'),
      Type.Literal('traceidratio'),
      Type.Literal('parentbased_always_on'),
      Type.Literal('parentbased_always_off'),
      Type.Literal('parentbased_traceidratio'),
    ]),
  ),
  OTEL_TRACES_SAMPLER_ARG: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  /** How long the batch span processor waits before sending (ms). */
  OTEL_BSP_SCHEDULE_DELAY: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000 })),

  /** The bot role (`npm run bot`): required there, unused elsewhere unless the webhook is configured. */
  TELEGRAM_BOT_TOKEN: Type.Optional(Type.String({ pattern: '^[0-9]{1,20}:[A-Za-z0-9_-]{20,100}$' })),
  /** Where the Bot API lives (tests point it at their fake); no trailing slash. */
  TELEGRAM_API_ROOT: Type.String({
    default: 'https://api.telegram.org',
    pattern: '^https?://[^\\s/]+(/[^\\s]*[^\\s/])?$',
  }),
  /** Webhook mode: the public URL Telegram posts updates to (the API's POST /telegram/webhook); unset: long polling. */
  TELEGRAM_WEBHOOK_URL: Type.Optional(Type.String({ pattern: '^https://[^\\s]+$' })),
  /** Telegram sends it back in X-Telegram-Bot-Api-Secret-Token; required with TELEGRAM_WEBHOOK_URL. */
  TELEGRAM_WEBHOOK_SECRET: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{16,256}$' })),
  /** The bot's @username, for the deep link POST /telegram/link-code returns. */
  TELEGRAM_BOT_USERNAME: Type.Optional(Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]{3,31}$' })),
  /** A link code from POST /telegram/link-code works once, within this many seconds. */
  TELEGRAM_LINK_CODE_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 86_400, default: 600 }),
  /** Per-user flood limit: updates per window; the rest are dropped (the first one over is told). */
  BOT_FLOOD_LIMIT: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 12 }),
  BOT_FLOOD_WINDOW_MS: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 6000 }),
  /** Updates the runner handles at once (each chat still in order). */
  BOT_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 10_000, default: 200 }),
  /** The bot role serves GET /health and /metrics on this port (0: off). */
  BOT_METRICS_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 0 }),
  /** How the bot names the store in its greeting. */
  STORE_NAME: Type.String({ default: 'armazem', minLength: 1, maxLength: 64 }),
  /** The store's links, shown by /site and /social as buttons: public http(s) URLs only. */
  STORE_SITE_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$' })),
  /** Comma-separated `Name=https://…` pairs, e.g. `Instagram=https://instagram.com/loja`. */
  STORE_SOCIAL_LINKS: Type.Optional(
    Type.String({ pattern: '^[^=,]{1,40}=https?://[^,\\s]+(,[^=,]{1,40}=https?://[^,\\s]+)*$' }),
  ),

  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, maximum: 10_485_760, default: 65_536 }),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000 }),
  /** On SIGTERM, answer /readyz 503 for this long while still serving, so balancers stop sending first. */
  SHUTDOWN_DRAIN_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 0 }),
});

type Env = Static<typeof Env>;

/** Every variable armazem reads (deployment manifests are checked against it). */
export const CONFIG_VARIABLES: readonly string[] = Object.freeze(Object.keys(Env.properties));

export type Config = Readonly<
  Omit<Env, 'INSTANCE_ID'> & {
    INSTANCE_ID: string;
  }
>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses and validates the environment; throws a ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const known = Object.keys(Env.properties);
  // Empty strings count as unset, as shells and compose files often produce them.
  const raw = Object.fromEntries(
    known.filter((k) => env[k] !== undefined && env[k] !== '').map((k) => [k, env[k]]),
  );
  // Default and Convert mutate their input; keep `raw` as typed, for the message.
  const converted = Value.Convert(Env, Value.Default(Env, { ...raw }));
  const errors = [...Value.Errors(Env, converted)];
  if (errors.length > 0) {
    const lines = errors.map((e) => {
      const name = e.instancePath.replace(/^\//, '') || String(e.params);
      return `  ${name}=${JSON.stringify(raw[name] ?? null)}: ${e.message}`;
    });
    throw new ConfigError(`invalid configuration:\n${[...new Set(lines)].join('\n')}`);
  }
  const parsed = converted as Env;
  if (parsed.NODE_ENV !== 'development' && (parsed.JWT_SECRET ?? '').length < 32) {
    throw new ConfigError(
      'invalid configuration:\n  JWT_SECRET: required outside development, at least 32 characters (e.g. `openssl rand -base64 48`)',
    );
  }
  if ((parsed.ADMIN_EMAIL === undefined) !== (parsed.ADMIN_PASSWORD === undefined)) {
    throw new ConfigError('invalid configuration:\n  ADMIN_EMAIL and ADMIN_PASSWORD: set both or neither');
  }
  if (parsed.TELEGRAM_WEBHOOK_URL && !parsed.TELEGRAM_WEBHOOK_SECRET) {
    throw new ConfigError(
      'invalid configuration:\n  TELEGRAM_WEBHOOK_SECRET: required with TELEGRAM_WEBHOOK_URL',
    );
  }
  const links = [
    ['STORE_SITE_URL', parsed.STORE_SITE_URL],
    ...(parsed.STORE_SOCIAL_LINKS ?? '')
      .split(',')
      .map((pair) => ['STORE_SOCIAL_LINKS', pair.split('=').slice(1).join('=')]),
  ].filter(([, url]) => url) as Array<[string, string]>;
  for (const [name, url] of links) {
    if (!isPublicUrl(url))
      throw new ConfigError(
        `invalid configuration:\n  ${name}: ${url} is not a public http(s) URL (Telegram refuses the others in buttons)`,
      );
  }
  return Object.freeze({
    ...parsed,
    INSTANCE_ID: parsed.INSTANCE_ID ?? `${hostname()}:${parsed.PORT}`,
  });
}

/** What Telegram accepts in a URL button: http(s) to a public host name, not localhost or a private address. */
export function isPublicUrl(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return false;
  const host = url.hostname;
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local') || !host.includes('.'))
    return false;
  if (host.startsWith('[')) return false;
  const v4 = /^(\d+)\.(\d+)\.\d+\.\d+$/.exec(host);
  if (!v4) return true;
  const [a, b] = [Number(v4[1]), Number(v4[2])];
  return !(
    a === 10 ||
    a === 127 ||
    a === 0 ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 169 && b === 254)
  );
}
