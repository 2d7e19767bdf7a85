import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { waitForHttp } from '../../scripts/lib/wait.ts';

export { waitForHttp };

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The first port the kernel hands out to outgoing connections (Linux; 32768 is its default). */
const EPHEMERAL_LOW = (() => {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0]) || 32_768;
  } catch {
    return 32_768;
  }
})();

const canListen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.createServer().once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });

/**
 * A free port below the kernel's ephemeral range: a process started later
 * listens on it, and a port from that range (what `listen(0)` gives) can be
 * taken meanwhile by any test's outgoing connection, which made a stack's
 * instance exit with EADDRINUSE until the connection closed.
 */
export async function freePort(): Promise<number> {
  return freePortWith(0);
}

/**
 * A free port whose partner at `port + offset` is free too, both below the
 * ephemeral range: a Redis Cluster node listens on its port + 10000 for its
 * bus, and a bus port in that range was taken by a test's outgoing connection.
 */
export async function freePortWith(offset: number): Promise<number> {
  const low = 10_000;
  for (;;) {
    const port = low + Math.floor(Math.random() * (EPHEMERAL_LOW - offset - low - 1));
    if ((await canListen(port)) && (offset === 0 || (await canListen(port + offset)))) return port;
  }
}

/** Two consecutive free ports (a stack's instances listen on base, base + 1). */
export async function portPair(): Promise<[number, number]> {
  for (;;) {
    const a = await freePort();
    if (await canListen(a + 1)) return [a, a + 1];
  }
}

export interface Started {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/**
 * Runs an entry point the way `npm start` does: Node 24 on the TypeScript
 * sources, without the test runner's NODE_ENV=test or backends leaking in.
 */
export function startProcess(entry: string, env: Record<string, string>, args: string[] = []): Started {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(DATABASE_URL|REDIS_URL|PORT|DATA_DIR|LOG_LEVEL|NODE_ENV|JWT_SECRET)$/.test(k),
    ),
  );
  const child = spawn(process.execPath, [entry, ...args], {
    cwd: ROOT,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Waits until the process serves `url`; fails at once, with its output, if it exits first. */
export async function waitServing(p: Started, url: string, timeoutMs = 30_000): Promise<void> {
  const exited = p.exited.then((code) => {
    throw new Error(`exited with ${code} before serving ${url}:\n${p.stderr()}${p.stdout()}`);
  });
  await Promise.race([waitForHttp(url, timeoutMs), exited]);
}

/** The process runs (a zombie, exited but not yet reaped, does not count). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return readFileSync(`/proc/${pid}/status`, 'utf8').match(/^State:\s+(\S)/m)?.[1] !== 'Z';
  } catch {
    return false;
  }
}
