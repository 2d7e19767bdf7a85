import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { waitForHttp } from '../../scripts/lib/wait.ts';

export { waitForHttp };

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Two consecutive free ports (a stack's instances listen on base, base + 1). */
export async function portPair(): Promise<[number, number]> {
  for (;;) {
    const a = await freePort();
    const free = await new Promise<boolean>((resolve) => {
      const s = net.createServer().once('error', () => resolve(false));
      s.listen(a + 1, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return [a, a + 1];
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
