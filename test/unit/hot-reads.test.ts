import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type HotRead, type HotReadOptions, hotReadServer, type Lane } from '../../src/http/hot-reads.ts';
import { RequestDurations } from '../../src/http/request-log.ts';
import { SECURITY_HEADERS } from '../../src/http/security-headers.ts';
import { Metrics } from '../../src/platform/metrics.ts';

/** A real node:http server from hotReadServer, with a stand-in for Fastify's handler that says it answered. */
function serve(
  bodies: Record<string, string>,
  closing = () => false,
  extra: Pick<HotReadOptions, 'lanes'> = {},
) {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino(
    { base: null },
    new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    }),
  );
  const metrics = new Metrics();
  const read: HotRead = {
    route: '/things/:id',
    headers: { 'content-type': 'application/json; charset=utf-8', 'x-cache': 'HIT' },
    body: (url) => bodies[url],
  };
  const factory = hotReadServer({
    reads: [read],
    log,
    durations: new RequestDurations(metrics),
    closing,
    ...extra,
  });
  const server = factory(
    (_req, res) => {
      res.writeHead(299, { 'x-answered-by': 'fastify' });
      res.end('framework');
    },
    { keepAliveTimeout: 72_000, requestTimeout: 0, connectionTimeout: 0, maxRequestsPerSocket: 0 },
  );
  servers.push(server);
  return new Promise<{ url: string; lines: typeof lines; metrics: Metrics; server: typeof server }>(
    (resolve) =>
      server.listen(0, '127.0.0.1', () =>
        resolve({
          url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          lines,
          metrics,
          server,
        }),
      ),
  );
}
const servers: Array<{ close(): void }> = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

describe('hot reads before Fastify', () => {
  it('a GET with a body in memory is answered with it, the security headers, a request id, one log line and one histogram sample', async () => {
    const s = await serve({ '/things/1': '{"id":1}' });
    const res = await fetch(`${s.url}/things/1`, { headers: { 'x-request-id': 'edge-42' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('{"id":1}');
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(res.headers.get(name)).toBe(value);
    expect(res.headers.get('x-request-id')).toBe('edge-42');
    expect(res.headers.get('x-cache')).toBe('HIT');
    expect(res.headers.get('content-length')).toBe('8');
    expect(res.headers.get('x-answered-by')).toBeNull();
    await new Promise((r) => setImmediate(r));
    expect(s.lines).toEqual([
      expect.objectContaining({
        requestId: 'edge-42',
        method: 'GET',
        url: '/things/1',
        status: 200,
        ms: expect.any(Number),
        msg: 'request completed',
      }),
    ]);
    const text = await s.metrics.registry.metrics();
    expect(text).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/things\/:id",status="200"\} 1/,
    );
  });

  it('without a caller id, each answer gets its own', async () => {
    const s = await serve({ '/things/1': '{}' });
    const ids = await Promise.all(
      [1, 2, 3].map(async () => (await fetch(`${s.url}/things/1`)).headers.get('x-request-id')),
    );
    expect(new Set(ids).size).toBe(3);
  });

  it('a URL the read declines, another method, a GET with a body, or a closing app: Fastify answers', async () => {
    let closing = false;
    const s = await serve({ '/things/1': '{}' }, () => closing);
    const viaFastify = async (init: RequestInit & { path?: string }) => {
      const res = await fetch(`${s.url}${init.path ?? '/things/1'}`, init);
      expect(res.status).toBe(299);
      expect(await res.text()).toBe('framework');
    };
    await viaFastify({ path: '/things/2' });
    await viaFastify({ path: '/things/1?fresh=1' });
    await viaFastify({ method: 'DELETE' });
    await viaFastify({ method: 'POST', body: '{}' });
    // fetch() sends no body with a GET; node:http does.
    const withBody = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        `${s.url}/things/1`,
        { method: 'GET', headers: { 'content-length': '7' } },
        (res) => {
          res.resume();
          resolve(res.statusCode as number);
        },
      );
      req.on('error', reject);
      req.end('{"a":1}');
    });
    expect(withBody).toBe(299);
    closing = true;
    await viaFastify({});
    expect(s.lines).toEqual([]);
  });

  it("the server keeps Fastify's timeouts", async () => {
    const s = await serve({});
    expect(s.server.keepAliveTimeout).toBe(72_000);
    expect(s.server.requestTimeout).toBe(0);
  });

  describe('lanes', () => {
    /** A lane for POST /echo: answers the body it read, or passes a body that says "pass" to Fastify. */
    const echo: Lane = {
      route: '/echo',
      take: (req) =>
        req.method === 'POST' && req.url === '/echo'
          ? (reply) => {
              const chunks: Buffer[] = [];
              req.on('data', (c: Buffer) => chunks.push(c));
              req.on('end', () => {
                const body = Buffer.concat(chunks);
                if (body.toString() === 'pass') reply.pass(body);
                else
                  reply.send(201, 'application/json; charset=utf-8', body.toString(), { 'retry-after': '1' });
              });
            }
          : undefined,
    };
    const replayed: Array<{ url: string | undefined; body: string }> = [];
    const replay: NonNullable<HotReadOptions['lanes']>['replay'] = async (req, body) => {
      replayed.push({ url: req.url, body: body.toString() });
      return {
        statusCode: 422,
        headers: { 'content-type': 'application/problem+json', connection: 'close', 'x-request-id': 'r-1' },
        rawPayload: Buffer.from('{"replayed":true}'),
      };
    };
    const post = (url: string, body: string, headers: Record<string, string> = {}) =>
      fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

    it('a request a lane matches is answered by it, with the security headers, the request id, one log line and one histogram sample', async () => {
      const s = await serve({}, () => false, { lanes: { routes: [echo], replay } });
      const res = await post(`${s.url}/echo`, '{"a":1}', { 'x-request-id': 'edge-7' });
      expect(res.status).toBe(201);
      expect(await res.text()).toBe('{"a":1}');
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(res.headers.get(name)).toBe(value);
      expect(res.headers.get('x-request-id')).toBe('edge-7');
      expect(res.headers.get('retry-after')).toBe('1');
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      await new Promise((r) => setImmediate(r));
      expect(s.lines).toEqual([
        expect.objectContaining({ requestId: 'edge-7', method: 'POST', url: '/echo', status: 201 }),
      ]);
      expect(await s.metrics.registry.metrics()).toMatch(
        /http_request_duration_seconds_count\{method="POST",route="\/echo",status="201"\} 1/,
      );
    });

    it('a body the lane passes on is answered by the replay, without its hop-by-hop headers and without a second log line', async () => {
      const s = await serve({}, () => false, { lanes: { routes: [echo], replay } });
      const res = await post(`${s.url}/echo`, 'pass');
      expect(res.status).toBe(422);
      expect(await res.text()).toBe('{"replayed":true}');
      expect(res.headers.get('x-request-id')).toBe('r-1');
      // The replay's `connection: close` belongs to its fake connection, not to this one.
      expect(res.headers.get('connection')).toBe('keep-alive');
      expect(replayed.at(-1)).toEqual({ url: '/echo', body: 'pass' });
      expect(s.lines).toEqual([]);
    });

    it('a request no lane matches, or any request once the app is closing, goes to Fastify', async () => {
      let closing = false;
      const s = await serve({}, () => closing, { lanes: { routes: [echo], replay } });
      const other = await post(`${s.url}/other`, '{}');
      expect(other.status).toBe(299);
      await other.text();
      closing = true;
      const late = await post(`${s.url}/echo`, '{}');
      expect(late.status).toBe(299);
      expect(await late.text()).toBe('framework');
    });
  });
});
