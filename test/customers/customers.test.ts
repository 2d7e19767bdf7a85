import type { InjectOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { json, TEST_JWT_SECRET, useTestApp } from '../helpers/app.ts';
import { handMadeJwt, registerAndLogin } from '../helpers/customers.ts';

const ctx = useTestApp({ LOGIN_RATE_LIMIT_PER_IP: '10000', LOGIN_RATE_LIMIT_PER_EMAIL: '10000' });
const inject = (opts: InjectOptions) => ctx.t.app.inject(opts);
const loginStatus = async (email: string, password: string) =>
  (await inject({ method: 'POST', url: '/auth/login', ...json({ email, password }) })).statusCode;
const refreshStatus = async (refreshToken: string) =>
  (await inject({ method: 'POST', url: '/auth/refresh', ...json({ refreshToken }) })).statusCode;
const withAuth = (auth: Record<string, string>, body?: unknown) =>
  body === undefined
    ? { headers: auth }
    : { headers: { ...auth, 'content-type': 'application/json' }, payload: JSON.stringify(body) };

describe('POST /customers (register)', () => {
  it('when a customer registers, then 201 with the customer and never the password or its hash', async () => {
    const res = await inject({
      method: 'POST',
      url: '/customers',
      ...json({ name: 'Ana Souza', email: 'Ana@Example.com', password: 'uma senha longa' }),
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({
      id: expect.any(Number),
      name: 'Ana Souza',
      email: 'Ana@Example.com',
      role: 'customer',
      deletedAt: null,
    });
    expect(res.headers.location).toBe(`/customers/${res.json().id}`);
    expect(res.body).not.toMatch(/senha|password|scrypt/i);
    const { rows } = await ctx.t.deps.db.pool.query('SELECT password_hash FROM customers WHERE id = $1', [
      res.json().id,
    ]);
    expect(rows[0].password_hash).toMatch(/^scrypt\$16384\$8\$5\$/);
    expect(rows[0].password_hash).not.toContain('uma senha longa');
  });

  it('when the email is taken in any case, then 409 problem naming body.email', async () => {
    await inject({
      method: 'POST',
      url: '/customers',
      ...json({ name: 'Bia', email: 'bia@example.com', password: 'senha-da-bia-1' }),
    });
    const dup = await inject({
      method: 'POST',
      url: '/customers',
      ...json({ name: 'Outra', email: 'BIA@example.COM', password: 'outra-senha-2' }),
    });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ code: 'email_taken', errors: [{ field: 'body.email' }] });
  });

  it.each([
    ['a short password', { name: 'C', email: 'c1@example.com', password: 'curta' }, 'body.password'],
    [
      'the email as password',
      { name: 'C', email: 'c2@example.com', password: 'C2@Example.com' },
      'body.password',
    ],
    [
      'a password over 200 characters',
      { name: 'C', email: 'c3@example.com', password: 'x'.repeat(201) },
      'body.password',
    ],
    ['an invalid email', { name: 'C', email: 'not-an-email', password: 'senha-valida-1' }, 'body.email'],
    ['a missing email', { name: 'C', password: 'senha-valida-1' }, 'body.email'],
    ['a missing name', { email: 'c4@example.com', password: 'senha-valida-1' }, 'body.name'],
    ['a blank name', { name: '  ', email: 'c5@example.com', password: 'senha-valida-1' }, 'body.name'],
    [
      'a role chosen by the client',
      { name: 'C', email: 'c6@example.com', password: 'senha-valida-1', role: 'admin' },
      'body.role',
    ],
    ['a numeric password', { name: 'C', email: 'c7@example.com', password: 12345678901 }, 'body.password'],
  ])('when registering with %s, then 400 naming %s and nothing is created', async (_, body, field) => {
    const before = await ctx.t.deps.db.pool.query('SELECT count(*) FROM customers');
    const res = await inject({ method: 'POST', url: '/customers', ...json(body) });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json().errors.map((e: { field: string }) => e.field)).toContain(field);
    expect((await ctx.t.deps.db.pool.query('SELECT count(*) FROM customers')).rows).toEqual(before.rows);
  });
});

describe('/customers/me', () => {
  it('returns my account with a valid token', async () => {
    const me = await registerAndLogin(ctx.t, { name: 'Caio' });
    const res = await inject({ method: 'GET', url: '/customers/me', ...withAuth(me.auth) });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: me.id, name: 'Caio', email: me.email, role: 'customer' });
  });

  it.each([
    ['no token', {}, 'unauthenticated'],
    ['a malformed token', { authorization: 'Bearer not.a.jwt' }, 'invalid_token'],
    ['a non-bearer scheme', { authorization: 'Basic YWJjOmRlZg==' }, 'unauthenticated'],
    [
      'an expired token',
      {
        authorization: `Bearer ${handMadeJwt({ sub: '1', role: 'customer', iat: 1_000, exp: 2_000 }, TEST_JWT_SECRET)}`,
      },
      'token_expired',
    ],
    [
      'a token signed with another secret',
      {
        authorization: `Bearer ${handMadeJwt({ sub: '1', role: 'admin', iat: Math.floor(Date.now() / 1000) }, 'x'.repeat(40))}`,
      },
      'invalid_token',
    ],
    [
      'an unsigned (alg none) token',
      {
        authorization: `Bearer ${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"1","role":"admin"}').toString('base64url')}.`,
      },
      'invalid_token',
    ],
  ])('when the request carries %s, then 401 problem (%s) with WWW-Authenticate', async (_, headers, code) => {
    const res = await inject({ method: 'GET', url: '/customers/me', headers });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe(code);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it('when a token is tampered with (role raised to admin, signature kept), then 401', async () => {
    const me = await registerAndLogin(ctx.t);
    const [h, , s] = me.accessToken.split('.');
    const forged = Buffer.from(
      JSON.stringify({ sub: String(me.id), role: 'admin', iat: Math.floor(Date.now() / 1000) }),
    ).toString('base64url');
    const res = await inject({
      method: 'GET',
      url: '/customers',
      headers: { authorization: `Bearer ${h}.${forged}.${s}` },
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('invalid_token');
  });

  it('changes the name without a password, but email and password only with the current password', async () => {
    const me = await registerAndLogin(ctx.t);
    const renamed = await inject({
      method: 'PATCH',
      url: '/customers/me',
      ...withAuth(me.auth, { name: 'Novo Nome' }),
    });
    expect(renamed.statusCode).toBe(200);
    expect(renamed.json().name).toBe('Novo Nome');

    const noCurrent = await inject({
      method: 'PATCH',
      url: '/customers/me',
      ...withAuth(me.auth, { email: `novo-${me.email}` }),
    });
    expect(noCurrent.statusCode).toBe(400);
    expect(noCurrent.json().errors[0].field).toBe('body.currentPassword');
    const wrongCurrent = await inject({
      method: 'PATCH',
      url: '/customers/me',
      ...withAuth(me.auth, { email: `novo-${me.email}`, currentPassword: 'errada-errada' }),
    });
    expect(wrongCurrent.statusCode).toBe(400);
    expect(wrongCurrent.json().errors[0].field).toBe('body.currentPassword');
    const changed = await inject({
      method: 'PATCH',
      url: '/customers/me',
      ...withAuth(me.auth, { email: `novo-${me.email}`, currentPassword: me.password }),
    });
    expect(changed.statusCode).toBe(200);
    expect(changed.json().email).toBe(`novo-${me.email}`);
  });

  it('when my password changes, then other sessions end and only the new password logs in', async () => {
    const me = await registerAndLogin(ctx.t);
    const res = await inject({
      method: 'PATCH',
      url: '/customers/me',
      ...withAuth(me.auth, { password: 'nova-senha-forte', currentPassword: me.password }),
    });
    expect(res.statusCode).toBe(200);
    expect(await refreshStatus(me.refreshToken)).toBe(401);
    expect(await loginStatus(me.email, me.password)).toBe(401);
    expect(await loginStatus(me.email, 'nova-senha-forte')).toBe(200);
  });

  it.each([
    ['an empty object', {}, 'body'],
    ['an unknown field', { role: 'admin' }, 'body.role'],
    ['a short new password', { password: 'curta', currentPassword: 'x' }, 'body.password'],
    ['an invalid email', { email: 'nope', currentPassword: 'x' }, 'body.email'],
  ])('when PATCH has %s, then 400 naming %s and nothing changes', async (_, body, field) => {
    const me = await registerAndLogin(ctx.t);
    const res = await inject({ method: 'PATCH', url: '/customers/me', ...withAuth(me.auth, body) });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors.map((e: { field: string }) => e.field)).toContain(field);
    expect((await inject({ method: 'GET', url: '/customers/me', ...withAuth(me.auth) })).json().email).toBe(
      me.email,
    );
  });

  it('when my new email belongs to someone else, then 409', async () => {
    const other = await registerAndLogin(ctx.t);
    const me = await registerAndLogin(ctx.t);
    const res = await inject({
      method: 'PATCH',
      url: '/customers/me',
      ...withAuth(me.auth, { email: other.email.toUpperCase(), currentPassword: me.password }),
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('email_taken');
  });

  it('when I delete my account, then my personal data is erased, the row stays, sessions end and the email is free again', async () => {
    const me = await registerAndLogin(ctx.t, { name: 'Dora Apagada' });
    const del = await inject({ method: 'DELETE', url: '/customers/me', ...withAuth(me.auth) });
    expect(del.statusCode).toBe(204);
    const { rows } = await ctx.t.deps.db.pool.query(
      'SELECT name, email, password_hash, deleted_at FROM customers WHERE id = $1',
      [me.id],
    );
    expect(rows[0]).toMatchObject({
      name: 'Deleted customer',
      email: `deleted-${me.id}@invalid`,
      password_hash: '!',
    });
    expect(rows[0].deleted_at).toBeInstanceOf(Date);
    expect(JSON.stringify(rows[0])).not.toMatch(/Dora|example\.com/);
    expect((await inject({ method: 'GET', url: '/customers/me', ...withAuth(me.auth) })).statusCode).toBe(
      401,
    );
    expect(await refreshStatus(me.refreshToken)).toBe(401);
    expect(await loginStatus(me.email, me.password)).toBe(401);
    expect((await inject({ method: 'DELETE', url: '/customers/me', ...withAuth(me.auth) })).statusCode).toBe(
      401,
    );
    const admin = await ctx.t.asAdmin({ method: 'GET', url: `/customers/${me.id}` });
    expect(admin.json()).toMatchObject({
      id: me.id,
      name: 'Deleted customer',
      deletedAt: expect.any(String),
    });
    const again = await inject({
      method: 'POST',
      url: '/customers',
      ...json({ name: 'Dora', email: me.email, password: 'outra-senha-longa' }),
    });
    expect(again.statusCode).toBe(201);
  });
});

describe('GET /customers/:id (the ownership rule)', () => {
  it('gives a customer their own record, hides everyone else as 404, and gives an admin any', async () => {
    const ana = await registerAndLogin(ctx.t);
    const bruno = await registerAndLogin(ctx.t);
    expect(
      (await inject({ method: 'GET', url: `/customers/${ana.id}`, ...withAuth(ana.auth) })).statusCode,
    ).toBe(200);
    const other = await inject({ method: 'GET', url: `/customers/${bruno.id}`, ...withAuth(ana.auth) });
    const missing = await inject({ method: 'GET', url: '/customers/987654321', ...withAuth(ana.auth) });
    expect(other.statusCode).toBe(404);
    expect(missing.statusCode).toBe(404);
    // Someone else's record and a record that does not exist look the same.
    const strip = (b: Record<string, unknown>) => ({
      ...b,
      requestId: undefined,
      instance: undefined,
      detail: undefined,
    });
    expect(strip(other.json())).toEqual(strip(missing.json()));
    expect((await ctx.t.asAdmin({ method: 'GET', url: `/customers/${bruno.id}` })).json().email).toBe(
      bruno.email,
    );
    expect((await ctx.t.asAdmin({ method: 'GET', url: '/customers/987654321' })).statusCode).toBe(404);
    expect((await ctx.t.asAdmin({ method: 'GET', url: '/customers/abc' })).json().errors[0].field).toBe(
      'params.id',
    );
    expect((await inject({ method: 'GET', url: `/customers/${ana.id}` })).statusCode).toBe(401);
  });
});

describe('admin-only routes', () => {
  it('when a customer calls an admin route, then 403; without a token, 401; an admin gets through', async () => {
    const me = await registerAndLogin(ctx.t);
    const product = { name: 'Caju', price: '3.00', stock: 1, category: 'frutas' };
    for (const [method, url, body] of [
      ['GET', '/customers', undefined],
      ['POST', '/products', product],
      ['DELETE', '/cache/clear', undefined],
    ] as const) {
      const asCustomer = await inject({ method, url, ...withAuth(me.auth, body) });
      expect(asCustomer.statusCode, `${method} ${url}`).toBe(403);
      expect(asCustomer.json().code).toBe('forbidden');
      const anonymous = await inject({ method, url, ...(body ? json(body) : {}) });
      expect(anonymous.statusCode, `${method} ${url}`).toBe(401);
    }
    for (const [method, url] of [
      ['PUT', '/products/1'],
      ['PATCH', '/products/1'],
      ['DELETE', '/products/1'],
    ] as const) {
      expect(
        (await inject({ method, url, ...withAuth(me.auth, method === 'DELETE' ? undefined : product) }))
          .statusCode,
      ).toBe(403);
    }
    expect((await ctx.t.asAdmin({ method: 'POST', url: '/products', ...json(product) })).statusCode).toBe(
      201,
    );
    expect((await inject({ method: 'GET', url: '/products?category=frutas' })).statusCode).toBe(200); // reads stay public
  });

  it('lists customers for admins: search by name or email (accent-insensitive), cursor pages', async () => {
    await registerAndLogin(ctx.t, { name: 'Joaquim Müller', email: 'joaquim.muller@example.org' });
    await registerAndLogin(ctx.t, { name: 'Ágata Lima', email: 'agata@example.org' });
    const byName = await ctx.t.asAdmin({ method: 'GET', url: '/customers?search=agata' });
    expect(byName.json().items.map((c: { name: string }) => c.name)).toEqual(['Ágata Lima']);
    const byEmail = await ctx.t.asAdmin({ method: 'GET', url: '/customers?search=MULLER@' });
    expect(byEmail.json().items.map((c: { email: string }) => c.email)).toEqual([
      'joaquim.muller@example.org',
    ]);
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: Array<{ id: number }>; nextCursor: string | null } = (
        await ctx.t.asAdmin({ method: 'GET', url: `/customers?limit=3${cursor ? `&cursor=${cursor}` : ''}` })
      ).json();
      seen.push(...page.items.map((c) => c.id));
      cursor = page.nextCursor;
    } while (cursor);
    const all = (await ctx.t.asAdmin({ method: 'GET', url: '/customers?limit=100' }))
      .json()
      .items.map((c: { id: number }) => c.id);
    expect(seen).toEqual(all);
    for (const [url, field] of [
      ['/customers?limit=101', 'query.limit'],
      ['/customers?cursor=zzz', 'query.cursor'],
      ['/customers?role=admin', 'query.role'],
    ]) {
      const res = await ctx.t.asAdmin({ method: 'GET', url });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().errors[0].field).toBe(field);
    }
  });
});
