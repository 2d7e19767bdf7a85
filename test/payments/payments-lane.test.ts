import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Case, generateCases, operations, serverAccepts } from '../abuse/openapi-cases.ts';
import { useTestApp } from '../helpers/app.ts';
import { expectSameRefusals, seen, viaFastify, viaListener } from '../helpers/listener.ts';

/**
 * `POST /payments` is answered in the server's listener
 * (modules/payments/payments.lane.ts) over a real connection, and by
 * Fastify through app.inject: the same answers, good or bad — every
 * generated bad-input case included — and nothing written for a refused one.
 */
const ctx = useTestApp();
let base = '';
let cases: Case[] = [];
const json = { 'content-type': 'application/json' };
const payments = async () =>
  (await ctx.t.deps.db.pool.query('SELECT correlation_id, amount FROM payments ORDER BY 1')).rows;

beforeAll(async () => {
  await ctx.t.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(ctx.t.app.server.address() as { port: number }).port}`;
  const doc = (await ctx.t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  cases = generateCases(
    operations(doc).filter((op) => op.path === '/payments' && op.method === 'POST'),
    { accepts: serverAccepts, pathValue: () => '1', badTokens: [] },
  );
});

describe('POST /payments in the listener', () => {
  it('answers the generated bad input exactly as Fastify does, and writes nothing', async () => {
    expect(cases.length).toBeGreaterThan(20);
    const before = await payments();
    expect(await expectSameRefusals(ctx.t.app, base, cases)).toBeGreaterThan(10);
    expect(await payments()).toEqual(before);
  }, 60_000);

  it('accepts, accepts a retry, refuses a reused id and a zero amount, as Fastify does', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const body = (id: string, amount: number | string) => JSON.stringify({ correlationId: id, amount });
    const pairs: Array<[string, string, string]> = [
      ['a new payment', body(a, 19.9), body(b, 19.9)],
      ['the same payment again', body(a, 19.9), body(b, 19.9)],
      ['the same id with another amount', body(a, 20), body(b, 20)],
      ['a zero amount', body(randomUUID(), '0.00'), body(randomUUID(), '0.00')],
    ];
    for (const [what, listenerBody, fastifyBody] of pairs) {
      const listener = seen(await viaListener(base, 'POST', '/payments', json, listenerBody));
      const fastify = seen(await viaFastify(ctx.t.app, 'POST', '/payments', json, fastifyBody));
      expect(listener, what).toEqual(fastify);
    }
    expect((await payments()).map((p) => [p.correlation_id, p.amount])).toEqual(
      [
        [a, '19.90'],
        [b, '19.90'],
      ].sort(),
    );
  });
});
