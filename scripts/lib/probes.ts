import pg from 'pg';
import type { Probe } from './stack-programs.ts';
import { httpOk } from './wait.ts';

/** True when the program answers its probe now. */
export async function probeOk(probe: Probe, databaseUrl: string): Promise<boolean> {
  if ('url' in probe) return httpOk(probe.url, probe.headers);
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    const { rowCount } = await client.query(
      "SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'",
      [probe.listenAs],
    );
    return (rowCount ?? 0) > 0;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Polls until every probe answers, in the programs' start order (`priority`):
 * nginx is asked last, because a request it received before the instances
 * listened would mark them failed for its fail_timeout (5 s).
 */
export async function waitReady(
  programs: Array<{ name: string; priority: number; probe?: Probe }>,
  databaseUrl: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const priority of [...new Set(programs.map((p) => p.priority))].sort((a, b) => a - b)) {
    let waiting = programs.filter((p) => p.probe && p.priority === priority);
    while (waiting.length > 0) {
      const ok = await Promise.all(waiting.map((p) => probeOk(p.probe as Probe, databaseUrl)));
      waiting = waiting.filter((_, i) => !ok[i]);
      if (waiting.length === 0) break;
      if (Date.now() > deadline)
        throw new Error(`not ready within ${timeoutMs / 1000} s: ${waiting.map((p) => p.name).join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
