import { type Static, Type } from 'typebox';
import { ERRORS } from '../../errors.ts';
import type { AppInstance } from '../../http/app-instance.ts';
import { assertOwnerOrAdmin, authenticate, BEARER, type Principal, requireAdmin } from '../../http/auth.ts';
import { decodeCursor, toPage } from '../../http/cursor.ts';
import { IdempotencyHeaders } from '../../http/idempotency.ts';
import { ProblemResponses } from '../../http/problem-schema.ts';
import { assertRange } from '../../http/range.ts';
import { CustomerId } from '../customers/customers.schemas.ts';
import { centsFromInput, decimalFromCents } from './cents.ts';
import { type CreditRepository, type PostResult, toAccount, toTransaction } from './credit.repository.ts';
import {
  AMOUNT_DIGITS,
  CreditAccount,
  CreditCheck,
  CreditHistoryQuery,
  CreditLimitInput,
  CreditTransaction,
  CreditTransactionPage,
  LIMIT_DIGITS,
  PostCreditTransactionInput,
} from './credit.schemas.ts';

export interface CreditDeps {
  credit: CreditRepository;
}

const Params = Type.Object({ id: CustomerId }, { additionalProperties: false });

/** 422 for a debit past the limit, with the account's figures (cents in, decimals out). */
export function insufficientCredit(field: string, balance: number, limit: number, required: number): Error {
  return ERRORS.insufficientCredit(
    field,
    {
      balance: decimalFromCents(balance),
      limit: decimalFromCents(limit),
      available: decimalFromCents(balance + limit),
    },
    decimalFromCents(required),
  );
}

/** The problem for a refused post, or nothing when it went through. */
export function refusal(result: PostResult, amountField: string, required: number): Error | null {
  switch (result.outcome) {
    case 'applied':
    case 'replayed':
      return null;
    case 'insufficient':
      return insufficientCredit(amountField, result.balance as number, result.limit as number, required);
    case 'too_large':
      return ERRORS.creditBalanceTooLarge(amountField);
    case 'key_reused':
      return ERRORS.idempotencyKeyReused();
    case 'not_found':
      return ERRORS.notFound('credit_account', 'of this customer');
    case 'owned':
      return ERRORS.creditAccountBusy('an instance holds this account');
  }
}

export function creditRoutes(app: AppInstance, { credit }: CreditDeps): void {
  const accountOf = async (customerId: number) => {
    const state = await credit.account(customerId);
    if (!state) throw ERRORS.notFound('customer', customerId);
    return toAccount(state);
  };

  const historyOf = async (customerId: number, q: Static<typeof CreditHistoryQuery>) => {
    assertRange(q.from, q.to);
    const rows = await credit.history({
      customerId,
      ...(q.from ? { from: q.from } : {}),
      ...(q.to ? { to: q.to } : {}),
      ...(q.cursor ? { beforeId: decodeCursor(q.cursor) } : {}),
      limit: q.limit + 1,
    });
    return toPage(rows.map(toTransaction), q.limit);
  };

  const ownedBy = (user: Principal, id: number) => assertOwnerOrAdmin(user, id, 'customer', id);

  app.register(async (owned: AppInstance) => {
    owned.addHook('onRequest', authenticate);

    owned.get(
      '/customers/me/credit',
      {
        schema: {
          tags: ['credit'],
          summary: 'My store credit: limit, balance, and the 10 newest transactions',
          security: BEARER,
          response: { 200: CreditAccount, ...ProblemResponses },
        },
      },
      async (request) => accountOf(request.user.customerId),
    );

    owned.get(
      '/customers/me/credit/transactions',
      {
        schema: {
          tags: ['credit'],
          summary: 'My store-credit history, newest first, by date range',
          security: BEARER,
          querystring: CreditHistoryQuery,
          response: { 200: CreditTransactionPage, ...ProblemResponses },
        },
      },
      async (request) => historyOf(request.user.customerId, request.query),
    );

    owned.get(
      '/customers/:id/credit',
      {
        schema: {
          tags: ['credit'],
          summary: 'A customer’s store credit (the customer themself or an admin)',
          security: BEARER,
          params: Params,
          response: { 200: CreditAccount, ...ProblemResponses },
        },
      },
      async (request) => {
        ownedBy(request.user, request.params.id);
        return accountOf(request.params.id);
      },
    );

    owned.get(
      '/customers/:id/credit/transactions',
      {
        schema: {
          tags: ['credit'],
          summary: 'A customer’s store-credit history (the customer themself or an admin)',
          security: BEARER,
          params: Params,
          querystring: CreditHistoryQuery,
          response: { 200: CreditTransactionPage, ...ProblemResponses },
        },
      },
      async (request) => {
        ownedBy(request.user, request.params.id);
        await accountOf(request.params.id);
        return historyOf(request.params.id, request.query);
      },
    );
  });

  app.register(async (admin: AppInstance) => {
    admin.addHook('onRequest', requireAdmin);

    admin.put(
      '/customers/:id/credit/limit',
      {
        schema: {
          tags: ['credit'],
          summary: 'Set a customer’s credit limit (admins); refused while the balance is below −limit',
          security: BEARER,
          params: Params,
          body: CreditLimitInput,
          response: { 200: CreditAccount, ...ProblemResponses },
        },
      },
      async (request) => {
        const id = request.params.id;
        const limit = centsFromInput(request.body.limit, 'body.limit', LIMIT_DIGITS);
        const result = await credit.setLimit(id, limit);
        if (result.kind === 'not_found') throw ERRORS.notFound('customer', id);
        if (result.kind === 'below_balance')
          throw ERRORS.conflict(
            'credit_limit_below_balance',
            'body.limit',
            `the balance is ${decimalFromCents(result.balance)}; the limit cannot be less than ${decimalFromCents(-result.balance)}`,
          );
        return toAccount(result.account);
      },
    );

    admin.post(
      '/customers/:id/credit/transactions',
      {
        schema: {
          tags: ['credit'],
          summary:
            'Credit or debit a customer’s account (admins, never their own); Idempotency-Key replays the first result',
          security: BEARER,
          params: Params,
          headers: IdempotencyHeaders,
          body: PostCreditTransactionInput,
          response: { 201: CreditTransaction, 200: CreditTransaction, ...ProblemResponses },
        },
      },
      async (request, reply) => {
        const id = request.params.id;
        if (id === request.user.customerId)
          throw ERRORS.forbidden('an admin cannot post to their own credit account');
        const amount = centsFromInput(request.body.amount, 'body.amount', AMOUNT_DIGITS);
        if (amount <= 0) throw ERRORS.invalidField('body.amount', 'must be greater than 0');
        const key = request.headers['idempotency-key'];
        const result = await credit.post({
          account: { customerId: id },
          kind: request.body.type === 'credit' ? 'c' : 'd',
          amount,
          description: request.body.description,
          ...(key ? { idempotencyKey: key } : {}),
        });
        if (result.outcome === 'not_found') throw ERRORS.notFound('customer', id);
        const refused = refusal(result, 'body.amount', amount);
        if (refused) throw refused;
        // A replay matched kind, amount and description, so this is the first answer again.
        const transaction: CreditTransaction = {
          id: result.transactionId as number,
          type: request.body.type,
          amount: decimalFromCents(amount),
          description: request.body.description,
          balanceAfter: decimalFromCents(result.balance as number),
          orderId: null,
          createdAt: (result.createdAt as Date).toISOString(),
        };
        const replayed = result.outcome === 'replayed';
        return reply
          .code(replayed ? 200 : 201)
          .header('location', `/customers/${id}/credit/transactions`)
          .header('idempotent-replayed', String(replayed))
          .send(transaction);
      },
    );

    admin.get(
      '/admin/credit-check',
      {
        schema: {
          tags: ['credit'],
          summary: 'Check every account: balance = Σ credits − Σ debits ≥ −limit, history consistent',
          security: BEARER,
          response: { 200: CreditCheck, ...ProblemResponses },
        },
      },
      async () => {
        const { checked, mismatches } = await credit.check();
        return {
          ok: mismatches.length === 0,
          checkedAccounts: checked,
          mismatches: mismatches.map((m) => ({
            customerId: m.customerId,
            balance: decimalFromCents(m.balance),
            limit: decimalFromCents(m.limit),
            sumOfTransactions: decimalFromCents(m.sum),
            brokenLinks: m.brokenLinks,
          })),
        };
      },
    );
  });
}
