import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { FastifyServerFactory } from 'fastify';
import type { Logger } from '../platform/logger.ts';
import { type ListenerHeaders, listenerHeaders } from './listener-headers.ts';
import { REQUEST_ID_HEADER, requestIdFrom } from './request-id.ts';
import { completedLine, REQUEST_ID_LOG_LABEL, type RequestDurations } from './request-log.ts';
import { SECURITY_HEADERS } from './security-headers.ts';

/**
 * Requests answered in the server's request listener, before Fastify builds
 * a request and runs its hooks: a GET whose answer an instance already holds
 * in memory (a near copy of a cached catalog body), and lanes — routes with
 * I/O of their own whose whole work is a few lines (the Rinha 2024/Q1
 * contract). The answer is the one Fastify would send — same status, body
 * and headers, the same log line and histogram sample — at a fraction of the
 * CPU (docs/decisions.md). Anything else, and anything a read or a lane
 * declines, goes to Fastify as usual.
 */
export interface HotRead {
  /** The route template, as the log and the histogram name it. */
  route: string;
  /** Headers of this answer besides the security headers, request id and length. */
  headers: Readonly<Record<string, string>>;
  /** The body for this URL, or undefined to let Fastify answer. Must not do I/O. */
  body(url: string): string | undefined;
}

/** How a lane answers a request it took. */
export interface LaneReply {
  readonly requestId: string;
  /** Sends `body` with the security headers, the request id, one log line and one histogram sample. */
  send(status: number, contentType: string, body: string, headers?: Readonly<Record<string, string>>): void;
  /** Hands the request, its body already read, to Fastify, which answers, logs and counts it. */
  pass(body: Buffer): void;
}

/** Fastify's answer to a request replayed through it (app.inject). */
export interface Replayed {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  rawPayload: Buffer;
}

/** A route with I/O of its own, served in the listener. */
export interface Lane {
  /** The route template, as the log and the histogram name it. */
  route: string;
  /**
   * From the method, URL and headers alone (nothing read yet): how the lane
   * answers this request, exactly once, through `reply` — or undefined to
   * leave it to Fastify.
   */
  take(req: IncomingMessage, headers: ListenerHeaders): ((reply: LaneReply) => void) | undefined;
}

export interface HotReadOptions {
  reads: readonly HotRead[];
  lanes?: {
    routes: readonly Lane[];
    /** Runs a request whose body a lane has read through Fastify (app.inject). */
    replay(req: IncomingMessage, body: Buffer): Promise<Replayed>;
  };
  log: Logger;
  durations: RequestDurations;
  /** True once the app is closing: Fastify answers then (503, or connection: close). */
  closing(): boolean;
}

/** Set by the real server on the real connection, not copied from a replayed answer. */
const HOP_HEADERS = new Set(['connection', 'keep-alive', 'date', 'transfer-encoding']);

/** Fastify's serverFactory: node:http with Fastify's own timeouts, hot reads first. */
export function hotReadServer(o: HotReadOptions): FastifyServerFactory {
  const answers = o.reads.map((read) => ({
    read,
    // Flat [name, value, …] pairs: writeHead takes them as they are, no object to copy per response.
    fixed: Object.entries({ ...SECURITY_HEADERS, ...read.headers }).flat(),
  }));
  /** Sends one answer as Fastify would (`headers` flat, without the request id and length), then its histogram sample and log line. */
  const respond = (
    req: IncomingMessage,
    res: ServerResponse,
    a: { route: string; start: number; requestId: string; status: number; body: string },
    headers: string[],
  ) => {
    res.writeHead(a.status, [
      ...headers,
      REQUEST_ID_HEADER,
      a.requestId,
      'content-length',
      String(Buffer.byteLength(a.body)),
    ]);
    res.end(a.body);
    const ms = performance.now() - a.start;
    const method = req.method as string;
    o.durations.observe(method, a.route, a.status, ms);
    o.log.info(
      { [REQUEST_ID_LOG_LABEL]: a.requestId, ...completedLine(method, req.url as string, a.status, ms) },
      'request completed',
    );
  };
  const security = Object.entries(SECURITY_HEADERS).flat();
  /** The security headers and a content type, built once per type. */
  const byType = new Map<string, string[]>();
  const withType = (contentType: string): string[] => {
    let headers = byType.get(contentType);
    if (!headers) {
      headers = [...security, 'content-type', contentType];
      byType.set(contentType, headers);
    }
    return headers;
  };
  const lanes = o.lanes?.routes ?? [];
  const replay = o.lanes?.replay;
  const laneReply = (
    req: IncomingMessage,
    res: ServerResponse,
    route: string,
    headers: ListenerHeaders,
  ): LaneReply => {
    const start = performance.now();
    const requestId = requestIdFrom(headers.requestId);
    return {
      requestId,
      send(status, contentType, body, headers) {
        respond(
          req,
          res,
          { route, start, requestId, status, body },
          headers
            ? [...security, ...Object.entries(headers).flat(), 'content-type', contentType]
            : withType(contentType),
        );
      },
      pass(body) {
        (replay as NonNullable<typeof replay>)(req, body).then(
          (r) => {
            const headers = Object.entries(r.headers).filter(
              ([name, value]) => value !== undefined && !HOP_HEADERS.has(name),
            ) as Array<[string, string | string[] | number]>;
            res.writeHead(r.statusCode, Object.fromEntries(headers));
            res.end(r.rawPayload);
          },
          (err: unknown) => {
            o.log.error(
              { err, [REQUEST_ID_LOG_LABEL]: requestId },
              'replaying a request through Fastify failed',
            );
            res.destroy();
          },
        );
      },
    };
  };
  const take = (req: IncomingMessage, res: ServerResponse, headers: ListenerHeaders): boolean => {
    for (const lane of lanes) {
      const serve = lane.take(req, headers);
      if (serve === undefined) continue;
      serve(laneReply(req, res, lane.route, headers));
      return true;
    }
    return false;
  };
  const answer = (req: IncomingMessage, res: ServerResponse, headers: ListenerHeaders): boolean => {
    const url = req.url as string;
    for (const { read, fixed } of answers) {
      const body = read.body(url);
      if (body === undefined) continue;
      const start = performance.now();
      const requestId = requestIdFrom(headers.requestId);
      respond(req, res, { route: read.route, start, requestId, status: 200, body }, fixed);
      return true;
    }
    return false;
  };
  return (handler, opts) => {
    const options = opts as Record<
      'keepAliveTimeout' | 'requestTimeout' | 'connectionTimeout' | 'maxRequestsPerSocket',
      number
    >;
    const server = http.createServer((req, res) => {
      if (!o.closing()) {
        const headers = listenerHeaders(req);
        // Reads: only a plain GET, with no body to read, no CORS preflight or HEAD semantics to mirror.
        if (
          req.method === 'GET' &&
          headers.contentLength === undefined &&
          headers.transferEncoding === undefined &&
          answer(req, res, headers)
        )
          return;
        if (lanes.length > 0 && take(req, res, headers)) return;
      }
      handler(req, res);
    });
    // What Fastify sets on the server it makes itself.
    server.keepAliveTimeout = options.keepAliveTimeout;
    server.requestTimeout = options.requestTimeout;
    server.setTimeout(options.connectionTimeout);
    if (options.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = options.maxRequestsPerSocket;
    return server;
  };
}
