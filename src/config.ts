import { hostname } from 'node:os';
import { type Static, type TObject, Type } from 'typebox';
import { Value } from 'typebox/value';

/**
 * The environment, described once. `loadConfig` is the only reader of
 * `process.env`; everything else receives the frozen `Config` it returns.
 * Each variable's description and default are also the reference
 * (`npm run docs:generate` writes them to docs/configuration.md), so they say
 * what a deployer needs to know; the sections below are its chapters.
 */
const Process = {
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('production'), Type.Literal('test')], {
    default: 'development',
    description: 'Outside development, JWT_SECRET is required.',
  }),
  HOST: Type.String({ default: '0.0.0.0', minLength: 1, description: 'The address the API listens on.' }),
  PORT: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 3000,
    description: 'The port the API listens on (0: any free port).',
  }),
  INSTANCE_ID: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 100,
      description: 'Names this process in `/ping` and in every log line. Unset: `<host name>:<PORT>`.',
    }),
  ),
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
    { default: 'info', description: 'JSON lines on stdout; at `info`, one per request.' },
  ),
  LISTENER_LANES: Type.Boolean({
    default: true,
    description:
      'Answer the Rinha 2024/Q1 routes (`/clientes/{id}/…`, when CREDIT_CONTEST_ROUTES is on) in the server’s listener before Fastify: the same answers for less CPU per request; off, Fastify answers them all.',
  }),
  BODY_LIMIT_BYTES: Type.Integer({
    minimum: 1024,
    maximum: 10_485_760,
    default: 65_536,
    description: 'Larger request bodies are refused with 413 `body_too_large`.',
  }),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    maximum: 120_000,
    default: 10_000,
    description: 'On SIGTERM, requests in flight are finished for at most this long.',
  }),
  SHUTDOWN_DRAIN_MS: Type.Integer({
    minimum: 0,
    maximum: 60_000,
    default: 0,
    description:
      'On SIGTERM, `/readyz` answers 503 for this long while requests are still served, so balancers stop sending first.',
  }),
  CORS_ORIGINS: Type.Optional(
    Type.String({
      pattern: '^(\\*|https?://[^,\\s]+(,https?://[^,\\s]+)*)$',
      description: 'Comma-separated origins allowed by CORS (`*` for any). Unset: no cross-origin access.',
    }),
  ),
  TRUST_PROXY: Type.Optional(
    Type.String({
      pattern: '^(true|false|[0-9A-Za-z.:/,\\s-]+)$',
      description:
        'Proxies whose X-Forwarded-For is believed: `true`, or addresses, CIDRs and presets (`loopback`, `uniquelocal`). The local stack sets `loopback`.',
    }),
  ),
};

const Database = {
  DATABASE_URL: Type.Optional(
    Type.String({
      pattern: '^postgres(ql)?://',
      description: 'PostgreSQL 15+. Unset: an embedded PGlite keeps its files in DATA_DIR.',
    }),
  ),
  DATA_DIR: Type.String({
    default: './data',
    minLength: 1,
    description:
      'Where the embedded database keeps its files when DATABASE_URL is absent; a lock file keeps it to one process.',
  }),
  DB_POOL_MAX: Type.Integer({
    minimum: 1,
    maximum: 200,
    default: 10,
    description:
      'Connections of the main pool; the pool for payment accepts gets half as many (at least 2). With 1, the order worker polls instead of holding a connection for LISTEN.',
  }),
  DB_POOL_MIN: Type.Integer({
    minimum: 0,
    maximum: 200,
    default: 0,
    description:
      'Connections each pool keeps open however long they stay idle (up to its size); others close after 30 s idle. The credit warm-up opens them before the instance listens.',
  }),
  DB_CONNECT_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    maximum: 60_000,
    default: 2000,
    description:
      'Waiting for a connection longer than this fails the request with 503 `database_unavailable`.',
  }),
  DB_STATEMENT_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    maximum: 600_000,
    default: 10_000,
    description: 'PostgreSQL cancels a statement that runs longer (`statement_timeout`).',
  }),
  MIGRATE_ON_START: Type.Boolean({
    default: true,
    description:
      'Apply pending migrations before serving (under a lock, so instances starting together migrate once). The local stack and the Kubernetes Job migrate once beforehand and set it false.',
  }),
};

const Redis = {
  REDIS_URL: Type.Optional(
    Type.String({
      pattern: '^rediss?://',
      description: 'Redis 7. Unset: cache, limits and leases in process memory, right for one instance only.',
    }),
  ),
  REDIS_CLUSTER_NODES: Type.Optional(
    Type.String({
      pattern: '^rediss?://[^,\\s]+(,rediss?://[^,\\s]+)*$',
      description:
        'A Redis Cluster instead: comma-separated seed node URLs (credentials and TLS from the first); see docs/scaling.md.',
    }),
  ),
  REDIS_KEY_PREFIX: Type.String({
    default: 'armazem:',
    pattern: '^[A-Za-z0-9:_-]{0,64}$',
    description: 'Namespaces every key, so several deployments (or test files) can share one Redis.',
  }),
  REDIS_TIMEOUT_MS: Type.Integer({
    minimum: 10,
    maximum: 60_000,
    default: 1000,
    description: 'How long Redis may stay silent while it owes replies before the connection is dropped.',
  }),
  CACHE_ENABLED: Type.Boolean({
    default: true,
    description: 'Cache catalog reads (versioned cache-aside; every write invalidates).',
  }),
  CACHE_TTL_SECONDS: Type.Integer({
    minimum: 1,
    maximum: 86_400,
    default: 300,
    description: 'A cached catalog body lives this long at most; writes make it stale at once anyway.',
  }),
  CACHE_NEAR_MAX_BYTES: Type.Integer({
    minimum: 0,
    maximum: 1_073_741_824,
    default: 16_777_216,
    description:
      'Each instance keeps this many bytes of catalog bodies in its own memory, in front of Redis, dropped when Redis reports their version changed (client tracking); 0 turns it off. Standalone Redis only: with a cluster, every read goes to Redis.',
  }),
};

const Accounts = {
  JWT_SECRET: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        'Signs access tokens (HS256). Required, at least 32 characters, outside development; in development `npm start` keeps a generated one in DATA_DIR.',
    }),
  ),
  ACCESS_TOKEN_TTL_SECONDS: Type.Integer({
    minimum: 30,
    maximum: 86_400,
    default: 900,
    description: 'How long an access token (JWT) is valid.',
  }),
  REFRESH_TOKEN_TTL_SECONDS: Type.Integer({
    minimum: 60,
    maximum: 31_536_000,
    default: 2_592_000,
    description: 'How long a refresh token is valid; each refresh replaces it.',
  }),
  ADMIN_EMAIL: Type.Optional(
    Type.String({
      format: 'email',
      maxLength: 254,
      description:
        'The first admin, created (or promoted) at start; set both or neither with ADMIN_PASSWORD.',
    }),
  ),
  ADMIN_PASSWORD: Type.Optional(
    Type.String({ minLength: 10, maxLength: 200, description: 'The first admin’s password.' }),
  ),
  LOGIN_RATE_LIMIT_PER_IP: Type.Integer({
    minimum: 1,
    maximum: 100_000,
    default: 20,
    description:
      'Login attempts per client IP in each window; every instance shares the count through Redis.',
  }),
  LOGIN_RATE_LIMIT_PER_EMAIL: Type.Integer({
    minimum: 1,
    maximum: 100_000,
    default: 5,
    description: 'Login attempts per email in each window.',
  }),
  LOGIN_RATE_WINDOW_SECONDS: Type.Integer({
    minimum: 1,
    maximum: 86_400,
    default: 60,
    description: 'The window of both login limits.',
  }),
};

const Orders = {
  ORDER_CONCURRENCY: Type.Union(
    [
      Type.Literal('atomic'),
      Type.Literal('pessimistic'),
      Type.Literal('optimistic'),
      Type.Literal('queued'),
      Type.Literal('hybrid'),
      Type.Literal('batched'),
    ],
    {
      default: 'batched',
      description:
        'How `POST /orders` keeps stock from overselling: one conditional UPDATE per product (`atomic`), `SELECT … FOR UPDATE` (`pessimistic`), a version check retried (`optimistic`), 202 and a worker (`queued`), atomic within a lock-wait budget else queued (`hybrid`), or orders arriving together decided in one statement (`batched`). docs/decisions.md says why batched is the default.',
    },
  ),
  ORDER_SYNC_BATCH: Type.Integer({
    minimum: 1,
    maximum: 10_000,
    default: 256,
    description: '`batched`: orders decided together per statement (and durable commit) at most.',
  }),
  ORDER_SYNC_BUDGET_MS: Type.Integer({
    minimum: 1,
    maximum: 10_000,
    default: 50,
    description:
      '`hybrid`: how long a reservation may wait for row locks before the order goes to the queue (202).',
  }),
  ORDER_RESERVATION_TTL: Type.Integer({
    minimum: 1,
    maximum: 604_800,
    default: 900,
    description:
      'Seconds a reserved order may stay unpaid before the sweeper cancels it and releases its stock.',
  }),
  ORDER_OPTIMISTIC_RETRIES: Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: 30,
    description: '`optimistic`: attempts before answering 409 `concurrent_update`.',
  }),
  ORDER_QUEUE_BATCH: Type.Integer({
    minimum: 1,
    maximum: 10_000,
    default: 500,
    description: 'Pending orders a worker reserves per transaction.',
  }),
  ORDER_IDLE_POLL_MAX_MS: Type.Integer({
    minimum: 1,
    maximum: 60_000,
    default: 2000,
    description:
      'An order worker that listens for new orders (LISTEN/NOTIFY wakes it at once) and has found nothing for a while looks anyway at most this far apart, a quarter of its idle time, from 250 ms up; one that polls without listening (a pool of one connection) keeps 250 ms.',
  }),
  WORKER_IN_PROCESS: Type.Optional(
    Type.Boolean({
      description:
        'Run the order and payment workers inside the API process. Unset: only in the embedded mode (no DATABASE_URL).',
    }),
  ),
  WORKER_METRICS_PORT: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 0,
    description: 'The worker role serves `/metrics`, `/livez` and `/readyz` on this port (0: off).',
  }),
};

const Payments = {
  PAYMENT_PROCESSOR_URL_DEFAULT: Type.String({
    pattern: '^https?://',
    default: 'http://127.0.0.1:8001',
    description: 'The default payment processor (the lower fee).',
  }),
  PAYMENT_PROCESSOR_URL_FALLBACK: Type.String({
    pattern: '^https?://',
    default: 'http://127.0.0.1:8002',
    description:
      'The fallback processor (the higher fee), for payments that waited past PAYMENT_MAX_WAIT_MS.',
  }),
  // Long: a slow processor still takes the payment after we stop waiting, and until we ask again
  // our summary lacks what its summary has (calls do not hold up the worker meanwhile).
  PAYMENT_TIMEOUT_MS: Type.Integer({
    minimum: 50,
    maximum: 60_000,
    default: 10_000,
    description:
      'A processor call without an answer by then is ambiguous, and retried on the same processor.',
  }),
  // Long enough to outlast the contest's 20 s default outage: docs/decisions.md has the measurement.
  PAYMENT_MAX_WAIT_MS: Type.Integer({
    minimum: 0,
    maximum: 3_600_000,
    default: 25_000,
    description: 'A payment the default processor cannot take goes to the fallback after waiting this long.',
  }),
  // Shorter outages are waited out (the contest's last 10 s); docs/decisions.md has the figures.
  PAYMENT_LONG_OUTAGE_MS: Type.Integer({
    minimum: 0,
    maximum: 3_600_000,
    default: 12_000,
    description:
      'An outage of the default this long is a long one: payments stop waiting for it and go to the fallback at once, so nothing is left queued if it lasts to the end.',
  }),
  // Each poll is a claim (a round trip and a commit) per worker: docs/decisions.md has the measurement.
  PAYMENT_POLL_MS: Type.Integer({
    minimum: 1,
    maximum: 60_000,
    default: 50,
    description:
      'How often a payment worker looks for due payments while they keep coming and the processors keep up: a payment waits at most this long to be sent. After a claim that PAYMENT_MAX_FRESH_CALLS cut short (a backlog, a slow processor), the next one comes within 25 ms.',
  }),
  PAYMENT_IDLE_POLL_MAX_MS: Type.Integer({
    minimum: 1,
    maximum: 60_000,
    default: 200,
    description:
      'A payment worker that has found nothing for a while waits a quarter of that while between polls, up to this; a payment accepted by the same process wakes its worker at once, and a separate worker takes one within this after an idle spell.',
  }),
  PAYMENT_BATCH: Type.Integer({
    minimum: 1,
    maximum: 10_000,
    default: 200,
    description: 'Payments a worker claims per round.',
  }),
  PAYMENT_MAX_IN_FLIGHT: Type.Integer({
    minimum: 1,
    maximum: 100_000,
    default: 2000,
    description:
      'Payments whose processor calls may be out at once, per worker (and connections per processor); docs/decisions.md sizes it.',
  }),
  // A backlog sent all at once took the CPU from accepts: docs/decisions.md has the measurement.
  PAYMENT_MAX_FRESH_CALLS: Type.Integer({
    minimum: 1,
    maximum: 100_000,
    default: 32,
    description:
      'Calls sent in the last 100 ms that a worker may have unanswered at once: a backlog drains at the pace the processor answers, not in one burst; calls out longer (a slow processor) count only against PAYMENT_MAX_IN_FLIGHT.',
  }),
  PAYMENT_ORDER_MAX_ATTEMPTS: Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: 10,
    description:
      'An order’s payment that processors refuse this many times fails; the order’s stock is released.',
  }),
  PAYMENTS_ASYNC_COMMIT: Type.Boolean({
    default: true,
    description:
      'Accept payments without waiting for the WAL flush: the payment is in PostgreSQL before the 2xx, so it survives SIGKILL of any armazem process; a crash of PostgreSQL itself could lose the last ≈0.6 s of accepts.',
  }),
  PAYMENTS_JOURNAL_DIR: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 500,
      description:
        'Accept payments into an append-only file under this directory (a subdirectory per INSTANCE_ID, which must then be unique) and send them to PostgreSQL in batches: the 2xx waits for a write to the file, not for a database round trip, and still survives SIGKILL of any armazem process (the same instance replays its file when it starts again). Unset: each accept is an INSERT before the 2xx. docs/decisions.md has the trade-offs.',
    }),
  ),
  PAYMENTS_JOURNAL_FLUSH_MS: Type.Integer({
    minimum: 0,
    maximum: 10_000,
    default: 20,
    description:
      'With PAYMENTS_JOURNAL_DIR: how long the first accept of a batch waits for others before they go to PostgreSQL together.',
  }),
  PAYMENTS_JOURNAL_ORPHAN_MS: Type.Integer({
    minimum: 100,
    maximum: 3_600_000,
    default: 15_000,
    description:
      'With PAYMENTS_JOURNAL_DIR: an instance whose journal shows no sign of life for this long is gone; another instance under the same directory sends the accepts it left.',
  }),
  PAYMENTS_JOURNAL_MAX_PENDING: Type.Integer({
    minimum: 1,
    maximum: 10_000_000,
    default: 100_000,
    description:
      'With PAYMENTS_JOURNAL_DIR: accepts an instance may hold while PostgreSQL does not take them; beyond, POST /payments answers 503.',
  }),
  PAYMENTS_PURGE_ENABLED: Type.Boolean({
    default: false,
    description: 'Lets anyone call `POST /purge-payments` (test runs); otherwise admins only.',
  }),
};

const Credit = {
  CREDIT_BATCH: Type.Integer({
    minimum: 1,
    maximum: 10_000,
    default: 256,
    description:
      'Credits and debits applied per database round trip at most: concurrent ones share one statement and one commit.',
  }),
  CREDIT_BATCH_CONCURRENCY: Type.Integer({
    minimum: 1,
    maximum: 64,
    default: 4,
    description: 'Credit batches at the database at once, per instance (each holds a connection).',
  }),
  CREDIT_ASYNC_COMMIT: Type.Boolean({
    default: false,
    description:
      'Apply credits and debits without waiting for the WAL flush: the transaction is in PostgreSQL before the 2xx, so it survives SIGKILL of any armazem process; a crash of PostgreSQL itself could lose the last ≈0.6 s of them.',
  }),
  CREDIT_WARMUP: Type.Boolean({
    default: false,
    description:
      'Before listening, open the credit connections and run each credit statement on them (rolled back), and send the contest routes a few hundred requests that change nothing, so the first requests meet neither cold connections nor cold code.',
  }),
  CREDIT_CONTEST_ROUTES: Type.Boolean({
    default: false,
    description:
      'Serve the Rinha de Backend 2024/Q1 routes (`/clientes/{id}/transacoes` and `/extrato`) on the store-credit accounts, without login as in the contest, and create the contest’s five clients at start when missing.',
  }),
  CREDIT_JOURNAL_DIR: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 500,
      description:
        'With CREDIT_CONTEST_ROUTES: the contest routes hold each account they serve in this instance’s memory and decide there, writing each transaction to an append-only file under this directory (a subdirectory per INSTANCE_ID, which must then be unique, on a volume every instance shares) before the 2xx, and send them to PostgreSQL in batches. Any other write to a held account asks the holder to let it go first. Unset: each transaction is a database round trip. docs/decisions.md has the trade-offs.',
    }),
  ),
  CREDIT_JOURNAL_FLUSH_MS: Type.Integer({
    minimum: 0,
    maximum: 10_000,
    default: 20,
    description:
      'With CREDIT_JOURNAL_DIR: how long the first transaction of a batch waits for others before they go to PostgreSQL together.',
  }),
  CREDIT_JOURNAL_ORPHAN_MS: Type.Integer({
    minimum: 100,
    maximum: 3_600_000,
    default: 15_000,
    description:
      'With CREDIT_JOURNAL_DIR: an instance whose journal shows no sign of life for this long is gone; another instance under the same directory sends what it left and lets its accounts go (until then they answer 503).',
  }),
};

// The SDK reads these standard variables itself; they are declared so a bad value stops the start.
const Tracing = {
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(
    Type.String({
      pattern: '^https?://',
      description: 'Send OpenTelemetry traces over OTLP/HTTP here. Unset: no tracing code is loaded at all.',
    }),
  ),
  OTEL_EXPORTER_OTLP_PROTOCOL: Type.Union([Type.Literal('http/protobuf'), Type.Literal('http/json')], {
    default: 'http/protobuf',
    description: 'The OTLP/HTTP encoding.',
  }),
  OTEL_EXPORTER_OTLP_HEADERS: Type.Optional(
    Type.String({
      pattern: '^[^=,\\s]+=[^,]*(,[^=,\\s]+=[^,]*)*$',
      description: 'Headers sent with every export, `name=value,…` (e.g. an API key).',
    }),
  ),
  OTEL_SERVICE_NAME: Type.Optional(
    Type.String({ minLength: 1, maxLength: 200, description: 'The spans’ service name. Unset: `armazem`.' }),
  ),
  OTEL_RESOURCE_ATTRIBUTES: Type.Optional(
    Type.String({
      pattern: '^[^=,]+=[^,]*(,[^=,]+=[^,]*)*$',
      description: 'More resource attributes, `key=value,…`.',
    }),
  ),
  OTEL_TRACES_SAMPLER: Type.Optional(
    Type.Union(
      [
        Type.Literal('always_on'),
        Type.Literal('always_off'),
        Type.Literal('traceidratio'),
        Type.Literal('parentbased_always_on'),
        Type.Literal('parentbased_always_off'),
        Type.Literal('parentbased_traceidratio'),
      ],
      { description: 'Which traces are kept (the SDK’s samplers).' },
    ),
  ),
  OTEL_TRACES_SAMPLER_ARG: Type.Optional(
    Type.Number({ minimum: 0, maximum: 1, description: 'The ratio kept by the `traceidratio` samplers.' }),
  ),
  OTEL_BSP_SCHEDULE_DELAY: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 600_000,
      description: 'How long the batch span processor waits before sending (ms).',
    }),
  ),
};

const Bot = {
  TELEGRAM_BOT_TOKEN: Type.Optional(
    Type.String({
      pattern: '^[0-9]{1,20}:[A-Za-z0-9_-]{20,100}$',
      description:
        'The bot role (`npm run bot`): required there, unused elsewhere unless the webhook is configured.',
    }),
  ),
  TELEGRAM_API_ROOT: Type.String({
    default: 'https://api.telegram.org',
    pattern: '^https?://[^\\s/]+(/[^\\s]*[^\\s/])?$',
    description: 'Where the Bot API lives (tests point it at their fake); no trailing slash.',
  }),
  TELEGRAM_WEBHOOK_URL: Type.Optional(
    Type.String({
      pattern: '^https://[^\\s]+$',
      description:
        'Webhook mode: the public URL Telegram posts updates to (the API’s `POST /telegram/webhook`). Unset: long polling.',
    }),
  ),
  TELEGRAM_WEBHOOK_SECRET: Type.Optional(
    Type.String({
      pattern: '^[A-Za-z0-9_-]{16,256}$',
      description:
        'Telegram sends it back in X-Telegram-Bot-Api-Secret-Token; required with TELEGRAM_WEBHOOK_URL.',
    }),
  ),
  TELEGRAM_BOT_USERNAME: Type.Optional(
    Type.String({
      pattern: '^[A-Za-z][A-Za-z0-9_]{3,31}$',
      description: 'The bot’s @username, for the deep link `POST /telegram/link-code` returns.',
    }),
  ),
  TELEGRAM_LINK_CODE_TTL_SECONDS: Type.Integer({
    minimum: 60,
    maximum: 86_400,
    default: 600,
    description: 'A link code from `POST /telegram/link-code` works once, within this many seconds.',
  }),
  BOT_FLOOD_LIMIT: Type.Integer({
    minimum: 1,
    maximum: 1_000_000,
    default: 12,
    description: 'Updates per user per window; the rest are dropped (the first one over is told).',
  }),
  BOT_FLOOD_WINDOW_MS: Type.Integer({
    minimum: 100,
    maximum: 3_600_000,
    default: 6000,
    description: 'The flood limit’s window.',
  }),
  BOT_CONCURRENCY: Type.Integer({
    minimum: 1,
    maximum: 10_000,
    default: 200,
    description: 'Updates the runner handles at once (each chat still in order).',
  }),
  BOT_METRICS_PORT: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 0,
    description: 'The bot role serves `/health`, `/livez`, `/readyz` and `/metrics` on this port (0: off).',
  }),
  STORE_NAME: Type.String({
    default: 'armazem',
    minLength: 1,
    maxLength: 64,
    description: 'How the bot names the store in its greeting.',
  }),
  STORE_SITE_URL: Type.Optional(
    Type.String({
      pattern: '^https?://[^\\s]+$',
      description: 'The store’s site, shown by `/site` as a button: a public http(s) URL.',
    }),
  ),
  STORE_SOCIAL_LINKS: Type.Optional(
    Type.String({
      pattern: '^[^=,]{1,40}=https?://[^,\\s]+(,[^=,]{1,40}=https?://[^,\\s]+)*$',
      description:
        'Shown by `/social`: comma-separated `Name=https://…` pairs, e.g. `Instagram=https://instagram.com/loja`.',
    }),
  ),
};

/** The chapters of the reference, in order. */
export const CONFIG_SECTIONS = [
  { title: 'Process and HTTP', variables: Process },
  { title: 'Database', variables: Database },
  { title: 'Redis and the cache', variables: Redis },
  { title: 'Accounts and login', variables: Accounts },
  { title: 'Orders and the worker role', variables: Orders },
  { title: 'Payments', variables: Payments },
  { title: 'Store credit', variables: Credit },
  { title: 'Traces (OpenTelemetry)', variables: Tracing },
  { title: 'The Telegram bot', variables: Bot },
] as const;

const Env = Type.Object({
  ...Process,
  ...Database,
  ...Redis,
  ...Accounts,
  ...Orders,
  ...Payments,
  ...Credit,
  ...Tracing,
  ...Bot,
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

/**
 * Reads the variables `schema` declares from `env` (defaults applied, text converted); throws a
 * ConfigError naming every bad one. The app's schema and the local stack's (scripts/stack-config.ts) share it.
 */
export function parseEnv<S extends TObject>(schema: S, env: NodeJS.ProcessEnv): Static<S> {
  const known = Object.keys(schema.properties);
  // Empty strings count as unset, as shells and compose files often produce them.
  const raw = Object.fromEntries(
    known.filter((k) => env[k] !== undefined && env[k] !== '').map((k) => [k, env[k]]),
  );
  // Default and Convert mutate their input; keep `raw` as typed, for the message.
  const converted = Value.Convert(schema, Value.Default(schema, { ...raw }));
  const errors = [...Value.Errors(schema, converted)];
  if (errors.length > 0) {
    const lines = errors.map((e) => {
      const name = e.instancePath.replace(/^\//, '') || String(e.params);
      return `  ${name}=${JSON.stringify(raw[name] ?? null)}: ${e.message}`;
    });
    throw new ConfigError(`invalid configuration:\n${[...new Set(lines)].join('\n')}`);
  }
  return converted as Static<S>;
}

/** Parses and validates the environment; throws a ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = parseEnv(Env, env);
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
