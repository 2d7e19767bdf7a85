/**
 * The production topology as plain processes: nginx (Debian's package) on
 * STACK_PORT in front of STACK_INSTANCES api processes on consecutive ports,
 * against DATABASE_URL / REDIS_URL. Everything it starts is recorded in pid
 * files under STACK_DIR, and `down` stops exactly those processes.
 *
 *   node scripts/stack.ts up | down | status | populate | cache-demo | clean  [--profile store|payments|credit]
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { type NginxSite, nginxBinary, startNginx } from './lib/nginx.ts';
import { httpOk, waitForHttp } from './lib/wait.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const env = process.env;

/**
 * `--profile <name>`: the shape of a compose profile. `store` (the default)
 * is the whole store; `payments` is the Rinha de Backend 2025 shape — two
 * instances that also run the payment worker, small heaps, purge allowed;
 * `credit` is the Rinha de Backend 2024/Q1 shape — nginx and two instances
 * on PostgreSQL only, the contest routes on, its five clients created at
 * start when missing.
 */
const PROFILES = {
  store: {
    workers: 1,
    processors: true,
    redis: true,
    nodeFlags: '--max-semi-space-size=32',
    env: {} as Record<string, string>,
  },
  // As docker-compose.yml's payments profile runs it: the payment worker inside each instance, small heaps.
  payments: {
    workers: 0,
    processors: true,
    redis: true,
    nodeFlags: '--max-semi-space-size=4 --max-old-space-size=56',
    env: { WORKER_IN_PROCESS: 'true', DB_POOL_MAX: '5', PAYMENTS_PURGE_ENABLED: 'true' } as Record<
      string,
      string
    >,
  },
  // As docker-compose.yml's credit profile runs it: the same heap flags and pool size.
  credit: {
    workers: 0,
    processors: false,
    redis: false,
    nodeFlags: '--max-semi-space-size=8 --max-old-space-size=80',
    env: { CREDIT_CONTEST_ROUTES: 'true', DB_POOL_MAX: '8' } as Record<string, string>,
  },
};
const profileArg = process.argv.indexOf('--profile');
const PROFILE_NAME = profileArg > 0 ? (process.argv[profileArg + 1] ?? '') : 'store';
if (!(PROFILE_NAME in PROFILES)) {
  console.error(`unknown profile '${PROFILE_NAME}'; one of: ${Object.keys(PROFILES).join(', ')}`);
  process.exit(2);
}
const PROFILE = PROFILES[PROFILE_NAME as keyof typeof PROFILES];

const STATE = resolve(ROOT, env.STACK_DIR ?? '.stack');
const PORT = Number(env.STACK_PORT ?? 9999);
const INSTANCES = Number(env.STACK_INSTANCES ?? 2);
const API_BASE_PORT = Number(env.STACK_API_BASE_PORT ?? 9001);
const WORKERS = Number(env.STACK_WORKERS ?? PROFILE.workers);
/** STACK_RUN=dist: compile first and run dist/ as the image does (no type stripping: ≈29 MB less per process). */
const RUN_DIST = env.STACK_RUN === 'dist';
const entry = (name: string) => (RUN_DIST ? `dist/entrypoints/${name}.js` : `src/entrypoints/${name}.ts`);
/** The two payment-processor emulators (default, fallback), unless STACK_PROCESSORS=0 (processors already listening). */
const PROCESSORS = PROFILE.processors && env.STACK_PROCESSORS !== '0';
const PROCESSOR_BASE_PORT = Number(env.STACK_PROCESSOR_BASE_PORT ?? 8001);
const DATABASE_URL = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/armazem';
/** The credit profile runs without Redis, as the contest's shape does. */
const REDIS_URL = PROFILE.redis ? (env.REDIS_URL ?? 'redis://127.0.0.1:6379') : undefined;
const RATE = env.STACK_RATE_LIMIT ?? '10r/s';
const BURST = env.STACK_RATE_BURST ?? '20';
/** The profile's V8 flags (the store's are `npm start`'s), unless STACK_NODE_FLAGS says otherwise. */
const API_NODE_FLAGS = (env.STACK_NODE_FLAGS ?? PROFILE.nodeFlags).split(/\s+/).filter(Boolean);

interface Part {
  name: string;
  pidFile: string;
  port: number;
  log: string;
  /** A fragment of the process's command line: a recycled pid is never signalled. */
  marker: string;
}

const apiParts = (): Part[] =>
  Array.from({ length: INSTANCES }, (_, i) => ({
    name: `api-${i + 1}`,
    pidFile: join(STATE, 'pids', `api-${i + 1}.pid`),
    port: API_BASE_PORT + i,
    log: join(STATE, 'logs', `api-${i + 1}.log`),
    marker: entry('api'),
  }));
/** Queue workers (reserving queued orders, cancelling expired reservations). */
const workerParts = (): Part[] =>
  Array.from({ length: WORKERS }, (_, i) => ({
    name: `worker-${i + 1}`,
    pidFile: join(STATE, 'pids', `worker-${i + 1}.pid`),
    port: 0,
    log: join(STATE, 'logs', `worker-${i + 1}.log`),
    marker: entry('worker'),
  }));
const processorParts = (): Part[] =>
  PROCESSORS
    ? [
        {
          name: 'processors',
          pidFile: join(STATE, 'pids', 'processors.pid'),
          port: 0,
          log: join(STATE, 'logs', 'processors.log'),
          marker: entry('processors'),
        },
      ]
    : [];
const nginxPart: Part = {
  name: 'nginx',
  pidFile: join(STATE, 'nginx.pid'),
  port: PORT,
  log: join(STATE, 'logs', 'nginx-access.log'),
  marker: 'nginx',
};
/** Every part recorded in STATE, including instances of an earlier, larger STACK_INSTANCES. */
function recordedParts(): Part[] {
  const dir = join(STATE, 'pids');
  const recorded = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.pid')) : [];
  const apis = [...apiParts(), ...workerParts(), ...processorParts()];
  for (const f of recorded) {
    const name = f.replace(/\.pid$/, '');
    if (!apis.some((p) => p.name === name)) {
      apis.push({
        name,
        pidFile: join(dir, f),
        port: 0,
        log: join(STATE, 'logs', `${name}.log`),
        marker: 'entrypoints/',
      });
    }
  }
  return [nginxPart, ...apis];
}

function pidOf(part: Part): number | null {
  if (!existsSync(part.pidFile)) return null;
  const pid = Number(readFileSync(part.pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** Alive and still the process we started (its command line carries the marker). */
function isOurs(pid: number, part: Part): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').includes(part.marker);
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
      .once('error', () => resolve(false))
      .listen(port, () => server.close(() => resolve(true)));
  });
}

/** A worker has no port: it is ready once its LISTEN connection shows in pg_stat_activity. */
async function waitForWorker(part: Part, timeoutMs = 30_000): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rowCount } = await client.query(
        "SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'",
        [`armazem/${part.name}`],
      );
      if (rowCount) return;
      const pid = pidOf(part);
      if (Date.now() > deadline || pid === null || !isOurs(pid, part))
        throw new Error(`${part.name}: not ready`);
      await sleep(100);
    }
  } finally {
    await client.end();
  }
}

function site(): NginxSite {
  return {
    stateDir: STATE,
    upstreams: apiParts().map((p) => `127.0.0.1:${p.port}`),
    listen: PORT,
    rate: RATE,
    burst: BURST,
    accessLog: `${nginxPart.log} armazem_json buffer=64k flush=1s`,
  };
}

async function ensureDatabase() {
  const url = new URL(DATABASE_URL);
  const name = url.pathname.slice(1);
  const admin = new URL(DATABASE_URL);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) {
      await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
      console.log(`created database ${name}`);
    }
  } finally {
    await client.end();
  }
}

/** A secret kept in STATE (mode 0600), made on first use, unless the environment gives one. */
function stateSecret(name: string, given: string | undefined): string {
  if (given) return given;
  const file = join(STATE, name);
  if (!existsSync(file)) {
    mkdirSync(STATE, { recursive: true });
    writeFileSync(file, randomBytes(36).toString('base64url'), { mode: 0o600 });
  }
  return readFileSync(file, 'utf8').trim();
}

const ADMIN_EMAIL = env.ADMIN_EMAIL ?? 'admin@armazem.local';
const adminPassword = () => stateSecret('admin-password', env.ADMIN_PASSWORD);

function apiEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...PROFILE.env,
    ...env,
    NODE_ENV: env.NODE_ENV ?? 'production',
    DATABASE_URL,
    REDIS_URL,
    // Production mode needs a strong secret shared by every instance, and an admin.
    JWT_SECRET: stateSecret('jwt-secret', env.JWT_SECRET),
    ADMIN_EMAIL,
    ADMIN_PASSWORD: adminPassword(),
    // nginx on loopback forwards the client's address; rate limits key on it.
    TRUST_PROXY: env.TRUST_PROXY ?? 'loopback',
    PAYMENT_PROCESSOR_URL_DEFAULT:
      env.PAYMENT_PROCESSOR_URL_DEFAULT ?? `http://127.0.0.1:${PROCESSOR_BASE_PORT}`,
    PAYMENT_PROCESSOR_URL_FALLBACK:
      env.PAYMENT_PROCESSOR_URL_FALLBACK ?? `http://127.0.0.1:${PROCESSOR_BASE_PORT + 1}`,
    ...extra,
  };
}

function runNode(entry: string, extra: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [entry], {
    cwd: ROOT,
    env: apiEnv(extra),
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`${entry} failed with exit code ${r.status}`);
}

async function up() {
  const running = recordedParts().filter((p) => {
    const pid = pidOf(p);
    return pid !== null && isOurs(pid, p);
  });
  if (running.length > 0)
    throw new Error(`already running: ${running.map((p) => p.name).join(', ')} (npm run stack:down first)`);
  // A port already taken would let the health checks pass against someone else's process.
  const ports = [
    PORT,
    ...apiParts().map((p) => p.port),
    ...(PROCESSORS ? [PROCESSOR_BASE_PORT, PROCESSOR_BASE_PORT + 1] : []),
  ];
  const taken = (await Promise.all(ports.map(async (port) => ((await portFree(port)) ? null : port)))).filter(
    (p) => p !== null,
  );
  if (taken.length > 0)
    throw new Error(
      `port(s) ${taken.join(', ')} already in use: another stack (STACK_DIR) or program is running`,
    );
  nginxBinary(); // before anything starts: installs nginx when missing
  if (RUN_DIST) {
    const build = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    if (build.status !== 0) throw new Error('the build failed');
  }
  for (const d of ['pids', 'logs']) mkdirSync(join(STATE, d), { recursive: true });

  await ensureDatabase();
  runNode('src/entrypoints/migrate.ts', { LOG_LEVEL: 'warn' });

  const launch = (p: Part, extra: Record<string, string>) => {
    const out = openSync(p.log, 'a');
    const child = spawn(process.execPath, [...API_NODE_FLAGS, p.marker], {
      cwd: ROOT,
      env: apiEnv({ INSTANCE_ID: p.name, MIGRATE_ON_START: 'false', ...extra }),
      detached: true,
      stdio: ['ignore', out, out],
    });
    writeFileSync(p.pidFile, String(child.pid));
    child.unref();
  };
  for (const p of processorParts()) {
    launch(p, {
      PROCESSOR_DEFAULT_PORT: String(PROCESSOR_BASE_PORT),
      PROCESSOR_FALLBACK_PORT: String(PROCESSOR_BASE_PORT + 1),
    });
  }
  for (const p of apiParts()) launch(p, { PORT: String(p.port) });
  for (const p of workerParts()) launch(p, {});
  startNginx(site());

  try {
    for (const p of apiParts()) await waitForHttp(`http://127.0.0.1:${p.port}/readyz`);
    for (const p of workerParts()) await waitForWorker(p);
    if (PROCESSORS) {
      for (const port of [PROCESSOR_BASE_PORT, PROCESSOR_BASE_PORT + 1]) {
        await waitForHttp(`http://127.0.0.1:${port}/admin/payments-summary`, 30_000, {
          'x-rinha-token': '123',
        });
      }
    }
    await waitForHttp(`http://127.0.0.1:${PORT}/readyz`);
  } catch (err) {
    console.error(`${(err as Error).message}; stopping what was started (logs in ${join(STATE, 'logs')})`);
    await down();
    process.exit(1);
  }
  console.log(`armazem stack is up (state in ${STATE})`);
  console.log(
    `admin: ${ADMIN_EMAIL}, password ${env.ADMIN_PASSWORD ? 'from ADMIN_PASSWORD' : `in ${join(STATE, 'admin-password')}`}`,
  );
  await status();
}

async function stopPart(part: Part, signal: NodeJS.Signals, graceMs: number): Promise<string> {
  const pid = pidOf(part);
  if (pid === null) return 'not running';
  if (!isOurs(pid, part)) {
    rmSync(part.pidFile, { force: true });
    return 'already stopped';
  }
  process.kill(pid, signal);
  const deadline = Date.now() + graceMs;
  while (isOurs(pid, part) && Date.now() < deadline) await sleep(50);
  let how = 'stopped';
  if (isOurs(pid, part)) {
    process.kill(pid, 'SIGKILL');
    how = 'killed after the grace period';
    while (isOurs(pid, part)) await sleep(20);
  }
  rmSync(part.pidFile, { force: true });
  return how;
}

async function down() {
  // nginx first (QUIT: finish in-flight requests), then the instances (TERM: drain and close).
  const [first, ...apis] = recordedParts();
  const results: Array<[string, string]> = [];
  if (first) results.push([first.name, await stopPart(first, 'SIGQUIT', 10_000)]);
  const stopped = await Promise.all(
    apis.map(async (p) => [p.name, await stopPart(p, 'SIGTERM', 15_000)] as [string, string]),
  );
  results.push(...stopped);
  for (const [name, how] of results) console.log(`${name.padEnd(8)} ${how}`);
}

async function status() {
  const rows: string[][] = [['part', 'pid', 'process', 'listens on', 'health', 'log']];
  for (const p of recordedParts()) {
    const pid = pidOf(p);
    const alive = pid !== null && isOurs(pid, p);
    const url = p.port ? `http://127.0.0.1:${p.port}` : '';
    const health = alive && url ? ((await httpOk(`${url}/readyz`)) ? 'healthy' : 'unhealthy') : '-';
    rows.push([
      p.name,
      pid === null ? '-' : String(pid),
      alive ? 'running' : 'stopped',
      url || '-',
      health,
      p.log,
    ]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  '));
  console.log(
    `\ndatabase ${DATABASE_URL.replace(/:[^:@/]+@/, ':***@')}  redis ${REDIS_URL ?? 'none'}  profile ${PROFILE_NAME}  rate limit ${RATE} burst ${BURST}`,
  );
}

async function cacheDemo() {
  const base = `http://127.0.0.1:${PORT}`;
  const list = (await (await fetch(`${base}/products?limit=1`)).json()) as {
    items: Array<{ id: number; name: string }>;
  };
  const product = list.items[0];
  if (!product) throw new Error('no products: run `npm run stack:populate` first');
  await (await fetch(`${base}/ping`)).arrayBuffer(); // open the connection first: time the reads, not the handshake
  const login = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: ADMIN_EMAIL, password: adminPassword() }),
  });
  if (!login.ok) throw new Error(`admin login failed: ${login.status} ${await login.text()}`);
  const { accessToken } = (await login.json()) as { accessToken: string };
  const cleared = await fetch(`${base}/cache/clear`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${accessToken}` },
  });
  console.log(`DELETE /cache/clear → ${cleared.status} ${await cleared.text()}`);
  for (const attempt of ['first read', 'second read']) {
    const t0 = performance.now();
    const res = await fetch(`${base}/products/${product.id}`);
    await res.arrayBuffer();
    const ms = (performance.now() - t0).toFixed(2);
    console.log(
      `${attempt.padEnd(12)} GET /products/${product.id} → ${res.status} x-cache: ${res.headers.get('x-cache')} in ${ms} ms (via nginx)`,
    );
    await sleep(50); // the miss stores its body without making the response wait
  }
}

async function clean() {
  await down();
  rmSync(STATE, { recursive: true, force: true });
  console.log(`removed ${STATE}`);
}

const commands: Record<string, () => Promise<void>> = {
  up,
  down,
  status,
  // Its one log line is the result the user asked for, whatever LOG_LEVEL the stack runs with.
  populate: async () => runNode('src/entrypoints/seed.ts', { LOG_LEVEL: 'info' }),
  'cache-demo': cacheDemo,
  clean,
};
const command = process.argv[2] ?? '';
const run = commands[command];
if (!run) {
  console.error(`usage: node scripts/stack.ts ${Object.keys(commands).join(' | ')}`);
  process.exit(2);
}
await run();
