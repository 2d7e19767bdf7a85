import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './process.ts';

const run = promisify(execFile);
const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

/**
 * A PostgreSQL server of the test's own (initdb + pg_ctl on a free port), so
 * a test can stop and restart it for real without touching the server every
 * other test shares. PostgreSQL refuses to run as root: under root it runs as
 * the `postgres` system user.
 */
export interface PrivatePostgres {
  url: string;
  /**
   * Stopped, down for `downMs`, then started again: 'fast' is what `pg_ctlcluster … restart` does
   * (sessions ended, WAL flushed); 'immediate' is a crash (recovery from the WAL on disk at start).
   */
  restart(downMs?: number, mode?: 'fast' | 'immediate'): Promise<void>;
  stop(): Promise<void>;
}

function postgresUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (!uid || !gid) throw new Error('running as root, and there is no postgres user to run PostgreSQL as');
  return { uid: Number(uid), gid: Number(gid) };
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'armazem-pg-'));
  const user = postgresUser();
  if (user) chownSync(dir, user.uid, user.gid);
  const as = user ? { uid: user.uid, gid: user.gid } : {};
  const data = join(dir, 'data');
  const port = await freePort();
  await run(`${BIN}/initdb`, ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8'], as);
  // fsync off: the restarts here are of the server process, never of the machine, so nothing rests on it.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=16MB`;
  const pgCtl = (...args: string[]) =>
    run(`${BIN}/pg_ctl`, ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '30', ...args], as);
  const start = () => pgCtl('-o', options, 'start');
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    restart: async (downMs = 0, mode = 'fast') => {
      await pgCtl('-m', mode, 'stop');
      await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
    stop: async () => {
      await pgCtl('-m', 'immediate', 'stop').catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
