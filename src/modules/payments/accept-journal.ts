import type pg from 'pg';
import type { Config } from '../../config.ts';
import { Journal, type JournalOptions } from '../../platform/journal.ts';
import type { Logger } from '../../platform/logger.ts';
import { namedStatement } from '../../platform/named-statement.ts';
import type { Claimed } from './claimed.ts';
import type { ProcessorName } from './processor-client.ts';
import { type OutcomeValues, RECORD_OUTCOMES } from './record-outcome.ts';

export interface JournalEntry {
  correlationId: string;
  amount: string;
  acceptedAtMs: number;
}

export type AcceptJournalOptions = Omit<JournalOptions, 'name'>;

/**
 * A worker in the same process that takes a batch as it is inserted: the
 * rows go in already pinned to its processor and leased to it (as its claim
 * would leave them), so the calls start when the INSERT commits, without a
 * claim's round trip or a wait for its next poll.
 */
export interface Handoff {
  /** How many of `count` new accepts the worker takes now (the first ones), and how; null: none. */
  offer(count: number): HandoffOffer | null;
  /** The rows it was offered that the INSERT created (a correlationId already in PostgreSQL is not one). */
  adopt(claimed: Claimed[]): void;
  /** Outcomes of adopted payments to record in the same statement as the next INSERT. */
  takeOutcomes(): RidingOutcomes | null;
}

export interface HandoffOffer {
  take: number;
  processor: ProcessorName;
  requestedAt: Date;
  leaseMs: number;
}

/** Outcomes for the next INSERT: `recorded` once it committed; `recordAlone` when it failed or none came in time. */
export interface RidingOutcomes {
  values: OutcomeValues;
  recorded(): void;
  recordAlone(): void;
}

const LINE = /^([0-9a-f-]{36}) ([0-9]{1,12}(?:\.[0-9]{1,2})?) ([0-9]{1,15})$/;
/** Rows per INSERT: one statement's parameters stay small whatever a backlog holds. */
const CHUNK = 5_000;

/** Rows past the first `$take` go in queued for the workers' polls; the first ones pinned and leased (see Handoff). */
interface InsertValues {
  accepted: string[];
  amounts: string[];
  at: number[];
  take: number;
  processor: ProcessorName | null;
  requestedAt: Date | null;
  leaseMs: number;
}
const INSERT_ACCEPTED = `INSERT INTO payments (correlation_id, amount, created_at, updated_at, next_attempt_at, status, processor,
                         requested_at, attempts)
   SELECT id, amount, to_timestamp(ms / 1000), to_timestamp(ms / 1000),
          CASE WHEN n <= $take THEN now() + make_interval(secs => $leaseMs::integer / 1000.0) ELSE to_timestamp(ms / 1000) END,
          CASE WHEN n <= $take THEN 'processing' ELSE 'queued' END,
          CASE WHEN n <= $take THEN $processor::text END,
          CASE WHEN n <= $take THEN $requestedAt::timestamptz END,
          CASE WHEN n <= $take THEN 1 ELSE 0 END
     FROM unnest($accepted::uuid[], $amounts::numeric[], $at::float8[]) WITH ORDINALITY AS a(id, amount, ms, n)
   ON CONFLICT (correlation_id) DO NOTHING
   RETURNING correlation_id, amount::text AS amount, status = 'processing' AS taken`;
const insertAccepted = namedStatement<InsertValues>('payment_accept_journal', INSERT_ACCEPTED);
/** With the outcomes of earlier handed-off calls recorded in the same commit; planned at each call, as the record is. */
const insertAndRecord = namedStatement<InsertValues & OutcomeValues>(
  'payment_accept_journal_record',
  `WITH recorded AS (${RECORD_OUTCOMES} RETURNING 1) ${INSERT_ACCEPTED}`,
  { planEachCall: true },
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
  /** Called after a flush that inserted new accepts for the workers' polls. */
  private readonly onInserted: () => void;
  private handoff: Handoff | null = null;

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

  /** A worker in this process takes new accepts as they are inserted (WORKER_IN_PROCESS). */
  useHandoff(handoff: Handoff): void {
    this.handoff = handoff;
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
    let queued = 0;
    for (let at = 0; at < entries.length; at += CHUNK) {
      queued += await this.insert(entries.slice(at, at + CHUNK));
    }
    if (queued > 0) this.onInserted();
  }

  /**
   * Inserts one chunk, the part the worker here takes pinned to its processor; returns how many
   * new rows were left queued. A correlationId already in PostgreSQL keeps its first accept.
   */
  private async insert(entries: JournalEntry[]): Promise<number> {
    const offer = this.handoff?.offer(entries.length) ?? null;
    const values: InsertValues = {
      accepted: entries.map((e) => e.correlationId),
      amounts: entries.map((e) => e.amount),
      at: entries.map((e) => e.acceptedAtMs),
      take: offer?.take ?? 0,
      processor: offer?.processor ?? null,
      requestedAt: offer?.requestedAt ?? null,
      leaseMs: offer?.leaseMs ?? 0,
    };
    const riding = this.handoff?.takeOutcomes() ?? null;
    let rows: Array<{ correlation_id: string; amount: string; taken: boolean }>;
    try {
      ({ rows } = await this.db.query<{ correlation_id: string; amount: string; taken: boolean }>(
        riding ? insertAndRecord({ ...values, ...riding.values }) : insertAccepted(values),
      ));
    } catch (err) {
      riding?.recordAlone();
      throw err;
    }
    riding?.recorded();
    if (rows.length < entries.length) {
      const inserted = new Set(rows.map((r) => r.correlation_id));
      const reused = entries.filter((e) => !inserted.has(e.correlationId)).map((e) => e.correlationId);
      this.log.warn(
        { reused: reused.slice(0, 20), count: reused.length },
        'payments journal: correlationIds already accepted',
      );
    }
    const taken: Claimed[] = [];
    for (const r of rows) {
      if (!r.taken || !offer) continue;
      taken.push({
        attempts: 0,
        orderId: null,
        pinnedBefore: false,
        correlationId: r.correlation_id,
        amount: r.amount,
        processor: offer.processor,
        requestedAt: offer.requestedAt,
      });
    }
    if (taken.length > 0) this.handoff?.adopt(taken);
    return rows.length - taken.length;
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
