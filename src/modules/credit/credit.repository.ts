import type pg from 'pg';
import { ERRORS } from '../../errors.ts';
import { Batcher } from '../../platform/batcher.ts';
import { decimalFromCents } from './cents.ts';
import type { CreditAccount, CreditTransaction } from './credit.schemas.ts';

/** One credit or debit to apply. The account is a customer's, or a contest client's (ids 1–5). */
export interface PostRequest {
  account: { customerId: number } | { contestClientId: number };
  kind: 'c' | 'd';
  /** Cents, > 0. */
  amount: number;
  description: string;
  orderId?: number;
  idempotencyKey?: string;
}

export type PostOutcome =
  | 'applied'
  | 'replayed'
  | 'key_reused'
  | 'insufficient'
  | 'too_large'
  | 'not_found'
  /** Held in an instance's memory (credit_accounts.owner): nothing was done; see whileOwned. */
  | 'owned';

/** Thrown where an account is held by an instance (credit_accounts.owner): whileOwned asks it to let go and tries again. */
export class AccountOwned extends Error {
  readonly account: PostRequest['account'];
  constructor(account: PostRequest['account']) {
    super('the credit account is held by an instance');
    this.account = account;
  }
}

/** What decides the contest routes' posts in memory (held-accounts.ts): at once, without a promise, when nothing has to be waited for. */
export interface ContestHolder {
  post(
    clientId: number,
    kind: 'c' | 'd',
    amount: number,
    description: string,
  ): PostResult | Promise<PostResult>;
  statement(clientId: number): StatementSource | null | Promise<StatementSource | null>;
  close(): Promise<void>;
}

/** How long a write waits for the instance holding an account to let it go, and the longest pause between tries. */
const RELEASE_WAIT_MS = 5_000;
const RELEASE_RETRY_MAX_MS = 100;

export interface PostResult {
  outcome: PostOutcome;
  transactionId: number | null;
  /** Cents: after the transaction when applied or replayed, else the balance that refused it. */
  balance: number | null;
  limit: number | null;
  createdAt: Date | null;
}

interface PostRow {
  outcome: PostOutcome;
  transaction_id: string | null;
  balance: string | null;
  credit_limit: string | null;
  created_at: Date | null;
}

interface TransactionRow {
  id: string | number;
  kind: 'c' | 'd';
  amount: string | number;
  description: string;
  balance_after: string | number;
  order_id: string | number | null;
  created_at: Date | string;
}

interface AccountRow {
  customer_id: string;
  credit_limit: string;
  balance: string;
  updated_at: Date;
  owner: string | null;
  recent: TransactionRow[];
}

/** The account as cents, with its newest transactions. */
export interface AccountState {
  customerId: number;
  limit: number;
  balance: number;
  updatedAt: Date;
  /** The instance life holding it (held-accounts.ts): the balance may be ahead of this one there. */
  heldBy: string | null;
  recent: Array<{
    id: number;
    kind: 'c' | 'd';
    amount: number;
    description: string;
    balanceAfter: number;
    orderId: number | null;
    createdAt: Date;
  }>;
}

/** What a statement shows of an account: from PostgreSQL, or from the instance holding it (held-accounts.ts). */
export type StatementSource = Pick<AccountState, 'balance' | 'limit'> & {
  recent: Array<Pick<AccountState['recent'][number], 'amount' | 'kind' | 'description' | 'createdAt'>>;
};

const toState = (r: AccountRow): AccountState => ({
  customerId: Number(r.customer_id),
  limit: Number(r.credit_limit),
  balance: Number(r.balance),
  updatedAt: r.updated_at,
  heldBy: r.owner,
  recent: r.recent.map(toEntry),
});

const toEntry = (t: TransactionRow) => ({
  id: Number(t.id),
  kind: t.kind,
  amount: Number(t.amount),
  description: t.description,
  balanceAfter: Number(t.balance_after),
  orderId: t.order_id === null ? null : Number(t.order_id),
  createdAt: new Date(t.created_at),
});

/** The API's view of a transaction. */
export const toTransaction = (e: AccountState['recent'][number]): CreditTransaction => ({
  id: e.id,
  type: e.kind === 'c' ? 'credit' : 'debit',
  amount: decimalFromCents(e.amount),
  description: e.description,
  balanceAfter: decimalFromCents(e.balanceAfter),
  orderId: e.orderId,
  createdAt: e.createdAt.toISOString(),
});

export const toAccount = (s: AccountState): CreditAccount => ({
  customerId: s.customerId,
  limit: decimalFromCents(s.limit),
  balance: decimalFromCents(s.balance),
  available: decimalFromCents(s.balance + s.limit),
  updatedAt: s.updatedAt.toISOString(),
  transactions: s.recent.map(toTransaction),
});

const TRANSACTION_COLUMNS = 'id, kind, amount, description, balance_after, order_id, created_at';

/**
 * An account and its 10 newest transactions, read in one snapshot. Sent
 * unprepared, like the history below, so PostgreSQL plans it at each call
 * with the table as it is then: a prepared statement's generic plan, made
 * while an account had a few transactions, read and sorted all of them on
 * every call (a bitmap scan), slower with each transaction (docs/decisions.md).
 */
const accountSql = (where: string) => `
  SELECT a.customer_id, a.credit_limit, a.balance, a.updated_at, a.owner,
         COALESCE((SELECT json_agg(json_build_object('id', t.id, 'kind', t.kind, 'amount', t.amount,
                                     'description', t.description, 'balance_after', t.balance_after,
                                     'order_id', t.order_id, 'created_at', t.created_at) ORDER BY t.id DESC)
                   FROM (SELECT ${TRANSACTION_COLUMNS} FROM credit_transactions
                         WHERE customer_id = a.customer_id ORDER BY id DESC LIMIT 10) t), '[]') AS recent
  FROM credit_accounts a WHERE ${where}`;

const ACCOUNT_SQL = accountSql('a.customer_id = $1');
const CONTEST_ACCOUNT_SQL = accountSql(
  'a.customer_id = (SELECT customer_id FROM credit_contest_clients WHERE client_id = $1)',
);

/**
 * Store credit: accounts and their transactions. Every change of a balance
 * goes through credit_post() (see its migration), in batches: concurrent
 * posts share one statement and one durable commit (Batcher).
 */
export class CreditRepository {
  private readonly db: pg.Pool;
  private readonly postDb: pg.Pool;
  private readonly batcher: Batcher<PostRequest, PostResult>;
  /** The contest routes' accounts held in this instance's memory (CREDIT_JOURNAL_DIR), when on. */
  private holder: ContestHolder | null = null;

  /** `postDb` applies the batches (default `db`); `onBatch` sees the size of each batch (a metric). */
  constructor(
    db: pg.Pool,
    opts: { maxBatch: number; concurrency: number; postDb?: pg.Pool; onBatch?: (size: number) => void },
  ) {
    this.db = db;
    this.postDb = opts.postDb ?? db;
    this.batcher = new Batcher((items) => this.postNow(this.postDb, items), opts);
  }

  /**
   * Opens `connections` connections on each pool the routes use and runs
   * their statements on every one, a credit and a debit rolled back: each
   * backend has then compiled credit_post() and planned what it runs, so the
   * first requests wait for neither a new connection nor a first plan.
   */
  async warm(connections: number, contestClientId: number): Promise<void> {
    const probe = (kind: 'c' | 'd'): PostRequest => ({
      account: { contestClientId },
      kind,
      amount: 1,
      description: 'warm-up',
    });
    for (const pool of new Set([this.db, this.postDb])) {
      const n = Math.min(connections, pool.options.max ?? connections);
      const clients = await Promise.all(Array.from({ length: n }, () => pool.connect()));
      try {
        await Promise.all(
          clients.map(async (c) => {
            await c.query('BEGIN');
            try {
              await this.postNow(c, [probe('c')]);
              await this.postNow(c, [probe('c'), probe('d')]);
              await c.query(CONTEST_ACCOUNT_SQL, [contestClientId]);
            } finally {
              await c.query('ROLLBACK');
            }
          }),
        );
      } finally {
        for (const c of clients) c.release();
      }
    }
  }

  /** The contest routes decide in this instance's memory from now on (held-accounts.ts). */
  useHolder(holder: ContestHolder): void {
    this.holder = holder;
  }

  /** Whether the contest routes' accounts are held in this instance's memory. */
  get holding(): boolean {
    return this.holder !== null;
  }

  /** A contest client's post: decided by the holder when there is one, else in PostgreSQL. */
  contestPost(
    clientId: number,
    kind: 'c' | 'd',
    amount: number,
    description: string,
  ): PostResult | Promise<PostResult> {
    return this.holder
      ? this.holder.post(clientId, kind, amount, description)
      : this.post({ account: { contestClientId: clientId }, kind, amount, description });
  }

  /** A contest client's statement: from the holder when there is one, else from PostgreSQL. */
  contestStatement(clientId: number): StatementSource | null | Promise<StatementSource | null> {
    return this.holder ? this.holder.statement(clientId) : this.unheldContestAccount(clientId);
  }

  /** A contest client's account from PostgreSQL, once no instance holds it (a holder's balance may be ahead). */
  unheldContestAccount(clientId: number): Promise<AccountState | null> {
    return this.whileOwned(async () => {
      const state = await this.contestAccount(clientId);
      if (state?.heldBy) throw new AccountOwned({ contestClientId: clientId });
      return state;
    });
  }

  /** Sends what the holder decided and lets its accounts go. */
  async close(): Promise<void> {
    await this.holder?.close();
  }

  /** Applies one transaction, batched with those that arrive meanwhile. */
  post(request: PostRequest): Promise<PostResult> {
    return this.whileOwned(async () => {
      const result = await this.batcher.submit(request);
      if (result.outcome === 'owned') throw new AccountOwned(request.account);
      return result;
    });
  }

  /**
   * Runs `attempt` until it does not throw AccountOwned: each time, the
   * instance holding the account is asked to let it go (it sends its journal
   * first) and the attempt waits a little longer. 503 after RELEASE_WAIT_MS.
   */
  async whileOwned<T>(attempt: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + RELEASE_WAIT_MS;
    for (let tries = 0; ; tries++) {
      try {
        return await attempt();
      } catch (err) {
        if (!(err instanceof AccountOwned)) throw err;
        if (Date.now() >= deadline)
          throw ERRORS.creditAccountBusy('another instance holds this account and did not let it go in time');
        await this.requestRelease(err.account);
        await new Promise((r) => setTimeout(r, Math.min(RELEASE_RETRY_MAX_MS, 5 * 2 ** tries)));
      }
    }
  }

  /** Asks the instance holding the account, if any, to send its journal and let the account go. */
  async requestRelease(account: PostRequest['account']): Promise<void> {
    await this.db.query({
      name: 'credit_request_release',
      text: `SELECT pg_notify('armazem_credit_release', a.customer_id::text) FROM credit_accounts a
             WHERE a.owner IS NOT NULL AND a.customer_id =
               coalesce($1::bigint, (SELECT customer_id FROM credit_contest_clients WHERE client_id = $2))`,
      values: [
        'customerId' in account ? account.customerId : null,
        'contestClientId' in account ? account.contestClientId : null,
      ],
    });
  }

  /** Applies transactions inside the caller's transaction (an order paid with credit). */
  async postNow(db: pg.Pool | pg.PoolClient, items: PostRequest[]): Promise<PostResult[]> {
    const { rows } = await db.query<PostRow>({
      name: 'credit_post',
      text: `SELECT r.outcome, r.transaction_id, r.balance, r.credit_limit, r.created_at
             FROM credit_post(
               ARRAY(SELECT coalesce(u.customer_id, m.customer_id)
                     FROM unnest($1::bigint[], $2::integer[]) WITH ORDINALITY AS u(customer_id, client_id, n)
                     LEFT JOIN credit_contest_clients m ON m.client_id = u.client_id ORDER BY u.n),
               $3::text[], $4::bigint[], $5::text[], $6::bigint[], $7::text[]) r
             ORDER BY r.idx`,
      values: [
        items.map((i) => ('customerId' in i.account ? i.account.customerId : null)),
        items.map((i) => ('contestClientId' in i.account ? i.account.contestClientId : null)),
        items.map((i) => i.kind),
        items.map((i) => i.amount),
        items.map((i) => i.description),
        items.map((i) => i.orderId ?? null),
        items.map((i) => i.idempotencyKey ?? null),
      ],
    });
    return rows.map((r) => ({
      outcome: r.outcome,
      transactionId: r.transaction_id === null ? null : Number(r.transaction_id),
      balance: r.balance === null ? null : Number(r.balance),
      limit: r.credit_limit === null ? null : Number(r.credit_limit),
      createdAt: r.created_at,
    }));
  }

  async account(customerId: number): Promise<AccountState | null> {
    const { rows } = await this.db.query<AccountRow>({
      text: ACCOUNT_SQL,
      values: [customerId],
    });
    return rows[0] ? toState(rows[0]) : null;
  }

  /** The contest's statement: a contest client's account (ids 1–5), or null. */
  async contestAccount(clientId: number): Promise<AccountState | null> {
    const { rows } = await this.db.query<AccountRow>({
      text: CONTEST_ACCOUNT_SQL,
      values: [clientId],
    });
    return rows[0] ? toState(rows[0]) : null;
  }

  /** The order's credit payment, if it was paid with credit. */
  async transactionOfOrder(
    orderId: number,
    db: pg.Pool | pg.PoolClient = this.db,
  ): Promise<AccountState['recent'][number] | null> {
    const { rows } = await db.query<TransactionRow>({
      name: 'credit_transaction_of_order',
      text: `SELECT ${TRANSACTION_COLUMNS} FROM credit_transactions WHERE order_id = $1`,
      values: [orderId],
    });
    return rows[0] ? toEntry(rows[0]) : null;
  }

  /** Newest first; `from` inclusive, `to` exclusive; keyset on the id (the order of application); unprepared, as accountSql. */
  async history(f: {
    customerId: number;
    from?: string;
    to?: string;
    beforeId?: number;
    limit: number;
  }): Promise<AccountState['recent']> {
    const { rows } = await this.db.query<TransactionRow>({
      text: `SELECT ${TRANSACTION_COLUMNS} FROM credit_transactions
             WHERE customer_id = $1
               AND ($2::timestamptz IS NULL OR created_at >= $2)
               AND ($3::timestamptz IS NULL OR created_at < $3)
               AND ($4::bigint IS NULL OR id < $4)
             ORDER BY id DESC LIMIT $5`,
      values: [f.customerId, f.from ?? null, f.to ?? null, f.beforeId ?? null, f.limit],
    });
    return rows.map(toEntry);
  }

  /** A new limit, refused while the balance is below −limit (the invariant would break). */
  async setLimit(
    customerId: number,
    limit: number,
  ): Promise<
    | { kind: 'updated'; account: AccountState }
    | { kind: 'not_found' }
    | { kind: 'below_balance'; balance: number }
  > {
    const r = await this.whileOwned(async () => {
      const { rows } = await this.db.query<{
        updated: boolean;
        balance: string | null;
        owned: boolean | null;
      }>({
        name: 'credit_set_limit',
        text: `WITH u AS (UPDATE credit_accounts SET credit_limit = $2, updated_at = now()
                          WHERE customer_id = $1 AND owner IS NULL AND balance >= -$2::bigint RETURNING 1)
               SELECT EXISTS (SELECT 1 FROM u) AS updated, a.balance, a.owner IS NOT NULL AS owned
               FROM (SELECT 1) one LEFT JOIN credit_accounts a ON a.customer_id = $1`,
        values: [customerId, limit],
      });
      const row = rows[0];
      // An instance holds the balance (it may be ahead of the row), or took it while this ran.
      const allowed = row?.balance != null && Number(row.balance) >= -limit;
      if (row && !row.updated && (row.owned || allowed)) throw new AccountOwned({ customerId });
      return row;
    });
    if (r?.updated) return { kind: 'updated', account: (await this.account(customerId)) as AccountState };
    if (r?.balance === null || r?.balance === undefined) return { kind: 'not_found' };
    return { kind: 'below_balance', balance: Number(r.balance) };
  }

  /**
   * The invariant, for every account: balance = Σ credits − Σ debits,
   * balance ≥ −limit, and each transaction's balanceAfter follows from the
   * one before it.
   */
  async check(): Promise<{
    checked: number;
    mismatches: Array<{
      customerId: number;
      balance: number;
      limit: number;
      sum: number;
      brokenLinks: number;
    }>;
  }> {
    const { rows } = await this.db.query<{
      customer_id: string;
      balance: string;
      credit_limit: string;
      total: string;
      broken: string;
      checked: string;
    }>(
      `WITH chain AS (
         SELECT customer_id, balance_after, CASE kind WHEN 'c' THEN amount ELSE -amount END AS delta,
                lag(balance_after, 1, 0::bigint) OVER (PARTITION BY customer_id ORDER BY id) AS before
         FROM credit_transactions),
       per AS (
         SELECT customer_id, sum(delta) AS total, count(*) FILTER (WHERE before + delta <> balance_after) AS broken
         FROM chain GROUP BY customer_id)
       SELECT a.customer_id, a.balance, a.credit_limit, COALESCE(p.total, 0) AS total, COALESCE(p.broken, 0) AS broken,
              count(*) OVER () AS checked
       FROM credit_accounts a LEFT JOIN per p USING (customer_id)`,
    );
    const all = rows.map((r) => ({
      customerId: Number(r.customer_id),
      balance: Number(r.balance),
      limit: Number(r.credit_limit),
      sum: Number(r.total),
      brokenLinks: Number(r.broken),
    }));
    return {
      checked: all.length,
      mismatches: all.filter((a) => a.balance !== a.sum || a.balance < -a.limit || a.brokenLinks > 0),
    };
  }
}
