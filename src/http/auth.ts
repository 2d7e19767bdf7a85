import fastifyJwt from '@fastify/jwt';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { NotFoundResource } from '../error-codes.ts';
import { ERRORS } from '../errors.ts';

export type Role = 'customer' | 'admin';

/** Who is calling, from a verified access token. */
export interface Principal {
  customerId: number;
  role: Role;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Whether the account may still act: an erased one may not, whatever tokens it holds. */
    isActiveAccount(customerId: number): Promise<boolean>;
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { sub: string; role: Role };
    user: Principal;
  }
}

/** Access tokens: short-lived HS256 JWTs carrying the customer id and role. */
export async function registerAuth(
  app: FastifyInstance,
  opts: {
    secret: string;
    accessTtlSeconds: number;
    isActiveAccount: (customerId: number) => Promise<boolean>;
  },
): Promise<void> {
  app.decorate('isActiveAccount', opts.isActiveAccount);
  await app.register(fastifyJwt, {
    secret: opts.secret,
    sign: { algorithm: 'HS256', expiresIn: opts.accessTtlSeconds }, // seconds
    verify: { algorithms: ['HS256'] },
    formatUser: (payload) => ({ customerId: Number(payload.sub), role: payload.role }),
  });
}

/** onRequest hook: 401 problem unless a valid bearer token comes with the request. */
export async function authenticate(request: FastifyRequest): Promise<void> {
  try {
    await request.jwtVerify();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'FST_JWT_NO_AUTHORIZATION_IN_HEADER') {
      throw ERRORS.unauthenticated('unauthenticated', 'send an access token: Authorization: Bearer <token>');
    }
    if (code === 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED') {
      throw ERRORS.unauthenticated('token_expired', 'the access token has expired; refresh it');
    }
    throw ERRORS.unauthenticated('invalid_token', 'the access token is malformed, tampered with or not ours');
  }
  const { customerId, role } = request.user;
  if (!Number.isSafeInteger(customerId) || customerId < 1 || (role !== 'customer' && role !== 'admin')) {
    throw ERRORS.unauthenticated('invalid_token', 'the access token is malformed, tampered with or not ours');
  }
  // Tokens are not revoked one by one, but an erased account's stop at once, on every instance.
  if (!(await request.server.isActiveAccount(customerId))) {
    throw ERRORS.unauthenticated('invalid_token', 'this account no longer exists');
  }
}

/** onRequest hook for admin routes: 401 without a valid token, 403 for a customer. */
export async function requireAdmin(request: FastifyRequest): Promise<void> {
  await authenticate(request);
  if (request.user.role !== 'admin') throw ERRORS.forbidden();
}

/**
 * The ownership rule for every customer-owned resource: its owner and admins
 * see it; anyone else is told it does not exist, so ids leak nothing.
 */
export function assertOwnerOrAdmin(
  principal: Principal,
  ownerId: number,
  resource: NotFoundResource,
  id: string | number,
): void {
  if (principal.role === 'admin' || principal.customerId === ownerId) return;
  throw ERRORS.notFound(resource, id);
}

/** OpenAPI: how protected routes declare their security. */
export const BEARER = [{ bearerAuth: [] }];
