import type pg from 'pg';
import { shippedMigrations } from '../../platform/migration-files.ts';

/** Set when a process starts to stop: from then on it is not ready, though it still serves. */
export interface Lifecycle {
  draining: boolean;
}

export interface Readiness {
  status: 'ready' | 'not_ready' | 'draining';
  database: 'up' | 'down';
  migrations: 'applied' | 'pending' | 'unknown';
}

/** A probe must answer even when the database hangs. */
const PROBE_TIMEOUT_MS = 1000;

/**
 * Readiness: the process can do its work — the database answers and has
 * every migration this build ships — and it is not shutting down. Redis is
 * not required: without it reads go to the database (degraded, not down).
 * Once all migrations were seen applied, that is remembered.
 */
export function readinessCheck(pool: pg.Pool, lifecycle: Lifecycle): () => Promise<Readiness> {
  const expected = shippedMigrations();
  let migrated = false;
  return async () => {
    let database: Readiness['database'] = 'up';
    let migrations: Readiness['migrations'] = migrated ? 'applied' : 'unknown';
    try {
      if (migrated) await withTimeout(pool.query('SELECT 1'));
      else {
        const { rows } = await withTimeout(pool.query<{ name: string }>('SELECT name FROM pgmigrations'));
        const applied = new Set(rows.map((r) => r.name));
        migrated = expected.every((name) => applied.has(name));
        migrations = migrated ? 'applied' : 'pending';
      }
    } catch (err) {
      // No migrations table yet: the database answers, nothing is applied.
      if ((err as { code?: string }).code === '42P01') migrations = 'pending';
      else database = 'down';
    }
    const status = lifecycle.draining
      ? 'draining'
      : database === 'up' && migrations === 'applied'
        ? 'ready'
        : 'not_ready';
    return { status, database, migrations };
  };
}

export function withTimeout<T>(p: Promise<T>, ms = PROBE_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
