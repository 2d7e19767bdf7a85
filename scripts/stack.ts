/**
 * The production topology as local processes under supervisord: nginx on
 * STACK_PORT in front of STACK_INSTANCES api instances, queue workers, the
 * payment-processor emulators and the bot, each restarted when it dies.
 * Settings: scripts/stack-config.ts; how it works: docs/stack.md.
 *
 *   node scripts/stack.ts up | down | status | populate | cache-demo | clean | ctl <supervisorctl args>
 *                         [--profile store|payments|credit]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ConfigError } from '../src/config.ts';
import { cacheDemo } from './lib/cache-demo.ts';
import { ensureDatabase } from './lib/database.ts';
import { instanceEnv } from './lib/instance-env.ts';
import { waitReady } from './lib/probes.ts';
import { stackPrograms } from './lib/stack-programs.ts';
import { printStatus, writeStackRecord } from './lib/stack-status.ts';
import {
  startSupervisor,
  stopSupervisor,
  supervisorctl,
  supervisorFiles,
  supervisorRunning,
} from './lib/supervisor.ts';
import { systemBinary } from './lib/system-packages.ts';
import { loadStackConfig, ROOT, StackEnv } from './stack-config.ts';

const stack = (() => {
  try {
    return loadStackConfig(process.env, process.argv);
  } catch (err) {
    console.error(`armazem stack: ${(err as Error).message}`);
    process.exit(2);
  }
})();
const STATE = stack.stateDir;

/** A one-off Node program (migrations, seed) with the instances' environment. */
function runNode(entry: string, extra: Record<string, string>) {
  const r = spawnSync(process.execPath, [entry], {
    cwd: ROOT,
    env: { ...instanceEnv(stack).env, ...extra },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`${entry} failed with exit code ${r.status}`);
}

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer()
      .once('error', () => resolve(false))
      .listen(port, () => server.close(() => resolve(true)));
  });

async function up() {
  const { env, config } = instanceEnv(stack);
  if (!config.DATABASE_URL) throw new Error('the stack runs on PostgreSQL: DATABASE_URL must not be empty');
  if (await supervisorRunning(STATE))
    throw new Error(`already running (state in ${STATE}): npm run stack:down first`);
  systemBinary('supervisord', 'supervisor');
  const programs = stackPrograms(stack, config);
  // A port already taken would let a probe pass against someone else's process.
  const ports = programs.flatMap((p) => p.ports);
  const free = await Promise.all(ports.map(portFree));
  const taken = ports.filter((_, i) => !free[i]);
  if (taken.length > 0)
    throw new Error(
      `port(s) ${taken.join(', ')} already in use: another stack (STACK_DIR) or program is running`,
    );
  if (stack.run === 'dist') {
    const build = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    if (build.status !== 0) throw new Error('the build failed');
  }
  mkdirSync(join(STATE, 'logs'), { recursive: true });
  await ensureDatabase(config.DATABASE_URL);
  runNode('src/entrypoints/migrate.ts', { LOG_LEVEL: 'warn' });

  await startSupervisor(STATE, ROOT, programs, env);
  writeStackRecord(STATE, {
    profile: stack.profileName,
    databaseUrl: config.DATABASE_URL,
    redisUrl: config.REDIS_URL ?? '',
    rate: stack.rate,
    burst: stack.burst,
    programs: programs.map(({ name, ports, probe }) => ({ name, ports, ...(probe ? { probe } : {}) })),
  });
  try {
    await waitReady(programs, config.DATABASE_URL, 60_000);
  } catch (err) {
    console.error(`${(err as Error).message}; stopping the stack (logs in ${join(STATE, 'logs')})`);
    await printStatus(STATE);
    await down();
    process.exit(1);
  }
  console.log(`armazem stack is up (state in ${STATE})`);
  console.log(
    `admin: ${config.ADMIN_EMAIL}, password ${stack.inherited.ADMIN_PASSWORD ? 'from ADMIN_PASSWORD' : `in ${join(STATE, 'admin-password')}`}`,
  );
  await printStatus(STATE);
}

async function down() {
  if (!(await supervisorRunning(STATE))) {
    console.log(`already down (no supervisord for ${STATE})`);
    return;
  }
  // nginx first: it finishes the requests in flight while the instances still serve them.
  console.log(supervisorctl(STATE, ['stop', 'nginx']).out.trim());
  console.log(await stopSupervisor(STATE));
  console.log('supervisord stopped');
}

async function clean() {
  await down();
  rmSync(STATE, { recursive: true, force: true });
  console.log(`removed ${STATE}`);
}

/** supervisorctl on this stack, e.g. `ctl restart api-1`, `ctl tail -f worker-1`. */
function ctl() {
  const r = spawnSync(
    systemBinary('supervisorctl', 'supervisor'),
    ['-c', supervisorFiles(STATE).conf, ...process.argv.slice(3).filter(notProfile)],
    { stdio: 'inherit' },
  );
  process.exitCode = r.status ?? 1;
}
const notProfile = (arg: string, i: number, all: string[]) =>
  arg !== '--profile' && all[i - 1] !== '--profile';

function usage() {
  console.error(
    `usage: node scripts/stack.ts ${Object.keys(commands).join(' | ')} [--profile store|payments|credit]\n`,
  );
  for (const [name, schema] of Object.entries(StackEnv.properties)) {
    const { default: value, description } = schema as { default?: unknown; description?: string };
    console.error(`  ${name}${value === undefined ? '' : ` (default ${value})`}\n      ${description}`);
  }
}

const commands: Record<string, () => unknown> = {
  up,
  down,
  status: async () => {
    await printStatus(STATE);
  },
  // Its one log line is the result the user asked for, whatever LOG_LEVEL the stack runs with.
  populate: () => runNode('src/entrypoints/seed.ts', { LOG_LEVEL: 'info' }),
  'cache-demo': () => {
    const { config } = instanceEnv(stack);
    return cacheDemo(`http://127.0.0.1:${stack.port}`, {
      email: config.ADMIN_EMAIL as string,
      password: config.ADMIN_PASSWORD as string,
    });
  },
  clean,
  ctl,
  help: usage,
};
const run = commands[process.argv[2] ?? ''];
if (!run) {
  usage();
  process.exit(2);
}
try {
  await run();
} catch (err) {
  console.error(err instanceof ConfigError ? `armazem stack: ${err.message}` : (err as Error).message);
  process.exit(1);
}
