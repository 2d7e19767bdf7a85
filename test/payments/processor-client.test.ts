import { randomUUID } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ProcessorClient } from '../../src/modules/payments/processor-client.ts';
import { type Processors, startProcessors } from '../helpers/processors.ts';

/**
 * What a processor call reports decides where a payment may go next, so each
 * outcome is checked against the real emulator (and a port nothing listens on).
 */
describe('processor client', () => {
  let processors: Processors;
  let client: ProcessorClient;

  beforeAll(async () => {
    processors = await startProcessors({ healthWindowMs: 1 });
    client = new ProcessorClient('default', processors.url.default, 300);
  });
  afterAll(async () => {
    await client.close();
    await processors.close();
  });
  beforeEach(async () => {
    await processors.configure('default', 'delay', 0);
    await processors.configure('default', 'failure', false);
  });

  const requestedAt = new Date('2026-11-21T10:00:00.000Z');

  it('200 → accepted, with the exact amount and requestedAt; the same id again → duplicate (422)', async () => {
    await processors.purge();
    const id = randomUUID();
    expect(await client.pay(id, '1234567.89', requestedAt)).toBe('accepted');
    expect(await client.pay(id, '1234567.89', requestedAt)).toBe('duplicate');
    expect(await processors.summary('default')).toMatchObject({ totalRequests: 1, totalAmount: 1234567.89 });
  });

  it('500 → failed: nothing was stored, the payment may go anywhere', async () => {
    await processors.purge();
    await processors.configure('default', 'failure', true);
    expect(await client.pay(randomUUID(), '19.90', requestedAt)).toBe('failed');
    expect((await processors.summary('default')).totalRequests).toBe(0);
  });

  it('no answer within the budget → ambiguous, though the processor went on to take it', async () => {
    await processors.purge();
    await processors.configure('default', 'delay', 600);
    const id = randomUUID();
    const started = Date.now();
    expect(await client.pay(id, '19.90', requestedAt)).toBe('ambiguous');
    expect(Date.now() - started).toBeLessThan(550);
    await new Promise((r) => setTimeout(r, 500));
    expect((await processors.summary('default')).totalRequests).toBe(1);
    // Asked again with a longer budget, the processor says it already has it.
    expect(await client.pay(id, '19.90', requestedAt, 2000)).toBe('duplicate');
  });

  it('asks whether the processor holds a payment: what settles an unanswered call while it fails', async () => {
    await processors.purge();
    await processors.configure('default', 'delay', 600);
    const id = randomUUID();
    expect(await client.pay(id, '19.90', requestedAt)).toBe('ambiguous');
    expect(await client.holds(id)).toBe(false); // still on its way
    await new Promise((r) => setTimeout(r, 500));
    await processors.configure('default', 'failure', true);
    expect(await client.pay(id, '19.90', requestedAt, 2000)).toBe('failed');
    expect(await client.holds(id)).toBe(true);
  });

  it('reads a failing processor’s health from its 503', async () => {
    await processors.configure('default', 'failure', true);
    await new Promise((r) => setTimeout(r, 5));
    expect(await client.health()).toEqual({ failing: true, minResponseTime: 0 });
  });

  it('a refused connection → unreachable: the request never left', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    await new Promise((r) => server.close(r));
    const closed = new ProcessorClient('fallback', `http://127.0.0.1:${port}`, 300);
    try {
      expect(await closed.pay(randomUUID(), '19.90', requestedAt)).toBe('unreachable');
      expect(await closed.health()).toBeNull();
    } finally {
      await closed.close();
    }
  });

  /** A raw TCP server that does `onRequest` with the first bytes it reads, and a client of it. */
  async function withRawServer(
    host: string,
    onRequest: (socket: Socket) => void,
    use: (client: ProcessorClient) => Promise<void>,
  ): Promise<void> {
    const server = createServer((socket) => socket.once('data', () => onRequest(socket)));
    await new Promise<void>((r) => server.listen(0, host, r));
    const { port } = server.address() as { port: number };
    const raw = new ProcessorClient(
      'default',
      `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
      300,
    );
    try {
      await use(raw);
    } finally {
      await raw.close();
      await new Promise((r) => server.close(r));
    }
  }

  it('reaches a processor at an IPv6 address', async () => {
    await withRawServer(
      '::1',
      (socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'),
      async (v6) => expect(await v6.pay(randomUUID(), '19.90', requestedAt)).toBe('accepted'),
    );
  });

  it('reads the health report; a connection cut after the request was sent → ambiguous', async () => {
    expect(await client.health()).toEqual({ failing: false, minResponseTime: 0 });
    // A server that reads the request and hangs up without answering.
    await withRawServer(
      '127.0.0.1',
      (socket) => socket.destroy(),
      async (cut) => expect(await cut.pay(randomUUID(), '19.90', requestedAt)).toBe('ambiguous'),
    );
  });
});
