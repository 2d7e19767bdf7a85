import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.ts';
import { eventually } from '../helpers/env.ts';
import { expectQueuedOrderReserved, useOrderWorker } from '../helpers/orders.ts';

/** The worker's LISTEN connection dropped by the server (a restart, pg_terminate_backend): it comes back by itself. */
const ctx = useTestApp({ ORDER_CONCURRENCY: 'queued' });
const orders = useOrderWorker(ctx);

async function listenerPids(): Promise<number[]> {
  const c = new pg.Client({ connectionString: ctx.db.url });
  await c.connect();
  try {
    const { rows } = await c.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%'",
      [ctx.db.name],
    );
    return rows.map((r) => r.pid);
  } finally {
    await c.end();
  }
}

async function terminate(pids: number[]): Promise<void> {
  const c = new pg.Client({ connectionString: ctx.db.url });
  await c.connect();
  try {
    await c.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [pids]);
  } finally {
    await c.end();
  }
}

describe('the order worker’s LISTEN connection', () => {
  it('when the server terminates it, then the worker reconnects by itself and goes on reserving queued orders', async () => {
    const before = await eventually(async () => {
      const pids = await listenerPids();
      expect(pids).toHaveLength(1);
      return pids;
    });
    expect(orders.worker.listening).toBe(true);
    await terminate(before);
    const after = await eventually(async () => {
      const pids = await listenerPids();
      expect(pids).toHaveLength(1);
      expect(pids).not.toEqual(before);
      return pids;
    }, 10_000);
    expect(after).toHaveLength(1);
    expect(orders.worker.listening).toBe(true);
    await expectQueuedOrderReserved(ctx.t);
  });
});
