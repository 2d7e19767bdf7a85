/**
 * The closed catalogue of the `code`s armazem answers in problem+json: each
 * with its HTTP status, the problem's title and what it means to a client.
 * `AppError` takes only these codes, so a new one must be added here, where
 * `npm run docs:generate` turns the list into docs/errors.md and the OpenAPI
 * document lists it on the Problem schema.
 */
export interface ErrorSpec {
  status: number;
  title: string;
  meaning: string;
}

export const ERROR_CODES = {
  validation_failed: {
    status: 400,
    title: 'Invalid request',
    meaning:
      'A field of the body, query, path or a header breaks the route’s schema; `errors` names each (`body.price`, `query.cursor`). The Rinha 2024/Q1 routes answer it with 422, as their contract asks.',
  },
  malformed_body: {
    status: 400,
    title: 'Malformed body',
    meaning:
      'The body is not JSON, is empty while declared as JSON, or its length differs from Content-Length.',
  },
  malformed_request: {
    status: 400,
    title: 'Malformed request',
    meaning: 'Not valid HTTP/1.1, or a path that cannot be decoded (bad percent-encoding).',
  },
  unsupported_media_type: {
    status: 415,
    title: 'Unsupported media type',
    meaning: 'A body that is not `application/json`.',
  },
  body_too_large: {
    status: 413,
    title: 'Body too large',
    meaning: 'The body exceeds `BODY_LIMIT_BYTES`; the detail says the limit.',
  },
  request_timeout: {
    status: 408,
    title: 'Request timeout',
    meaning: 'The request did not arrive in full in time.',
  },
  uri_too_long: {
    status: 414,
    title: 'URI too long',
    meaning: 'The request line, or one path segment (over 100 characters), is too long.',
  },
  headers_too_large: {
    status: 431,
    title: 'Headers too large',
    meaning: 'The request line and headers exceed 16 KiB together.',
  },
  request_rejected: {
    status: 400,
    title: 'Request rejected',
    meaning:
      'The HTTP framework refused the request for a reason no other code names; it keeps the 4xx status the framework chose, and the detail says why.',
  },
  route_not_found: {
    status: 404,
    title: 'Not found',
    meaning: 'No route answers this method and path (nginx says the same of `/metrics`).',
  },
  product_not_found: {
    status: 404,
    title: 'Product not found',
    meaning: 'No product has this id.',
  },
  customer_not_found: {
    status: 404,
    title: 'Customer not found',
    meaning: 'No customer has this id — or it is not yours: another customer’s id gets the same answer.',
  },
  order_not_found: {
    status: 404,
    title: 'Order not found',
    meaning: 'No order has this id, or it belongs to another customer.',
  },
  payment_not_found: {
    status: 404,
    title: 'Payment not found',
    meaning: 'No payment has this correlationId, or it pays another customer’s order.',
  },
  credit_account_not_found: {
    status: 404,
    title: 'Credit account not found',
    meaning: 'A store-credit post found no account for the customer it names.',
  },
  cliente_not_found: {
    status: 404,
    title: 'Cliente not found',
    meaning: 'The Rinha 2024/Q1 routes: no contest client has this id.',
  },
  unauthenticated: {
    status: 401,
    title: 'Unauthenticated',
    meaning: 'The route needs `Authorization: Bearer <access token>` and none was sent.',
  },
  invalid_token: {
    status: 401,
    title: 'Invalid token',
    meaning: 'The access token is malformed, tampered with or not ours, or its account was erased.',
  },
  token_expired: {
    status: 401,
    title: 'Token expired',
    meaning: 'The access token has expired: refresh it (`POST /auth/refresh`).',
  },
  invalid_credentials: {
    status: 401,
    title: 'Invalid credentials',
    meaning: 'Login: the email or the password is wrong (the answer does not say which).',
  },
  invalid_refresh_token: {
    status: 401,
    title: 'Invalid refresh token',
    meaning:
      'The refresh token is unknown, expired, revoked or already used (a reused one revokes its whole family), or its account was erased.',
  },
  forbidden: {
    status: 403,
    title: 'Forbidden',
    meaning: 'An admin route called by a customer, or an admin posting to their own credit account.',
  },
  email_taken: {
    status: 409,
    title: 'Email taken',
    meaning: 'Another account already uses this email.',
  },
  product_in_use: {
    status: 409,
    title: 'Product in use',
    meaning: 'Orders refer to the product, so it cannot be deleted; set its stock to 0 instead.',
  },
  out_of_stock: {
    status: 409,
    title: 'Out of stock',
    meaning:
      'An item asks for more units than the product has left; `errors` names the line and what is left.',
  },
  concurrent_update: {
    status: 409,
    title: 'Concurrent update',
    meaning:
      'The `optimistic` strategy: the products changed under the order more times than `ORDER_OPTIMISTIC_RETRIES`; retry (Retry-After says when).',
  },
  order_not_changeable: {
    status: 409,
    title: 'Order not changeable',
    meaning: 'Only a reserved order’s quantities can change.',
  },
  order_not_cancellable: {
    status: 409,
    title: 'Order not cancellable',
    meaning: 'The order is already final (paid, cancelled, rejected or payment_failed).',
  },
  order_not_payable: {
    status: 409,
    title: 'Order not payable',
    meaning: 'Only a reserved order can be paid.',
  },
  order_being_paid: {
    status: 409,
    title: 'Order being paid',
    meaning: 'A card payment of the order is under way; it decides the order.',
  },
  correlation_id_reused: {
    status: 409,
    title: 'correlationId reused',
    meaning: 'This correlationId was accepted with another amount (the same amount again is a harmless 202).',
  },
  idempotency_key_reused: {
    status: 409,
    title: 'Idempotency-Key reused',
    meaning:
      'This Idempotency-Key was used for a different request; the same request again replays its answer.',
  },
  credit_limit_below_balance: {
    status: 409,
    title: 'Limit below what is owed',
    meaning: 'A credit limit cannot be set below what the customer already owes.',
  },
  insufficient_credit: {
    status: 422,
    title: 'Insufficient credit',
    meaning:
      'A debit (or paying an order with store credit) would take the balance below −limit; the problem carries the balance, limit, available and required amounts.',
  },
  credit_balance_too_large: {
    status: 422,
    title: 'Balance too large',
    meaning: 'A credit would take the balance over the largest an account may hold.',
  },
  stock_too_large: {
    status: 422,
    title: 'Stock too large',
    meaning: 'The stock, with the units orders hold, would exceed 2,147,483,647.',
  },
  order_total_too_large: {
    status: 422,
    title: 'Order total too large',
    meaning: 'The order’s total would exceed 999,999,999,999.99.',
  },
  rate_limited: {
    status: 429,
    title: 'Too many requests',
    meaning:
      'Login attempts over their per-IP or per-email limit, or (from nginx) store requests over the per-client rate; Retry-After says when to retry.',
  },
  internal_error: {
    status: 500,
    title: 'Internal error',
    meaning: 'A bug: the body says nothing more; the log line with the same requestId does.',
  },
  database_unavailable: {
    status: 503,
    title: 'Database unavailable',
    meaning: 'PostgreSQL cannot be reached; retry after Retry-After. The pool reconnects by itself.',
  },
  credit_account_busy: {
    status: 503,
    title: 'Credit account busy',
    meaning:
      'The store-credit account is held by another instance (CREDIT_JOURNAL_DIR) that did not let it go in time, or its journal cannot be written; retry after Retry-After.',
  },
  cache_unavailable: {
    status: 503,
    title: 'Cache unavailable',
    meaning: '`DELETE /cache/clear` while Redis cannot be reached; reads go on from the database.',
  },
  service_unavailable: {
    status: 503,
    title: 'Service unavailable',
    meaning: 'From nginx: no instance could answer.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The codes answered with one status, e.g. `CodeWithStatus<409>` for the conflicts. */
export type CodeWithStatus<S extends number> = {
  [C in ErrorCode]: (typeof ERROR_CODES)[C]['status'] extends S ? C : never;
}[ErrorCode];

/** What `ERRORS.notFound(resource, id)` names: the `<resource>_not_found` codes but the route's. */
export type NotFoundResource = Exclude<
  { [C in ErrorCode]: C extends `${infer R}_not_found` ? R : never }[ErrorCode],
  'route'
>;
