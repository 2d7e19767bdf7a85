import type pg from 'pg';
import type { Logger } from './logger.ts';

const MAX_BACKOFF_MS = 500;

/**
 * A background loop that works while there is work, then sleeps until a
 * NOTIFY on `channel` (when listening), a nudge from this process, or
 * `idleMs` passes. Once it has found nothing for a while, it sleeps a
 * quarter of that while, up to `maxIdleMs`: an idle loop costs the database
 * almost nothing, and one between bursts keeps its pace. stop()
 * lets the current step finish. The order and payment workers are two of these.
 */
export abstract class WakeLoop {
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  /** A NOTIFY came while a step ran: that step may not have seen its work. */
  private notified = false;
  private listener: pg.PoolClient | null = null;
  protected readonly db: pg.Pool;
  protected readonly log: Logger;
  private readonly channel: string;
  private readonly listen: boolean;
  private readonly idleMs: number;
  private readonly maxIdleMs: number;
  /** Since when the steps have found nothing (null: the last one did some work). */
  private idleSince: number | null = null;
  /** The current sleep is longer than idleMs (the loop has been idle). */
  private sleepingLong = false;

  protected constructor(
    db: pg.Pool,
    log: Logger,
    opts: { channel: string; listen: boolean; idleMs: number; maxIdleMs?: number },
  ) {
    this.db = db;
    this.log = log;
    this.channel = opts.channel;
    this.listen = opts.listen;
    this.idleMs = opts.idleMs;
    this.maxIdleMs = Math.max(opts.idleMs, opts.maxIdleMs ?? opts.idleMs);
  }

  /**
   * Work arrived in this process: a loop in a long idle sleep wakes now. One
   * polling at its normal pace is left alone, so a busy loop still takes all
   * that arrived since its last step in one go.
   */
  nudge(): void {
    this.idleSince = null;
    if (this.sleepingLong) this.wake?.();
  }

  /**
   * One unit of work. true: go again at once (there may be more); 'some': it
   * did some, sleep idleMs before the next; false: it found nothing (the
   * loop counts towards idle); { pauseMs }: nothing can go before then, so
   * sleep that long, and no nudge cuts it short.
   */
  protected abstract step(): Promise<boolean | 'some' | { pauseMs: number }>;
  protected async onStart(): Promise<void> {}
  protected async onStop(): Promise<void> {}

  async start(): Promise<void> {
    this.running = true;
    await this.onStart();
    if (this.listen) await this.connectListener();
    this.loop = this.run();
  }

  /** Between start() and stop(). */
  protected get started(): boolean {
    return this.running;
  }

  /** False while the LISTEN connection is down (the loop still polls every idleMs meanwhile). */
  get listening(): boolean {
    return !this.listen || this.listener !== null;
  }

  /**
   * A dedicated connection: LISTEN holds it for the loop's life. When the
   * server drops it (a restart, pg_terminate_backend), it is replaced with
   * backoff; the process keeps running and polling.
   */
  private async connectListener(attempt = 0): Promise<void> {
    if (!this.running) return;
    let client: pg.PoolClient | null = null;
    try {
      client = await this.db.connect();
      const c = client;
      c.on('notification', () => {
        this.notified = true;
        this.wake?.();
      });
      c.on('error', (err) => {
        if (this.listener !== c) return;
        this.listener = null;
        c.release(err);
        this.log.warn(
          { err: { message: err.message }, channel: this.channel },
          'LISTEN connection lost; reconnecting',
        );
        void this.connectListener();
      });
      await c.query(`LISTEN ${this.channel}`);
      this.listener = c;
      if (attempt > 0) this.log.info({ channel: this.channel }, 'LISTEN connection back');
      // Work may have arrived while nobody listened.
      this.notified = true;
      this.wake?.();
    } catch (err) {
      client?.release(err as Error);
      const delay = Math.min(5000, 100 * 2 ** attempt);
      if (attempt === 0 || delay === 5000)
        this.log.warn(
          { err: { message: (err as Error).message }, channel: this.channel, retryInMs: delay },
          'cannot LISTEN; retrying',
        );
      await new Promise((r) => setTimeout(r, delay).unref());
      return this.connectListener(attempt + 1);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.onStop();
    const listener = this.listener;
    this.listener = null;
    if (listener) {
      await listener.query('UNLISTEN *').catch(() => {});
      listener.release();
    }
  }

  /**
   * A step that throws (the database restarting, say) is retried, backing
   * off up to half a second: an outage is logged once when it starts and once
   * when it ends, not at every poll, and the loop never ends on an error.
   */
  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      this.notified = false;
      let pauseMs: number | undefined;
      try {
        const worked = await this.step();
        if (typeof worked === 'object') pauseMs = worked.pauseMs;
        if (failures > 0) this.log.info({ channel: this.channel, failures }, 'background step works again');
        failures = 0;
        if (worked !== false) this.idleSince = null;
        if (worked === true || this.notified) continue;
      } catch (err) {
        if (failures === 0)
          this.log.error({ err, channel: this.channel }, 'background step failed; retrying');
        failures++;
      }
      const now = Date.now();
      this.idleSince ??= now;
      const idle = Math.min(this.maxIdleMs, Math.max(this.idleMs, (now - this.idleSince) / 4));
      const delay = pauseMs ?? Math.max(idle, Math.min(MAX_BACKOFF_MS, this.idleMs * 2 ** failures));
      this.sleepingLong = pauseMs === undefined && delay > this.idleMs;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
      this.sleepingLong = false;
    }
  }
}
