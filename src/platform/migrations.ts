import { runner } from 'node-pg-migrate';
import type pg from 'pg';
import type { Logger } from './logger.ts';
import { MIGRATIONS_DIR } from './migration-files.ts';

/**
 * Applies pending migrations. node-pg-migrate holds an advisory lock, so
 * several instances starting together apply each migration exactly once.
 */
export async function migrate(pool: pg.Pool, log: Logger): Promise<string[]> {
  const client = await pool.connect();
  try {
    const applied = await runner({
      dbClient: client,
      dir: MIGRATIONS_DIR,
      // Only the SQL files are migrations (the folder also has its README).
      ignorePattern: '(\\..*)|(.*\\.md)',
      direction: 'up',
      migrationsTable: 'pgmigrations',
      checkOrder: true,
      singleTransaction: true,
      log: () => {},
      logger: {
        debug: () => {},
        info: () => {},
        warn: (m: string) => log.warn(m),
        error: (m: string) => log.error(m),
      },
    });
    const names = applied.map((m) => m.name);
    if (names.length > 0) log.info({ migrations: names }, 'migrations applied');
    return names;
  } finally {
    client.release();
  }
}
