import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENTS, debit, validations } from '../../bench/lib/crebitos.ts';
import { createTestDatabase, eventually, type TestDatabase } from '../helpers/env.ts';
import { freePort, portPair, startProcess } from '../helpers/process.ts';

/**
 * `npm run stack:up -- --profile credit`: the Rinha de Backend 2024/Q1 shape
 * (nginx → two instances → PostgreSQL, no Redis) as local processes, scored
 * by the contest's own validation steps through the real nginx.
 */
const stateDir = mkdtempSync(join(tmpdir(), 'armazem-credit-stack-'));
let db: TestDatabase;
let base: string;
let stackEnv: Record<string, string>;

async function stack(command: string) {
  const p = startProcess('scripts/stack.ts', stackEnv, [command, '--profile', 'credit']);
  const code = await p.exited;
  return { code, out: p.stdout() + p.stderr() };
}

async function sql<T extends pg.QueryResultRow>(text: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    return (await c.query<T>(text)).rows;
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  db = await createTestDatabase();
  const nginxPort = await freePort();
  const [apiBase] = await portPair();
  stackEnv = {
    STACK_DIR: stateDir,
    STACK_PORT: String(nginxPort),
    STACK_API_BASE_PORT: String(apiBase),
    DATABASE_URL: db.url,
    // The stack must not use Redis in this shape, whatever the environment says.
    REDIS_URL: 'redis://127.0.0.1:1',
    LOG_LEVEL: 'warn',
  };
  const up = await stack('up');
  expect(up.code, up.out).toBe(0);
  expect(up.out).toMatch(/profile credit/);
  base = `http://127.0.0.1:${nginxPort}`;
}, 90_000);

afterAll(async () => {
  await stack('down');
  await db?.drop();
  rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

describe('the credit profile of the local stack', () => {
  it('starts nginx and two instances with the contest’s five clients, and passes every check of the contest’s validation steps', async () => {
    const clients = await sql<{ client_id: number; credit_limit: string; balance: string }>(
      'SELECT m.client_id, a.credit_limit, a.balance FROM credit_contest_clients m JOIN credit_accounts a USING (customer_id) ORDER BY 1',
    );
    expect(clients.map((c) => [c.client_id, Number(c.credit_limit), Number(c.balance)])).toEqual(
      CLIENTS.map((c) => [c.id, c.limite, 0]),
    );
    // Each instance opened every connection its pools may hold before it listened (CREDIT_WARMUP,
    // DB_POOL_MIN), so the validations' bursts wait for no PostgreSQL backend to start.
    const backends = () =>
      sql<{ app: string; n: number; newest: Date }>(
        `SELECT application_name AS app, count(*)::int AS n, max(backend_start) AS newest FROM pg_stat_activity
         WHERE datname = current_database() AND application_name LIKE 'armazem/%' GROUP BY 1 ORDER BY 1`,
      );
    const before = await backends();
    // Eight in each pool, and the connection that listens for requests to let an account go (CREDIT_JOURNAL_DIR).
    expect(before.map((b) => `${b.app.replace(/^armazem\/[^/]+/, '<instance>')} ${b.n}`).sort()).toEqual([
      '<instance> 9',
      '<instance> 9',
      '<instance>/async 4',
      '<instance>/async 4',
    ]);
    const checked = await validations(base);
    expect(checked.flatMap((c) => c.failures)).toEqual([]);
    expect(await backends()).toEqual(before);
  });

  it('sends each contest client to one instance with no rate limit, and keeps the clients untouched across a restart', async () => {
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) => debit(base, (i % 5) + 1, 1, `burst${i}`)),
    );
    expect(answers.flatMap((a) => a.failures)).toEqual([]);
    expect(answers.every((a) => a.answer.status === 200)).toBe(true);
    // nginx's access log (flushed every second) names the instance that answered each request:
    // one per client, so that instance can hold the client's account (CREDIT_JOURNAL_DIR).
    await eventually(() => {
      const byClient = new Map<string, Set<string>>();
      for (const line of readFileSync(join(stateDir, 'logs', 'nginx-access.log'), 'utf8')
        .trim()
        .split('\n')) {
        const e = JSON.parse(line) as { uri: string; upstream: string };
        const client = /^\/clientes\/(\d+)\/transacoes$/.exec(e.uri)?.[1];
        if (client) byClient.set(client, (byClient.get(client) ?? new Set()).add(e.upstream));
      }
      expect(byClient.size).toBe(5);
      for (const upstreams of byClient.values()) expect(upstreams.size).toBe(1);
    }, 5000);
    // Stopped, each instance sends its journal and lets its accounts go.
    expect((await stack('down')).code).toBe(0);
    const before = await sql('SELECT * FROM credit_accounts ORDER BY customer_id');
    expect(before.filter((a) => a.owner !== null)).toEqual([]);
    const up = await stack('up');
    expect(up.code, up.out).toBe(0);
    expect(await sql('SELECT * FROM credit_accounts ORDER BY customer_id')).toEqual(before);
    expect(await sql('SELECT count(*)::int AS n FROM credit_contest_clients')).toEqual([{ n: 5 }]);
    const check = startProcess('src/entrypoints/cli/check-credit.ts', { DATABASE_URL: db.url });
    expect(await check.exited, check.stdout()).toBe(0);
  });
});
