import { beforeAll, describe, expect, it } from 'vitest';
import { ensureContestClients } from '../../src/modules/credit/contest-clients.ts';
import { TEST_JWT_SECRET, useTestApp } from '../helpers/app.ts';
import { handMadeJwt } from '../helpers/customers.ts';
import { type Case, generateCases, operations, serverAccepts } from './openapi-cases.ts';

/**
 * Every operation of /openapi.json attacked with generated bad requests
 * (missing, mistyped, oversized, out-of-range and odd values; query, path,
 * header, body and content-type abuse; forged credentials): never a 5xx,
 * always problem+json, the broken field named, and no row of any table changed.
 */
const ctx = useTestApp({
  CREDIT_CONTEST_ROUTES: 'true',
  LOGIN_RATE_LIMIT_PER_IP: '100000',
  LOGIN_RATE_LIMIT_PER_EMAIL: '100000',
});

let cases: Case[] = [];

/** A JWT with a header the server does not accept (HS512), though signed with its secret. */
function handMadeJwtAlg(payload: Record<string, unknown>): string {
  return handMadeJwt({ exp: 4_102_444_800, ...payload }, TEST_JWT_SECRET, { alg: 'HS512', typ: 'JWT' });
}
let fingerprintSql = '';

/** Row count and newest row version of every table: any insert, update or delete changes it. */
async function fingerprint(): Promise<string> {
  const { rows } = await ctx.t.deps.db.pool.query(fingerprintSql);
  return JSON.stringify(rows);
}

beforeAll(async () => {
  await ensureContestClients(ctx.t.deps.db.pool, ctx.t.deps.customers);
  const doc = (await ctx.t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  const sign = (payload: Record<string, unknown>, secret = TEST_JWT_SECRET) =>
    `Bearer ${handMadeJwt({ iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 600, ...payload }, secret)}`;
  cases = generateCases(operations(doc), {
    accepts: serverAccepts,
    pathValue: (_path, name) => (name === 'correlationId' ? '3f7c2a1e-9b4d-4c8e-a2f1-6d5e4b3a2c1f' : '1'),
    badTokens: [
      ['an expired token', sign({ sub: '1', role: 'admin', iat: 1_700_000_000, exp: 1_700_000_900 })],
      [
        'a token signed with another secret',
        sign({ sub: '1', role: 'admin' }, 'another-secret-0123456789-abcdefghijklmnop'),
      ],
      ['a token for an account that does not exist', sign({ sub: '999999', role: 'admin' })],
      ['a token with an unknown role', sign({ sub: '1', role: 'root' })],
      ['a token for customer 0', sign({ sub: '0', role: 'admin' })],
      ['a token whose subject is not a number', sign({ sub: 'admin', role: 'admin' })],
      ['an HS512 token', `Bearer ${handMadeJwtAlg({ sub: '1', role: 'admin' })}`],
    ],
  });
  const { rows } = await ctx.t.deps.db.pool.query<{ name: string }>(
    "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'pgmigrations' ORDER BY 1",
  );
  fingerprintSql = rows
    .map((r) => `SELECT '${r.name}' AS t, count(*) AS n, max(xmin::text::bigint) AS v FROM ${r.name}`)
    .join(' UNION ALL ');
});

describe('generated bad input on every operation of the OpenAPI document', () => {
  it('refuses every case with a 4xx problem+json naming the field, never a 5xx, and writes nothing', async () => {
    expect(cases.length).toBeGreaterThanOrEqual(2000);
    const failures: string[] = [];
    let before = await fingerprint();
    for (const c of cases) {
      const res = await ctx.t.app.inject({
        method: c.method as 'GET',
        url: c.url,
        headers: { ...(c.auth ? ctx.t.admin : {}), ...c.headers },
        ...(c.payload === undefined ? {} : { payload: c.payload }),
      });
      const problem = (() => {
        try {
          return res.json() as { errors?: Array<{ field: string }> };
        } catch {
          return null;
        }
      })();
      const why: string[] = [];
      if (res.statusCode < 400 || res.statusCode >= 500) why.push(`status ${res.statusCode}`);
      if (!String(res.headers['content-type']).startsWith('application/problem+json'))
        why.push(`content-type ${res.headers['content-type']}`);
      if (c.field && !problem?.errors?.some((e) => e.field === c.field))
        why.push(`names ${JSON.stringify(problem?.errors?.map((e) => e.field))}, not ${c.field}`);
      const after = await fingerprint();
      if (after !== before) why.push('a table changed');
      before = after;
      if (why.length > 0) failures.push(`${c.name} → ${why.join('; ')}: ${res.body.slice(0, 200)}`);
    }
    expect(failures.slice(0, 400), `${failures.length} of ${cases.length} cases failed`).toEqual([]);
  }, 120_000);
});
