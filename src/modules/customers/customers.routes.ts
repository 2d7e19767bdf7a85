import { Type } from 'typebox';
import { ERRORS } from '../../errors.ts';
import type { AppInstance } from '../../http/app-instance.ts';
import { assertOwnerOrAdmin, authenticate, BEARER, requireAdmin } from '../../http/auth.ts';
import { decodeCursor, toPage } from '../../http/cursor.ts';
import { ProblemResponses } from '../../http/problem-schema.ts';
import { escapeLike } from '../../platform/sql.ts';
import { hashPassword, verifyPassword } from '../auth/password.ts';
import type { RefreshTokenRepository } from '../auth/refresh-tokens.repository.ts';
import { type CustomerRepository, EMAIL_TAKEN } from './customers.repository.ts';
import {
  Customer,
  CustomerId,
  CustomerListQuery,
  CustomerPage,
  CustomerPatch,
  RegisterInput,
} from './customers.schemas.ts';

export interface CustomersDeps {
  customers: CustomerRepository;
  refreshTokens: RefreshTokenRepository;
}

function assertPasswordIsNotEmail(password: string, email: string): void {
  if (password.trim().toLowerCase() === email.trim().toLowerCase()) {
    throw ERRORS.invalidField('body.password', 'must not be the email address');
  }
}

const emailTaken = () =>
  ERRORS.conflict('email_taken', 'body.email', 'an account with this email already exists');

export function customerRoutes(app: AppInstance, { customers, refreshTokens }: CustomersDeps): void {
  app.post(
    '/customers',
    {
      schema: {
        tags: ['customers'],
        summary: 'Register a customer',
        body: RegisterInput,
        response: { 201: Customer, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const { name, email, password } = request.body;
      assertPasswordIsNotEmail(password, email);
      const created = await customers.create({
        name: name.trim(),
        email: email.trim(),
        passwordHash: await hashPassword(password),
      });
      if (created === EMAIL_TAKEN) throw emailTaken();
      return reply.code(201).header('location', `/customers/${created.id}`).send(created);
    },
  );

  // The caller's own account.
  app.register(async (me: AppInstance) => {
    me.addHook('onRequest', authenticate);

    /** The caller's live account; an erased one no longer authenticates. */
    const current = async (customerId: number) => {
      const found = await customers.findById(customerId);
      if (!found || found.customer.deletedAt)
        throw ERRORS.unauthenticated('invalid_token', 'this account no longer exists');
      return found;
    };

    me.get(
      '/customers/me',
      {
        schema: {
          tags: ['customers'],
          summary: 'My account',
          security: BEARER,
          response: { 200: Customer, ...ProblemResponses },
        },
      },
      async (request) => (await current(request.user.customerId)).customer,
    );

    me.patch(
      '/customers/me',
      {
        schema: {
          tags: ['customers'],
          summary: 'Change my name, email or password (the last two need currentPassword)',
          security: BEARER,
          body: CustomerPatch,
          response: { 200: Customer, ...ProblemResponses },
        },
      },
      async (request) => {
        const { name, email, password, currentPassword } = request.body;
        const found = await current(request.user.customerId);
        if (email !== undefined || password !== undefined) {
          if (currentPassword === undefined)
            throw ERRORS.invalidField('body.currentPassword', 'is required to change email or password');
          if (!(await verifyPassword(currentPassword, found.passwordHash))) {
            throw ERRORS.invalidField('body.currentPassword', 'is not the current password');
          }
        }
        if (password !== undefined) assertPasswordIsNotEmail(password, email ?? found.customer.email);
        const updated = await customers.update(found.customer.id, {
          ...(name !== undefined ? { name: name.trim() } : {}),
          ...(email !== undefined ? { email: email.trim() } : {}),
          ...(password !== undefined ? { passwordHash: await hashPassword(password) } : {}),
        });
        if (updated === EMAIL_TAKEN) throw emailTaken();
        if (!updated) throw ERRORS.unauthenticated('invalid_token', 'this account no longer exists');
        // A new password ends every other session.
        if (password !== undefined) await refreshTokens.revokeAllFor(updated.id);
        return updated;
      },
    );

    me.delete(
      '/customers/me',
      {
        schema: {
          tags: ['customers'],
          summary: 'Delete my account: personal data erased, sessions ended, orders kept anonymous',
          security: BEARER,
          response: { 204: Type.Null(), ...ProblemResponses },
        },
      },
      async (request, reply) => {
        if (!(await customers.erase(request.user.customerId))) {
          throw ERRORS.unauthenticated('invalid_token', 'this account no longer exists');
        }
        return reply.code(204).send(null);
      },
    );

    me.get(
      '/customers/:id',
      {
        schema: {
          tags: ['customers'],
          summary: 'A customer: the customer themself or an admin',
          security: BEARER,
          params: Type.Object({ id: CustomerId }, { additionalProperties: false }),
          response: { 200: Customer, ...ProblemResponses },
        },
      },
      async (request) => {
        const { id } = request.params;
        assertOwnerOrAdmin(request.user, id, 'customer', id);
        const found = await customers.findById(id);
        if (!found) throw ERRORS.notFound('customer', id);
        return found.customer;
      },
    );
  });

  app.register(async (admin: AppInstance) => {
    admin.addHook('onRequest', requireAdmin);
    admin.get(
      '/customers',
      {
        schema: {
          tags: ['customers'],
          summary: 'Customers (admins): search by name or email, cursor pages',
          security: BEARER,
          querystring: CustomerListQuery,
          response: { 200: CustomerPage, ...ProblemResponses },
        },
      },
      async (request) => {
        const q = request.query;
        const rows = await customers.list({
          ...(q.search !== undefined ? { search: escapeLike(q.search) } : {}),
          ...(q.cursor !== undefined ? { afterId: decodeCursor(q.cursor) } : {}),
          limit: q.limit + 1,
        });
        return toPage(rows, q.limit);
      },
    );
  });
}
