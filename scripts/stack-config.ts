import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type } from 'typebox';
import { parseEnv } from '../src/config.ts';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));

const port = (value: number, description: string) =>
  Type.Integer({ minimum: 1, maximum: 65535, default: value, description });

/**
 * The local stack's own settings, described once, as src/config.ts describes
 * the app's. `loadStackConfig` is the stack's only reader of the environment;
 * what the programs themselves read is validated by the app's schema
 * (scripts/lib/instance-env.ts).
 */
export const StackEnv = Type.Object({
  STACK_DIR: Type.String({
    default: '.stack',
    minLength: 1,
    description:
      "The stack's state: supervisord's configuration, socket and pid file, the programs' logs, nginx's files, generated secrets. Relative to the repository.",
  }),
  STACK_PORT: port(9999, 'nginx listens here, in front of the instances.'),
  STACK_INSTANCES: Type.Integer({ minimum: 1, maximum: 64, default: 2, description: 'API instances.' }),
  STACK_API_BASE_PORT: port(9001, 'api-1 listens here, api-2 on the next port, and so on.'),
  STACK_WORKERS: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 64,
      description:
        "Queue worker processes (default: the profile's — 1 for store, 0 for payments and credit).",
    }),
  ),
  STACK_PROCESSORS: Type.Boolean({
    default: true,
    description:
      'Start the two payment-processor emulators (store and payments profiles); 0 when processors already listen.',
  }),
  STACK_PROCESSOR_BASE_PORT: port(8001, 'The default processor emulator; the fallback on the next port.'),
  STACK_BOT_PORT: port(
    9100,
    "The bot's probes and metrics (its BOT_METRICS_PORT). The store profile runs the bot when TELEGRAM_BOT_TOKEN is set.",
  ),
  STACK_RATE_LIMIT: Type.String({
    default: '10r/s',
    pattern: '^[0-9]+r/[sm]$',
    description: "nginx's per-client-IP rate on store routes (limit_req_zone's rate).",
  }),
  STACK_RATE_BURST: Type.Integer({
    minimum: 0,
    maximum: 100_000_000,
    default: 20,
    description: "Requests over the rate nginx queues before answering 429 (limit_req's burst).",
  }),
  STACK_NODE_FLAGS: Type.Optional(
    Type.String({
      pattern: '^(--[a-z0-9_-]+(=[^\\s]+)?\\s*)*$',
      description: "V8 flags of every Node program (default: the profile's heap flags).",
    }),
  ),
  STACK_RUN: Type.Union([Type.Literal('src'), Type.Literal('dist')], {
    default: 'src',
    description:
      'src: run the TypeScript sources; dist: compile first and run dist/ as the image does (less memory per process).',
  }),
});

/**
 * `--profile <name>`: the shape of a docker-compose.yml profile. `store` is
 * the whole store; `payments` the Rinha de Backend 2025 shape (the payment
 * worker inside both instances, small heaps, purge allowed); `credit` the
 * Rinha de Backend 2024/Q1 shape (PostgreSQL only, the contest routes on).
 */
export const PROFILES = {
  store: {
    workers: 1,
    processors: true,
    redis: true,
    bot: true,
    nodeFlags: '--max-semi-space-size=32',
    env: {} as Record<string, string>,
    stateEnv: {} as Record<string, string>,
  },
  payments: {
    workers: 0,
    processors: true,
    redis: true,
    bot: false,
    nodeFlags: '--max-semi-space-size=4 --max-old-space-size=56',
    // No per-request log lines in the contest shapes (nginx logs none either): docs/decisions.md.
    env: {
      WORKER_IN_PROCESS: 'true',
      DB_POOL_MAX: '2',
      PAYMENTS_PURGE_ENABLED: 'true',
      LOG_LEVEL: 'warn',
    } as Record<string, string>,
    // Accepts go to a journal per instance (docs/decisions.md), kept with the stack's state.
    stateEnv: { PAYMENTS_JOURNAL_DIR: 'payments-journal' } as Record<string, string>,
  },
  credit: {
    workers: 0,
    processors: false,
    redis: false,
    bot: false,
    nodeFlags: '--max-semi-space-size=8 --max-old-space-size=80',
    // Commits without the WAL flush, one batch at a time, warmed up before listening (docs/decisions.md).
    env: {
      CREDIT_CONTEST_ROUTES: 'true',
      DB_POOL_MAX: '8',
      DB_POOL_MIN: '8',
      CREDIT_ASYNC_COMMIT: 'true',
      CREDIT_BATCH_CONCURRENCY: '1',
      CREDIT_WARMUP: 'true',
      CREDIT_JOURNAL_FLUSH_MS: '500',
      LOG_LEVEL: 'warn',
    } as Record<string, string>,
    // Accounts held in memory with a journal per instance (docs/decisions.md), kept with the stack's state.
    stateEnv: { CREDIT_JOURNAL_DIR: 'credit-journal' } as Record<string, string>,
  },
};
export type ProfileName = keyof typeof PROFILES;

export interface StackConfig {
  profileName: ProfileName;
  profile: (typeof PROFILES)[ProfileName];
  /** Absolute. */
  stateDir: string;
  port: number;
  instances: number;
  apiBasePort: number;
  workers: number;
  processors: boolean;
  processorBasePort: number;
  botPort: number;
  rate: string;
  burst: number;
  nodeFlags: string[];
  run: 'src' | 'dist';
  /** The environment the stack was started in: every program inherits it. */
  inherited: Readonly<NodeJS.ProcessEnv>;
}

/** The stack's settings from the environment and `--profile`; throws a ConfigError naming bad values. */
export function loadStackConfig(env: NodeJS.ProcessEnv, argv: readonly string[]): StackConfig {
  const s = parseEnv(StackEnv, env);
  const at = argv.indexOf('--profile');
  const name = at >= 0 ? (argv[at + 1] ?? '') : 'store';
  if (!Object.hasOwn(PROFILES, name))
    throw new Error(`unknown profile '${name}'; one of: ${Object.keys(PROFILES).join(', ')}`);
  const profile = PROFILES[name as ProfileName];
  return Object.freeze({
    profileName: name as ProfileName,
    profile,
    stateDir: isAbsolute(s.STACK_DIR) ? s.STACK_DIR : resolve(ROOT, s.STACK_DIR),
    port: s.STACK_PORT,
    instances: s.STACK_INSTANCES,
    apiBasePort: s.STACK_API_BASE_PORT,
    workers: s.STACK_WORKERS ?? profile.workers,
    processors: profile.processors && s.STACK_PROCESSORS,
    processorBasePort: s.STACK_PROCESSOR_BASE_PORT,
    botPort: s.STACK_BOT_PORT,
    rate: s.STACK_RATE_LIMIT,
    burst: s.STACK_RATE_BURST,
    nodeFlags: (s.STACK_NODE_FLAGS ?? profile.nodeFlags).split(/\s+/).filter(Boolean),
    run: s.STACK_RUN,
    inherited: Object.freeze({ ...env }),
  });
}

/** A role's entry point, as the stack runs it (sources, or dist/ as the image does). */
export const entryPoint = (stack: StackConfig, role: string): string =>
  join(ROOT, stack.run === 'dist' ? `dist/entrypoints/${role}.js` : `src/entrypoints/${role}.ts`);
