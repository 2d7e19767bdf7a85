import { type ChildProcess, spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { eventually } from './env.ts';
import { freePort } from './process.ts';

/**
 * A redis-server of the test's own on a free port, without persistence (a
 * restart comes back empty, as a cache would), so a test can kill it and
 * start it again without touching the Redis every other test shares.
 */
export interface PrivateRedis {
  url: string;
  /** SIGKILL, down for `downMs`, then a fresh server on the same port. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = async () => {
    const c = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    child = c;
    await waitReady(port, c);
  };
  const kill = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    restart: async (downMs = 0) => {
      await kill();
      await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
    stop: kill,
  };
}

async function waitReady(port: number, child: ChildProcess): Promise<void> {
  await eventually(async () => {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
    probe.on('error', () => {}); // connect() rejects with it too
    try {
      await probe.connect();
      await probe.ping();
    } finally {
      probe.disconnect();
    }
  }, 10_000);
}
