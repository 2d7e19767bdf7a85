import { type Static, Type } from 'typebox';

/** Amounts up to 10 billion (12 integer digits), limits up to 100 billion: far inside bigint cents. */
export const AMOUNT_DIGITS = 10;
export const LIMIT_DIGITS = 11;
const Money = (digits: number, description: string) =>
  Type.Union(
    [
      Type.String({ pattern: `^(0|[1-9][0-9]{0,${digits - 1}})(\\.[0-9]{1,2})?$` }),
      Type.Number({ minimum: 0, maximum: 10 ** digits }),
    ],
    { description: `${description}: a decimal string ("19.90"), or a JSON number with at most 2 decimals` },
  );

export const CreditTransaction = Type.Object({
  id: Type.Integer(),
  type: Type.Union([Type.Literal('credit'), Type.Literal('debit')]),
  amount: Type.String({ description: 'Exact decimal', examples: ['19.90'] }),
  description: Type.String(),
  balanceAfter: Type.String({ description: 'The balance right after this transaction' }),
  orderId: Type.Union([Type.Integer(), Type.Null()], { description: 'The order this debit paid' }),
  createdAt: Type.String({ format: 'date-time' }),
});
export type CreditTransaction = Static<typeof CreditTransaction>;

export const CreditAccount = Type.Object({
  customerId: Type.Integer(),
  limit: Type.String({ description: 'How far below zero the balance may go', examples: ['1000.00'] }),
  balance: Type.String({ examples: ['-12.50'] }),
  available: Type.String({ description: 'balance + limit: the most a debit can take now' }),
  updatedAt: Type.String({ format: 'date-time' }),
  transactions: Type.Array(CreditTransaction, { description: 'The 10 newest, newest first' }),
});
export type CreditAccount = Static<typeof CreditAccount>;

export const CreditTransactionPage = Type.Object({
  items: Type.Array(CreditTransaction),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

export const CreditHistoryQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Inclusive' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Exclusive' })),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' })),
  },
  { additionalProperties: false },
);

export const CreditLimitInput = Type.Object(
  { limit: Money(LIMIT_DIGITS, 'The new limit') },
  { additionalProperties: false },
);

export const PostCreditTransactionInput = Type.Object(
  {
    type: Type.Union([Type.Literal('credit'), Type.Literal('debit')]),
    amount: Money(AMOUNT_DIGITS, 'Greater than 0'),
    description: Type.String({ minLength: 1, maxLength: 200 }),
  },
  { additionalProperties: false },
);

export const CreditCheck = Type.Object({
  ok: Type.Boolean(),
  checkedAccounts: Type.Integer(),
  mismatches: Type.Array(
    Type.Object({
      customerId: Type.Integer(),
      balance: Type.String(),
      limit: Type.String(),
      sumOfTransactions: Type.String({
        description: 'Σ credits − Σ debits; equals the balance when consistent',
      }),
      brokenLinks: Type.Integer({
        description: 'Transactions whose balanceAfter is not the previous one’s plus their amount',
      }),
    }),
  ),
});
