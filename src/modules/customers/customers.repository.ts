import type pg from 'pg';
import type { Role } from '../../http/auth.ts';
import { inTransaction } from '../../platform/database.ts';
import type { Customer } from './customers.schemas.ts';

interface CustomerRow {
  id: string;
  name: string;
  email: string;
  role: Role;
  password_hash: string;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

const COLUMNS = 'id, name, email, role, password_hash, created_at, updated_at, deleted_at';

export interface CustomerWithSecret {
  customer: Customer;
  passwordHash: string;
}

function toCustomer(row: CustomerRow): CustomerWithSecret {
  return {
    customer: {
      id: Number(row.id),
      name: row.name,
      email: row.email,
      role: row.role,
      createdAt: row.created_at.toISOString(),
      updatedAt: row.updated_at.toISOString(),
      deletedAt: row.deleted_at?.toISOString() ?? null,
    },
    passwordHash: row.password_hash,
  };
}

export const EMAIL_TAKEN = 'email_taken' as const;

/** Maps a unique-index violation on the email to EMAIL_TAKEN instead of an error. */
async function unlessEmailTaken<T>(run: () => Promise<T>): Promise<T | typeof EMAIL_TAKEN> {
  try {
    return await run();
  } catch (err) {
    if ((err as { constraint?: string }).constraint === 'customers_email_lower') return EMAIL_TAKEN;
    throw err;
  }
}

export class CustomerRepository {
  private readonly db: pg.Pool;

  constructor(db: pg.Pool) {
    this.db = db;
  }

  /** EMAIL_TAKEN when the email is in use (case-insensitively). `db`: a transaction to create it in. */
  create(
    v: {
      name: string;
      email: string;
      passwordHash: string;
      role?: Role;
    },
    db: pg.Pool | pg.PoolClient = this.db,
  ): Promise<Customer | typeof EMAIL_TAKEN> {
    return unlessEmailTaken(async () => {
      const { rows } = await db.query<CustomerRow>({
        name: 'customer_insert',
        text: `INSERT INTO customers (name, email, password_hash, role) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
        values: [v.name, v.email, v.passwordHash, v.role ?? 'customer'],
      });
      return toCustomer(rows[0] as CustomerRow).customer;
    });
  }

  /** False for an erased account, or one that does not exist. */
  async isActive(id: number): Promise<boolean> {
    const { rowCount } = await this.db.query({
      name: 'customer_is_active',
      text: 'SELECT 1 FROM customers WHERE id = $1 AND deleted_at IS NULL',
      values: [id],
    });
    return rowCount === 1;
  }

  /** Active accounts only: an erased account cannot log in. */
  async findActiveByEmail(email: string): Promise<CustomerWithSecret | null> {
    const { rows } = await this.db.query<CustomerRow>({
      name: 'customer_by_email',
      text: `SELECT ${COLUMNS} FROM customers WHERE lower(email) = lower($1) AND deleted_at IS NULL`,
      values: [email],
    });
    return rows[0] ? toCustomer(rows[0]) : null;
  }

  async findById(id: number): Promise<CustomerWithSecret | null> {
    const { rows } = await this.db.query<CustomerRow>({
      name: 'customer_by_id',
      text: `SELECT ${COLUMNS} FROM customers WHERE id = $1`,
      values: [id],
    });
    return rows[0] ? toCustomer(rows[0]) : null;
  }

  /** EMAIL_TAKEN when the new email is in use; null when the account is gone. An absent field is left as it is. */
  update(
    id: number,
    v: { name?: string; email?: string; passwordHash?: string },
  ): Promise<Customer | typeof EMAIL_TAKEN | null> {
    return unlessEmailTaken(async () => {
      const { rows } = await this.db.query<CustomerRow>({
        name: 'customer_update',
        text: `UPDATE customers SET name = COALESCE($2, name), email = COALESCE($3, email),
                 password_hash = COALESCE($4, password_hash), updated_at = now()
               WHERE id = $1 AND deleted_at IS NULL RETURNING ${COLUMNS}`,
        values: [id, v.name ?? null, v.email ?? null, v.passwordHash ?? null],
      });
      return rows[0] ? toCustomer(rows[0]).customer : null;
    });
  }

  /**
   * Erases personal data but keeps the row, so what refers to the customer
   * (orders, payments, transactions) keeps its integrity; ends every session.
   */
  async erase(id: number): Promise<boolean> {
    return inTransaction(this.db, async (client) => {
      const { rowCount } = await client.query({
        name: 'customer_erase',
        text: `UPDATE customers SET name = 'Deleted customer', email = 'deleted-' || id || '@invalid', password_hash = '!',
                 deleted_at = now(), updated_at = now()
               WHERE id = $1 AND deleted_at IS NULL`,
        values: [id],
      });
      await client.query({
        name: 'refresh_revoke_customer',
        text: 'UPDATE refresh_tokens SET revoked_at = now() WHERE customer_id = $1 AND revoked_at IS NULL',
        values: [id],
      });
      return rowCount === 1;
    });
  }

  /** Keyset pages in id order; `search` is LIKE-escaped by the caller. */
  async list(f: { search?: string; afterId?: number; limit: number }): Promise<Customer[]> {
    const { rows } = await this.db.query<CustomerRow>({
      name: `customer_list_${f.search === undefined ? 'all' : 's'}`,
      text:
        f.search === undefined
          ? `SELECT ${COLUMNS} FROM customers WHERE id > $1 ORDER BY id LIMIT $2`
          : `SELECT ${COLUMNS} FROM customers
             WHERE id > $1 AND (armazem_fold(name) LIKE '%' || armazem_fold($3) || '%' OR lower(email) LIKE '%' || lower($3) || '%')
             ORDER BY id LIMIT $2`,
      values: f.search === undefined ? [f.afterId ?? 0, f.limit] : [f.afterId ?? 0, f.limit, f.search],
    });
    return rows.map((r) => toCustomer(r).customer);
  }

  /** The first admin: created if the email is new, promoted if it exists. */
  async ensureAdmin(v: {
    name: string;
    email: string;
    passwordHash: string;
  }): Promise<'created' | 'promoted' | 'unchanged'> {
    const { rows } = await this.db.query<{ inserted: boolean; promoted: boolean }>(
      `WITH existing AS (SELECT id, role FROM customers WHERE lower(email) = lower($2) AND deleted_at IS NULL),
            promoted AS (UPDATE customers SET role = 'admin', updated_at = now()
                         WHERE id = (SELECT id FROM existing) AND role <> 'admin' RETURNING id),
            inserted AS (INSERT INTO customers (name, email, password_hash, role)
                         SELECT $1, $2, $3, 'admin' WHERE NOT EXISTS (SELECT 1 FROM existing)
                         ON CONFLICT DO NOTHING RETURNING id)
       SELECT EXISTS (SELECT 1 FROM inserted) AS inserted, EXISTS (SELECT 1 FROM promoted) AS promoted`,
      [v.name, v.email, v.passwordHash],
    );
    const r = rows[0];
    return r?.inserted ? 'created' : r?.promoted ? 'promoted' : 'unchanged';
  }
}
