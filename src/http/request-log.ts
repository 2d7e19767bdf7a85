import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import type { Metrics } from '../platform/metrics.ts';

/** The field naming the request on its log lines. */
export const REQUEST_ID_LOG_LABEL = 'requestId';

/** Every request's duration to the HTTP histogram, by method, route template and status. */
export class RequestDurations {
  private readonly metrics: Metrics;
  /** One histogram child per method, route and status: observe() on a child skips hashing the labels. */
  private readonly children = new Map<string, { observe(seconds: number): void }>();

  constructor(metrics: Metrics) {
    this.metrics = metrics;
  }

  observe(method: string, route: string, status: number, ms: number): void {
    const key = `${method} ${status} ${route}`;
    let child = this.children.get(key);
    if (!child) {
      child = this.metrics.httpDuration.labels(method, route, String(status));
      this.children.set(key, child);
    }
    child.observe(ms / 1000);
  }
}

/** The fields of the one line a completed request writes. */
export function completedLine(method: string, url: string, status: number, ms: number) {
  return { method, url, status, ms: Math.round(ms * 100) / 100 };
}

/**
 * One log line per request, written when it completes, with the request id.
 * Routes declared with `logLevel: 'warn'` (health, ping) stay out of the log;
 * every request's duration goes to the HTTP histogram.
 */
export class OneLinePerRequest extends LogController {
  private readonly durations: RequestDurations;

  constructor(durations: RequestDurations) {
    super({ requestIdLogLabel: REQUEST_ID_LOG_LABEL });
    this.durations = durations;
  }

  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const line = completedLine(request.method, request.url, reply.statusCode, reply.elapsedTime);
    // Observed here, where every request ends anyway, rather than in one more hook.
    this.durations.observe(
      request.method,
      request.routeOptions.url ?? 'unmatched',
      reply.statusCode,
      reply.elapsedTime,
    );
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}
