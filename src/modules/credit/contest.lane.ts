import type { Lane } from '../../http/hot-reads.ts';
import { getLane, JSON_TYPE, jsonPostLane, whenReady } from '../../http/lanes.ts';
import type { Logger } from '../../platform/logger.ts';
import {
  clientNotFound,
  statementOf,
  TransactionInput,
  transactionAnswer,
  unprocessable,
} from './contest.contract.ts';
import type { CreditRepository } from './credit.repository.ts';

/** The contest's id from a canonical URL, when it is one Params accepts. */
const clientId = (pattern: RegExp) => (url: string) => {
  const m = pattern.exec(url);
  const id = m ? Number(m[1]) : 0;
  return id >= 1 && id <= 2_147_483_647 ? id : undefined;
};

/**
 * The Rinha de Backend 2024/Q1 routes in the server's listener
 * (http/lanes.ts), answered with the contract's own functions
 * (contest.contract.ts); anything else, and any body the route's schema
 * refuses, is answered by the Fastify routes (contest.routes.ts).
 */
export function contestLanes(credit: CreditRepository, log: Logger): Lane[] {
  return [
    jsonPostLane<number, TransactionInput>({
      route: '/clientes/:id/transacoes',
      params: clientId(/^\/clientes\/([1-9][0-9]{0,9})\/transacoes$/),
      body: TransactionInput,
      adjust: unprocessable,
      log,
      handle: (id, { valor, tipo, descricao }) =>
        whenReady(credit.contestPost(id, tipo, valor, descricao), (result) => ({
          status: 200,
          contentType: JSON_TYPE,
          body: JSON.stringify(transactionAnswer(result, id)),
        })),
    }),
    getLane<number>({
      route: '/clientes/:id/extrato',
      params: clientId(/^\/clientes\/([1-9][0-9]{0,9})\/extrato$/),
      adjust: unprocessable,
      log,
      handle: (id) =>
        whenReady(credit.contestStatement(id), (account) => {
          if (!account) throw clientNotFound(id);
          return { status: 200, contentType: JSON_TYPE, body: JSON.stringify(statementOf(account)) };
        }),
    }),
  ];
}
