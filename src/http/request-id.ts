import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';
// A caller's id (nginx's $request_id, another service's) is kept only when it
// is safe to put in a log line and a header.
const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's id when it sent a safe one, else a new one. */
export function requestIdFrom(incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' && SAFE_ID.test(incoming) ? incoming : randomUUID();
}

export function requestIdFor(req: IncomingMessage): string {
  return requestIdFrom(req.headers[REQUEST_ID_HEADER]);
}
