import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { registerAndLogin, type Session } from '../helpers/customers.ts';
import { createTestDatabase, realServers, type TestDatabase } from '../helpers/env.ts';
import { createProduct, placeOrder } from '../helpers/orders.ts';

/**
 * Hand-written attacks that a generated case cannot express: values that
 * pass the schema but not the database, limits after merging, other
 * people's data, revoked accounts, and requests Node's HTTP parser refuses
 * (over real sockets: the client must read a problem, not a reset).
 */
let db: TestDatabase;
let t: TestApp;
let other: TestApp;
let base: string;
let buyer: Session;
let fingerprintSql = '';

beforeAll(async () => {
  db = await createTestDatabase();
  t = await startTestApp(realServers(db.url));
  other = await startTestApp(realServers(db.url));
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`;
  buyer = await registerAndLogin(t);
  const { rows } = await t.deps.db.pool.query<{ name: string }>(
    "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'pgmigrations'",
  );
  fingerprintSql = rows
    .map((r) => `SELECT '${r.name}' AS t, count(*) AS n, max(xmin::text::bigint) AS v FROM ${r.name}`)
    .join(' UNION ALL ');
});
afterAll(async () => {
  await t?.close();
  await other?.close();
  await db?.drop();
});

const fingerprint = async () => JSON.stringify((await t.deps.db.pool.query(fingerprintSql)).rows);

/** Runs `attack`, expects a 4xx problem+json naming `field` (when given), and that no table changed. */
async function refused(
  attack: () => Promise<{ statusCode: number; headers: Record<string, unknown>; body: string }>,
  status: number,
  field?: string,
) {
  const before = await fingerprint();
  const res = await attack();
  expect(res.statusCode, res.body).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
  if (field) expect(JSON.parse(res.body).errors.map((e: { field: string }) => e.field)).toContain(field);
  expect(await fingerprint()).toEqual(before);
  return JSON.parse(res.body) as { code: string };
}

const asAdmin = (method: 'GET' | 'POST' | 'PUT' | 'PATCH', url: string, payload?: unknown) => () =>
  t.asAdmin({ method, url, ...(payload === undefined ? {} : { payload: payload as object }) });
const asBuyer =
  (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown, headers = {}) =>
  () =>
    t.app.inject({
      method,
      url,
      headers: { ...buyer.auth, ...headers },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });

describe('values the schema allows but PostgreSQL cannot store', () => {
  it.each([
    [
      'a product name',
      () => asAdmin('POST', '/products', { name: 'a\u0000b', price: '1.00', stock: 1, category: 'x' }),
      'body.name',
    ],
    [
      'a customer name',
      () => () =>
        t.app.inject({
          method: 'POST',
          url: '/customers',
          payload: { name: 'a\u0000b', email: 'nul@example.com', password: 'long-enough-password' },
        }),
      'body.name',
    ],
    [
      'a login email',
      () => () =>
        t.app.inject({
          method: 'POST',
          url: '/auth/login',
          payload: { email: 'a\u0000@example.com', password: 'whatever-password' },
        }),
      'body.email',
    ],
    ['a search', () => () => t.app.inject({ method: 'GET', url: '/products?search=a%00b' }), 'query.search'],
    [
      'a credit description',
      () =>
        asAdmin('POST', `/customers/${buyer.id}/credit/transactions`, {
          type: 'credit',
          amount: '1.00',
          description: 'x\u0000',
        }),
      'body.description',
    ],
  ])('when %s holds a NUL character, then 400 naming it', async (_what, attack, field) => {
    await refused(attack(), 400, field);
  });

  it.each([
    ['year 0000', '0000-01-01T00:00:00Z'],
    ['an offset of +23:59', '2026-01-01T00:00:00+23:59'],
    ['an offset of +16:00', '2026-01-01T00:00:00+16:00'],
    ['February 30th', '2026-02-30T00:00:00Z'],
  ])('when a date filter is %s, then 400 on orders, payments and credit', async (_what, date) => {
    const q = `from=${encodeURIComponent(date)}`;
    await refused(asBuyer('GET', `/orders?${q}`), 400, 'query.from');
    await refused(() => t.app.inject({ method: 'GET', url: `/payments-summary?${q}` }), 400, 'query.from');
    await refused(asBuyer('GET', `/customers/me/credit/transactions?${q}`), 400, 'query.from');
  });

  it('when a date range starts after it ends, then 400 naming query.from', async () => {
    const q = 'from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z';
    await refused(asBuyer('GET', `/orders?${q}`), 400, 'query.from');
    await refused(() => t.app.inject({ method: 'GET', url: `/payments-summary?${q}` }), 400, 'query.from');
  });

  it('when a correlation id carries a urn:uuid: prefix, then 400 naming it', async () => {
    await refused(
      () =>
        t.app.inject({
          method: 'POST',
          url: '/payments',
          payload: { correlationId: 'urn:uuid:3f7c2a1e-9b4d-4c8e-a2f1-6d5e4b3a2c1f', amount: 1 },
        }),
      400,
      'body.correlationId',
    );
  });

  it('when an admin filters by a customer id beyond 2^63, then 400', async () => {
    await refused(asAdmin('GET', '/orders?customerId=9223372036854775808'), 400, 'query.customerId');
  });
});

describe('sums that could overflow', () => {
  it('when an order’s total would exceed what an order holds, then 422 and no stock moves — directly, with an Idempotency-Key, and by PATCH', async () => {
    const pricey = await createProduct(t, { price: '9999999999.99', stock: 10_000 });
    await refused(
      asBuyer('POST', '/orders', { items: [{ productId: pricey, quantity: 101 }] }),
      422,
      'body.items',
    );
    await refused(
      asBuyer(
        'POST',
        '/orders',
        { items: [{ productId: pricey, quantity: 200 }] },
        { 'idempotency-key': 'big-1' },
      ),
      422,
      'body.items',
    );
    const order = await placeOrder(t, buyer, [{ productId: pricey, quantity: 1 }]);
    await refused(
      asBuyer('PATCH', `/orders/${order.id}`, { items: [{ productId: pricey, quantity: 10_000 }] }),
      422,
      'body.items',
    );
  });

  it('when two lines of one product add up past the per-line bound, then 400 naming the line that crossed it', async () => {
    const p = await createProduct(t, { stock: 100_000 });
    await refused(
      asBuyer('POST', '/orders', {
        items: [
          { productId: p, quantity: 6000 },
          { productId: p, quantity: 6000 },
        ],
      }),
      400,
      'body.items[1].quantity',
    );
  });

  it('when the stock is set to 2^31−1 on a product orders hold units of, then 422 naming body.stock', async () => {
    const p = await createProduct(t, { stock: 10 });
    await placeOrder(t, buyer, [{ productId: p, quantity: 3 }]);
    await refused(asAdmin('PATCH', `/products/${p}`, { stock: 2_147_483_647 }), 422, 'body.stock');
    // What still fits is accepted.
    expect(
      (await t.asAdmin({ method: 'PATCH', url: `/products/${p}`, payload: { stock: 2_147_483_644 } }))
        .statusCode,
    ).toBe(200);
  });
});

describe('lenient readings', () => {
  it.each(['0x1', '1e0', '%201', '01.0'])('when a product id is written %s, then 400', async (id) => {
    await refused(() => t.app.inject({ method: 'GET', url: `/products/${id}` }), 400, 'params.id');
  });

  it('when a limit is written in hexadecimal, then 400', async () => {
    await refused(() => t.app.inject({ method: 'GET', url: '/products?limit=0x10' }), 400, 'query.limit');
  });

  it.each(['\u200b', '\u200b\u200b', '\ufeff', ' \u2060 ', '\u0301'])(
    'when a name is only invisible characters (%j), then 400',
    async (name) => {
      await refused(
        asAdmin('POST', '/products', { name, price: '1.00', stock: 1, category: 'x' }),
        400,
        'body.name',
      );
      await refused(asBuyer('PATCH', '/customers/me', { name }), 400, 'body.name');
    },
  );

  it('documents limit as optional in /openapi.json (it has a default)', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const limit = doc.paths['/products'].get.parameters.find((p: { name: string }) => p.name === 'limit');
    expect(limit.required).toBe(false);
    expect(limit.schema.default).toBe(20);
  });
});

describe('other people’s data and revoked accounts', () => {
  it('when someone else or nobody asks for an order’s payment, then 404; the contest’s anonymous payments stay public', async () => {
    const p = await createProduct(t, { stock: 5 });
    const order = await placeOrder(t, buyer, [{ productId: p, quantity: 1 }]);
    const pay = await t.app.inject({ method: 'POST', url: `/orders/${order.id}/pay`, headers: buyer.auth });
    const id = pay.json().correlationId as string;
    const stranger = await registerAndLogin(t);
    await refused(() => t.app.inject({ method: 'GET', url: `/payments/${id}`, headers: stranger.auth }), 404);
    await refused(() => t.app.inject({ method: 'GET', url: `/payments/${id}` }), 404);
    const anonymous = '6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
    await t.app.inject({
      method: 'POST',
      url: '/payments',
      payload: { correlationId: anonymous, amount: 19.9 },
    });
    expect((await t.app.inject({ method: 'GET', url: `/payments/${anonymous}` })).statusCode).toBe(200);
  });

  it('when an account is erased, then its access token stops working at once, on every instance', async () => {
    const gone = await registerAndLogin(t);
    expect((await other.app.inject({ method: 'GET', url: '/orders', headers: gone.auth })).statusCode).toBe(
      200,
    );
    const erase = await t.app.inject({
      method: 'DELETE',
      url: '/customers/me',
      headers: gone.auth,
      payload: { currentPassword: gone.password },
    });
    expect(erase.statusCode, erase.body).toBeLessThan(300);
    for (const app of [t, other]) {
      const list = await app.app.inject({ method: 'GET', url: '/orders', headers: gone.auth });
      expect(list.statusCode).toBe(401);
      expect(list.json().code).toBe('invalid_token');
      const p = await createProduct(t, { stock: 5 });
      const place = await app.app.inject({
        method: 'POST',
        url: '/orders',
        headers: gone.auth,
        payload: { items: [{ productId: p, quantity: 1 }] },
      });
      expect(place.statusCode).toBe(401);
    }
  });
});

/** Sends raw bytes and returns everything the server answered before it closed, or the socket error. */
function raw(send: (s: net.Socket) => void): Promise<{ text: string; error?: string }> {
  const url = new URL(base);
  return new Promise((resolve) => {
    const s = net.connect(Number(url.port), url.hostname);
    let text = '';
    s.on('data', (d) => {
      text += d;
    });
    s.on('error', (e) => resolve({ text, error: (e as NodeJS.ErrnoException).code ?? e.message }));
    s.on('close', () => resolve({ text }));
    s.on('connect', () => send(s));
  });
}

const statusOf = (text: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
const problemOf = (text: string) =>
  JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { code: string; errors: Array<{ field: string }> };

describe('what Node’s HTTP parser and the body limit refuse, over a real socket', () => {
  it.each([
    {
      what: 'a request line over 16 KiB',
      status: 414,
      field: 'path',
      request: `GET /products?search=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    },
    {
      what: 'headers over 16 KiB',
      status: 431,
      field: 'header',
      request: `GET /products HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    },
    {
      what: 'a path segment over 100 characters',
      status: 414,
      field: 'path',
      request: `GET /products/${'1'.repeat(150)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    },
    {
      what: 'a bad percent-encoding',
      status: 400,
      field: 'path',
      request: 'GET /products/%E0%A4%A HTTP/1.1\r\nHost: x\r\n\r\n',
    },
    { what: 'garbage instead of HTTP', status: 400, field: 'request', request: 'HELLO THERE\r\n\r\n' },
  ])(
    'when $what arrives, then a $status problem names $field and the client reads it',
    async ({ status, field, request }) => {
      const { text, error } = await raw((s) => s.end(request));
      expect(error).toBeUndefined();
      expect(statusOf(text)).toBe(status);
      expect(text.toLowerCase()).toContain('content-type: application/problem+json');
      expect(problemOf(text).errors.map((e) => e.field)).toContain(field);
    },
  );

  it.each([
    ['a 1 MB body', `{"name":"${'x'.repeat(1_000_000)}"}`],
    [
      'an order of 100,000 items',
      JSON.stringify({ items: Array.from({ length: 100_000 }, () => ({ productId: 1, quantity: 1 })) }),
    ],
  ])(
    'when %s is sent in chunks, then the client reads a 413 problem (no reset) and nothing is written',
    async (_what, body) => {
      const before = await fingerprint();
      const { text, error } = await raw((s) => {
        s.write(
          `POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: ${buyer.auth.authorization}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
        );
        let at = 0;
        const tick = setInterval(() => {
          if (at >= body.length) {
            clearInterval(tick);
            setTimeout(() => s.end(), 200);
            return;
          }
          s.write(body.slice(at, at + 64 * 1024));
          at += 64 * 1024;
        }, 5);
      });
      expect(error).toBeUndefined();
      expect(statusOf(text)).toBe(413);
      expect(problemOf(text)).toMatchObject({ code: 'body_too_large', errors: [{ field: 'body' }] });
      expect(await fingerprint()).toEqual(before);
    },
  );
});
