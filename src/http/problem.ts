import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ERRORS, type FieldError } from '../errors.ts';
import { isDatabaseUnavailable } from '../platform/database.ts';
import { drainBody } from './drain-body.ts';

/**
 * Renders every error as RFC 9457 problem+json with a stable `code` and the
 * request id. 5xx bodies carry no internals; the log line has them.
 */
export function registerProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler(problemHandler());
  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, ERRORS.routeNotFound(request.method, request.url.split('?')[0] ?? '/')),
  );
}

/**
 * The error handler; `adjust` lets a scope change how its problems are told
 * (the Rinha contract answers 422 where armazem answers 400).
 */
export function problemHandler(adjust: (problem: AppError) => AppError = (p) => p) {
  return async (err: FastifyError, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const appError = toAppError(err);
    // Fastify's message does not say the limit; the route's options do.
    const problem = adjust(
      appError.code === 'body_too_large' ? ERRORS.bodyTooLarge(request.routeOptions.bodyLimit) : appError,
    );
    // A body refused unread (too large, or its parser failed): read the rest first, so the
    // client is not reset while still sending and reads this answer; then keep the connection.
    if (reply.getHeader('connection') === 'close' && !request.raw.complete) {
      if (await drainBody(request)) reply.removeHeader('connection');
    } else if (reply.getHeader('connection') === 'close' && problem.status < 500)
      reply.removeHeader('connection');
    if (problem.status >= 500) {
      request.log.error({ err: problem.cause ?? err, code: problem.code }, problem.message);
    } else {
      request.log.debug({ code: problem.code, detail: problem.message }, 'request rejected');
    }
    return sendProblem(request, reply, problem);
  };
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: AppError): FastifyReply {
  if (problem.headers) reply.headers(problem.headers);
  return reply
    .code(problem.status)
    .type('application/problem+json')
    .send(problemBody(problem, request.url, request.id));
}

/** The problem+json body, its members in the order the Problem schema serializes them. */
export function problemBody(problem: AppError, url: string, requestId: string): Record<string, unknown> {
  return {
    type: `urn:armazem:problem:${problem.code}`,
    title: problem.title,
    status: problem.status,
    detail: problem.message,
    // The path, cut short: a refused request may carry a very long one.
    instance: (url.split('?')[0] ?? '').slice(0, 512),
    code: problem.code,
    requestId,
    ...(problem.errors ? { errors: problem.errors } : {}),
    ...problem.extensions,
  };
}

/**
 * Fastify's own refusals, each told with a catalogue code: its `FST_*` codes
 * are the framework's vocabulary, not a public one.
 */
const FRAMEWORK_CODES: Record<string, (err: FastifyError) => AppError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: (err) => ERRORS.bodyTooLarge(Number(/\d+/.exec(err.message)?.[0] ?? 0)),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => ERRORS.unsupportedMediaType(undefined),
  FST_ERR_ROUTE_MISSING_CONTENT_TYPE: () => ERRORS.unsupportedMediaType(undefined),
  FST_ERR_CTP_EMPTY_JSON_BODY: () =>
    ERRORS.malformedBody('the body is empty but content-type is application/json'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => ERRORS.malformedBody('content-length does not match the body'),
  FST_ERR_CTP_INVALID_JSON_BODY: (err) => ERRORS.malformedBody(err.message),
  FST_ERR_ROUTE_MISSING_CONTENT: () => ERRORS.malformedBody('this route needs a body'),
  FST_ERR_BAD_URL: (err) => ERRORS.badRequestLine('malformed_request', 'path', err.message),
  FST_ERR_INVALID_URL: (err) => ERRORS.badRequestLine('malformed_request', 'path', err.message),
  FST_ERR_MAX_PARAM_LENGTH: () =>
    ERRORS.badRequestLine('uri_too_long', 'path', 'a path segment is longer than 100 characters'),
};

export function toAppError(err: FastifyError | Error): AppError {
  if (err instanceof AppError) return err;
  const fe = err as FastifyError;
  if (fe.validation) return ERRORS.validation(fieldErrors(fe));
  const framework = fe.code === undefined ? undefined : FRAMEWORK_CODES[fe.code];
  if (framework) return framework(fe);
  if (isDatabaseUnavailable(err)) return ERRORS.databaseUnavailable(err);
  // JSON.parse errors and prototype poisoning arrive as 400s.
  if (fe.statusCode === 400) return ERRORS.malformedBody(fe.message);
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500)
    return ERRORS.requestRejected(fe.statusCode, fe.message);
  return ERRORS.internal(err);
}

const PART: Record<string, string> = {
  body: 'body',
  querystring: 'query',
  params: 'params',
  headers: 'header',
};

/** Turns ajv's errors into one entry per field, named like `body.price` or `query.limit`. */
function fieldErrors(err: FastifyError): FieldError[] {
  const part = PART[err.validationContext ?? 'body'] ?? 'body';
  const seen = new Map<string, FieldError>();
  for (const e of err.validation ?? []) {
    const path = e.instancePath
      .split('/')
      .filter(Boolean)
      .map((s) => (/^\d+$/.test(s) ? `[${s}]` : `.${s}`))
      .join('');
    const params = e.params as Record<string, unknown>;
    let field = `${part}${path}`;
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'required') {
      field += `.${String(params.missingProperty)}`;
      message = 'is required';
    } else if (e.keyword === 'additionalProperties') {
      field += `.${String(params.additionalProperty)}`;
      message = 'is not allowed';
    }
    // anyOf reports each branch and then itself; keep the first, most specific message.
    if (!seen.has(field)) seen.set(field, { field, message });
  }
  return [...seen.values()];
}
