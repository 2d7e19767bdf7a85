import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createDeps, type Deps } from '../../src/deps.ts';
import type { AppInstance } from '../../src/http/app-instance.ts';
import { ensureAdmin } from '../../src/modules/customers/ensure-admin.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { migrate } from '../../src/platform/migrations.ts';
import { createTestDatabase, realServers, type TestDatabase } from './env.ts';

export const TEST_JWT_SECRET = 'test-only-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
export const TEST_ADMIN = { email: 'admin@armazem.test', password: 'admin-password-123' };

export interface TestApp {
  app: AppInstance;
  deps: Deps;
  /** The Authorization header of the admin created at start. */
  admin: { authorization: string };
  /** `app.inject` as the admin. */
  asAdmin(opts: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** Builds the app exactly as the server does, from an environment. */
export async function startTestApp(env: Record<string, string | undefined>): Promise<TestApp> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PORT: '0',
    JWT_SECRET: TEST_JWT_SECRET,
    ...env,
  });
  const log = createLogger(config);
  const deps = await createDeps(config, log);
  await migrate(deps.db.pool, log);
  await ensureAdmin(deps.customers, TEST_ADMIN.email, TEST_ADMIN.password, log);
  const app = await buildApp(deps);
  await app.ready();
  // Signed directly rather than by logging in, so helpers never spend the login rate limit.
  const adminId = (await deps.customers.findActiveByEmail(TEST_ADMIN.email))?.customer.id;
  const admin = { authorization: `Bearer ${app.jwt.sign({ sub: String(adminId), role: 'admin' })}` };
  return {
    app,
    deps,
    admin,
    asAdmin: (opts) => app.inject({ ...opts, headers: { ...(opts.headers ?? {}), ...admin } }),
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
      ...realServers(ctx.db.url),
      ...env,
    });
  });
  afterAll(async () => {
    await ctx.t?.close();
    await ctx.db?.drop();
  });
  return ctx;
}
