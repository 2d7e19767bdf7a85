import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ensureAdmin } from '../../src/modules/customers/ensure-admin.ts';
import { json, startTestApp, TEST_ADMIN, useTestApp } from '../helpers/app.ts';
import { decodeJwt, registerAndLogin } from '../helpers/customers.ts';
import { startProcess } from '../helpers/process.ts';

const ctx = useTestApp({ LOGIN_RATE_LIMIT_PER_IP: '10000', LOGIN_RATE_LIMIT_PER_EMAIL: '10000' });
const post = (url: string, body: unknown) => ctx.t.app.inject({ method: 'POST', url, ...json(body) });
const me = (accessToken: string) =>
  ctx.t.app.inject({
    method: 'GET',
    url: '/customers/me',
    headers: { authorization: `Bearer ${accessToken}` },
  });

describe('POST /auth/login', () => {
  it('when the credentials are right, then a 15-minute bearer access token and an opaque refresh token', async () => {
    const s = await registerAndLogin(ctx.t);
    const res = await post('/auth/login', { email: s.email.toUpperCase(), password: s.password });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900, refreshExpiresIn: 2_592_000 });
    const claims = decodeJwt(body.accessToken);
    expect(claims).toMatchObject({ sub: String(s.id), role: 'customer' });
    expect(claims.exp - claims.iat).toBe(900);
    expect(body.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await me(body.accessToken)).statusCode).toBe(200);
  });

  it('when the email is unknown or the password wrong, then the same 401 answer in body and in timing', async () => {
    const s = await registerAndLogin(ctx.t);
    const strip = (b: Record<string, unknown>) => ({ ...b, requestId: undefined });
    const timed = async (body: unknown) => {
      const t0 = performance.now();
      const res = await post('/auth/login', body);
      return { res, ms: performance.now() - t0 };
    };
    const wrong: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 5; i++) {
      const w = await timed({ email: s.email, password: 'senha-errada-123' });
      const u = await timed({ email: `ninguem-${i}@example.com`, password: 'senha-errada-123' });
      expect(w.res.statusCode).toBe(401);
      expect(u.res.statusCode).toBe(401);
      expect(strip(u.res.json())).toEqual(strip(w.res.json()));
      expect(u.res.headers['www-authenticate']).toBe(w.res.headers['www-authenticate']);
      wrong.push(w.ms);
      unknown.push(u.ms);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[2] as number;
    // Both pay for one scrypt; skipping it for unknown emails would make them ~50× faster.
    expect(median(unknown) / median(wrong)).toBeGreaterThan(0.5);
    expect(median(unknown) / median(wrong)).toBeLessThan(2);
  });

  it('when login input is malformed, then 400 naming the field', async () => {
    for (const [body, field] of [
      [{ email: 'a@b.co' }, 'body.password'],
      [{ password: 'x' }, 'body.email'],
      [{ email: 'a@b.co', password: 'x', remember: true }, 'body.remember'],
      [{ email: 42, password: 'x' }, 'body.email'],
    ] as const) {
      const res = await post('/auth/login', body);
      expect(res.statusCode).toBe(400);
      expect(res.json().errors.map((e: { field: string }) => e.field)).toContain(field);
    }
  });
});

describe('refresh tokens', () => {
  it('rotate: each one works once and yields a new pair; only its hash is stored', async () => {
    const s = await registerAndLogin(ctx.t);
    const { rows } = await ctx.t.deps.db.pool.query(
      'SELECT token_hash FROM refresh_tokens WHERE customer_id = $1',
      [s.id],
    );
    expect(rows.map((r) => r.token_hash.toString('hex'))).toEqual([
      createHash('sha256').update(s.refreshToken).digest('hex'),
    ]);
    const first = await post('/auth/refresh', { refreshToken: s.refreshToken });
    expect(first.statusCode).toBe(200);
    const next = first.json();
    expect(next.refreshToken).not.toBe(s.refreshToken);
    expect((await me(next.accessToken)).statusCode).toBe(200);
    const second = await post('/auth/refresh', { refreshToken: next.refreshToken });
    expect(second.statusCode).toBe(200);
  });

  it('when a used refresh token comes back, then 401 and its whole family is revoked; other sessions live on', async () => {
    const s = await registerAndLogin(ctx.t);
    const otherSession = (await post('/auth/login', { email: s.email, password: s.password })).json();
    const rotated = (await post('/auth/refresh', { refreshToken: s.refreshToken })).json();
    const replay = await post('/auth/refresh', { refreshToken: s.refreshToken });
    expect(replay.statusCode).toBe(401);
    expect(replay.json()).toMatchObject({
      code: 'invalid_refresh_token',
      detail: expect.stringMatching(/already used/),
    });
    // The thief's rotated token is dead too.
    expect((await post('/auth/refresh', { refreshToken: rotated.refreshToken })).statusCode).toBe(401);
    expect((await post('/auth/refresh', { refreshToken: otherSession.refreshToken })).statusCode).toBe(200);
  });

  it('when the same refresh token is sent 5 times at once, then exactly one succeeds', async () => {
    const s = await registerAndLogin(ctx.t);
    const results = await Promise.all(
      Array.from({ length: 5 }, () => post('/auth/refresh', { refreshToken: s.refreshToken })),
    );
    expect(results.filter((r) => r.statusCode === 200)).toHaveLength(1);
    expect(results.filter((r) => r.statusCode === 401)).toHaveLength(4);
  });

  it('when a refresh token has expired, then 401', async () => {
    const s = await registerAndLogin(ctx.t);
    await ctx.t.deps.db.pool.query(
      "UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE customer_id = $1",
      [s.id],
    );
    const res = await post('/auth/refresh', { refreshToken: s.refreshToken });
    expect(res.statusCode).toBe(401);
    expect(res.json().detail).toMatch(/expired/);
  });

  it('when logging out, then that session’s refresh token stops working and other sessions do not', async () => {
    const s = await registerAndLogin(ctx.t);
    const other = (await post('/auth/login', { email: s.email, password: s.password })).json();
    expect((await post('/auth/logout', { refreshToken: s.refreshToken })).statusCode).toBe(204);
    expect((await post('/auth/refresh', { refreshToken: s.refreshToken })).statusCode).toBe(401);
    expect((await post('/auth/refresh', { refreshToken: other.refreshToken })).statusCode).toBe(200);
    expect((await post('/auth/logout', { refreshToken: 'x'.repeat(43) })).statusCode).toBe(204); // unknown: nothing to say
  });

  it('when refresh or logout input is malformed or unknown, then 400 or 401', async () => {
    for (const url of ['/auth/refresh', '/auth/logout']) {
      expect((await post(url, {})).json().errors[0].field).toBe('body.refreshToken');
      expect((await post(url, { refreshToken: 42 })).json().errors[0].field).toBe('body.refreshToken');
      expect((await post(url, { refreshToken: 'x'.repeat(43), all: true })).json().errors[0].field).toBe(
        'body.all',
      );
    }
    expect((await post('/auth/refresh', { refreshToken: 'short' })).statusCode).toBe(400);
    expect((await post('/auth/refresh', { refreshToken: 'y'.repeat(43) })).statusCode).toBe(401);
  });
});

describe('the first admin', () => {
  it('comes from ADMIN_EMAIL / ADMIN_PASSWORD and logs in with the admin role', async () => {
    const res = await post('/auth/login', TEST_ADMIN);
    expect(res.statusCode).toBe(200);
    expect(decodeJwt(res.json().accessToken).role).toBe('admin');
  });

  it('promotes an existing customer with that email, keeping the account', async () => {
    const s = await registerAndLogin(ctx.t);
    await ensureAdmin(ctx.t.deps.customers, s.email, 'irrelevant-password', ctx.t.deps.log);
    const login = await post('/auth/login', { email: s.email, password: s.password });
    expect(decodeJwt(login.json().accessToken)).toMatchObject({ sub: String(s.id), role: 'admin' });
  });

  it('can be made from the CLI (npm run admin:create), and the CLI refuses without credentials', async () => {
    const cli = startProcess('src/entrypoints/create-admin.ts', {
      DATABASE_URL: ctx.db.url,
      ADMIN_EMAIL: 'cli-admin@example.com',
      ADMIN_PASSWORD: 'cli-admin-password',
      LOG_LEVEL: 'info',
    });
    expect(await cli.exited, cli.stderr()).toBe(0);
    expect(cli.stdout()).not.toContain('cli-admin-password');
    const login = await post('/auth/login', {
      email: 'cli-admin@example.com',
      password: 'cli-admin-password',
    });
    expect(decodeJwt(login.json().accessToken).role).toBe('admin');
    const refused = startProcess('src/entrypoints/create-admin.ts', { DATABASE_URL: ctx.db.url });
    expect(await refused.exited).toBe(78);
    expect(refused.stderr()).toMatch(/ADMIN_EMAIL and ADMIN_PASSWORD/);
  });
});

describe('security headers and CORS', () => {
  it('sends security headers on every response and no CORS grant by default', async () => {
    const res = await ctx.t.app.inject({
      method: 'GET',
      url: '/products',
      headers: { origin: 'https://evil.example' },
    });
    expect(res.headers).toMatchObject({
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'strict-transport-security': expect.stringMatching(/max-age=/),
      'content-security-policy': "default-src 'none';frame-ancestors 'none'",
      'cross-origin-resource-policy': 'same-origin',
      'referrer-policy': 'no-referrer',
    });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect((await ctx.t.app.inject({ method: 'GET', url: '/docs/' })).statusCode).toBe(200);
  });

  it('grants CORS only to the configured origins', async () => {
    const t = await startTestApp({ DATABASE_URL: ctx.db.url, CORS_ORIGINS: 'https://loja.example' });
    try {
      const ok = await t.app.inject({
        method: 'OPTIONS',
        url: '/products',
        headers: { origin: 'https://loja.example', 'access-control-request-method': 'POST' },
      });
      expect(ok.headers['access-control-allow-origin']).toBe('https://loja.example');
      const no = await t.app.inject({
        method: 'GET',
        url: '/products',
        headers: { origin: 'https://evil.example' },
      });
      expect(no.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await t.close();
    }
  });
});

describe('the JWT secret', () => {
  it('is required and must be strong outside development: the start stops naming JWT_SECRET', async () => {
    for (const secret of [undefined, 'too-short']) {
      const p = startProcess('src/entrypoints/api.ts', {
        NODE_ENV: 'production',
        DATABASE_URL: ctx.db.url,
        ...(secret ? { JWT_SECRET: secret } : {}),
      });
      expect(await p.exited).toBe(78);
      expect(p.stderr()).toMatch(/JWT_SECRET: required outside development, at least 32 characters/);
    }
  });
});
