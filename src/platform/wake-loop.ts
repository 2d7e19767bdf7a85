import type pg from 'pg';
import type { Logger } from './logger.ts';

const MAX_BACKOFF_MS = 500;

/**
 * A background loop that works while there is work, then sleeps until a
 * NOTIFY on `channel` (when listening) or `idleMs` passes. stop() lets the
 * current step finish. The order and payment workers are two of these.
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

  protected constructor(
    db: pg.Pool,
    log: Logger,
    opts: { channel: string; listen: boolean; idleMs: number },
  ) {
    this.db = db;
    this.log = log;
    this.channel = opts.channel;
    this.listen = opts.listen;
    this.idleMs = opts.idleMs;
  }

  /** One unit of work; true when it did some (so the loop goes again at once). */
  protected abstract step(): Promise<boolean>;
  protected async onStart(): Promise<void> {}
  protected async onStop(): Promise<void> {}

  async start(): Promise<void> {
    this.running = true;
    await this.onStart();
    if (this.listen) await this.connectListener();
    this.loop = this.run();
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
      try {
        const worked = await this.step();
        if (failures > 0) this.log.info({ channel: this.channel, failures }, 'background step works again');
        failures = 0;
        if (worked || this.notified) continue;
      } catch (err) {
        if (failures === 0)
          this.log.error({ err, channel: this.channel }, 'background step failed; retrying');
        failures++;
      }
      const delay = Math.max(this.idleMs, Math.min(MAX_BACKOFF_MS, this.idleMs * 2 ** failures));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }
}
