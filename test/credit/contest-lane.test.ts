import { beforeAll, describe, expect, it } from 'vitest';
import { ensureContestClients } from '../../src/modules/credit/contest-clients.ts';
import { type Case, generateCases, operations, serverAccepts } from '../abuse/openapi-cases.ts';
import { useTestApp } from '../helpers/app.ts';
import { expectSameRefusals, seen, viaFastify, viaListener } from '../helpers/listener.ts';

/**
 * The contest's routes are answered in the server's listener
 * (modules/credit/contest.lane.ts) when they arrive over a real connection,
 * and by Fastify through app.inject. A client must not be able to tell the
 * two apart: the same status, content type, security headers and body for
 * the same request, good or bad — every generated bad-input case of the two
 * routes included — and nothing written for a refused one.
 */
const ctx = useTestApp({ CREDIT_CONTEST_ROUTES: 'true' });
let base = '';
let cases: Case[] = [];

/** Every transaction and balance: a refused request changes neither. */
const written = async () =>
  (
    await ctx.t.deps.db.pool.query(
      'SELECT (SELECT count(*) FROM credit_transactions) AS n, (SELECT sum(balance) FROM credit_accounts) AS total',
    )
  ).rows[0];

beforeAll(async () => {
  await ensureContestClients(ctx.t.deps.db.pool, ctx.t.deps.customers);
  await ctx.t.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(ctx.t.app.server.address() as { port: number }).port}`;
  const doc = (await ctx.t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  cases = generateCases(
    operations(doc).filter((op) => op.path.startsWith('/clientes/')),
    { accepts: serverAccepts, pathValue: () => '1', badTokens: [] },
  );
});

describe('the contest routes in the listener', () => {
  it('answer the generated bad input exactly as Fastify does, and write nothing', async () => {
    expect(cases.length).toBeGreaterThan(50);
    const before = await written();
    expect(await expectSameRefusals(ctx.t.app, base, cases)).toBeGreaterThan(20);
    expect(await written()).toEqual(before);
  }, 60_000);

  it('answer refusals, unknown clients and statements as Fastify does', async () => {
    const json = { 'content-type': 'application/json' };
    const requests: Array<[string, string, Record<string, string>, string?]> = [
      ['POST', '/clientes/2/transacoes', json, '{"valor": 999999999, "tipo": "d", "descricao": "grande"}'],
      ['POST', '/clientes/6/transacoes', json, '{"valor": 1, "tipo": "c", "descricao": "x"}'],
      ['POST', '/clientes/2147483647/transacoes', json, '{"valor": 1, "tipo": "d", "descricao": "x"}'],
      [
        'POST',
        '/clientes/1/transacoes',
        { 'content-type': 'text/plain' },
        '{"valor":1,"tipo":"c","descricao":"x"}',
      ],
      [
        'POST',
        '/clientes/1/transacoes',
        json,
        '{"valor": 1, "tipo": "c", "descricao": "x", "__proto__": {"a": 1}}',
      ],
      ['POST', '/clientes/1/transacoes', json, ''],
      ['POST', '/clientes/01/transacoes', json, '{"valor": 999999999, "tipo": "d", "descricao": "x"}'],
      ['GET', '/clientes/6/extrato', {}],
      ['GET', '/clientes/0/extrato', {}],
      ['GET', '/clientes/1/extrato?x=1', {}],
      ['GET', '/clientes/3/extrato', {}],
    ];
    for (const [method, path, headers, payload] of requests) {
      const listener = seen(await viaListener(base, method, path, headers, payload));
      const fastify = seen(await viaFastify(ctx.t.app, method, path, headers, payload));
      expect(listener, `${method} ${path} ${payload ?? ''}`).toEqual(fastify);
    }
  });

  it('apply a post once, answer with the new balance and a caller’s request id, and show it in the next statement', async () => {
    const post = await viaListener(
      base,
      'POST',
      '/clientes/4/transacoes',
      { 'content-type': 'application/json', 'x-request-id': 'edge-lane-1' },
      '{"valor": 1234, "tipo": "c", "descricao": "lane"}',
    );
    expect(post.status).toBe(200);
    expect(post.headers['x-request-id']).toBe('edge-lane-1');
    const { saldo, limite } = JSON.parse(post.body);
    expect(limite).toBe(10_000_000);
    const statement = JSON.parse((await viaListener(base, 'GET', '/clientes/4/extrato', {})).body);
    expect(statement.saldo).toMatchObject({ total: saldo, limite });
    expect(statement.ultimas_transacoes[0]).toMatchObject({ valor: 1234, tipo: 'c', descricao: 'lane' });
  });
});
