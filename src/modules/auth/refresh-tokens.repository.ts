import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { inTransaction } from '../../platform/database.ts';

const hashToken = (token: string) => createHash('sha256').update(token).digest();

export type RotateResult =
  | { ok: true; customerId: number; familyId: string }
  | { ok: false; reason: 'unknown' | 'expired' | 'revoked' | 'reused' };

/** Opaque, rotating refresh tokens; the database keeps only their hashes. */
export class RefreshTokenRepository {
  private readonly db: pg.Pool;
  private readonly ttlSeconds: number;

  constructor(db: pg.Pool, ttlSeconds: number) {
    this.db = db;
    this.ttlSeconds = ttlSeconds;
  }

  /** Issues a token, in a new family unless one is given. Returns the token itself, once. */
  async issue(
    customerId: number,
    familyId: string = randomUUID(),
    db: pg.Pool | pg.PoolClient = this.db,
  ): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await db.query({
      name: 'refresh_issue',
      text: `INSERT INTO refresh_tokens (customer_id, family_id, token_hash, expires_at)
             VALUES ($1, $2, $3, now() + make_interval(secs => $4))`,
      values: [customerId, familyId, hashToken(token), this.ttlSeconds],
    });
    return token;
  }

  /**
   * Uses a token once. Marking it used is one conditional UPDATE, so of two
   * concurrent refreshes with the same token exactly one marks it; the other
   * finds it valid in its snapshot yet unmarked — used by someone else — and
   * is a reuse. A reused token has leaked: the whole family is revoked.
   */
  async use(token: string): Promise<RotateResult> {
    return inTransaction(this.db, async (client) => {
      const { rows } = await client.query<{
        customer_id: string;
        family_id: string;
        marked: boolean;
        revoked: boolean;
        expired: boolean;
      }>({
        name: 'refresh_use',
        text: `WITH target AS (SELECT id FROM refresh_tokens WHERE token_hash = $1),
                    marked AS (
                      UPDATE refresh_tokens SET used_at = now()
                      WHERE id = (SELECT id FROM target) AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()
                      RETURNING id)
               SELECT t.customer_id, t.family_id, EXISTS (SELECT 1 FROM marked) AS marked,
                      t.revoked_at IS NOT NULL AS revoked, t.expires_at <= now() AS expired
               FROM refresh_tokens t WHERE t.id = (SELECT id FROM target)`,
        values: [hashToken(token)],
      });
      const row = rows[0];
      let result: RotateResult;
      if (!row) result = { ok: false, reason: 'unknown' };
      else if (row.marked)
        result = { ok: true, customerId: Number(row.customer_id), familyId: row.family_id };
      else if (row.revoked) result = { ok: false, reason: 'revoked' };
      else if (row.expired) result = { ok: false, reason: 'expired' };
      else {
        await client.query({
          name: 'refresh_revoke_family',
          text: 'UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL',
          values: [row.family_id],
        });
        result = { ok: false, reason: 'reused' };
      }
      return result;
    });
  }

  /** Logout: ends the token's whole family (a no-op for an unknown token). */
  async revokeFamilyOf(token: string): Promise<void> {
    await this.db.query({
      name: 'refresh_logout',
      text: `UPDATE refresh_tokens SET revoked_at = now()
             WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1) AND revoked_at IS NULL`,
      values: [hashToken(token)],
    });
  }

  /** Every session of a customer: on password change and account deletion. */
  async revokeAllFor(customerId: number, db: pg.Pool | pg.PoolClient = this.db): Promise<void> {
    await db.query({
      name: 'refresh_revoke_customer',
      text: 'UPDATE refresh_tokens SET revoked_at = now() WHERE customer_id = $1 AND revoked_at IS NULL',
      values: [customerId],
    });
  }
}
