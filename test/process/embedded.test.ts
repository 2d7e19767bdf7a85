import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, type Started, startProcess, waitServing } from '../helpers/process.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'armazem-embedded-'));
const running: Started[] = [];

afterAll(() => {
  for (const p of running) p.child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

async function startEmbedded(port: number) {
  const p = startProcess('src/entrypoints/api.ts', {
    PORT: String(port),
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    ADMIN_EMAIL: 'admin@embedded.test',
    ADMIN_PASSWORD: 'embedded-admin-pass',
  });
  running.push(p);
  await waitServing(p, `http://127.0.0.1:${port}/health`);
  return p;
}

describe('npm start with no DATABASE_URL (embedded PGlite, in-process cache)', () => {
  // PGlite (PostgreSQL in WebAssembly) starts and migrates twice here: slow on a busy 2-core machine.
  it('serves the whole API, keeps data on disk across restarts, refuses a second process on the same data, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const first = await startEmbedded(port);
    const firstLine = JSON.parse(first.stdout().split('\n')[0] ?? '{}');
    expect(firstLine.msg).toMatch(/embedded PGlite/);
    expect(firstLine.msg).toMatch(/cache: in-process memory/);

    const base = `http://127.0.0.1:${port}`;
    const login = await fetch(`${base}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'admin@embedded.test', password: 'embedded-admin-pass' }),
    });
    expect(login.status).toBe(200);
    const auth = { authorization: `Bearer ${((await login.json()) as { accessToken: string }).accessToken}` };
    const created = await fetch(`${base}/products`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ name: 'Limão', price: '6.90', stock: 3, category: 'frutas' }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: number };
    expect((await fetch(`${base}/products/${id}`)).headers.get('x-cache')).toBe('MISS');
    expect((await fetch(`${base}/products/${id}`)).headers.get('x-cache')).toBe('HIT');
    const found = (await (await fetch(`${base}/products?search=limao`)).json()) as { items: unknown[] };
    expect(found.items).toHaveLength(1);
    const services = (await (await fetch(`${base}/services`)).json()) as {
      services: Array<{ kind: string; version: string }>;
    };
    expect(services.services.map((s) => s.kind)).toEqual(['embedded', 'memory']);
    // Orders on the embedded database: one connection shared by requests and the in-process worker.
    const ordered = await fetch(`${base}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ items: [{ productId: id, quantity: 2 }] }),
    });
    expect(ordered.status).toBe(201);
    expect(((await ordered.json()) as { total: string }).total).toBe('13.80');
    const check = (await (await fetch(`${base}/admin/stock-check`, { headers: auth })).json()) as {
      ok: boolean;
    };
    expect(check.ok).toBe(true);

    const intruder = startProcess('src/entrypoints/api.ts', {
      PORT: String(await freePort()),
      DATA_DIR: dataDir,
    });
    expect(await intruder.exited).not.toBe(0);
    expect(intruder.stderr()).toMatch(/in use by process/);

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.stdout()).toMatch(/"msg":"stopped"/);

    const second = await startEmbedded(port);
    const again = await fetch(`${base}/products/${id}`);
    expect(again.status).toBe(200);
    // Development mode keeps its generated JWT secret with the data: a token outlives the restart.
    expect((await fetch(`${base}/customers/me`, { headers: auth })).status).toBe(200);
    expect(((await again.json()) as { name: string }).name).toBe('Limão');
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 120_000);
});

describe('configuration', () => {
  it('when a variable is invalid, then the start stops with a message naming it', async () => {
    const p = startProcess('src/entrypoints/api.ts', {
      PORT: 'eighty',
      CACHE_TTL_SECONDS: '-5',
      DATA_DIR: dataDir,
    });
    expect(await p.exited).toBe(78);
    expect(p.stderr()).toMatch(/PORT="eighty"/);
    expect(p.stderr()).toMatch(/CACHE_TTL_SECONDS="-5"/);
  });
});
