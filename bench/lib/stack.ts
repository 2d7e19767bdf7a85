import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type NginxSite, startNginx } from '../../scripts/lib/nginx.ts';
import { programPid } from '../../scripts/lib/supervisor.ts';
import { ROOT } from './processes.ts';
import { type Point, perSecond } from './report.ts';

/** A scratch database for one bench run, made from an admin URL. */
export async function scratchDatabase(
  adminUrl: string,
  name: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const run = async (sql: string) => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

export interface BenchStack {
  /** nginx in front of the instances. */
  url: string;
  /** Each instance, directly. */
  instances: string[];
  /** nginx's JSON access log. */
  accessLog: string;
  /** Where the stack keeps supervisord's files and the logs. */
  stateDir: string;
  /** A program's pid as supervisord reports it (api-1, worker-1, nginx…). */
  pid(name: string): number;
  down(): void;
}

/**
 * The local stack (`npm run stack:up`) on bench ports: the topology under
 * test is exactly the one users run. One client IP sends everything here,
 * so the per-IP rate limit is lifted unless `rate` says otherwise.
 */
export function startStack(opts: {
  env: Record<string, string>;
  port: number;
  apiBasePort: number;
  instances: number;
  rate?: string;
  /** A compose profile's shape (`stack:up --profile`). */
  profile?: string;
}): BenchStack {
  const stateDir = mkdtempSync(join(tmpdir(), 'armazem-bench-stack-'));
  const env = {
    ...process.env,
    ...opts.env,
    STACK_DIR: stateDir,
    STACK_PORT: String(opts.port),
    STACK_API_BASE_PORT: String(opts.apiBasePort),
    STACK_INSTANCES: String(opts.instances),
    // These benches need no payment processors (and must not take ports 8001/8002 from a running stack).
    STACK_PROCESSORS: opts.env.STACK_PROCESSORS ?? process.env.STACK_PROCESSORS ?? '0',
    STACK_RATE_LIMIT: opts.rate ?? '1000000r/s',
    STACK_RATE_BURST: opts.rate ? '20' : '1000000',
  };
  const stack = (cmd: string) =>
    spawnSync(
      process.execPath,
      ['scripts/stack.ts', cmd, ...(opts.profile ? ['--profile', opts.profile] : [])],
      {
        cwd: ROOT,
        env,
        encoding: 'utf8',
      },
    );
  let stopped = false;
  // Idempotent, synchronous: also run on exit and on SIGINT/SIGTERM, so no bench leaves a stack behind.
  const down = () => {
    if (stopped) return;
    stopped = true;
    stack('down');
    // BENCH_KEEP_LOGS=dir: keep the instances' and nginx's logs (e.g. with --trace-gc in BENCH_NODE_FLAGS).
    if (process.env.BENCH_KEEP_LOGS)
      cpSync(join(stateDir, 'logs'), process.env.BENCH_KEEP_LOGS, { recursive: true });
    rmSync(stateDir, { recursive: true, force: true });
  };
  process.once('exit', down);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      down();
      process.exit(1);
    });
  }
  const up = stack('up');
  if (up.status !== 0) {
    down();
    throw new Error(`stack:up failed:\n${up.stdout}${up.stderr}`);
  }
  return {
    url: `http://127.0.0.1:${opts.port}`,
    instances: Array.from({ length: opts.instances }, (_, i) => `http://127.0.0.1:${opts.apiBasePort + i}`),
    accessLog: join(stateDir, 'logs', 'nginx-access.log'),
    stateDir,
    pid: (name) => {
      const pid = programPid(stateDir, name);
      if (pid === null) throw new Error(`${name}: not running in ${stateDir}`);
      return pid;
    },
    down,
  };
}

/** Response-time percentiles (ms) of the requests nginx logged for `uri`. */
export function accessLogTimes(
  file: string,
  uri: string,
): { count: number; p50: number; p99: number; max: number } {
  const times = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { uri: string; requestTime: number })
    .filter((e) => e.uri === uri)
    .map((e) => e.requestTime * 1000)
    .sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0;
  return { count: times.length, p50: at(0.5), p99: at(0.99), max: times.at(-1) ?? 0 };
}

/** Requests for `uri` per second of the run and their latency percentiles, from nginx's JSON access log. */
export function accessLogTimeline(file: string, uri: string): Point[] {
  const entries = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { time: string; uri: string; requestTime: number })
    .filter((e) => e.uri === uri);
  const start = Math.min(...entries.map((e) => Date.parse(e.time)));
  return perSecond(entries.map((e) => [(Date.parse(e.time) - start) / 1000, e.requestTime * 1000]));
}

/** nginx with the same template in front of arbitrary upstreams (the bare node:http reference). */
export function startNginxFor(
  upstreams: string[],
  port: number,
  opts: { accessLog?: boolean } = {},
): { url: string; accessLog: string; stateDir: string; pid(): number; stop(): void } {
  const stateDir = mkdtempSync(join(tmpdir(), 'armazem-bench-nginx-'));
  const accessLog = join(stateDir, 'logs', 'nginx-access.log');
  const site: NginxSite = {
    stateDir,
    upstreams,
    listen: port,
    rate: '1000000r/s',
    burst: '1000000',
    accessLog: opts.accessLog ? `${accessLog} armazem_json buffer=64k flush=1s` : 'off',
  };
  startNginx(site);
  const pid = () => Number(readFileSync(join(stateDir, 'nginx.pid'), 'utf8'));
  return {
    url: `http://127.0.0.1:${port}`,
    accessLog,
    stateDir,
    pid,
    stop: () => {
      try {
        process.kill(pid(), 'SIGQUIT');
      } catch {}
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
