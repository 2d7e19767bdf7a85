import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type HotRead, hotReadServer } from '../../src/http/hot-reads.ts';
import { RequestDurations } from '../../src/http/request-log.ts';
import { SECURITY_HEADERS } from '../../src/http/security-headers.ts';
import { Metrics } from '../../src/platform/metrics.ts';

/** A real node:http server from hotReadServer, with a stand-in for Fastify's handler that says it answered. */
function serve(bodies: Record<string, string>, closing = () => false) {
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
  const factory = hotReadServer({ reads: [read], log, durations: new RequestDurations(metrics), closing });
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
});
