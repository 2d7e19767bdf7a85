import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';

/** 16 random bytes, base64url: 22 characters, all allowed in a Telegram /start deep link. */
export const LINK_CODE_PATTERN = /^[A-Za-z0-9_-]{22}$/;

const hash = (code: string) => createHash('sha256').update(code).digest();

/** Which armazem account a Telegram user acts as, and the one-time codes that link them. */
export class TelegramLinkRepository {
  private readonly db: pg.Pool;

  constructor(db: pg.Pool) {
    this.db = db;
  }

  /** A new code for the customer; only its hash is stored. Expired codes are cleared on the way. */
  async createCode(customerId: number, ttlSeconds: number): Promise<{ code: string; expiresAt: string }> {
    const code = randomBytes(16).toString('base64url');
    const { rows } = await this.db.query<{ expires_at: Date }>({
      name: 'telegram_code_insert',
      text: `WITH gone AS (DELETE FROM telegram_link_codes WHERE expires_at < now())
             INSERT INTO telegram_link_codes (code_hash, customer_id, expires_at)
             VALUES ($1, $2, now() + make_interval(secs => $3)) RETURNING expires_at`,
      values: [hash(code), customerId, ttlSeconds],
    });
    return { code, expiresAt: (rows[0] as { expires_at: Date }).expires_at.toISOString() };
  }

  /**
   * Uses a code once: links the Telegram user to the code's customer in the
   * same statement that deletes the code. null when the code is unknown,
   * used or expired, or its account was erased.
   */
  async link(code: string, telegramUserId: number): Promise<number | null> {
    const { rows } = await this.db.query<{ customer_id: string }>({
      name: 'telegram_link',
      text: `WITH used AS (
               DELETE FROM telegram_link_codes WHERE code_hash = $1 RETURNING customer_id, expires_at
             )
             INSERT INTO telegram_links (telegram_user_id, customer_id)
             SELECT $2, u.customer_id FROM used u JOIN customers c ON c.id = u.customer_id
             WHERE u.expires_at >= now() AND c.deleted_at IS NULL
             ON CONFLICT (telegram_user_id) DO UPDATE SET customer_id = EXCLUDED.customer_id, linked_at = now()
             RETURNING customer_id`,
      values: [hash(code), telegramUserId],
    });
    return rows[0] ? Number(rows[0].customer_id) : null;
  }

  /** The linked customer, if any and still an account (erased accounts no longer act). */
  async customerOf(telegramUserId: number): Promise<number | null> {
    const { rows } = await this.db.query<{ customer_id: string }>({
      name: 'telegram_customer_of',
      text: `SELECT l.customer_id FROM telegram_links l JOIN customers c ON c.id = l.customer_id
             WHERE l.telegram_user_id = $1 AND c.deleted_at IS NULL`,
      values: [telegramUserId],
    });
    return rows[0] ? Number(rows[0].customer_id) : null;
  }

  async unlink(telegramUserId: number): Promise<boolean> {
    const { rowCount } = await this.db.query({
      name: 'telegram_unlink',
      text: 'DELETE FROM telegram_links WHERE telegram_user_id = $1',
      values: [telegramUserId],
    });
    return rowCount === 1;
  }
}
