import type { FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import type { Config } from '../config.ts';
import { traceLogFields, tracingEnabled } from './tracing.ts';

export type Logger = FastifyBaseLogger;

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
    pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 1000 }),
  );
}
