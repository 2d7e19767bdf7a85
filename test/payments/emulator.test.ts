import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createProcessorEmulator } from '../../src/modules/payments/emulator/processor-emulator.ts';
import { eventually } from '../helpers/env.ts';

/** The processor emulator must behave as the Rinha 2025 processors do: armazem is tested against it. */
let processor: FastifyInstance;
let base: string;
const admin = { 'x-rinha-token': '123', 'content-type': 'application/json' };

beforeAll(async () => {
  processor = createProcessorEmulator({ name: 'default', fee: 0.05, healthWindowMs: 1000 });
  await processor.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(processor.server.address() as { port: number }).port}`;
});
afterAll(() => processor?.close());
beforeEach(async () => {
  await fetch(`${base}/admin/purge-payments`, { method: 'POST', headers: admin });
  await put('delay', { delay: 0 });
  await put('failure', { failure: false });
});

const put = (what: string, body: unknown) =>
  fetch(`${base}/admin/configurations/${what}`, {
    method: 'PUT',
    headers: admin,
    body: JSON.stringify(body),
  });
const pay = (
  correlationId: string,
  amount = 19.9,
  requestedAt = new Date().toISOString(),
  signal?: AbortSignal,
) =>
  fetch(`${base}/payments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ correlationId, amount, requestedAt }),
    ...(signal ? { signal } : {}),
  });
const summary = async (query = '') =>
  (await (await fetch(`${base}/admin/payments-summary${query}`, { headers: admin })).json()) as Record<
    string,
    number
  >;

describe('payment processor emulator', () => {
  it('processes a payment once; the same correlationId again is 422', async () => {
    const id = randomUUID();
    expect((await pay(id)).status).toBe(200);
    expect((await pay(id)).status).toBe(422);
    expect(await summary()).toEqual({
      totalRequests: 1,
      totalAmount: 19.9,
      totalFee: 1,
      feePerTransaction: 0.05,
    });
  });

  it('sums exactly in cents, filtered by requestedAt', async () => {
    for (let i = 0; i < 10; i++) await pay(randomUUID(), 0.1, `2025-07-15T12:00:0${i}.000Z`);
    expect((await summary()).totalAmount).toBe(1);
    const window = await summary('?from=2025-07-15T12:00:02.000Z&to=2025-07-15T12:00:04.000Z');
    expect(window.totalRequests).toBe(3);
    expect(window.totalAmount).toBe(0.3);
  });

  it('while failing answers 500 after the delay and stores nothing', async () => {
    await put('delay', { delay: 150 });
    await put('failure', { failure: true });
    const t0 = performance.now();
    const res = await pay(randomUUID());
    expect(res.status).toBe(500);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect((await summary()).totalRequests).toBe(0);
  });

  it('shows a payment it holds at once, even while slow and failing; 404 for one it does not', async () => {
    const id = randomUUID();
    await pay(id, 1234.56, '2025-07-15T12:00:00.000Z');
    await put('delay', { delay: 2000 });
    await put('failure', { failure: true });
    const t0 = performance.now();
    const found = await fetch(`${base}/payments/${id}`);
    expect(performance.now() - t0).toBeLessThan(500);
    expect(await found.json()).toEqual({
      correlationId: id,
      amount: 1234.56,
      requestedAt: '2025-07-15T12:00:00.000Z',
    });
    expect((await fetch(`${base}/payments/${randomUUID()}`)).status).toBe(404);
  });

  it('keeps processing a payment whose caller disconnected', async () => {
    await put('delay', { delay: 200 });
    const abort = new AbortController();
    const pending = pay(randomUUID(), 19.9, new Date().toISOString(), abort.signal).catch((e: Error) => e);
    setTimeout(() => abort.abort(), 50);
    expect(await pending).toBeInstanceOf(Error);
    await eventually(async () => expect((await summary()).totalRequests).toBe(1), 2000);
  });

  it('answers health at most once per window, with a short queue, then 429', async () => {
    await new Promise((r) => setTimeout(r, 1000)); // a fresh window
    const first = await fetch(`${base}/payments/service-health`);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ failing: false, minResponseTime: 0 });
    expect((await fetch(`${base}/payments/service-health`)).status).toBe(429);
    await new Promise((r) => setTimeout(r, 700)); // within the queue's reach of the next slot
    const queued = await fetch(`${base}/payments/service-health`);
    expect(queued.status).toBe(200);
  });

  it('reports failing on health with 503, as the contest’s processor does', async () => {
    await put('failure', { failure: true });
    await put('delay', { delay: 30 });
    await new Promise((r) => setTimeout(r, 1000)); // a fresh window
    const res = await fetch(`${base}/payments/service-health`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ failing: true, minResponseTime: 30 });
  });

  it('guards admin endpoints with X-Rinha-Token, which can be changed', async () => {
    expect((await fetch(`${base}/admin/payments-summary`)).status).toBe(401);
    expect(
      (await fetch(`${base}/admin/payments-summary`, { headers: { 'x-rinha-token': 'nope' } })).status,
    ).toBe(401);
    expect((await put('token', { token: 'segredo' })).status).toBe(204);
    expect((await fetch(`${base}/admin/payments-summary`, { headers: admin })).status).toBe(401);
    const res = await fetch(`${base}/admin/configurations/token`, {
      method: 'PUT',
      headers: { ...admin, 'x-rinha-token': 'segredo' },
      body: JSON.stringify({ token: '123' }),
    });
    expect(res.status).toBe(204);
  });

  it('rejects malformed payments with 400', async () => {
    for (const body of [
      {},
      { correlationId: 'x', amount: -1, requestedAt: new Date().toISOString() },
      { correlationId: 'x', amount: 1, requestedAt: 'yesterday' },
    ]) {
      const res = await fetch(`${base}/payments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(400);
    }
  });
});
