import type { Logger } from '../../platform/logger.ts';
import { hashPassword } from '../auth/password.ts';
import type { CustomerRepository } from './customers.repository.ts';

/** Creates the first admin, or promotes the account with that email; its password is never logged. */
export async function ensureAdmin(
  customers: CustomerRepository,
  email: string,
  password: string,
  log: Logger,
): Promise<void> {
  if (password.trim().toLowerCase() === email.trim().toLowerCase())
    throw new Error('ADMIN_PASSWORD must not be the email');
  const outcome = await customers.ensureAdmin({
    name: 'Administrator',
    email: email.trim(),
    passwordHash: await hashPassword(password),
  });
  if (outcome !== 'unchanged') log.info({ email, outcome }, `admin account ${outcome}`);
}
