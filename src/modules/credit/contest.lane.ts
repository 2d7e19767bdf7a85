import type { IncomingMessage } from 'node:http';
import type { Lane, LaneReply } from '../../http/hot-reads.ts';
import { problemBody, toAppError } from '../../http/problem.ts';
import { validatorCompiler } from '../../http/validation.ts';
import type { Logger } from '../../platform/logger.ts';
import {
  clientNotFound,
  statementOf,
  TransactionInput,
  transactionAnswer,
  unprocessable,
} from './contest.contract.ts';
import type { CreditRepository } from './credit.repository.ts';

const POST_URL = /^\/clientes\/([1-9][0-9]{0,9})\/transacoes$/;
const STATEMENT_URL = /^\/clientes\/([1-9][0-9]{0,9})\/extrato$/;
const JSON_TYPE = 'application/json; charset=utf-8';
const PROBLEM_TYPE = 'application/problem+json; charset=utf-8';
/** Far above any body the contract allows; a larger one goes to Fastify and its body limit. */
const MAX_BODY = 1024;

/** The contest's id from a URL, when it is one Params accepts; else undefined (Fastify answers). */
function clientId(pattern: RegExp, url: string | undefined): number | undefined {
  const m = pattern.exec(url ?? '');
  const id = m ? Number(m[1]) : 0;
  return id >= 1 && id <= 2_147_483_647 ? id : undefined;
}

/**
 * The Rinha de Backend 2024/Q1 routes in the server's listener (http/hot-reads.ts):
 * a canonical URL, and for a post a JSON body of known length, are served
 * here with the contract's own functions (contest.contract.ts) and the
 * route's own validator; a body that does not parse or validate is handed
 * to Fastify, which answers it as the route does. Everything else never
 * leaves Fastify.
 */
export function contestLanes(credit: CreditRepository, log: Logger): Lane[] {
  const validate = validatorCompiler({
    schema: TransactionInput,
    method: 'POST',
    url: '/clientes/:id/transacoes',
    httpPart: 'body',
  }) as (data: unknown) => boolean;

  const fail = (reply: LaneReply, url: string, err: unknown) => {
    const problem = unprocessable(toAppError(err as Error));
    if (problem.status >= 500) log.error({ err: problem.cause ?? err, code: problem.code }, problem.message);
    reply.send(
      problem.status,
      PROBLEM_TYPE,
      JSON.stringify(problemBody(problem, url, reply.requestId)),
      problem.headers,
    );
  };

  const post: Lane = {
    route: '/clientes/:id/transacoes',
    matches(req) {
      if (req.method !== 'POST' || req.headers['transfer-encoding'] !== undefined) return false;
      const type = req.headers['content-type']?.toLowerCase();
      if (type !== 'application/json' && type !== JSON_TYPE) return false;
      const length = Number(req.headers['content-length']);
      return length >= 1 && length <= MAX_BODY && clientId(POST_URL, req.url) !== undefined;
    },
    serve(req, reply) {
      const id = clientId(POST_URL, req.url) as number;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        let input: unknown;
        try {
          input = JSON.parse(body.toString('utf8'));
        } catch {
          return reply.pass(body);
        }
        if (!validate(input)) return reply.pass(body);
        const { valor, tipo, descricao } = input as TransactionInput;
        credit
          .post({ account: { contestClientId: id }, kind: tipo, amount: valor, description: descricao })
          .then((result) => reply.send(200, JSON_TYPE, JSON.stringify(transactionAnswer(result, id))))
          .catch((err: unknown) => fail(reply, req.url as string, err));
      });
    },
  };

  const statement: Lane = {
    route: '/clientes/:id/extrato',
    matches: (req: IncomingMessage) =>
      req.method === 'GET' &&
      req.headers['content-length'] === undefined &&
      req.headers['transfer-encoding'] === undefined &&
      clientId(STATEMENT_URL, req.url) !== undefined,
    serve(req, reply) {
      const id = clientId(STATEMENT_URL, req.url) as number;
      credit
        .contestAccount(id)
        .then((account) => {
          if (!account) throw clientNotFound(id);
          reply.send(200, JSON_TYPE, JSON.stringify(statementOf(account)));
        })
        .catch((err: unknown) => fail(reply, req.url as string, err));
    },
  };

  return [post, statement];
}
