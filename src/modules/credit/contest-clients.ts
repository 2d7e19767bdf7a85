import type pg from 'pg';
import { inTransaction } from '../../platform/database.ts';
import { type CustomerRepository, EMAIL_TAKEN } from '../customers/customers.repository.ts';

/** The Rinha de Backend 2024/Q1 clients: ids 1–5, these limits (cents), balance 0. Client 6 must not exist. */
export const CONTEST_CLIENTS = [
  { clientId: 1, name: 'o barato sai caro', limit: 100_000 },
  { clientId: 2, name: 'zan corp ltda', limit: 80_000 },
  { clientId: 3, name: 'les cruders', limit: 1_000_000 },
  { clientId: 4, name: 'padaria joia de cocaia', limit: 10_000_000 },
  { clientId: 5, name: 'kid mais', limit: 500_000 },
] as const;

/**
 * Creates the contest clients that are missing, as armazem customers (who
 * cannot log in) with their credit accounts, and maps the contest ids onto
 * them; clients already there are left untouched. Returns the ids created.
 */
export async function ensureContestClients(pool: pg.Pool, customers: CustomerRepository): Promise<number[]> {
  return inTransaction(pool, async (tx) => {
    // Instances starting together: one creates, the others then find them.
    await tx.query("SELECT pg_advisory_xact_lock(hashtext('armazem:credit_contest_clients'))");
    const { rows } = await tx.query<{ client_id: number }>('SELECT client_id FROM credit_contest_clients');
    const present = new Set(rows.map((r) => r.client_id));
    const created: number[] = [];
    for (const c of CONTEST_CLIENTS) {
      if (present.has(c.clientId)) continue;
      // '!' is the password hash that matches no password; a trigger opens the credit account.
      const customer = await customers.create(
        {
          name: c.name,
          email: `rinha-2024-cliente-${c.clientId}@contest.armazem.invalid`,
          passwordHash: '!',
        },
        tx,
      );
      if (customer === EMAIL_TAKEN)
        throw new Error(`contest client ${c.clientId}: its email is taken by another account`);
      const customerId = customer.id;
      await tx.query('UPDATE credit_accounts SET credit_limit = $2 WHERE customer_id = $1', [
        customerId,
        c.limit,
      ]);
      await tx.query('INSERT INTO credit_contest_clients (client_id, customer_id) VALUES ($1, $2)', [
        c.clientId,
        customerId,
      ]);
      created.push(c.clientId);
    }
    return created;
  });
}
