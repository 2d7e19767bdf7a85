import { Type } from 'typebox';
import { AppError, ERRORS } from '../../errors.ts';
import type { PostResult, StatementSource } from './credit.repository.ts';

/**
 * The Rinha de Backend 2024/Q1 contract, exactly: `/clientes/{id}/…` on the
 * contest clients' store-credit accounts, amounts in integer cents. Shared
 * by the Fastify routes (contest.routes.ts) and the listener's lane
 * (contest.lane.ts), so both give the same answers.
 */
export const Params = Type.Object(
  { id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) },
  { additionalProperties: false },
);

export const TransactionInput = Type.Object(
  {
    valor: Type.Integer({ minimum: 1, maximum: 1_000_000_000_000, description: 'Cents' }),
    tipo: Type.Union([Type.Literal('c'), Type.Literal('d')]),
    descricao: Type.String({ minLength: 1, maxLength: 10 }),
  },
  { additionalProperties: false },
);
export type TransactionInput = Type.Static<typeof TransactionInput>;

export const TransactionAnswer = Type.Object({ limite: Type.Integer(), saldo: Type.Integer() });

export const Statement = Type.Object({
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

export const clientNotFound = (id: number) => ERRORS.notFound('cliente', id);

/** The contest answers 422 for a body outside its specification, where armazem answers 400. */
export const unprocessable = (p: AppError) => (p.code === 'validation_failed' ? p.withStatus(422) : p);

/** A post's answer: `{limite, saldo}` when applied; otherwise the problem, thrown. */
export function transactionAnswer(
  result: PostResult,
  clientId: number,
): Type.Static<typeof TransactionAnswer> {
  switch (result.outcome) {
    case 'applied':
      return { limite: result.limit as number, saldo: result.balance as number };
    case 'not_found':
      throw clientNotFound(clientId);
    case 'too_large':
      throw ERRORS.creditBalanceTooLarge('body.valor');
    case 'owned':
      throw ERRORS.creditAccountBusy('an instance holds this account');
    default:
      throw new AppError({
        code: 'insufficient_credit',
        detail: 'this debit would take the balance below the limit',
        errors: [{ field: 'body.valor', message: 'exceeds the balance plus the limit' }],
        extensions: { saldo: result.balance, limite: result.limit },
      });
  }
}

/** The statement of an account, as of now. */
export const statementOf = (account: StatementSource): Type.Static<typeof Statement> => ({
  saldo: { total: account.balance, data_extrato: new Date().toISOString(), limite: account.limit },
  ultimas_transacoes: account.recent.map((t) => ({
    valor: t.amount,
    tipo: t.kind,
    descricao: t.description,
    realizada_em: t.createdAt.toISOString(),
  })),
});
