import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Config } from '../../config.ts';
import type { Database } from '../../platform/database.ts';
import type { Metrics } from '../../platform/metrics.ts';
import { type Lifecycle, readinessCheck } from './readiness.ts';

/** A role's own liveness (the bot: its poller still gets answers); the process serving is enough otherwise. */
export type LivenessCheck = () => { live: boolean; details?: Record<string, unknown> };

/**
 * For roles without the HTTP API (worker, bot): /metrics for Prometheus and
 * the same /livez and /readyz as the API, on a port of their own.
 */
export function serveOps(
  deps: { db: Database; lifecycle: Lifecycle; metrics: Metrics },
  port: number,
  host: string,
  liveness: LivenessCheck = () => ({ live: true }),
  /** A role's own routes besides these (the bot keeps its /health). */
  extra: Record<string, () => { status: number; body: unknown }> = {},
): Server {
  const readiness = readinessCheck(deps.db.pool, deps.lifecycle);
  const send = (res: ServerResponse, status: number, type: string, body: string) =>
    res.writeHead(status, { 'content-type': type }).end(body);
  return createServer(async (req, res) => {
    const path = req.url?.split('?')[0];
    if (path === '/metrics')
      return send(res, 200, deps.metrics.registry.contentType, await deps.metrics.registry.metrics());
    if (path === '/livez') {
      const { live, details } = liveness();
      const body = JSON.stringify({ status: live ? 'live' : 'stalled', ...details });
      return send(res, live ? 200 : 503, 'application/json', body);
    }
    if (path === '/readyz') {
      const state = await readiness();
      return send(res, state.status === 'ready' ? 200 : 503, 'application/json', JSON.stringify(state));
    }
    const route = path ? extra[path] : undefined;
    if (route) {
      const { status, body } = route();
      return send(res, status, 'application/json', JSON.stringify(body));
    }
    send(res, 404, 'application/json', '{"status":404}');
  }).listen(port, host);
}

/** SIGTERM: readiness fails at once, work goes on for SHUTDOWN_DRAIN_MS, then the caller closes. */
export async function drain(deps: { config: Config; lifecycle: Lifecycle }): Promise<void> {
  deps.lifecycle.draining = true;
  if (deps.config.SHUTDOWN_DRAIN_MS > 0)
    await new Promise((resolve) => setTimeout(resolve, deps.config.SHUTDOWN_DRAIN_MS));
}
