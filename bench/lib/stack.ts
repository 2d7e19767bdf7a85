import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type NginxSite, startNginx } from '../../scripts/lib/nginx.ts';
import { ROOT } from './processes.ts';

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
}): BenchStack {
  const stateDir = mkdtempSync(join(tmpdir(), 'armazem-bench-stack-'));
  const env = {
    ...process.env,
    ...opts.env,
    STACK_DIR: stateDir,
    STACK_PORT: String(opts.port),
    STACK_API_BASE_PORT: String(opts.apiBasePort),
    STACK_INSTANCES: String(opts.instances),
    STACK_RATE_LIMIT: opts.rate ?? '1000000r/s',
    STACK_RATE_BURST: opts.rate ? '20' : '1000000',
  };
  const stack = (cmd: string) =>
    spawnSync(process.execPath, ['scripts/stack.ts', cmd], { cwd: ROOT, env, encoding: 'utf8' });
  const up = stack('up');
  if (up.status !== 0) throw new Error(`stack:up failed:\n${up.stdout}${up.stderr}`);
  return {
    url: `http://127.0.0.1:${opts.port}`,
    instances: Array.from({ length: opts.instances }, (_, i) => `http://127.0.0.1:${opts.apiBasePort + i}`),
    down: () => {
      stack('down');
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** nginx with the same template in front of arbitrary upstreams (the bare node:http reference). */
export function startNginxFor(upstreams: string[], port: number): { url: string; stop(): void } {
  const stateDir = mkdtempSync(join(tmpdir(), 'armazem-bench-nginx-'));
  const site: NginxSite = {
    stateDir,
    upstreams,
    listen: port,
    rate: '1000000r/s',
    burst: '1000000',
    accessLog: 'off',
  };
  startNginx(site);
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => {
      try {
        process.kill(Number(readFileSync(join(stateDir, 'nginx.pid'), 'utf8')), 'SIGQUIT');
      } catch {}
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
