import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { eventually } from './env.ts';
import { freePortWith } from './process.ts';

export interface RedisCluster {
  /** REDIS_CLUSTER_NODES for the app: every master as a seed. */
  nodesEnv: string;
  /** One plain client per master, to look at what each holds. */
  masters: Redis[];
  stop(): Promise<void>;
}

/**
 * A real Redis Cluster of `size` masters (no replicas) on this machine:
 * `redis-server --cluster-enabled yes` per node, joined by `redis-cli
 * --cluster create`, which spreads the 16,384 slots over them.
 */
export async function startRedisCluster(size = 3): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'armazem-redis-cluster-'));
  const ports: number[] = [];
  const servers: ChildProcess[] = [];
  for (let i = 0; i < size; i++) {
    const node = await startNode(dir);
    ports.push(node.port);
    servers.push(node.server);
  }
  const masters = ports.map((port) => new Redis({ port, host: '127.0.0.1', lazyConnect: true }));
  const stop = async () => {
    for (const m of masters) m.disconnect();
    await Promise.all(
      servers.map((s) =>
        s.exitCode !== null ? null : new Promise((r) => s.once('exit', r).kill('SIGKILL')),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const m of masters) await m.connect();
    const created = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (created.status !== 0)
      throw new Error(`redis-cli --cluster create failed:\n${created.stdout}${created.stderr}`);
    await eventually(async () => {
      for (const m of masters) {
        const info = await m.cluster('INFO');
        if (!/cluster_state:ok/.test(info)) throw new Error(`cluster not ok yet on ${m.options.port}`);
      }
    }, 20_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodesEnv: ports.map((p) => `redis://127.0.0.1:${p}`).join(','), masters, stop };
}

/**
 * One cluster node, up and accepting connections. A node whose ports were
 * taken between the check and its bind exits; another pair is tried.
 */
async function startNode(dir: string): Promise<{ port: number; server: ChildProcess }> {
  let output = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    // A cluster node also listens on port + 10000 for its bus.
    const port = await freePortWith(10_000);
    const server = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout',
        '5000',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    output = '';
    let timer: NodeJS.Timeout | undefined;
    const ready = await new Promise<boolean>((resolve) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) resolve(true);
      };
      server.stdout?.on('data', onData);
      server.stderr?.on('data', onData);
      server.once('exit', () => resolve(false));
      timer = setTimeout(() => resolve(false), 10_000);
    });
    clearTimeout(timer);
    if (ready) {
      // Still flowing, so a full pipe never blocks the node; nothing is kept.
      server.stdout?.removeAllListeners('data');
      server.stderr?.removeAllListeners('data');
      return { port, server };
    }
    if (server.exitCode === null) server.kill('SIGKILL');
  }
  throw new Error(`redis-server --cluster-enabled did not start:\n${output}`);
}
