import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Logger } from './logger.ts';

/** How a journal writes its entries: one line each, and a key that tells two entries apart. */
export interface JournalCodec<E> {
  /** One line, without its newline. */
  encode(entry: E): string;
  /** Null for a line that is not a whole entry (one cut short by a stop mid-write). */
  decode(line: string): E | null;
  key(entry: E): string;
}

export interface JournalOptions {
  /** What the log calls it ("payments journal"). */
  name: string;
  /** Holds a directory per instance. */
  root: string;
  /** This instance's directory under root: no other live process may write to it. */
  instance: string;
  flushMs: number;
  maxPending: number;
  /** A directory whose heartbeat is older than this is an instance that is gone: its entries are taken over. */
  orphanMs: number;
}

export interface JournalSink<E> {
  /** Makes a batch durable elsewhere; throws to have it retried. Entries of one batch are in the order written. */
  send(entries: E[]): Promise<void>;
  /**
   * After every entry of a directory taken over has been sent (at once when
   * it held none), with the tags of the lives that wrote it (see Journal.tag):
   * they are over, and nothing of theirs is left to send. Throws to be told again.
   */
  orphanDrained?(tags: string[]): Promise<void>;
  /** This instance's directory was taken over after a stall: the life tagged `tag` is over here (see Journal.startAgain). */
  lifeEnded?(tag: string): void;
}

/** A file of entries; sealed once a flush takes it, deleted once its entries are sent. */
interface Segment {
  path: string;
  fd: number | null;
  entries: unknown[];
  /** The directory taken over from a gone instance it came with (null: this instance's own). */
  claimed: string | null;
}

const SEGMENT = /^(\d{12})\.jnl$/;
const MAX_BACKOFF_MS = 1_000;
/** Each instance's directory holds a heartbeat file whose content is the tag of the life that writes it. */
const HEARTBEAT = 'alive';
/** A directory taken over, moved under the taker's own (one `rename` wins if two instances try). */
const CLAIMED = 'claimed-';

/**
 * An append-only file per instance whose entries are sent elsewhere (to
 * PostgreSQL) in batches. `write(2)` puts an entry in the kernel's page
 * cache before `append` returns, so it survives SIGKILL of the process. The
 * next start of the same instance takes up what its previous life left, and
 * if an instance does not come back (its heartbeat file ages past
 * `orphanMs`), another one under the same root takes its whole directory
 * over: it moves it under its own with one `rename` (so exactly one does),
 * sends its entries, tells the sink that the lives it held are drained
 * (`orphanDrained`, with their tags), and deletes it. Each flush seals the
 * current segment, sends every sealed segment's entries in one batch and
 * deletes the segments. A crash of the machine itself can lose what the
 * page cache had not written.
 */
export class Journal<E> {
  /** This life of the instance: written in the heartbeat, and what a sink may tag its work with. */
  private life: string;
  private current: Segment | null = null;
  private sealed: Segment[] = [];
  /** Entries not yet sent, by key. */
  private readonly pending = new Map<string, E>();
  /** Directories taken over, with the tags of the lives they held, until every segment in them is sent. */
  private readonly claimed = new Map<string, string[]>();
  private nextSegment = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private failures = 0;
  private closed = false;
  private heartbeat: NodeJS.Timeout | null = null;
  /** When the heartbeat file was last touched by this life. */
  private lastBeatAt = 0;
  private readonly dir: string;
  private readonly opts: JournalOptions;
  private readonly codec: JournalCodec<E>;
  private readonly sink: JournalSink<E>;
  private readonly log: Logger;

  constructor(opts: JournalOptions, codec: JournalCodec<E>, sink: JournalSink<E>, log: Logger) {
    this.opts = opts;
    this.codec = codec;
    this.sink = sink;
    this.log = log;
    this.dir = join(opts.root, opts.instance);
    this.life = newLife(opts.instance);
  }

  get tag(): string {
    return this.life;
  }

  /**
   * Takes over what a previous life of this instance left (it goes out with
   * the first flush) and starts the heartbeat, which also looks for
   * instances that are gone. Returns how many entries were found.
   */
  open(): number {
    mkdirSync(this.opts.root, { recursive: true });
    // The previous life is over (INSTANCE_ID is unique): its directory is taken over like a gone instance's.
    const previous = `${this.opts.instance}.ended-${Date.now().toString(36)}`;
    try {
      renameSync(this.dir, join(this.opts.root, previous));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    mkdirSync(this.dir);
    this.beat();
    const recovered = this.claim(previous);
    if (recovered > 0)
      this.log.warn({ recovered }, `${this.opts.name}: replaying entries a previous run left`);
    const every = Math.max(10, Math.min(1_000, Math.floor(this.opts.orphanMs / 3)));
    this.heartbeat = setInterval(() => {
      try {
        if (this.stillOurs()) this.beat();
        else this.startAgain();
        this.adoptOrphans();
      } catch (err) {
        // The directory gone or unwritable: appends fail from the next write on; the process stays up.
        this.log.error({ err }, `${this.opts.name}: heartbeat failed`);
      }
    }, every);
    this.heartbeat.unref();
    return recovered;
  }

  /** Whether the life tagged `tag` still beats (false for one that ended, cleanly or not). */
  isAlive(tag: string): boolean {
    if (tag === this.life) return !this.closed;
    const path = join(this.opts.root, tag.slice(0, tag.lastIndexOf('#')), HEARTBEAT);
    try {
      return Date.now() - statSync(path).mtimeMs < this.opts.orphanMs && readFileSync(path, 'utf8') === tag;
    } catch {
      return false;
    }
  }

  /** Takes over the directories of instances whose heartbeat stopped; returns how many entries they held. */
  adoptOrphans(): number {
    let adopted = 0;
    for (const name of readdirSync(this.opts.root)) {
      if (name === this.opts.instance) continue;
      try {
        if (Date.now() - statSync(join(this.opts.root, name, HEARTBEAT)).mtimeMs < this.opts.orphanMs)
          continue;
      } catch {
        // No heartbeat: not an instance's directory, or one that closed cleanly.
        continue;
      }
      adopted += this.claim(name);
    }
    if (adopted > 0)
      this.log.warn({ adopted }, `${this.opts.name}: sending the entries of an instance that is gone`);
    // One that left no entries is drained already.
    void this.drainClaimed();
    return adopted;
  }

  /**
   * Moves `root/name` under this instance's directory (one rename wins if two
   * instances try) and seals every segment in it, those of directories it had
   * itself taken over included. Returns how many entries.
   */
  private claim(name: string): number {
    const target = join(this.dir, `${CLAIMED}${name}`);
    try {
      renameSync(join(this.opts.root, name), target);
    } catch {
      return 0;
    }
    const tags: string[] = [];
    let found = 0;
    const walk = (dir: string) => {
      const names = readdirSync(dir).sort();
      for (const n of names) {
        const path = join(dir, n);
        if (n === HEARTBEAT) {
          const tag = readFileSync(path, 'utf8');
          if (tag !== '') tags.push(tag);
        } else if (n.startsWith(CLAIMED)) walk(path);
        else if (SEGMENT.test(n)) found += this.seal(path, target);
      }
    };
    walk(target);
    this.claimed.set(target, tags);
    // Sent at once, without this instance's own entries, which keep their batch's pace.
    if (!this.flushing && !this.closed) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      void this.flush(false);
    }
    return found;
  }

  /** Reads a segment left on disk into the queue; an entry already waiting keeps its first version. */
  private seal(path: string, claimed: string): number {
    const entries: E[] = [];
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      const entry = line === '' ? null : this.codec.decode(line);
      if (entry === null || this.pending.has(this.codec.key(entry))) continue;
      this.pending.set(this.codec.key(entry), entry);
      entries.push(entry);
    }
    this.sealed.push({ path, fd: null, entries, claimed });
    return entries.length;
  }

  /**
   * Another instance took this one's directory over after a stall (every
   * process of a host paused, say): the instance goes on as a new life in a
   * new directory, and the sink hears of the life that ended. What it had
   * not sent yet is written again into the new directory, so that an entry
   * written after the taker read the files is not lost; the taker sends its
   * own copy too, which the sink's keys make harmless.
   */
  private startAgain(): void {
    const ended = this.life;
    this.log.error(
      { ended },
      `${this.opts.name}: this instance's directory was taken over after a stall; starting again`,
    );
    const kept = [...this.sealed, ...(this.current ? [this.current] : [])].flatMap(
      (segment) => segment.entries as E[],
    );
    if (this.current?.fd != null) {
      try {
        closeSync(this.current.fd);
      } catch {
        // Already closed.
      }
    }
    this.current = null;
    this.sealed = [];
    this.claimed.clear();
    this.life = newLife(this.opts.instance);
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(join(this.dir, HEARTBEAT), this.life);
    this.lastBeatAt = Date.now();
    if (kept.length > 0) {
      this.current = this.newSegment();
      writeSync(this.current.fd as number, kept.map((entry) => `${this.codec.encode(entry)}\n`).join(''));
      this.current.entries.push(...kept);
      this.schedule(0);
    }
    this.sink.lifeEnded?.(ended);
  }

  private beat(): void {
    const path = join(this.dir, HEARTBEAT);
    const now = new Date();
    try {
      utimesSync(path, now, now);
    } catch (err) {
      // The directory itself gone: another instance took it over (see startAgain).
      if (this.lastBeatAt > 0 && (err as NodeJS.ErrnoException).code === 'ENOENT' && !existsSync(this.dir)) {
        this.startAgain();
        return;
      }
      writeFileSync(path, this.life);
    }
    this.lastBeatAt = now.getTime();
  }

  /**
   * False once another instance has taken this one's directory over: that
   * happens only after its heartbeat stopped for orphanMs, so it is looked
   * at only when the last beat is half that old (the process was stalled).
   */
  private stillOurs(): boolean {
    if (Date.now() - this.lastBeatAt < this.opts.orphanMs / 2) return true;
    try {
      if (readFileSync(join(this.dir, HEARTBEAT), 'utf8') !== this.life) return false;
      this.beat();
      return true;
    } catch {
      return false;
    }
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  find(key: string): E | undefined {
    return this.pending.get(key);
  }

  /**
   * Synchronous: once it returns 'written', the entry is in the file.
   * 'unavailable' when closed, full (maxPending) or the write failed.
   */
  append(entry: E): 'written' | 'unavailable' {
    if (this.closed || this.pending.size >= this.opts.maxPending) return 'unavailable';
    if (!this.stillOurs()) this.startAgain();
    try {
      this.current ??= this.newSegment();
      writeSync(this.current.fd as number, `${this.codec.encode(entry)}\n`);
    } catch (err) {
      // A disk full or failing: the next entry starts a new file rather than follow a line cut short.
      this.log.error({ err }, `${this.opts.name}: cannot write; refusing`);
      this.sealCurrent();
      return 'unavailable';
    }
    this.current.entries.push(entry);
    this.pending.set(this.codec.key(entry), entry);
    this.schedule(this.opts.flushMs);
    return 'written';
  }

  /** Sends everything appended before the call, now; false when that failed (it stays for the next flush). */
  async flushNow(): Promise<boolean> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.flushing) await this.flushing;
    if (this.sealed.length === 0 && !this.current) return true;
    await this.flush();
    return this.failures === 0;
  }

  /** Forgets every entry not yet sent (a purge); a batch already on its way lands first. */
  async discard(): Promise<void> {
    await this.flushing;
    this.sealCurrent();
    for (const segment of this.sealed) removeFile(segment.path);
    this.sealed = [];
    this.pending.clear();
    await this.drainClaimed();
  }

  /**
   * Sends everything still here; later appends are refused. The directory
   * is removed once nothing is left in it, unless `keep`: then its heartbeat
   * ages and another instance takes it over (see JournalSink.orphanDrained).
   */
  async close(keep = false): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flushing;
    for (let attempt = 0; attempt < 5 && (this.sealed.length > 0 || this.current); attempt++) {
      await this.flush();
    }
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (keep || this.pending.size > 0 || this.claimed.size > 0) {
      // The heartbeat ages from now: this instance's next start, or another's, sends them.
      this.log.warn({ pending: this.pending.size }, `${this.opts.name}: entries left for the next start`);
      return;
    }
    removeFile(join(this.dir, HEARTBEAT));
    removeDir(this.dir);
  }

  private segmentPath(): string {
    return join(this.dir, `${(this.nextSegment++).toString().padStart(12, '0')}.jnl`);
  }

  private newSegment(): Segment {
    const path = this.segmentPath();
    return { path, fd: openSync(path, 'a'), entries: [], claimed: null };
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.flushing || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, delayMs);
  }

  private sealCurrent(): void {
    if (!this.current) return;
    closeSync(this.current.fd as number);
    this.current.fd = null;
    this.sealed.push(this.current);
    this.current = null;
  }

  /** Sends the sealed segments, and first seals the current one unless `withCurrent` is false. */
  private async flush(withCurrent = true): Promise<void> {
    if (this.flushing) return this.flushing;
    if (withCurrent) this.sealCurrent();
    // A copy: segments taken over while this batch is out are not part of it.
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
    const entries = batch.flatMap((segment) => segment.entries as E[]);
    try {
      await this.sink.send(entries);
      for (const segment of batch) removeFile(segment.path);
      this.sealed = this.sealed.filter((segment) => !batch.includes(segment));
      for (const entry of entries) {
        const key = this.codec.key(entry);
        if (this.pending.get(key) === entry) this.pending.delete(key);
      }
      this.failures = 0;
    } catch (err) {
      this.failures++;
      this.log.warn({ err, pending: this.pending.size }, `${this.opts.name}: flush failed; retrying`);
      return;
    }
    await this.drainClaimed();
  }

  /** Tells of each directory taken over whose segments are all sent, then deletes it. */
  private async drainClaimed(): Promise<void> {
    for (const [dir, tags] of [...this.claimed]) {
      if (this.sealed.some((segment) => segment.claimed === dir)) continue;
      // Taken off first, so that a second look meanwhile (after a batch, or the heartbeat's) does not tell it twice.
      this.claimed.delete(dir);
      try {
        if (tags.length > 0) await this.sink.orphanDrained?.(tags);
      } catch (err) {
        // Told again after the next batch, or the next look for orphans.
        this.claimed.set(dir, tags);
        this.log.warn({ err, tags }, `${this.opts.name}: a drained orphan's follow-up failed; retrying`);
        continue;
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** A life's tag: the instance and when it started. */
function newLife(instance: string): string {
  return `${instance}#${Date.now().toString(36)}`;
}

function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Removes a directory if nothing is in it. */
function removeDir(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // Not empty (a segment appeared meanwhile) or already gone: it stays for the next start.
  }
}
