import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { FastifyServerFactory } from 'fastify';
import type { Logger } from '../platform/logger.ts';
import { REQUEST_ID_HEADER, requestIdFor } from './request-id.ts';
import { completedLine, REQUEST_ID_LOG_LABEL, type RequestDurations } from './request-log.ts';
import { SECURITY_HEADERS } from './security-headers.ts';

/**
 * A GET whose answer an instance already holds in memory (a near copy of a
 * cached catalog body), answered in the server's request listener before
 * Fastify builds a request and runs its hooks. The answer is the one Fastify
 * would send — same status, body and headers, the same log line and
 * histogram sample — at a fraction of the CPU (docs/decisions.md). Anything
 * else, and any URL `body` declines, goes to Fastify as usual.
 */
export interface HotRead {
  /** The route template, as the log and the histogram name it. */
  route: string;
  /** Headers of this answer besides the security headers, request id and length. */
  headers: Readonly<Record<string, string>>;
  /** The body for this URL, or undefined to let Fastify answer. Must not do I/O. */
  body(url: string): string | undefined;
}

export interface HotReadOptions {
  reads: readonly HotRead[];
  log: Logger;
  durations: RequestDurations;
  /** True once the app is closing: Fastify answers then (503, or connection: close). */
  closing(): boolean;
}

/** Fastify's serverFactory: node:http with Fastify's own timeouts, hot reads first. */
export function hotReadServer(o: HotReadOptions): FastifyServerFactory {
  const answers = o.reads.map((read) => ({
    read,
    // Flat [name, value, …] pairs: writeHead takes them as they are, no object to copy per response.
    fixed: Object.entries({ ...SECURITY_HEADERS, ...read.headers }).flat(),
  }));
  const answer = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url as string;
    for (const { read, fixed } of answers) {
      const body = read.body(url);
      if (body === undefined) continue;
      const start = performance.now();
      const requestId = requestIdFor(req);
      res.writeHead(200, [
        ...fixed,
        REQUEST_ID_HEADER,
        requestId,
        'content-length',
        String(Buffer.byteLength(body)),
      ]);
      res.end(body);
      const ms = performance.now() - start;
      o.durations.observe('GET', read.route, 200, ms);
      o.log.info(
        { [REQUEST_ID_LOG_LABEL]: requestId, ...completedLine('GET', url, 200, ms) },
        'request completed',
      );
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
      // Only a plain GET: no body to read, no CORS preflight or HEAD semantics to mirror.
      if (
        req.method === 'GET' &&
        req.headers['content-length'] === undefined &&
        req.headers['transfer-encoding'] === undefined &&
        !o.closing() &&
        answer(req, res)
      )
        return;
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
