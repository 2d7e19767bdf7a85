import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import type { Config } from '../../config.ts';
import type { Logger } from '../../platform/logger.ts';
import { namedStatement } from '../../platform/named-statement.ts';

export interface JournalEntry {
  correlationId: string;
  amount: string;
  acceptedAtMs: number;
}

/** A file of accepts; sealed once a flush takes it, deleted once its accepts are in PostgreSQL. */
interface Segment {
  path: string;
  fd: number | null;
  entries: JournalEntry[];
}

export interface AcceptJournalOptions {
  /** Holds a directory per instance. */
  root: string;
  /** This instance's directory under root: no other live process may write to it. */
  instance: string;
  flushMs: number;
  maxPending: number;
  /** A directory whose heartbeat is older than this is an instance that is gone: its accepts are taken over. */
  orphanMs: number;
}

const SEGMENT = /^(\d{12})\.jnl$/;
const LINE = /^([0-9a-f-]{36}) ([0-9]{1,12}(?:\.[0-9]{1,2})?) ([0-9]{1,15})$/;
/** Rows per INSERT: one statement's parameters stay small whatever a backlog holds. */
const CHUNK = 5_000;
const MAX_BACKOFF_MS = 1_000;
const HEARTBEAT = 'alive';

const insertAccepted = namedStatement<{ ids: string[]; amounts: string[]; at: number[] }>(
  'payment_accept_journal',
  `INSERT INTO payments (correlation_id, amount, created_at, updated_at, next_attempt_at)
   SELECT id, amount, to_timestamp(ms / 1000), to_timestamp(ms / 1000), to_timestamp(ms / 1000)
     FROM unnest($ids::uuid[], $amounts::numeric[], $at::float8[]) AS a(id, amount, ms)
   ON CONFLICT (correlation_id) DO NOTHING
   RETURNING correlation_id`,
);

/**
 * Accepts payments into an append-only file of this instance and sends them
 * to PostgreSQL in batches (PAYMENTS_JOURNAL_DIR). `write(2)` puts an accept
 * in the kernel's page cache before the 2xx, so it survives SIGKILL of the
 * process: the next start of the same instance replays what is left, and
 * if that instance does not come back (its heartbeat file ages past
 * PAYMENTS_JOURNAL_ORPHAN_MS), another one under the same root moves its
 * segments into its own directory and sends them. Each
 * flush seals the current segment, inserts every sealed segment's accepts in
 * one statement (committed with the WAL flush: the batch, not each accept,
 * waits for it) and deletes the segments. The same correlationId is refused
 * while it waits here; once in PostgreSQL, a reuse is found at the insert
 * (ON CONFLICT) and the first accept stands — see docs/decisions.md.
 */
export class AcceptJournal {
  private current: Segment | null = null;
  private sealed: Segment[] = [];
  /** Accepts not yet in PostgreSQL, by correlationId. */
  private readonly pending = new Map<string, JournalEntry>();
  private nextSegment = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private failures = 0;
  private closed = false;
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly dir: string;
  private readonly db: pg.Pool;
  private readonly opts: AcceptJournalOptions;
  private readonly log: Logger;
  /** Called after a flush that inserted new accepts. */
  private readonly onInserted: () => void;

  constructor(db: pg.Pool, opts: AcceptJournalOptions, log: Logger, onInserted: () => void) {
    this.db = db;
    this.opts = opts;
    this.log = log;
    this.onInserted = onInserted;
    this.dir = join(opts.root, opts.instance);
  }

  /**
   * Takes up the segments a previous life of this instance left (they go out
   * with the first flush) and starts its heartbeat, which also looks for
   * instances that are gone.
   */
  open(): number {
    mkdirSync(this.dir, { recursive: true });
    this.beat();
    const recovered = this.adopt(this.dir);
    if (recovered > 0)
      this.log.warn({ recovered }, 'payments journal: replaying accepts a previous run left');
    const every = Math.max(10, Math.min(1_000, Math.floor(this.opts.orphanMs / 3)));
    this.heartbeat = setInterval(() => {
      try {
        this.beat();
        this.adoptOrphans();
      } catch (err) {
        // The directory gone or unwritable: accepts answer 503 from the next write on; the process stays up.
        this.log.error({ err }, 'payments journal: heartbeat failed');
      }
    }, every);
    this.heartbeat.unref();
    return recovered;
  }

  /** Moves the segments of instances whose heartbeat stopped into this one's; returns how many accepts. */
  adoptOrphans(): number {
    let adopted = 0;
    for (const name of readdirSync(this.opts.root)) {
      if (name === this.opts.instance) continue;
      const dir = join(this.opts.root, name);
      try {
        if (Date.now() - statSync(join(dir, HEARTBEAT)).mtimeMs < this.opts.orphanMs) continue;
      } catch {
        // No heartbeat: a directory that is not an instance's, or one that closed cleanly.
        continue;
      }
      adopted += this.adopt(dir);
    }
    if (adopted > 0)
      this.log.warn({ adopted }, 'payments journal: sending the accepts of an instance that is gone');
    return adopted;
  }

  /** Seals the segments found in `dir`, renamed into this instance's own (one rename wins if two instances try). */
  private adopt(dir: string): number {
    let found = 0;
    let names: string[];
    try {
      names = readdirSync(dir)
        .filter((name) => SEGMENT.test(name))
        .sort();
    } catch {
      return 0;
    }
    for (const name of names) {
      let path = join(dir, name);
      if (dir !== this.dir) {
        const own = this.segmentPath();
        try {
          renameSync(path, own);
        } catch {
          continue;
        }
        path = own;
      } else {
        this.nextSegment = Math.max(this.nextSegment, Number(SEGMENT.exec(name)?.[1]) + 1);
      }
      // An accept already waiting here keeps its first amount.
      const entries = parseSegment(readFileSync(path, 'utf8')).filter(
        (e) => !this.pending.has(e.correlationId),
      );
      for (const entry of entries) this.pending.set(entry.correlationId, entry);
      this.sealed.push({ path, fd: null, entries });
      found += entries.length;
    }
    if (found > 0 || names.length > 0) this.schedule(0);
    return found;
  }

  private beat(): void {
    const path = join(this.dir, HEARTBEAT);
    const now = new Date();
    try {
      utimesSync(path, now, now);
    } catch {
      writeFileSync(path, '');
    }
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  find(correlationId: string): JournalEntry | undefined {
    return this.pending.get(correlationId);
  }

  /** Synchronous: once it returns 'accepted', the accept is in the file. */
  accept(correlationId: string, amount: string): 'accepted' | 'duplicate' | 'conflict' | 'unavailable' {
    const known = this.pending.get(correlationId);
    if (known) return Number(known.amount) === Number(amount) ? 'duplicate' : 'conflict';
    if (this.closed || this.pending.size >= this.opts.maxPending) return 'unavailable';
    const entry = { correlationId, amount, acceptedAtMs: Date.now() };
    try {
      this.current ??= this.newSegment();
      writeSync(this.current.fd as number, `${correlationId} ${amount} ${entry.acceptedAtMs.toString()}\n`);
    } catch (err) {
      // A disk full or failing: the next accept starts a new file rather than follow a line cut short.
      this.log.error({ err }, 'payments journal: cannot write; answering 503');
      this.seal();
      return 'unavailable';
    }
    this.current.entries.push(entry);
    this.pending.set(correlationId, entry);
    this.schedule(this.opts.flushMs);
    return 'accepted';
  }

  /** Forgets every accept not yet sent (a purge of the payments); a batch already on its way lands first. */
  async discard(): Promise<void> {
    await this.flushing;
    this.seal();
    for (const segment of this.sealed) removeFile(segment.path);
    this.sealed = [];
    this.pending.clear();
  }

  /** Sends everything still here; later accepts are refused as 'unavailable'. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flushing;
    for (let attempt = 0; attempt < 5 && (this.sealed.length > 0 || this.current); attempt++) {
      await this.flush();
    }
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.pending.size > 0) {
      // The heartbeat ages from now: this instance's next start, or another's, sends them.
      this.log.warn({ pending: this.pending.size }, 'payments journal: accepts left for the next start');
      return;
    }
    removeFile(join(this.dir, HEARTBEAT));
    try {
      rmdirSync(this.dir);
    } catch {
      // Not empty (a segment appeared meanwhile) or already gone: it stays for the next start.
    }
  }

  private segmentPath(): string {
    return join(this.dir, `${(this.nextSegment++).toString().padStart(12, '0')}.jnl`);
  }

  private newSegment(): Segment {
    const path = this.segmentPath();
    return { path, fd: openSync(path, 'a'), entries: [] };
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.flushing || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, delayMs);
  }

  private seal(): void {
    if (!this.current) return;
    closeSync(this.current.fd as number);
    this.current.fd = null;
    this.sealed.push(this.current);
    this.current = null;
  }

  private async flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    this.seal();
    // A copy: segments adopted while this batch is out are not part of it.
    const batch = [...this.sealed];
    if (batch.length === 0) return;
    this.flushing = this.send(batch);
    await this.flushing;
    this.flushing = null;
    if (this.sealed.length > 0 || this.current) {
      this.schedule(
        this.failures === 0 ? this.opts.flushMs : Math.min(MAX_BACKOFF_MS, 20 * 2 ** this.failures),
      );
    }
  }

  private async send(batch: Segment[]): Promise<void> {
    const entries = batch.flatMap((segment) => segment.entries);
    try {
      let inserted = 0;
      for (let at = 0; at < entries.length; at += CHUNK) {
        inserted += await this.insert(entries.slice(at, at + CHUNK));
      }
      for (const segment of batch) removeFile(segment.path);
      this.sealed = this.sealed.filter((segment) => !batch.includes(segment));
      for (const entry of entries) {
        if (this.pending.get(entry.correlationId) === entry) this.pending.delete(entry.correlationId);
      }
      this.failures = 0;
      if (inserted > 0) this.onInserted();
    } catch (err) {
      this.failures++;
      this.log.warn({ err, pending: this.pending.size }, 'payments journal: flush failed; retrying');
    }
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

export function parseSegment(text: string): JournalEntry[] {
  const entries: JournalEntry[] = [];
  for (const line of text.split('\n')) {
    // A line cut short (the machine stopped mid-write) is not an accept anyone was told of.
    const match = LINE.exec(line);
    if (match)
      entries.push({
        correlationId: match[1] as string,
        amount: match[2] as string,
        acceptedAtMs: Number(match[3]),
      });
  }
  return entries;
}

function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
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
