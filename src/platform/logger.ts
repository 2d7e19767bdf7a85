import type { FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import type { Config } from '../config.ts';

export type Logger = FastifyBaseLogger;

/** Structured JSON logs; credentials never reach a log line. */
export function createLogger(config: Pick<Config, 'LOG_LEVEL' | 'INSTANCE_ID'>): Logger {
  return pino({
    level: config.LOG_LEVEL,
    base: { instance: config.INSTANCE_ID, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.token', '*.refreshToken'],
      censor: '[redacted]',
    },
  });
}
