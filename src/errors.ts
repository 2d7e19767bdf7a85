import { type CodeWithStatus, ERROR_CODES, type ErrorCode, type NotFoundResource } from './error-codes.ts';

/**
 * One error model: every failure the API reports is an AppError with a code
 * from the catalogue (error-codes.ts), which gives its status and title; the
 * HTTP layer renders it as RFC 9457 problem+json.
 */
export interface FieldError {
  /** Where the problem is, e.g. `body.price`, `query.cursor`, `params.id`. */
  field: string;
  message: string;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
  readonly errors: FieldError[] | undefined;
  /** Extra response headers, e.g. Retry-After. */
  readonly headers: Record<string, string> | undefined;
  /** Extension members of the problem (RFC 9457 §3.2), e.g. the balance that refused a debit. */
  readonly extensions: Record<string, unknown> | undefined;

  constructor(opts: {
    code: ErrorCode;
    detail: string;
    errors?: FieldError[];
    headers?: Record<string, string>;
    extensions?: Record<string, unknown>;
    cause?: unknown;
  }) {
    // A 4xx is an answer, not a fault: no stack is captured for it (a refused debit's share of an
    // instance's CPU showed it; docs/decisions.md). A 5xx keeps its stack for the log.
    const limit = Error.stackTraceLimit;
    if (ERROR_CODES[opts.code].status < 500) Error.stackTraceLimit = 0;
    try {
      super(opts.detail, { cause: opts.cause });
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.name = 'AppError';
    this.code = opts.code;
    this.status = ERROR_CODES[opts.code].status;
    this.title = ERROR_CODES[opts.code].title;
    this.errors = opts.errors;
    this.headers = opts.headers;
    this.extensions = opts.extensions;
  }

  /**
   * The same problem under another status, where a contract fixes it (the Rinha
   * 2024/Q1 routes answer 422 for bad input) or the framework chose it
   * (`request_rejected`); the catalogue says so for each code that allows it.
   */
  withStatus(status: number): AppError {
    const { code, errors, headers, extensions, cause } = this;
    const copy = new AppError({ code, detail: this.message, errors, headers, extensions, cause });
    (copy as { status: number }).status = status;
    return copy;
  }
}

export const ERRORS = {
  validation: (errors: FieldError[]) =>
    new AppError({
      code: 'validation_failed',
      detail: errors.map((e) => `${e.field}: ${e.message}`).join('; '),
      errors,
    }),
  invalidField: (field: string, message: string) => ERRORS.validation([{ field, message }]),
  malformedBody: (detail: string) =>
    new AppError({
      code: 'malformed_body',
      detail,
      errors: [{ field: 'body', message: detail }],
    }),
  unsupportedMediaType: (contentType: string | undefined) =>
    new AppError({
      code: 'unsupported_media_type',
      detail: `content-type ${contentType ? `'${contentType}'` : '(none)'} is not supported; send application/json`,
      errors: [{ field: 'header.content-type', message: 'must be application/json' }],
    }),
  bodyTooLarge: (limit: number) =>
    new AppError({
      code: 'body_too_large',
      detail: `the request body exceeds ${limit} bytes`,
      errors: [{ field: 'body', message: `must be at most ${limit} bytes` }],
    }),
  /** What Node's HTTP parser or the router refuse before a route runs (edge-errors.ts). */
  badRequestLine: (
    code: 'malformed_request' | 'request_timeout' | 'uri_too_long' | 'headers_too_large',
    field: string,
    detail: string,
  ) => new AppError({ code, detail, errors: [{ field, message: detail }] }),
  /** A 4xx the framework gave for a reason no other code names: its status is kept. */
  requestRejected: (status: number, detail: string) =>
    new AppError({ code: 'request_rejected', detail }).withStatus(status),
  routeNotFound: (method: string, url: string) =>
    new AppError({
      code: 'route_not_found',
      detail: `no route for ${method} ${url}`,
    }),
  notFound: (resource: NotFoundResource, id: string | number) =>
    new AppError({
      code: `${resource}_not_found`,
      detail: `${resource} ${id} does not exist`,
    }),
  unauthenticated: (code: CodeWithStatus<401>, detail: string) =>
    new AppError({
      code,
      detail,
      // RFC 6750: tell the client which scheme to use.
      headers: {
        'www-authenticate': code === 'invalid_credentials' ? 'Bearer' : `Bearer error="invalid_token"`,
      },
    }),
  forbidden: (detail = 'this route is for admins') => new AppError({ code: 'forbidden', detail }),
  conflict: (code: CodeWithStatus<409>, field: string, detail: string) =>
    new AppError({ code, detail, errors: [{ field, message: detail }] }),
  insufficientCredit: (
    field: string,
    credit: { balance: string; limit: string; available: string },
    required: string,
  ) =>
    new AppError({
      code: 'insufficient_credit',
      detail: `this debit needs ${required}; the account has ${credit.available} available (balance ${credit.balance}, limit ${credit.limit})`,
      errors: [{ field, message: `exceeds the ${credit.available} available` }],
      extensions: { ...credit, required },
    }),
  creditBalanceTooLarge: (field: string) =>
    new AppError({
      code: 'credit_balance_too_large',
      detail: 'this credit would take the balance over the largest balance an account may hold',
      errors: [{ field, message: 'would take the balance over its ceiling' }],
    }),
  idempotencyKeyReused: () =>
    ERRORS.conflict(
      'idempotency_key_reused',
      'header.idempotency-key',
      'this Idempotency-Key was already used for a different request',
    ),
  rateLimited: (retryAfterSeconds: number, detail: string) =>
    new AppError({
      code: 'rate_limited',
      detail,
      headers: { 'retry-after': String(Math.max(1, retryAfterSeconds)) },
    }),
  databaseUnavailable: (cause?: unknown) =>
    new AppError({
      code: 'database_unavailable',
      detail: 'the database is unavailable; retry shortly',
      headers: { 'retry-after': '2' },
      cause,
    }),
  creditAccountBusy: (detail: string) =>
    new AppError({ code: 'credit_account_busy', detail, headers: { 'retry-after': '1' } }),
  cacheUnavailable: (cause?: unknown) =>
    new AppError({
      code: 'cache_unavailable',
      detail: 'the cache (Redis) is unavailable; retry shortly',
      headers: { 'retry-after': '2' },
      cause,
    }),
  internal: (cause?: unknown) =>
    new AppError({
      code: 'internal_error',
      detail: 'an unexpected error occurred',
      cause,
    }),
} as const;
