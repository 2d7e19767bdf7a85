import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ERRORS } from '../errors.ts';
import { sendProblem, toAppError } from './problem.ts';

/**
 * Requests refused before a route runs still get a problem+json the client
 * can read: by the router (a bad percent-encoding, an over-long path
 * segment) and by Node's HTTP parser (headers or request line too large,
 * garbage). Fastify's defaults answer in their own JSON or reset the socket.
 */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const path = request.url.split('?')[0] ?? '/';
  const problem =
    err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? toAppError(err)
      : ERRORS.badRequestLine(
          'malformed_request',
          'path',
          `the path ${JSON.stringify(path.slice(0, 200))} is not valid (percent-encoding?)`,
        );
  sendProblem(request, reply, problem);
}

/** Node's parser refused the request: answer a problem, then close without resetting what the client still sends. */
export function clientErrorHandler(error: ConnectionError, socket: Socket): void {
  // Node's parser errors carry the bytes read so far (a Buffer, whatever Fastify's type says).
  const err = error as unknown as { code?: string; rawPacket?: Buffer };
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  // Over the 16 KiB Node allows for the request line and headers together: blame the line when it takes most of it.
  const lineEnd = err.rawPacket?.indexOf('\r\n') ?? -1;
  const requestLineTooLong = err.code === 'HPE_HEADER_OVERFLOW' && (lineEnd === -1 || lineEnd > 8192);
  const problem =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? ERRORS.badRequestLine('request_timeout', 'body', 'the request did not arrive in time')
      : requestLineTooLong
        ? ERRORS.badRequestLine('uri_too_long', 'path', 'the request line (path and query) is too long')
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? ERRORS.badRequestLine(
              'headers_too_large',
              'header',
              'the request line and headers exceed 16 KiB together',
            )
          : ERRORS.badRequestLine('malformed_request', 'request', 'the request is not valid HTTP/1.1');
  const requestId = randomUUID();
  const body = JSON.stringify({
    type: `urn:armazem:problem:${problem.code}`,
    title: problem.title,
    status: problem.status,
    detail: problem.message,
    instance: '',
    code: problem.code,
    requestId,
    errors: problem.errors,
  });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${problem.status} ${problem.title}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  // Read and drop the rest (a reset could destroy the answer before the client reads it), then let go.
  socket.on('data', () => {});
  socket.on('error', () => {});
  socket.end();
  setTimeout(() => socket.destroy(), 5000).unref();
}
