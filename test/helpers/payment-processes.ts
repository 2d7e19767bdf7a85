import { afterAll, beforeAll } from 'vitest';
import { TEST_JWT_SECRET } from './app.ts';
import { createTestDatabase, realServers, type TestDatabase } from './env.ts';
import { type Started, startProcess, waitServing } from './process.ts';
import { type Processors, startProcessors } from './processors.ts';

export interface PaymentProcesses {
  readonly db: TestDatabase;
  readonly processors: Processors;
  /** An API role on `port`, serving once it answers /health. */
  startApi(port: number, extra?: Record<string, string>): Promise<Started>;
  /** A worker role (payments and orders), without migrating. */
  startWorker(): Started;
}

/**
 * Real API and worker processes on a database and emulated processors of
 * the test file's own, as production runs them (no worker inside the API);
 * whatever is still running at the end is SIGKILLed.
 */
export function usePaymentProcesses(extraEnv: () => Record<string, string> = () => ({})): PaymentProcesses {
  const running: Started[] = [];
  let env: Record<string, string> = {};
  const handle = {
    async startApi(port: number, extra: Record<string, string> = {}) {
      const p = startProcess('src/entrypoints/api.ts', { ...env, PORT: String(port), ...extra });
      running.push(p);
      await waitServing(p, `http://127.0.0.1:${port}/health`);
      return p;
    },
    startWorker() {
      const p = startProcess('src/entrypoints/worker.ts', { ...env, MIGRATE_ON_START: 'false' });
      running.push(p);
      return p;
    },
  } as PaymentProcesses & { db: TestDatabase; processors: Processors };
  beforeAll(async () => {
    handle.db = await createTestDatabase();
    handle.processors = await startProcessors();
    env = {
      NODE_ENV: 'production',
      JWT_SECRET: TEST_JWT_SECRET,
      ...realServers(handle.db.url),
      ...handle.processors.env,
      WORKER_IN_PROCESS: 'false',
      LOG_LEVEL: 'warn',
      ...extraEnv(),
    };
  });
  afterAll(async () => {
    for (const p of running) p.child.kill('SIGKILL');
    await handle.processors?.close();
    await handle.db?.drop();
  });
  return handle;
}
