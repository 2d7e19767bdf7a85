import type { AppInstance } from '../../http/app-instance.ts';
import { problemHandler } from '../../http/problem.ts';
import { ProblemResponses } from '../../http/problem-schema.ts';
import {
  clientNotFound,
  Params,
  Statement,
  statementOf,
  TransactionAnswer,
  TransactionInput,
  transactionAnswer,
  unprocessable,
} from './contest.contract.ts';
import type { CreditRepository } from './credit.repository.ts';

/**
 * The Rinha de Backend 2024/Q1 routes (contest.contract.ts), without login as
 * in the contest, on the same rows the native API reads. Served only when
 * CREDIT_CONTEST_ROUTES is on; most requests are answered by the listener's
 * lane (contest.lane.ts), and these routes answer the rest and document them.
 */
export function contestRoutes(app: AppInstance, { credit }: { credit: CreditRepository }): void {
  app.register(async (contest: AppInstance) => {
    contest.setErrorHandler(problemHandler(unprocessable));

    contest.post(
      '/clientes/:id/transacoes',
      {
        schema: {
          tags: ['rinha-2024'],
          summary: 'Rinha de Backend 2024/Q1: a credit (c) or debit (d) in cents; 422 past the limit',
          params: Params,
          body: TransactionInput,
          response: { 200: TransactionAnswer, ...ProblemResponses },
        },
      },
      async (request) => {
        const { valor, tipo, descricao } = request.body;
        const result = await credit.contestPost(request.params.id, tipo, valor, descricao);
        return transactionAnswer(result, request.params.id);
      },
    );

    contest.get(
      '/clientes/:id/extrato',
      {
        schema: {
          tags: ['rinha-2024'],
          summary: 'Rinha de Backend 2024/Q1: balance, limit and the 10 newest transactions',
          params: Params,
          response: { 200: Statement, ...ProblemResponses },
        },
      },
      async (request) => {
        const account = await credit.contestStatement(request.params.id);
        if (!account) throw clientNotFound(request.params.id);
        return statementOf(account);
      },
    );
  });
}
