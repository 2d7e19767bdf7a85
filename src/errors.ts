/**
 * One error model: every failure the API reports is an AppError with a stable
 * `code`; the HTTP layer renders it as RFC 9457 problem+json.
 */
export interface FieldError {
  /** Where the problem is, e.g. `body.price`, `query.cursor`, `params.id`. */
  field: string;
  message: string;
}

export class AppError extends Error {
  override name = 'AppError';
  readonly code: string;
  readonly status: number;
  readonly title: string;
  readonly errors: FieldError[] | undefined;
  /** Extra response headers, e.g. Retry-After. */
  readonly headers: Record<string, string> | undefined;
  /** Extension members of the problem (RFC 9457 §3.2), e.g. the balance that refused a debit. */
  readonly extensions: Record<string, unknown> | undefined;

  constructor(opts: {
    code: string;
    status: number;
    title: string;
    detail: string;
    errors?: FieldError[];
    headers?: Record<string, string>;
    extensions?: Record<string, unknown>;
    cause?: unknown;
  }) {
    super(opts.detail, { cause: opts.cause });
    this.code = opts.code;
    this.status = opts.status;
    this.title = opts.title;
    this.errors = opts.errors;
    this.headers = opts.headers;
    this.extensions = opts.extensions;
  }
}

export const ERRORS = {
  validation: (errors: FieldError[]) =>
    new AppError({
      code: 'validation_failed',
      status: 400,
      title: 'Invalid request',
      detail: errors.map((e) => `${e.field}: ${e.message}`).join('; '),
      errors,
    }),
  invalidField: (field: string, message: string) => ERRORS.validation([{ field, message }]),
  malformedBody: (detail: string) =>
    new AppError({
      code: 'malformed_body',
      status: 400,
      title: 'Malformed body',
      detail,
      errors: [{ field: 'body', message: detail }],
    }),
  unsupportedMediaType: (contentType: string | undefined) =>
    new AppError({
      code: 'unsupported_media_type',
      status: 415,
      title: 'Unsupported media type',
      detail: `content-type ${contentType ? `'${contentType}'` : '(none)'} is not supported; send application/json`,
      errors: [{ field: 'header.content-type', message: 'must be application/json' }],
    }),
  bodyTooLarge: (limit: number) =>
    new AppError({
      code: 'body_too_large',
      status: 413,
      title: 'Body too large',
      detail: `the request body exceeds ${limit} bytes`,
      errors: [{ field: 'body', message: `must be at most ${limit} bytes` }],
    }),
  /** What Node's HTTP parser or the router refuse before a route runs (edge-errors.ts). */
  badRequestLine: (status: 400 | 408 | 414 | 431, field: string, detail: string) =>
    new AppError({
      code: {
        400: 'malformed_request',
        408: 'request_timeout',
        414: 'uri_too_long',
        431: 'headers_too_large',
      }[status],
      status,
      title: {
        400: 'Malformed request',
        408: 'Request timeout',
        414: 'URI too long',
        431: 'Headers too large',
      }[status],
      detail,
      errors: [{ field, message: detail }],
    }),
  routeNotFound: (method: string, url: string) =>
    new AppError({
      code: 'route_not_found',
      status: 404,
      title: 'Not found',
      detail: `no route for ${method} ${url}`,
    }),
  notFound: (resource: string, id: string | number) =>
    new AppError({
      code: `${resource}_not_found`,
      status: 404,
      title: 'Not found',
      detail: `${resource} ${id} does not exist`,
    }),
  unauthenticated: (
    code:
      | 'unauthenticated'
      | 'invalid_token'
      | 'token_expired'
      | 'invalid_credentials'
      | 'invalid_refresh_token',
    detail: string,
  ) =>
    new AppError({
      code,
      status: 401,
      title: 'Unauthenticated',
      detail,
      // RFC 6750: tell the client which scheme to use.
      headers: {
        'www-authenticate': code === 'invalid_credentials' ? 'Bearer' : `Bearer error="invalid_token"`,
      },
    }),
  forbidden: (detail = 'this route is for admins') =>
    new AppError({ code: 'forbidden', status: 403, title: 'Forbidden', detail }),
  conflict: (code: string, field: string, detail: string) =>
    new AppError({ code, status: 409, title: 'Conflict', detail, errors: [{ field, message: detail }] }),
  insufficientCredit: (
    field: string,
    credit: { balance: string; limit: string; available: string },
    required: string,
  ) =>
    new AppError({
      code: 'insufficient_credit',
      status: 422,
      title: 'Insufficient credit',
      detail: `this debit needs ${required}; the account has ${credit.available} available (balance ${credit.balance}, limit ${credit.limit})`,
      errors: [{ field, message: `exceeds the ${credit.available} available` }],
      extensions: { ...credit, required },
    }),
  creditBalanceTooLarge: (field: string) =>
    new AppError({
      code: 'credit_balance_too_large',
      status: 422,
      title: 'Balance too large',
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
      status: 429,
      title: 'Too many requests',
      detail,
      headers: { 'retry-after': String(Math.max(1, retryAfterSeconds)) },
    }),
  databaseUnavailable: (cause?: unknown) =>
    new AppError({
      code: 'database_unavailable',
      status: 503,
      title: 'Database unavailable',
      detail: 'the database is unavailable; retry shortly',
      headers: { 'retry-after': '2' },
      cause,
    }),
  cacheUnavailable: (cause?: unknown) =>
    new AppError({
      code: 'cache_unavailable',
      status: 503,
      title: 'Cache unavailable',
      detail: 'the cache (Redis) is unavailable; retry shortly',
      headers: { 'retry-after': '2' },
      cause,
    }),
  internal: (cause?: unknown) =>
    new AppError({
      code: 'internal_error',
      status: 500,
      title: 'Internal error',
      detail: 'an unexpected error occurred',
      cause,
    }),
} as const;
