import pg from 'pg';
import type { Config } from '../config.ts';
import type { Logger } from './logger.ts';

/**
 * One way to reach the database: a `pg` pool. With DATABASE_URL it points at
 * the real PostgreSQL; without it, at an embedded PGlite served over the
 * PostgreSQL wire protocol on a private socket (see embedded-postgres.ts), so
 * the same driver, SQL and migrations run in both modes.
 */
export interface Database {
  readonly pool: pg.Pool;
  /** Connections whose commits do not wait for the WAL flush (synchronous_commit=off); the same pool when embedded. */
  readonly asyncCommitPool: pg.Pool;
  readonly kind: 'postgres' | 'embedded';
  /** Safe to log: no password. */
  readonly description: string;
  close(): Promise<void>;
}

export async function openDatabase(config: Config, log: Logger): Promise<Database> {
  if (config.DATABASE_URL) {
    const pool = new pg.Pool({
      connectionString: config.DATABASE_URL,
      max: config.DB_POOL_MAX,
      min: Math.min(config.DB_POOL_MIN, config.DB_POOL_MAX),
      connectionTimeoutMillis: config.DB_CONNECT_TIMEOUT_MS,
      statement_timeout: config.DB_STATEMENT_TIMEOUT_MS,
      idleTimeoutMillis: 30_000,
      application_name: `armazem/${config.INSTANCE_ID}`,
    });
    watchPool(pool, log);
    const asyncMax = Math.max(2, Math.ceil(config.DB_POOL_MAX / 2));
    const asyncCommitPool = new pg.Pool({
      connectionString: config.DATABASE_URL,
      max: asyncMax,
      min: Math.min(config.DB_POOL_MIN, asyncMax),
      connectionTimeoutMillis: config.DB_CONNECT_TIMEOUT_MS,
      statement_timeout: config.DB_STATEMENT_TIMEOUT_MS,
      idleTimeoutMillis: 30_000,
      application_name: `armazem/${config.INSTANCE_ID}/async`,
      options: '-c synchronous_commit=off',
    });
    watchPool(asyncCommitPool, log);
    return {
      pool,
      asyncCommitPool,
      kind: 'postgres',
      description: `postgres ${redactUrl(config.DATABASE_URL)}`,
      close: async () => {
        await Promise.all([pool.end(), asyncCommitPool.end()]);
      },
    };
  }
  const embedded = await (await loadEmbedded()).startEmbeddedPostgres(config.DATA_DIR);
  // PGlite is one single-threaded session: exactly one connection, never
  // recycled, so transactions from different requests cannot interleave.
  const pool = new pg.Pool({
    host: embedded.socketDir,
    user: 'postgres',
    database: 'postgres',
    max: 1,
    idleTimeoutMillis: 0,
    connectionTimeoutMillis: config.DB_STATEMENT_TIMEOUT_MS,
  });
  watchPool(pool, log);
  return {
    pool,
    asyncCommitPool: pool,
    kind: 'embedded',
    description: `embedded PGlite at ${embedded.dataDir}`,
    close: async () => {
      await pool.end();
      await embedded.stop();
    },
  };
}

/** Loaded only when used: the container image leaves PGlite out (DATABASE_URL is always set there). */
async function loadEmbedded() {
  try {
    return await import('./embedded-postgres.ts');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      throw new Error('the embedded PostgreSQL (PGlite) is not installed in this build; set DATABASE_URL');
    }
    throw err;
  }
}

/**
 * A client whose server went away emits 'error': on the pool while idle, on
 * itself while checked out (a transaction in flight when the server
 * restarts). Neither may crash the process; the query in flight has
 * already failed, and the pool replaces the client.
 */
function watchPool(pool: pg.Pool, log: Logger): void {
  pool.on('connect', (client) => {
    client.on('error', (err) =>
      log.warn(
        { err: { message: err.message, code: (err as { code?: string }).code } },
        'database connection lost',
      ),
    );
  });
  pool.on('error', (err) =>
    log.warn(
      { err: { message: err.message, code: (err as { code?: string }).code } },
      'idle database connection lost',
    ),
  );
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return `${u.protocol}//${u.username ? `${u.username}${u.password ? `:${u.password}` : ''}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return '(unparseable url)';
  }
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EPIPE',
  'ENOENT', // unix socket gone
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
]);

/** True when an error means "the database cannot be reached", as opposed to a bad query. */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: string }).code;
  if (code && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended unexpectedly/i.test(
    err.message,
  );
}

/** PostgreSQL's numeric_value_out_of_range: a sum past what its column holds (an order's total, a stock). */
export const isOutOfRange = (err: unknown): boolean => (err as { code?: string }).code === '22003';

/** Runs `fn` in a transaction on one pooled connection: COMMIT if it returns, ROLLBACK if it throws. */
export async function inTransaction<T>(pool: pg.Pool, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  const tx = await pool.connect();
  try {
    await tx.query('BEGIN');
    const result = await fn(tx);
    await tx.query('COMMIT');
    return result;
  } catch (err) {
    await tx.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    tx.release();
  }
}

/**
 * Runs `fn` again while the database cannot be reached (a restart, a dropped
 * connection), backing off from 50 ms to 1 s, for up to `forMs`; any other
 * error, or the last one, is thrown. Only for work that is safe to repeat:
 * a COMMIT whose answer was lost may have gone through.
 */
export async function retryWhileUnavailable<T>(fn: () => Promise<T>, forMs: number): Promise<T> {
  const deadline = Date.now() + forMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isDatabaseUnavailable(err) || Date.now() >= deadline) throw err;
      await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)));
    }
  }
}
