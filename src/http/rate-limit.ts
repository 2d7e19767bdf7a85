import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { ERRORS } from '../errors.ts';

/**
 * Per-route rate limits (`app.rateLimit({...})` hooks), counted in Redis so
 * every instance shares them; in process when there is no Redis. If Redis
 * fails mid-way, requests pass (skipOnError) and are logged: nginx's per-IP
 * limit still stands in front, and a Redis outage must not lock customers out.
 */
export async function registerRateLimits(app: FastifyInstance, redis: Redis | null): Promise<void> {
  await app.register(rateLimit, {
    global: false,
    ...(redis ? { redis } : {}),
    nameSpace: 'rl:',
    skipOnError: true,
    errorResponseBuilder: (_request, context) =>
      ERRORS.rateLimited(Math.ceil(context.ttl / 1000), `too many attempts; retry in ${context.after}`),
  });
}
