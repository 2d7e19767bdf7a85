import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startTestApp, type TestApp } from '../helpers/app.ts';
import { createTestDatabase, realServers, type TestDatabase } from '../helpers/env.ts';

let db: TestDatabase;
let a: TestApp;
let b: TestApp;

beforeAll(async () => {
  db = await createTestDatabase();
  // Two instances behind the same Redis, as behind nginx.
  const env = {
    ...realServers(db.url),
    LOGIN_RATE_LIMIT_PER_EMAIL: '3',
    LOGIN_RATE_LIMIT_PER_IP: '6',
    LOGIN_RATE_WINDOW_SECONDS: '60',
  };
  a = await startTestApp(env);
  b = await startTestApp(env);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await db?.drop();
});

const login = (t: TestApp, email: string, remoteAddress: string) =>
  t.app.inject({
    method: 'POST',
    url: '/auth/login',
    remoteAddress,
    ...json({ email, password: 'tentativa-errada' }),
  });

describe('login rate limits shared by every instance', () => {
  it('when one email is tried more than its limit across two instances, then 429 problem with Retry-After', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await login(i % 2 ? b : a, 'alvo@example.com', `10.0.0.${i + 1}`)).statusCode);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    const limited = await login(a, 'ALVO@example.com', '10.0.0.99');
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(limited.json()).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
  });

  it('when one IP tries many emails across two instances, then its limit holds too', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++)
      statuses.push((await login(i % 2 ? b : a, `varios-${i}@example.com`, '192.0.2.50')).statusCode);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 401, 429, 429]);
    // Another client is not affected.
    expect((await login(a, 'outro@example.com', '192.0.2.51')).statusCode).toBe(401);
  });
});

describe('login rate limit without Redis (embedded mode)', () => {
  it('counts in process', async () => {
    const solo = await startTestApp({ DATABASE_URL: db.url, LOGIN_RATE_LIMIT_PER_EMAIL: '2' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++)
        statuses.push((await login(solo, 'solo@example.com', '10.1.1.1')).statusCode);
      expect(statuses).toEqual([401, 401, 429]);
    } finally {
      await solo.close();
    }
  });
});
