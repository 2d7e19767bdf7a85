import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import type { Metrics } from '../platform/metrics.ts';

/**
 * One log line per request, written when it completes, with the request id.
 * Routes declared with `logLevel: 'warn'` (health, ping) stay out of the log;
 * every request's duration goes to the HTTP histogram.
 */
export class OneLinePerRequest extends LogController {
  private readonly metrics: Metrics;
  /** One histogram child per method, route and status: observe() on a child skips hashing the labels. */
  private readonly durations = new Map<string, { observe(seconds: number): void }>();

  constructor(metrics: Metrics) {
    super({ requestIdLogLabel: 'requestId' });
    this.metrics = metrics;
  }

  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const line = {
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 100) / 100,
    };
    // Observed here, where every request ends anyway, rather than in one more hook.
    const route = request.routeOptions.url ?? 'unmatched';
    const key = `${request.method} ${reply.statusCode} ${route}`;
    let duration = this.durations.get(key);
    if (!duration) {
      duration = this.metrics.httpDuration.labels(request.method, route, String(reply.statusCode));
      this.durations.set(key, duration);
    }
    duration.observe(reply.elapsedTime / 1000);
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}
