import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Config } from '../../config.ts';
import { ERRORS } from '../../errors.ts';
import { Journal, type JournalOptions } from '../../platform/journal.ts';
import type { Logger } from '../../platform/logger.ts';
import { namedStatement } from '../../platform/named-statement.ts';
import type { CreditRepository, PostResult, StatementSource } from './credit.repository.ts';

/** A transaction decided in memory, as written to the journal and sent to PostgreSQL. */
interface Entry {
  id: string;
  /** The tag of the instance's life that decided it (Journal.tag): the account's owner when it was decided. */
  owner: string;
  customerId: number;
  kind: 'c' | 'd';
  amount: number;
  balanceAfter: number;
  atMs: number;
  description: string;
}

/** An account this instance holds: its balance may be ahead of PostgreSQL's by the journal's unsent entries. */
interface Held extends StatementSource {
  clientId: number;
  customerId: number;
  /** While the account is being let go: requests for it wait, then go to PostgreSQL. */
  releasing: Promise<void> | null;
}

export type HeldAccountsOptions = Omit<JournalOptions, 'name' | 'maxPending'>;

const MAX_BALANCE = 1_000_000_000_000_000;
const RECENT = 10;
/** Entries held at most; beyond, posts answer 503 until PostgreSQL takes a batch. */
const MAX_PENDING = 100_000;
/**
 * After letting an account go, this instance sends its requests for it to
 * PostgreSQL for this long instead of taking it again at once, so whoever
 * asked gets its turn.
 */
const RELEASE_HOLD_MS = 250;
/** How long a request waits for another instance to let an account go, and the longest pause between tries. */
const ACQUIRE_WAIT_MS = 5_000;
const ACQUIRE_RETRY_MAX_MS = 100;
const CHANNEL = 'armazem_credit_release';

const LINE =
  /^([0-9a-f-]{36}) (\S+) ([0-9]{1,19}) ([cd]) ([0-9]{1,15}) (-?[0-9]{1,19}) ([0-9]{1,15}) (".*")$/;

const CODEC = {
  encode: (e: Entry) =>
    `${e.id} ${e.owner} ${e.customerId} ${e.kind} ${e.amount} ${e.balanceAfter} ${e.atMs} ${JSON.stringify(e.description)}`,
  decode: (line: string): Entry | null => {
    const m = LINE.exec(line);
    if (!m) return null;
    let description: unknown;
    try {
      description = JSON.parse(m[8] as string);
    } catch {
      return null;
    }
    return typeof description === 'string'
      ? {
          id: m[1] as string,
          owner: m[2] as string,
          customerId: Number(m[3]),
          kind: m[4] as 'c' | 'd',
          amount: Number(m[5]),
          balanceAfter: Number(m[6]),
          atMs: Number(m[7]),
          description,
        }
      : null;
  },
  key: (e: Entry) => e.id,
};

/**
 * Takes a contest client's account for this life of the instance (or finds
 * it already taken by it), and says who holds it otherwise. A row locked by
 * a write in flight is waited for, so the balance read next is the last one.
 */
const acquireStatement = namedStatement<{ clientId: number; tag: string }>(
  'credit_acquire',
  `WITH m AS (SELECT customer_id FROM credit_contest_clients WHERE client_id = $clientId),
        u AS (UPDATE credit_accounts a SET owner = $tag FROM m
              WHERE a.customer_id = m.customer_id AND (a.owner IS NULL OR a.owner = $tag)
              RETURNING a.customer_id)
   SELECT m.customer_id, EXISTS (SELECT 1 FROM u) AS taken,
          (SELECT owner FROM credit_accounts WHERE customer_id = m.customer_id) AS owner
   FROM m`,
);

/**
 * A batch of entries, each applied only while its decider still holds the
 * account, once (journal_id), in the order decided; each account's balance
 * becomes its last entry's balance_after.
 */
const applyStatement = namedStatement<{
  ids: string[];
  owners: string[];
  accounts: number[];
  kinds: string[];
  amounts: number[];
  descriptions: string[];
  after: number[];
  at: number[];
}>(
  'credit_apply_journal',
  `WITH e AS (SELECT * FROM unnest($ids::uuid[], $owners::text[], $accounts::bigint[], $kinds::text[],
                                   $amounts::bigint[], $descriptions::text[], $after::bigint[], $at::float8[])
                       WITH ORDINALITY AS e(jid, owner, account, kind, amount, descr, after, ms, n)),
        ok AS (SELECT e.* FROM e JOIN credit_accounts a ON a.customer_id = e.account AND a.owner = e.owner),
        ins AS (INSERT INTO credit_transactions (customer_id, kind, amount, description, balance_after, created_at, journal_id)
                SELECT account, kind, amount, descr, after, to_timestamp(ms / 1000.0), jid FROM ok ORDER BY n
                ON CONFLICT (journal_id) WHERE journal_id IS NOT NULL DO NOTHING
                RETURNING id, customer_id, balance_after),
        upd AS (UPDATE credit_accounts a SET balance = l.balance_after, updated_at = now()
                FROM (SELECT DISTINCT ON (customer_id) customer_id, balance_after FROM ins ORDER BY customer_id, id DESC) l
                WHERE a.customer_id = l.customer_id)
   SELECT (SELECT count(*) FROM ok)::int AS held`,
);

/**
 * The contest routes' accounts held in this instance's memory
 * (CREDIT_JOURNAL_DIR): a post is decided against the held balance, written
 * to the instance's journal (platform/journal.ts) and answered; the journal
 * sends batches to PostgreSQL. While an instance holds an account
 * (credit_accounts.owner is its life's tag) nothing else changes it:
 * credit_post() answers 'owned', and the writer NOTIFYs armazem_credit_release;
 * the holder sends its journal, clears the owner and, for RELEASE_HOLD_MS,
 * sends its own requests for that account to PostgreSQL. Another instance
 * that wants an account asks the same way. An account whose holder died
 * stays held until its journal is sent — by its next start, or by another
 * instance that takes the dead one's directory over — which then clears it.
 */
export class HeldAccounts {
  private readonly held = new Map<number, Held>();
  private readonly byCustomer = new Map<number, Held>();
  private readonly acquiring = new Map<number, Promise<Held | 'not_found'>>();
  /** Accounts let go lately, by client id, until when their requests go to PostgreSQL. */
  private readonly holdOff = new Map<number, number>();
  private readonly journal: Journal<Entry>;
  private listener: pg.Client | null = null;
  private closed = false;
  private readonly db: pg.Pool;
  private readonly credit: CreditRepository;
  private readonly log: Logger;

  constructor(db: pg.Pool, credit: CreditRepository, opts: HeldAccountsOptions, log: Logger) {
    this.db = db;
    this.credit = credit;
    this.log = log;
    this.journal = new Journal(
      { name: 'credit journal', maxPending: MAX_PENDING, ...opts },
      CODEC,
      {
        send: (entries) => this.apply(entries),
        orphanDrained: (tags) => this.releaseLives(tags),
        // The taker lets those accounts go once it has sent what they held; this life takes them again then.
        lifeEnded: () => {
          this.held.clear();
          this.byCustomer.clear();
        },
      },
      log,
    );
  }

  /** Takes up what a previous life left (sent, then its accounts let go) and listens for release requests. */
  async open(): Promise<void> {
    this.journal.open();
    await this.listen();
  }

  /** A contest post: decided here, at once when this instance holds the account, or once it takes it. */
  post(
    clientId: number,
    kind: 'c' | 'd',
    amount: number,
    description: string,
  ): PostResult | Promise<PostResult> {
    const held = this.held.get(clientId);
    return held && !held.releasing && !this.closed
      ? this.decide(held, kind, amount, description)
      : this.postAfterWaiting(clientId, kind, amount, description);
  }

  /** A contest statement: from memory when held here (at once), else from PostgreSQL. */
  statement(clientId: number): StatementSource | null | Promise<StatementSource | null> {
    const held = this.held.get(clientId);
    return held && !held.releasing ? held : this.statementAfterWaiting(clientId);
  }

  /** Every other case: takes the account (or waits while it is let go), or sends the post to PostgreSQL. */
  private async postAfterWaiting(
    clientId: number,
    kind: 'c' | 'd',
    amount: number,
    description: string,
  ): Promise<PostResult> {
    for (;;) {
      const held = await this.hold(clientId);
      if (held === 'not_found')
        return { outcome: 'not_found', transactionId: null, balance: null, limit: null, createdAt: null };
      // Closing: nothing more goes into the journal; PostgreSQL takes it once this instance lets go.
      if (held === 'elsewhere' || this.closed)
        return this.credit.post({ account: { contestClientId: clientId }, kind, amount, description });
      if (held.releasing) {
        await held.releasing;
        continue;
      }
      return this.decide(held, kind, amount, description);
    }
  }

  /** Every other case: takes the account (or waits while it is let go), or reads PostgreSQL. */
  private async statementAfterWaiting(clientId: number): Promise<StatementSource | null> {
    for (;;) {
      const held = await this.hold(clientId);
      if (held === 'not_found') return null;
      if (held === 'elsewhere') return this.credit.unheldContestAccount(clientId);
      if (held.releasing) {
        await held.releasing;
        continue;
      }
      return held;
    }
  }

  /** Sends the journal and lets every held account go; what cannot be sent stays for a taker. */
  async close(): Promise<void> {
    this.closed = true;
    const listener = this.listener;
    this.listener = null;
    await listener?.end().catch(() => {});
    const sent = await this.journal.flushNow();
    let released = false;
    if (sent) {
      try {
        await this.releaseLives([this.journal.tag]);
        released = true;
      } catch (err) {
        this.log.warn(
          { err },
          'credit journal: could not let the accounts go; the next start or another instance will',
        );
      }
    }
    // Left in place when not released, so that its heartbeat ages and a taker lets the accounts go.
    await this.journal.close(!released);
  }

  private decide(held: Held, kind: 'c' | 'd', amount: number, description: string): PostResult {
    const balance = held.balance + (kind === 'c' ? amount : -amount);
    const refused = (outcome: 'insufficient' | 'too_large'): PostResult => ({
      outcome,
      transactionId: null,
      balance: held.balance,
      limit: held.limit,
      createdAt: null,
    });
    if (balance < -held.limit) return refused('insufficient');
    if (balance > MAX_BALANCE) return refused('too_large');
    const entry: Entry = {
      id: randomUUID(),
      owner: this.journal.tag,
      customerId: held.customerId,
      kind,
      amount,
      balanceAfter: balance,
      atMs: Date.now(),
      description,
    };
    if (this.journal.append(entry) === 'unavailable')
      throw ERRORS.creditAccountBusy('this instance cannot write its journal');
    const createdAt = new Date(entry.atMs);
    held.balance = balance;
    held.recent.unshift({ kind, amount, description, createdAt });
    if (held.recent.length > RECENT) held.recent.length = RECENT;
    return { outcome: 'applied', transactionId: null, balance, limit: held.limit, createdAt };
  }

  /** The account held here, 'elsewhere' while this instance just let it go, or 'not_found'. */
  private async hold(clientId: number): Promise<Held | 'elsewhere' | 'not_found'> {
    const held = this.held.get(clientId);
    if (held) return held;
    if ((this.holdOff.get(clientId) ?? 0) > Date.now() || this.closed) return 'elsewhere';
    let acquiring = this.acquiring.get(clientId);
    if (!acquiring) {
      acquiring = this.acquire(clientId).finally(() => this.acquiring.delete(clientId));
      this.acquiring.set(clientId, acquiring);
    }
    return acquiring;
  }

  /** Takes the account: at once when free; when held by another life, once it lets go (or is found dead and sent). */
  private async acquire(clientId: number): Promise<Held | 'not_found'> {
    const deadline = Date.now() + ACQUIRE_WAIT_MS;
    for (let tries = 0; ; tries++) {
      const { rows } = await this.db.query<{ customer_id: string; taken: boolean; owner: string | null }>(
        acquireStatement({ clientId, tag: this.journal.tag }),
      );
      const row = rows[0];
      if (!row) return 'not_found';
      const customerId = Number(row.customer_id);
      if (row.taken) {
        // Nobody else writes it now: this read is the balance to start from.
        const state = await this.credit.account(customerId);
        if (!state) return 'not_found';
        const held: Held = {
          clientId,
          customerId,
          balance: state.balance,
          limit: state.limit,
          recent: state.recent,
          releasing: null,
        };
        this.held.set(clientId, held);
        this.byCustomer.set(customerId, held);
        return held;
      }
      if (Date.now() >= deadline)
        throw ERRORS.creditAccountBusy('another instance holds this account and did not let it go in time');
      // A holder that is gone is taken over by the journal (which then lets its accounts go); a live one is asked.
      if (row.owner !== null && !this.journal.isAlive(row.owner)) this.journal.adoptOrphans();
      else await this.credit.requestRelease({ customerId });
      await new Promise((r) => setTimeout(r, Math.min(ACQUIRE_RETRY_MAX_MS, 5 * 2 ** tries)));
    }
  }

  /** Sends the journal, then clears the account's owner; its requests go to PostgreSQL for a while. */
  private release(held: Held): void {
    if (held.releasing) return;
    held.releasing = (async () => {
      try {
        if (!(await this.journal.flushNow())) throw new Error('the journal could not be sent');
        await this.db.query({
          name: 'credit_release',
          text: 'UPDATE credit_accounts SET owner = NULL WHERE customer_id = $1 AND owner = $2',
          values: [held.customerId, this.journal.tag],
        });
        this.held.delete(held.clientId);
        this.byCustomer.delete(held.customerId);
        this.holdOff.set(held.clientId, Date.now() + RELEASE_HOLD_MS);
      } catch (err) {
        // Still held: the one who asked asks again.
        this.log.warn({ err, customerId: held.customerId }, 'credit journal: could not let an account go');
      } finally {
        held.releasing = null;
      }
    })();
  }

  /** Lets go every account held by these lives, which are over and whose journals are sent. */
  private async releaseLives(tags: string[]): Promise<void> {
    await this.db.query({
      name: 'credit_release_lives',
      text: 'UPDATE credit_accounts SET owner = NULL WHERE owner = ANY($1::text[])',
      values: [tags],
    });
  }

  private async apply(entries: Entry[]): Promise<void> {
    const { rows } = await this.db.query<{ held: number }>(
      applyStatement({
        ids: entries.map((e) => e.id),
        owners: entries.map((e) => e.owner),
        accounts: entries.map((e) => e.customerId),
        kinds: entries.map((e) => e.kind),
        amounts: entries.map((e) => e.amount),
        descriptions: entries.map((e) => e.description),
        after: entries.map((e) => e.balanceAfter),
        at: entries.map((e) => e.atMs),
      }),
    );
    const applicable = rows[0]?.held ?? 0;
    // Cannot happen while only holders write and let go after sending: said loudly if it does.
    if (applicable < entries.length)
      this.log.error(
        { count: entries.length - applicable },
        'credit journal: entries of accounts their decider no longer holds were not applied',
      );
  }

  /**
   * A connection of its own, outside the pool (whose every connection the
   * warm-up opens), LISTENs for release requests; replaced with backoff when
   * the server drops it (meanwhile writers wait, then 503).
   */
  private async listen(attempt = 0): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client(this.db.options);
    try {
      client.on('notification', (n) => {
        const held = this.byCustomer.get(Number(n.payload));
        if (held) this.release(held);
      });
      client.on('error', (err) => {
        if (this.listener !== client) return;
        this.listener = null;
        void client.end().catch(() => {});
        this.log.warn(
          { err: { message: err.message } },
          'credit journal: LISTEN connection lost; reconnecting',
        );
        void this.listen();
      });
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      this.listener = client;
    } catch (err) {
      void client.end().catch(() => {});
      const delay = Math.min(5000, 100 * 2 ** attempt);
      this.log.warn(
        { err: { message: (err as Error).message }, retryInMs: delay },
        'credit journal: cannot LISTEN',
      );
      await new Promise((r) => setTimeout(r, delay).unref());
      return this.listen(attempt + 1);
    }
  }
}

/** Holds the contest routes' accounts in this instance's memory, with its journal under `root` (CREDIT_JOURNAL_DIR). */
export async function openHeldAccounts(
  deps: { config: Config; db: { pool: pg.Pool }; credit: CreditRepository; log: Logger },
  root: string,
): Promise<HeldAccounts> {
  const { config } = deps;
  const held = new HeldAccounts(
    deps.db.pool,
    deps.credit,
    {
      root,
      instance: config.INSTANCE_ID.replace(/[^A-Za-z0-9._-]/g, '_'),
      flushMs: config.CREDIT_JOURNAL_FLUSH_MS,
      orphanMs: config.CREDIT_JOURNAL_ORPHAN_MS,
    },
    deps.log,
  );
  await held.open();
  deps.credit.useHolder(held);
  return held;
}
