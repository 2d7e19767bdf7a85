import { afterAll, beforeAll } from 'vitest';
import { type AppInstance, buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createDeps, type Deps } from '../../src/deps.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { migrate } from '../../src/platform/migrations.ts';
import { createTestDatabase, TEST_REDIS_URL, type TestDatabase, testRedisPrefix } from './env.ts';

export interface TestApp {
  app: AppInstance;
  deps: Deps;
  close(): Promise<void>;
}

/** Builds the app exactly as the server does, from an environment. */
export async function startTestApp(env: Record<string, string | undefined>): Promise<TestApp> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PORT: '0',
    ...env,
  });
  const log = createLogger(config);
  const deps = await createDeps(config, log);
  await migrate(deps.db.pool, log);
  const app = await buildApp(deps);
  await app.ready();
  return {
    app,
    deps,
    close: async () => {
      await app.close();
      await deps.close();
    },
  };
}

export const json = (body: unknown) => ({
  headers: { 'content-type': 'application/json' },
  payload: JSON.stringify(body),
});

export interface TestContext {
  db: TestDatabase;
  t: TestApp;
}

/**
 * The usual file setup: a fresh database, a private Redis prefix, one app
 * built on them before the tests and torn down after.
 */
export function useTestApp(env: Record<string, string> = {}): TestContext {
  const ctx = {} as TestContext;
  beforeAll(async () => {
    ctx.db = await createTestDatabase();
    ctx.t = await startTestApp({
      DATABASE_URL: ctx.db.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: testRedisPrefix(),
      ...env,
    });
  });
  afterAll(async () => {
    await ctx.t?.close();
    await ctx.db?.drop();
  });
  return ctx;
}
