import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.ts';
import { assertOwnerOrAdmin, type Principal } from '../../src/http/auth.ts';
import { hashPassword, UNKNOWN_ACCOUNT_HASH, verifyPassword } from '../../src/modules/auth/password.ts';

describe('passwords', () => {
  it('hash with a fresh salt each time and verify only the right password', async () => {
    const [h1, h2] = [
      await hashPassword('correct horse battery'),
      await hashPassword('correct horse battery'),
    ];
    expect(h1).not.toBe(h2);
    expect(h1).toMatch(/^scrypt\$16384\$8\$5\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    expect(await verifyPassword('correct horse battery', h1)).toBe(true);
    expect(await verifyPassword('correct horse batterY', h1)).toBe(false);
    expect(await verifyPassword('', h1)).toBe(false);
  });

  it('treat equivalent Unicode forms as the same password', async () => {
    const h = await hashPassword('ma\u00e7\u00e3 verde 123'); // precomposed
    expect(await verifyPassword('mac\u0327a\u0303 verde 123', h)).toBe(true); // decomposed
  });

  it('never verify against an erased account, a malformed hash or the unknown-account hash', async () => {
    for (const stored of ['!', '', 'scrypt$1$2', UNKNOWN_ACCOUNT_HASH]) {
      expect(await verifyPassword('anything-at-all', stored)).toBe(false);
    }
  });
});

describe('the ownership rule', () => {
  const customer = (id: number): Principal => ({ customerId: id, role: 'customer' });
  const admin: Principal = { customerId: 1, role: 'admin' };
  it.each([
    ['the owner', customer(7), 7, true],
    ['an admin', admin, 7, true],
    ['another customer', customer(8), 7, false],
  ])('%s asking for a resource of customer 7 → %s', (_, principal, ownerId, allowed) => {
    const check = () => assertOwnerOrAdmin(principal, ownerId, 'order', 42);
    if (allowed) expect(check).not.toThrow();
    else {
      expect(check).toThrow(AppError);
      try {
        check();
      } catch (err) {
        expect((err as AppError).status).toBe(404);
        expect((err as AppError).code).toBe('order_not_found');
      }
    }
  });
});
