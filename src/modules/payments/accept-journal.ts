import type pg from 'pg';
import type { Config } from '../../config.ts';
import { Journal, type JournalOptions } from '../../platform/journal.ts';
import type { Logger } from '../../platform/logger.ts';
import { namedStatement } from '../../platform/named-statement.ts';

export interface JournalEntry {
  correlationId: string;
  amount: string;
  acceptedAtMs: number;
}

export type AcceptJournalOptions = Omit<JournalOptions, 'name'>;

const LINE = /^([0-9a-f-]{36}) ([0-9]{1,12}(?:\.[0-9]{1,2})?) ([0-9]{1,15})$/;
/** Rows per INSERT: one statement's parameters stay small whatever a backlog holds. */
const CHUNK = 5_000;

const insertAccepted = namedStatement<{ ids: string[]; amounts: string[]; at: number[] }>(
  'payment_accept_journal',
  `INSERT INTO payments (correlation_id, amount, created_at, updated_at, next_attempt_at)
   SELECT id, amount, to_timestamp(ms / 1000), to_timestamp(ms / 1000), to_timestamp(ms / 1000)
     FROM unnest($ids::uuid[], $amounts::numeric[], $at::float8[]) AS a(id, amount, ms)
   ON CONFLICT (correlation_id) DO NOTHING
   RETURNING correlation_id`,
);

const CODEC = {
  encode: (e: JournalEntry) => `${e.correlationId} ${e.amount} ${e.acceptedAtMs.toString()}`,
  decode: (line: string): JournalEntry | null => {
    const match = LINE.exec(line);
    return match
      ? { correlationId: match[1] as string, amount: match[2] as string, acceptedAtMs: Number(match[3]) }
      : null;
  },
  key: (e: JournalEntry) => e.correlationId,
};

/**
 * Accepts payments into this instance's journal (platform/journal.ts,
 * PAYMENTS_JOURNAL_DIR) and sends them to PostgreSQL in batches: one
 * INSERT per flush, committed with the WAL flush (the batch, not each
 * accept, waits for it). The same correlationId is refused while it waits
 * here; once in PostgreSQL, a reuse is found at the insert (ON CONFLICT) and
 * the first accept stands — see docs/decisions.md.
 */
export class AcceptJournal {
  private readonly journal: Journal<JournalEntry>;
  private readonly db: pg.Pool;
  private readonly log: Logger;
  /** Called after a flush that inserted new accepts. */
  private readonly onInserted: () => void;

  constructor(db: pg.Pool, opts: AcceptJournalOptions, log: Logger, onInserted: () => void) {
    this.db = db;
    this.log = log;
    this.onInserted = onInserted;
    this.journal = new Journal(
      { name: 'payments journal', ...opts },
      CODEC,
      { send: (e) => this.send(e) },
      log,
    );
  }

  /** Takes up what a previous life of this instance left, and starts looking for instances that are gone. */
  open(): number {
    return this.journal.open();
  }

  get pendingCount(): number {
    return this.journal.pendingCount;
  }

  find(correlationId: string): JournalEntry | undefined {
    return this.journal.find(correlationId);
  }

  /** Synchronous: once it returns 'accepted', the accept is in the file. */
  accept(correlationId: string, amount: string): 'accepted' | 'duplicate' | 'conflict' | 'unavailable' {
    const known = this.journal.find(correlationId);
    if (known) return Number(known.amount) === Number(amount) ? 'duplicate' : 'conflict';
    const written = this.journal.append({ correlationId, amount, acceptedAtMs: Date.now() });
    return written === 'written' ? 'accepted' : 'unavailable';
  }

  /** Forgets every accept not yet sent (a purge of the payments); a batch already on its way lands first. */
  discard(): Promise<void> {
    return this.journal.discard();
  }

  /** Sends everything still here; later accepts are refused as 'unavailable'. */
  close(): Promise<void> {
    return this.journal.close();
  }

  private async send(entries: JournalEntry[]): Promise<void> {
    let inserted = 0;
    for (let at = 0; at < entries.length; at += CHUNK) {
      inserted += await this.insert(entries.slice(at, at + CHUNK));
    }
    if (inserted > 0) this.onInserted();
  }

  /** Inserts one chunk; returns how many were new. A correlationId already in PostgreSQL keeps its first accept. */
  private async insert(entries: JournalEntry[]): Promise<number> {
    const { rows } = await this.db.query<{ correlation_id: string }>(
      insertAccepted({
        ids: entries.map((e) => e.correlationId),
        amounts: entries.map((e) => e.amount),
        at: entries.map((e) => e.acceptedAtMs),
      }),
    );
    if (rows.length < entries.length) {
      const inserted = new Set(rows.map((r) => r.correlation_id));
      const reused = entries.filter((e) => !inserted.has(e.correlationId)).map((e) => e.correlationId);
      this.log.warn(
        { reused: reused.slice(0, 20), count: reused.length },
        'payments journal: correlationIds already accepted',
      );
    }
    return rows.length;
  }
}

/** The accepts in a segment's text; a line cut short (the machine stopped mid-write) is not one. */
export function parseSegment(text: string): JournalEntry[] {
  return text.split('\n').flatMap((line) => CODEC.decode(line) ?? []);
}

/** Starts accepting into a journal under PAYMENTS_JOURNAL_DIR, in this instance's own directory. */
export function openAcceptJournal(
  deps: {
    config: Config;
    db: { pool: pg.Pool };
    log: Logger;
    payments: { accepted(): void; useJournal(journal: AcceptJournal): void };
  },
  root: string,
): AcceptJournal {
  const { config } = deps;
  const journal = new AcceptJournal(
    deps.db.pool,
    {
      root,
      instance: config.INSTANCE_ID.replace(/[^A-Za-z0-9._-]/g, '_'),
      flushMs: config.PAYMENTS_JOURNAL_FLUSH_MS,
      maxPending: config.PAYMENTS_JOURNAL_MAX_PENDING,
      orphanMs: config.PAYMENTS_JOURNAL_ORPHAN_MS,
    },
    deps.log,
    () => deps.payments.accepted(),
  );
  journal.open();
  deps.payments.useJournal(journal);
  return journal;
}
