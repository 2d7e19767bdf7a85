import { Type } from 'typebox';
import { AppError, ERRORS } from '../../errors.ts';
import type { AppInstance } from '../../http/app-instance.ts';
import { problemHandler } from '../../http/problem.ts';
import { ProblemResponses } from '../../http/problem-schema.ts';
import type { CreditRepository } from './credit.repository.ts';

/**
 * The Rinha de Backend 2024/Q1 contract, exactly: `/clientes/{id}/…` on the
 * contest clients' store-credit accounts (the same rows the native API
 * reads), amounts in integer cents, no login. Served only when
 * CREDIT_CONTEST_ROUTES is on.
 */
const Params = Type.Object(
  { id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) },
  { additionalProperties: false },
);

const TransactionInput = Type.Object(
  {
    valor: Type.Integer({ minimum: 1, maximum: 1_000_000_000_000, description: 'Cents' }),
    tipo: Type.Union([Type.Literal('c'), Type.Literal('d')]),
    descricao: Type.String({ minLength: 1, maxLength: 10 }),
  },
  { additionalProperties: false },
);

const Statement = Type.Object({
  saldo: Type.Object({
    total: Type.Integer(),
    data_extrato: Type.String({ format: 'date-time' }),
    limite: Type.Integer(),
  }),
  ultimas_transacoes: Type.Array(
    Type.Object({
      valor: Type.Integer(),
      tipo: Type.String(),
      descricao: Type.String(),
      realizada_em: Type.String({ format: 'date-time' }),
    }),
  ),
});

const clientNotFound = (id: number) => ERRORS.notFound('cliente', id);

/** The contest answers 422 for a body outside its specification, where armazem answers 400. */
const unprocessable = (p: AppError) => (p.code === 'validation_failed' ? p.withStatus(422) : p);

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
          response: {
            200: Type.Object({ limite: Type.Integer(), saldo: Type.Integer() }),
            ...ProblemResponses,
          },
        },
      },
      async (request) => {
        const { valor, tipo, descricao } = request.body;
        const result = await credit.post({
          account: { contestClientId: request.params.id },
          kind: tipo,
          amount: valor,
          description: descricao,
        });
        switch (result.outcome) {
          case 'applied':
            return { limite: result.limit as number, saldo: result.balance as number };
          case 'not_found':
            throw clientNotFound(request.params.id);
          case 'too_large':
            throw ERRORS.creditBalanceTooLarge('body.valor');
          default:
            throw new AppError({
              code: 'insufficient_credit',
              detail: 'this debit would take the balance below the limit',
              errors: [{ field: 'body.valor', message: 'exceeds the balance plus the limit' }],
              extensions: { saldo: result.balance, limite: result.limit },
            });
        }
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
        const account = await credit.contestAccount(request.params.id);
        if (!account) throw clientNotFound(request.params.id);
        return {
          saldo: { total: account.balance, data_extrato: new Date().toISOString(), limite: account.limit },
          ultimas_transacoes: account.recent.map((t) => ({
            valor: t.amount,
            tipo: t.kind,
            descricao: t.description,
            realizada_em: t.createdAt.toISOString(),
          })),
        };
      },
    );
  });
}
