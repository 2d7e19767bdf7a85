import type pg from 'pg';
import type { Logger } from './logger.ts';

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
    if (this.listen) {
      // A dedicated connection: LISTEN holds it for the loop's life.
      this.listener = await this.db.connect();
      this.listener.on('notification', () => {
        this.notified = true;
        this.wake?.();
      });
      await this.listener.query(`LISTEN ${this.channel}`);
    }
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.onStop();
    if (this.listener) {
      await this.listener.query('UNLISTEN *').catch(() => {});
      this.listener.release();
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.notified = false;
      try {
        if (await this.step()) continue;
        if (this.notified) continue;
      } catch (err) {
        this.log.error({ err, channel: this.channel }, 'background step failed; retrying');
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.idleMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }
}
