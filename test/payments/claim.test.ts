import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PaymentRepository } from '../../src/modules/payments/payments.repository.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { migrate } from '../../src/platform/migrations.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/env.ts';

/**
 * The two ways a worker claims payments, on the real PostgreSQL: the one-statement claim
 * for when the default takes everything, and the per-payment decision. Both must keep a
 * payment whose last call was ambiguous on the processor it was sent to, with the same
 * requestedAt — sending it elsewhere could charge it twice.
 */
describe('claiming payments', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let payments: PaymentRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    await migrate(pool, createLogger({ LOG_LEVEL: 'silent', INSTANCE_ID: 'test' }));
    payments = new PaymentRepository(pool);
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });
  beforeEach(async () => {
    await pool.query('DELETE FROM payments');
  });

  /** Two fresh payments and one pinned to the fallback by an earlier, ambiguous call. */
  async function queue() {
    const fresh = [randomUUID(), randomUUID()];
    const pinned = randomUUID();
    for (const id of [...fresh, pinned]) expect(await payments.accept(id, '19.90')).toBe('accepted');
    const sentAt = new Date('2026-11-21T10:00:00.123Z');
    await pool.query(
      `UPDATE payments SET status = 'processing', processor = 'fallback', requested_at = $2, attempts = 1,
              last_error = 'ambiguous' WHERE correlation_id = $1`,
      [pinned, sentAt],
    );
    return { fresh, pinned, sentAt };
  }

  async function rows() {
    const { rows } = await pool.query<{ correlation_id: string; status: string; processor: string | null }>(
      'SELECT correlation_id, status, processor FROM payments',
    );
    return new Map(rows.map((r) => [r.correlation_id, r]));
  }

  it('in one statement: fresh payments go to the default, the pinned one stays on its processor', async () => {
    const { fresh, pinned, sentAt } = await queue();
    const claimed = await payments.claimAllFor('default', 10, 10_000);
    expect(claimed).toHaveLength(3);
    const byId = new Map(claimed.map((c) => [c.correlationId, c]));
    expect(byId.get(pinned)).toMatchObject({
      processor: 'fallback',
      pinnedBefore: true,
      attempts: 1,
      amount: '19.90',
      requestedAt: sentAt,
    });
    for (const id of fresh)
      expect(byId.get(id)).toMatchObject({ processor: 'default', pinnedBefore: false, attempts: 0 });
    // Pinned in the database before any call is made, with the requestedAt the worker will send.
    const stored = await rows();
    for (const c of claimed)
      expect(stored.get(c.correlationId)).toMatchObject({ status: 'processing', processor: c.processor });
    const { rows: sent } = await pool.query<{ requested_at: Date }>(
      'SELECT requested_at FROM payments WHERE correlation_id = $1',
      [fresh[0]],
    );
    expect(sent[0]?.requested_at).toEqual(byId.get(fresh[0] as string)?.requestedAt);
    // Leased: a second worker finds nothing due.
    expect(await payments.claimAllFor('default', 10, 10_000)).toEqual([]);
  });

  it('per payment: those the decision holds back wait, the pinned one is claimed where it was', async () => {
    const { fresh, pinned } = await queue();
    const claimed = await payments.claim(10, 10_000, () => ({ wait: true, retryInMs: 60_000 }));
    expect(claimed.map((c) => [c.correlationId, c.processor, c.pinnedBefore])).toEqual([
      [pinned, 'fallback', true],
    ]);
    const stored = await rows();
    for (const id of fresh) expect(stored.get(id)).toMatchObject({ status: 'queued', processor: null });
    // Deferred, not lost: nothing is due now, and they are still queued.
    expect(await payments.claimAllFor('default', 10, 10_000)).toEqual([]);
  });

  it('wakes sleeping unpinned payments, one at a time or all, and never a pinned one', async () => {
    const { fresh, pinned } = await queue();
    await payments.claim(10, 10_000, () => ({ wait: true, retryInMs: 60_000 }));
    expect(await payments.claimAllFor('default', 10, 10_000)).toEqual([]); // the pinned one is leased, the rest asleep
    expect(await payments.releaseWaiting(1)).toBe(1);
    const woken = await payments.claimAllFor('default', 10, 10_000);
    expect(woken.map((c) => c.correlationId)).toEqual([fresh[0]]);
    expect(await payments.releaseWaiting(null)).toBe(1);
    expect((await payments.claimAllFor('default', 10, 10_000)).map((c) => c.correlationId)).toEqual([
      fresh[1],
    ]);
    expect((await rows()).get(pinned)).toMatchObject({ processor: 'fallback' });
  });

  it('never wakes a payment another worker is pinning at that moment', async () => {
    const { fresh } = await queue();
    await payments.claim(10, 10_000, () => ({ wait: true, retryInMs: 60_000 }));
    const worker = await pool.connect();
    try {
      // Another worker pins one sleeping payment, and has not committed yet.
      await worker.query('BEGIN');
      await worker.query(
        `UPDATE payments SET status = 'processing', processor = 'default', requested_at = now(),
                attempts = attempts + 1, next_attempt_at = now() + interval '10 seconds' WHERE correlation_id = $1`,
        [fresh[0]],
      );
      const release = payments.releaseWaiting(100);
      await new Promise((r) => setTimeout(r, 200));
      await worker.query('COMMIT');
      await release;
    } finally {
      worker.release();
    }
    const { rows: leased } = await pool.query<{ leased: boolean }>(
      'SELECT next_attempt_at > now() AS leased FROM payments WHERE correlation_id = $1',
      [fresh[0]],
    );
    expect(leased[0]?.leased).toBe(true);
    // The other sleeper was woken.
    expect((await payments.claimAllFor('default', 10, 10_000)).map((c) => c.correlationId)).toEqual([
      fresh[1],
    ]);
  });

  it('records only the claim a worker still holds: a late outcome cannot unpin a newer claim', async () => {
    const { fresh } = await queue();
    const [stale] = (await payments.claimAllFor('default', 10, 10_000)).filter(
      (c) => c.correlationId === fresh[0],
    );
    if (!stale) throw new Error('not claimed');
    // Its lease ran out and another worker claimed it again.
    await pool.query(
      "UPDATE payments SET attempts = attempts + 1, processor = 'default' WHERE correlation_id = $1",
      [stale.correlationId],
    );
    await payments.record([{ claimed: stale, outcome: 'failed', retryInMs: 10 }], 10);
    expect((await rows()).get(stale.correlationId)).toMatchObject({
      status: 'processing',
      processor: 'default',
    });
    // A pinned payment's retry that meets a 500 stays pinned (the processor may hold it).
    const pinnedRetry = { ...stale, attempts: stale.attempts + 1, pinnedBefore: true };
    await payments.record([{ claimed: pinnedRetry, outcome: 'failed', retryInMs: 10 }], 10);
    expect((await rows()).get(stale.correlationId)).toMatchObject({
      status: 'processing',
      processor: 'default',
    });
  });

  it('fails an order only with the payment: a late give-up leaves a newer claim, and its order, alone', async () => {
    const { rows: made } = await pool.query<{ id: string }>(
      `WITH c AS (INSERT INTO customers (name, email, password_hash) VALUES ('Late', $1, '!') RETURNING id)
       INSERT INTO orders (customer_id, status, total) SELECT id, 'reserved', 19.90 FROM c RETURNING id`,
      [`late-${randomUUID()}@armazem.test`],
    );
    const orderId = Number(made[0]?.id);
    const id = randomUUID();
    expect(await payments.accept(id, '19.90', orderId)).toBe('accepted');
    const [stale] = await payments.claimAllFor('default', 10, 10_000);
    if (!stale) throw new Error('not claimed');
    // Its lease ran out and another worker claimed it again; the first worker's refusal comes late.
    await pool.query('UPDATE payments SET attempts = attempts + 1 WHERE correlation_id = $1', [id]);
    await payments.record([{ claimed: { ...stale, attempts: 9 }, outcome: 'failed', retryInMs: 10 }], 10);
    expect((await rows()).get(id)).toMatchObject({ status: 'processing' });
    const status = async () =>
      (await pool.query<{ status: string }>('SELECT status FROM orders WHERE id = $1', [orderId])).rows[0]
        ?.status;
    expect(await status()).toBe('reserved');
    // The claim it still holds gives up: the payment fails and the order with it.
    await payments.record([{ claimed: { ...stale, attempts: 1 }, outcome: 'failed', retryInMs: 10 }], 2);
    expect((await rows()).get(id)).toMatchObject({ status: 'failed' });
    expect(await status()).toBe('payment_failed');
  });

  it('leases a first call for its budget and a retry of a pinned payment for longer, in both claims', async () => {
    const leases = async () => {
      const { rows: due } = await pool.query<{ correlation_id: string; in_s: number }>(
        "SELECT correlation_id, round(extract(epoch FROM next_attempt_at - now()))::int AS in_s FROM payments WHERE status = 'processing'",
      );
      return new Map(due.map((r) => [r.correlation_id, r.in_s]));
    };
    const first = await queue();
    await payments.claimAllFor('default', 10, { leaseMs: 4000, retryLeaseMs: 12_000 });
    expect(await leases()).toEqual(
      new Map([...first.fresh.map((id) => [id, 4] as const), [first.pinned, 12]]),
    );
    await pool.query('DELETE FROM payments');
    const second = await queue();
    await payments.claim(10, { leaseMs: 4000, retryLeaseMs: 12_000 }, () => ({ use: 'fallback' }));
    expect(await leases()).toEqual(
      new Map([...second.fresh.map((id) => [id, 4] as const), [second.pinned, 12]]),
    );
  });

  it('takes at most the batch, and skips payments another worker holds', async () => {
    await queue();
    const tx = await pool.connect();
    try {
      await tx.query('BEGIN');
      const { rows: held } = await tx.query<{ correlation_id: string }>(
        'SELECT correlation_id FROM payments WHERE processor IS NULL LIMIT 1 FOR UPDATE',
      );
      const claimed = await payments.claimAllFor('default', 10, 10_000);
      expect(claimed).toHaveLength(2);
      expect(claimed.map((c) => c.correlationId)).not.toContain(held[0]?.correlation_id);
      await tx.query('ROLLBACK');
    } finally {
      tx.release();
    }
    expect(await payments.claimAllFor('default', 1, 10_000)).toHaveLength(1);
  });
});
