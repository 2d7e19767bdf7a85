import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { unaccent } from '@electric-sql/pglite/contrib/unaccent';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  dataDir: string;
  /** Directory holding the `.s.PGSQL.5432` socket, usable as pg's `host`. */
  socketDir: string;
  stop(): Promise<void>;
}

/**
 * Starts PGlite (PostgreSQL compiled to WASM) on `dataDir` and serves it on a
 * private unix socket. A lock file keeps a second process off the same files,
 * which PGlite itself does not prevent.
 */
export async function startEmbeddedPostgres(dataDirInput: string): Promise<EmbeddedPostgres> {
  const dataDir = resolve(dataDirInput);
  mkdirSync(dataDir, { recursive: true });
  const lockFile = join(dataDir, 'armazem.lock');
  takeLock(lockFile);
  const socketDir = mkdtempSync(join(tmpdir(), 'armazem-pg-'));
  try {
    const db = await PGlite.create(join(dataDir, 'pgdata'), { extensions: { unaccent, pg_trgm } });
    const server = new PGLiteSocketServer({ db, path: join(socketDir, '.s.PGSQL.5432'), maxConnections: 1 });
    await server.start();
    return {
      dataDir,
      socketDir,
      stop: async () => {
        await server.stop();
        await db.close();
        rmSync(socketDir, { recursive: true, force: true });
        rmSync(lockFile, { force: true });
      },
    };
  } catch (err) {
    rmSync(socketDir, { recursive: true, force: true });
    rmSync(lockFile, { force: true });
    throw err;
  }
}

function takeLock(lockFile: string): void {
  try {
    writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const holder = Number(readFileSync(lockFile, 'utf8'));
  if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
    throw new Error(
      `the embedded database in ${lockFile.replace(/armazem\.lock$/, '')} is in use by process ${holder}`,
    );
  }
  // A stale lock from a process that died without cleaning up.
  writeFileSync(lockFile, String(process.pid));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
