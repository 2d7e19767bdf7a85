import type { FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import type { Config } from '../config.ts';
import { traceLogFields, tracingEnabled } from './tracing.ts';

export type Logger = FastifyBaseLogger;

type Destination = ReturnType<typeof pino.destination>;

/**
 * Lines handed to the destination once per event-loop turn, joined, rather
 * than one by one: sonic-boom measures its whole pending buffer on every
 * write, which made each line cost about twice its formatting
 * (docs/decisions.md). A turn's lines reach the destination in the same
 * order, before the next turn's.
 */
class LinesPerTurn {
  private lines: string[] = [];
  private scheduled = false;
  private readonly destination: Destination;

  constructor(destination: Destination) {
    this.destination = destination;
  }

  write(line: string): boolean {
    this.lines.push(line);
    if (!this.scheduled) {
      this.scheduled = true;
      waiting.add(this);
      setImmediate(this.handOver);
    }
    return true;
  }

  readonly handOver = (): void => {
    this.scheduled = false;
    waiting.delete(this);
    if (this.lines.length === 0) return;
    const text = this.lines.join('');
    this.lines = [];
    this.destination.write(text);
  };

  /** pino's `logger.flush()`. */
  flush(cb?: (err?: Error) => void): void {
    this.handOver();
    this.destination.flush(cb);
  }
}

/** Lines of the current turn still held; a process exiting within that turn hands them over first. */
const waiting = new Set<LinesPerTurn>();
// Registered before any destination's own exit hook (pino's flushSync), so it runs first.
process.on('exit', () => {
  for (const lines of waiting) lines.handOver();
});

/**
 * Structured JSON logs; credentials never reach a log line.
 *
 * Lines are buffered and written in 4 KiB chunks, flushed at least every
 * second: a synchronous write per request was a large share of a cached
 * read's CPU (docs/decisions.md). The price: a SIGKILL can lose up to
 * a second of log lines; a graceful stop flushes them.
 */
export function createLogger(config: Pick<Config, 'LOG_LEVEL' | 'INSTANCE_ID'>): pino.Logger {
  return pino(
    {
      level: config.LOG_LEVEL,
      base: { instance: config.INSTANCE_ID, pid: process.pid },
      // With tracing on, every line written inside a span names its trace.
      ...(tracingEnabled() ? { mixin: traceLogFields } : {}),
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'password', 'token', 'refreshToken'],
        censor: '[redacted]',
      },
    },
    new LinesPerTurn(pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 1000 })),
  );
}
