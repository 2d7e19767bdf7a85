import type { IncomingMessage } from 'node:http';
import type { TSchema } from 'typebox';
import type { AppError } from '../errors.ts';
import type { Logger } from '../platform/logger.ts';
import type { Lane, LaneReply } from './hot-reads.ts';
import { problemBody, toAppError } from './problem.ts';
import { validatorCompiler } from './validation.ts';

/** What a lane's handler answers; a thrown error is answered as its problem. */
export interface LaneAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** At once when the handler needs no I/O (no promise to wait for), else later. */
export type LaneOutcome = LaneAnswer | Promise<LaneAnswer>;

/** `f` of a value that may still be on its way: applied at once when it is already here. */
export const whenReady = <T, R>(value: T | Promise<T>, f: (v: T) => R): R | Promise<R> =>
  value instanceof Promise ? value.then(f) : f(value);

export const JSON_TYPE = 'application/json; charset=utf-8';
const PROBLEM_TYPE = 'application/problem+json; charset=utf-8';
/** Bodies of known length up to this are read by a lane; a larger one goes to Fastify and its body limit. */
const MAX_BODY = 4096;

interface LaneOptions<P> {
  /** The route template, as the log and the histogram name it. */
  route: string;
  /** The URL's parameters when the URL is the route's canonical form, else undefined (Fastify answers). */
  params(url: string): P | undefined;
  /** How this route tells its problems (the Rinha 2024/Q1 routes answer 422 where armazem answers 400). */
  adjust?: (problem: AppError) => AppError;
  log: Logger;
}

/** Answers `run`'s outcome, or its error as the problem Fastify's error handler would send. */
function answer(reply: LaneReply, req: IncomingMessage, o: LaneOptions<unknown>, run: () => LaneOutcome) {
  const refuse = (err: unknown) => {
    const problem = (o.adjust ?? ((p) => p))(toAppError(err as Error));
    if (problem.status >= 500)
      o.log.error({ err: problem.cause ?? err, code: problem.code }, problem.message);
    reply.send(
      problem.status,
      PROBLEM_TYPE,
      JSON.stringify(problemBody(problem, req.url as string, reply.requestId)),
      problem.headers,
    );
  };
  const send = (a: LaneAnswer) => reply.send(a.status, a.contentType, a.body);
  let outcome: LaneOutcome;
  try {
    outcome = run();
  } catch (err) {
    return refuse(err);
  }
  if (outcome instanceof Promise) outcome.then(send, refuse);
  else send(outcome);
}

/**
 * A JSON POST served in the listener (http/hot-reads.ts): its canonical URL
 * with a JSON body of known length is read here and checked with the route's
 * own body schema, compiled by the same validator Fastify uses; a body that
 * does not parse or validate is replayed through Fastify, which answers it
 * as the route does, so no refusal is written twice.
 */
export function jsonPostLane<P, B>(
  o: LaneOptions<P> & { body: TSchema; handle(params: P, body: B): LaneOutcome },
): Lane {
  const validate = validatorCompiler({ schema: o.body, method: 'POST', url: o.route, httpPart: 'body' }) as (
    data: unknown,
  ) => boolean;
  return {
    route: o.route,
    take(req, headers) {
      if (req.method !== 'POST' || headers.transferEncoding !== undefined) return undefined;
      const type = headers.contentType?.toLowerCase();
      if (type !== 'application/json' && type !== JSON_TYPE) return undefined;
      const length = Number(headers.contentLength);
      if (!(length >= 1 && length <= MAX_BODY)) return undefined;
      const params = o.params(req.url as string);
      return params === undefined ? undefined : (reply) => read(req, reply, params);
    },
  };
  function read(req: IncomingMessage, reply: LaneReply, params: P): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return reply.pass(raw);
      }
      if (!validate(body)) return reply.pass(raw);
      answer(reply, req, o as LaneOptions<unknown>, () => o.handle(params, body as B));
    });
  }
}

/** A GET without a body or query, served in the listener from its canonical URL. */
export function getLane<P>(o: LaneOptions<P> & { handle(params: P): LaneOutcome }): Lane {
  return {
    route: o.route,
    take(req, headers) {
      if (
        req.method !== 'GET' ||
        headers.contentLength !== undefined ||
        headers.transferEncoding !== undefined
      )
        return undefined;
      const params = o.params(req.url as string);
      return params === undefined
        ? undefined
        : (reply) => answer(reply, req, o as LaneOptions<unknown>, () => o.handle(params));
    },
  };
}
