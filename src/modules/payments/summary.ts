import type pg from 'pg';
import type { ProcessorName } from './processor-client.ts';

export type SummaryPart = { totalRequests: number; totalAmount: number };

/** Processed payments per processor, by the requestedAt sent; sums are exact numerics. */
export async function summary(
  db: pg.Pool,
  from?: string,
  to?: string,
): Promise<{ default: SummaryPart; fallback: SummaryPart }> {
  const { rows } = await db.query<{ processor: ProcessorName; n: string; total: string }>({
    name: 'payment_summary',
    text: `SELECT processor, count(*) AS n, COALESCE(sum(amount), 0)::text AS total FROM payments
           WHERE status = 'processed' AND ($1::timestamptz IS NULL OR requested_at >= $1) AND ($2::timestamptz IS NULL OR requested_at <= $2)
           GROUP BY processor`,
    values: [from ?? null, to ?? null],
  });
  const part = (name: ProcessorName): SummaryPart => {
    const r = rows.find((x) => x.processor === name);
    return { totalRequests: Number(r?.n ?? 0), totalAmount: Number(r?.total ?? 0) };
  };
  return { default: part('default'), fallback: part('fallback') };
}

/** The work not yet confirmed, for metrics. */
export async function queueStats(db: pg.Pool): Promise<{ depth: number; oldestAgeSeconds: number }> {
  const { rows } = await db.query<{ depth: string; age: number | null }>({
    name: 'payment_queue_stats',
    text: "SELECT count(*) AS depth, extract(epoch FROM now() - min(created_at))::float8 AS age FROM payments WHERE status IN ('queued', 'processing')",
  });
  return { depth: Number(rows[0]?.depth ?? 0), oldestAgeSeconds: rows[0]?.age ?? 0 };
}
