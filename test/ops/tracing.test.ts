import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTelegram } from '../fakes/telegram-bot-api.ts';
import { createTestDatabase, eventually, realServers, type TestDatabase } from '../helpers/env.ts';
import { OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.ts';
import { freePort, type Started, startProcess, waitServing } from '../helpers/process.ts';
import { type Processors, startProcessors } from '../helpers/processors.ts';

/**
 * Traces from a real armazem process (api role with its workers in process)
 * to a real OTLP/HTTP receiver that decodes what the exporter sends.
 */
let db: TestDatabase;
let receiver: OtlpReceiver;
let processors: Processors;
let api: Started;
let base: string;
let adminToken: string;
let productId: number;
const traceparents: string[] = [];
const ADMIN = { email: 'trace-admin@armazem.test', password: 'trace-admin-password' };
const SERVER = 2;
const CLIENT = 3;

beforeAll(async () => {
  db = await createTestDatabase();
  receiver = await new OtlpReceiver().start();
  processors = await startProcessors({
    onRequest: (_name, url, headers) => {
      if (url === '/payments') traceparents.push(String(headers.traceparent ?? ''));
    },
  });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  api = startProcess('src/entrypoints/api.ts', {
    ...realServers(db.url),
    ...processors.env,
    PORT: String(port),
    INSTANCE_ID: 'traced-1',
    NODE_ENV: 'production',
    JWT_SECRET: 'tracing-test-secret-0123456789-abcdefghijklmnop',
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    WORKER_IN_PROCESS: 'true',
    ORDER_CONCURRENCY: 'queued',
    LOG_LEVEL: 'info',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_SERVICE_NAME: 'armazem-under-test',
    OTEL_BSP_SCHEDULE_DELAY: '100',
  });
  await waitServing(api, `${base}/readyz`);
}, 60_000);

afterAll(async () => {
  api?.child.kill('SIGKILL');
  await processors?.close();
  await receiver?.close();
  await db?.drop();
});

const childrenOf = (spans: ReceivedSpan[], parent: ReceivedSpan) =>
  spans.filter((s) => s.parentSpanId === parent.spanId);
/** The database a span talks to (newer semantic conventions name it db.system.name). */
const dbOf = (s: ReceivedSpan) => s.attributes['db.system.name'] ?? s.attributes['db.system'];
const descendantsOf = (spans: ReceivedSpan[], root: ReceivedSpan): ReceivedSpan[] =>
  childrenOf(spans, root).flatMap((c) => [c, ...descendantsOf(spans, c)]);

describe('OpenTelemetry traces (OTEL_EXPORTER_OTLP_ENDPOINT set)', () => {
  it("one request carries the caller's trace context and produces server → fastify request → handler → PostgreSQL and Redis spans; its log lines name the trace", async () => {
    const login = await fetch(`${base}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ADMIN),
    });
    adminToken = ((await login.json()) as { accessToken: string }).accessToken;
    const created = await fetch(`${base}/products`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({ name: 'Cupuaçu', price: '12.50', stock: 4, category: 'frutas' }),
    });
    const { id } = (await created.json()) as { id: number };
    productId = id;

    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    const res = await fetch(`${base}/products/${id}`, {
      headers: { traceparent: `00-${traceId}-${callerSpanId}-01` },
    });
    expect(res.status).toBe(200);

    const spans = await eventually(() => {
      const t = receiver.trace(traceId);
      expect(t.some((s) => dbOf(s) === 'postgresql')).toBe(true);
      expect(t.some((s) => dbOf(s) === 'redis')).toBe(true);
      // The server span ends last, so it may come in a later export.
      expect(t.some((s) => s.parentSpanId === callerSpanId)).toBe(true);
      return t;
    }, 10_000);
    // The HTTP server span continues the caller's trace.
    const server = spans.find((s) => s.parentSpanId === callerSpanId);
    expect(server).toMatchObject({ kind: SERVER, attributes: { 'http.route': '/products/:id' } });
    expect(server?.resource).toMatchObject({
      'service.name': 'armazem-under-test',
      'service.instance.id': 'traced-1',
      'armazem.role': 'api',
    });
    // Fastify's own instrumentation: the request span, then the route handler.
    const request = childrenOf(spans, server as ReceivedSpan).find((s) => s.name === 'request');
    expect(request?.attributes).toMatchObject({ 'http.route': '/products/:id' });
    const handler = childrenOf(spans, request as ReceivedSpan).find((s) => s.name.startsWith('handler'));
    expect(handler).toBeDefined();
    const below = descendantsOf(spans, request as ReceivedSpan).map(dbOf);
    expect(below).toContain('postgresql');
    expect(below).toContain('redis');

    // Log lines are buffered for up to a second.
    const line = await eventually(() => {
      const l = api
        .stdout()
        .split('\n')
        .find((l) => l.includes(`"url":"/products/${id}"`) && l.includes('request completed'));
      expect(l).toBeDefined();
      return JSON.parse(l as string);
    }, 5000);
    expect(line).toMatchObject({ traceId, status: 200 });
    expect(spans.map((s) => s.spanId)).toContain(line.spanId);
  }, 30_000);

  it('a payment worker round is a span with a child per processor call; the call carries W3C trace context to the processor', async () => {
    const correlationId = randomUUID();
    const res = await fetch(`${base}/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ correlationId, amount: 19.9 }),
    });
    expect(res.status).toBe(202);
    const round = await eventually(() => {
      const r = receiver.spans.find(
        (s) => s.name === 'payment-worker round' && s.attributes['armazem.payments.claimed'] === 1,
      );
      expect(r).toBeDefined();
      const call = receiver.spans.find((s) => s.name === 'processor call' && s.parentSpanId === r?.spanId);
      expect(call).toBeDefined();
      return r as ReceivedSpan;
    }, 10_000);
    const spans = receiver.trace(round.traceId);
    const call = childrenOf(spans, round).find((s) => s.name === 'processor call');
    expect(call?.attributes).toMatchObject({
      'armazem.processor': 'default',
      'armazem.processor.outcome': 'accepted',
    });
    const http = childrenOf(spans, call as ReceivedSpan).find((s) => s.kind === CLIENT);
    expect(http?.attributes).toMatchObject({ 'http.request.method': 'POST' });
    // What the processor received names that very client span as its parent.
    expect(traceparents).toContain(`00-${round.traceId}-${http?.spanId}-01`);
    // Recording the outcome is part of the round.
    expect(descendantsOf(spans, round).some((s) => dbOf(s) === 'postgresql')).toBe(true);
  }, 30_000);

  it('a queued order is reserved in an order-worker batch span, its SQL inside it', async () => {
    const res = await fetch(`${base}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({ items: [{ productId, quantity: 1 }] }),
    });
    expect(res.status).toBe(202);
    const batch = await eventually(() => {
      const b = receiver.spans.find((s) => s.name === 'order-worker batch');
      expect(b?.attributes).toMatchObject({ 'armazem.orders.claimed': 1, 'armazem.orders.reserved': 1 });
      return b as ReceivedSpan;
    }, 10_000);
    const inside = descendantsOf(receiver.trace(batch.traceId), batch);
    expect(inside.filter((s) => dbOf(s) === 'postgresql').length).toBeGreaterThanOrEqual(3);
  }, 30_000);

  it('sends OTLP/HTTP protobuf by default (OTEL_EXPORTER_OTLP_PROTOCOL unset)', async () => {
    const port = await freePort();
    const other = startProcess('src/entrypoints/api.ts', {
      ...realServers(db.url),
      PORT: String(port),
      MIGRATE_ON_START: 'false',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    try {
      await waitServing(other, `http://127.0.0.1:${port}/livez`);
      const traceId = randomBytes(16).toString('hex');
      await fetch(`http://127.0.0.1:${port}/livez`, {
        headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
      });
      // The trace id travels as 16 raw bytes in the protobuf encoding.
      await eventually(
        () => expect(receiver.protobufBodies.some((b) => b.includes(Buffer.from(traceId, 'hex')))).toBe(true),
        10_000,
      );
    } finally {
      other.child.kill('SIGKILL');
    }
  }, 30_000);
});

describe('the bot role, traced', () => {
  it('each Telegram update is a span with the Bot API call inside; the role answers /livez, /readyz and /metrics', async () => {
    const fake = await new FakeTelegram().start();
    const opsPort = await freePort();
    const bot = startProcess('src/entrypoints/bot.ts', {
      ...realServers(db.url),
      MIGRATE_ON_START: 'false',
      LOG_LEVEL: 'warn',
      TELEGRAM_BOT_TOKEN: fake.token,
      TELEGRAM_API_ROOT: fake.apiRoot,
      BOT_METRICS_PORT: String(opsPort),
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    try {
      const ops = `http://127.0.0.1:${opsPort}`;
      await waitServing(bot, `${ops}/livez`);
      expect((await fetch(`${ops}/readyz`)).status).toBe(200);
      const user = fake.user(4242);
      fake.sendText(user, '/start');
      await fake.waitForCall(
        (c) => c.method === 'sendMessage' && Number(c.params.chat_id) === user.id,
        10_000,
      );
      const update = await eventually(() => {
        const u = receiver.spans.find((x) => x.name === 'bot update' && x.resource['armazem.role'] === 'bot');
        expect(u?.attributes).toMatchObject({ 'telegram.update_type': 'message' });
        const inside = descendantsOf(receiver.trace(u?.traceId as string), u as ReceivedSpan);
        expect(inside.some((x) => x.kind === CLIENT && x.attributes['http.request.method'] === 'POST')).toBe(
          true,
        );
        return u as ReceivedSpan;
      }, 10_000);
      expect(update.parentSpanId).toBe('');
      const metrics = await (await fetch(`${ops}/metrics`)).text();
      expect(metrics).toMatch(/^bot_update_duration_seconds_count\{type="message"\} [1-9]/m);
    } finally {
      bot.child.kill('SIGKILL');
      await fake.close();
    }
  }, 60_000);
});

describe('without OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  it('no module of the OpenTelemetry SDK is loaded while the API serves and answers (with it set: the SDK is)', async () => {
    const serve = async (otel: Record<string, string>) => {
      const port = await freePort();
      const p = startProcess('src/entrypoints/api.ts', {
        ...realServers(db.url),
        PORT: String(port),
        MIGRATE_ON_START: 'false',
        NODE_OPTIONS: '--import=./test/helpers/log-otel-imports.ts',
        ...otel,
      });
      try {
        await waitServing(p, `http://127.0.0.1:${port}/readyz`);
        expect((await fetch(`http://127.0.0.1:${port}/products`)).status).toBe(200);
        // @opentelemetry/api itself is always there: prom-client requires it (exemplars), tracing or not.
        return p
          .stderr()
          .split('\n')
          .filter((l) => l.startsWith('otel-module ') && !l.includes('/@opentelemetry/api/'));
      } finally {
        p.child.kill('SIGKILL');
      }
    };
    expect(await serve({})).toEqual([]);
    const loaded = await serve({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    expect(loaded.some((l) => l.includes('/@opentelemetry/sdk-trace-node/'))).toBe(true);
  }, 60_000);
});
