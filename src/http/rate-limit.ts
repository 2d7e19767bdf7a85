import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { Cluster, Redis } from 'ioredis';
import { ERRORS } from '../errors.ts';

/**
 * Rate limits counted in Redis (one key per limit, so a cluster serves them too), so every instance shares them; in process
 * when there is no Redis. While Redis is unreachable requests pass
 * (skipOnError): nginx's per-IP limit still stands in front, and a Redis
 * outage must not lock customers out of their accounts.
 */
export async function registerRateLimits(app: FastifyInstance, redis: Redis | Cluster | null): Promise<void> {
  await app.register(rateLimit, {
    global: false,
    ...(redis ? { redis } : {}),
    nameSpace: 'rl:',
    skipOnError: true,
  });
}

export interface Limit {
  max: number;
  windowMs: number;
  /** What is counted: e.g. the client IP, or the email a login is for. */
  key: (request: FastifyRequest) => string;
}

/**
 * A preHandler enforcing several limits on one request (login: per IP and
 * per email). The plugin's own hooks run one limit per request, so each limit
 * here is a `createRateLimit` checker, all counted, the first exceeded one
 * answering 429.
 */
export function limitEach(app: FastifyInstance, limits: Limit[]): preHandlerAsyncHookHandler {
  const checkers = limits.map((l) =>
    app.createRateLimit({ max: l.max, timeWindow: l.windowMs, keyGenerator: l.key }),
  );
  return async (request) => {
    const results = await Promise.all(checkers.map((check) => check(request)));
    for (const r of results) {
      if (!r.isAllowed && r.isExceeded)
        throw ERRORS.rateLimited(r.ttlInSeconds, `too many attempts; retry in ${r.ttlInSeconds} s`);
    }
  };
}
