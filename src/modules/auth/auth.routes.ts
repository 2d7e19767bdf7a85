import { Type } from 'typebox';
import type { Config } from '../../config.ts';
import { ERRORS } from '../../errors.ts';
import type { AppInstance } from '../../http/app-instance.ts';
import type { Role } from '../../http/auth.ts';
import { ProblemResponses } from '../../http/problem-schema.ts';
import { limitEach } from '../../http/rate-limit.ts';
import type { CustomerRepository } from '../customers/customers.repository.ts';
import { LoginInput, RefreshInput, TokenPair } from '../customers/customers.schemas.ts';
import { UNKNOWN_ACCOUNT_HASH, verifyPassword } from './password.ts';
import type { RefreshTokenRepository } from './refresh-tokens.repository.ts';

export interface AuthDeps {
  config: Config;
  customers: CustomerRepository;
  refreshTokens: RefreshTokenRepository;
}

export function authRoutes(app: AppInstance, { config, customers, refreshTokens }: AuthDeps): void {
  const issue = async (customerId: number, role: Role, familyId?: string) => ({
    tokenType: 'Bearer' as const,
    accessToken: app.jwt.sign({ sub: String(customerId), role }),
    expiresIn: config.ACCESS_TOKEN_TTL_SECONDS,
    refreshToken: await refreshTokens.issue(customerId, familyId),
    refreshExpiresIn: config.REFRESH_TOKEN_TTL_SECONDS,
  });

  const windowMs = config.LOGIN_RATE_WINDOW_SECONDS * 1000;
  const loginLimits = limitEach(app, [
    { max: config.LOGIN_RATE_LIMIT_PER_IP, windowMs, key: (r) => `login-ip:${r.ip}` },
    {
      max: config.LOGIN_RATE_LIMIT_PER_EMAIL,
      windowMs,
      key: (r) =>
        `login-email:${String((r.body as { email?: unknown }).email)
          .trim()
          .toLowerCase()}`,
    },
  ]);

  app.post(
    '/auth/login',
    {
      // After validation, so the email limit can key on the body.
      preHandler: loginLimits,
      schema: {
        tags: ['auth'],
        summary: 'Log in: an access token and a refresh token',
        body: LoginInput,
        response: { 200: TokenPair, ...ProblemResponses },
      },
    },
    async (request) => {
      const { email, password } = request.body;
      const found = await customers.findActiveByEmail(email.trim());
      // An unknown email costs the same scrypt work and gets the same answer as a wrong password.
      const valid = await verifyPassword(password, found?.passwordHash ?? UNKNOWN_ACCOUNT_HASH);
      if (!found || !valid)
        throw ERRORS.unauthenticated('invalid_credentials', 'email or password is incorrect');
      return issue(found.customer.id, found.customer.role);
    },
  );

  app.post(
    '/auth/refresh',
    {
      schema: {
        tags: ['auth'],
        summary: 'Trade a refresh token (once) for a new pair; reusing one revokes its whole family',
        body: RefreshInput,
        response: { 200: TokenPair, ...ProblemResponses },
      },
    },
    async (request) => {
      const used = await refreshTokens.use(request.body.refreshToken);
      if (!used.ok) {
        const detail =
          used.reason === 'reused'
            ? 'this refresh token was already used; every session it belonged to has been ended'
            : `the refresh token is ${used.reason === 'unknown' ? 'not valid' : used.reason}`;
        throw ERRORS.unauthenticated('invalid_refresh_token', detail);
      }
      const found = await customers.findById(used.customerId);
      if (!found || found.customer.deletedAt)
        throw ERRORS.unauthenticated('invalid_refresh_token', 'this account no longer exists');
      return issue(found.customer.id, found.customer.role, used.familyId);
    },
  );

  app.post(
    '/auth/logout',
    {
      schema: {
        tags: ['auth'],
        summary: 'End the session the refresh token belongs to',
        body: RefreshInput,
        response: { 204: Type.Null(), ...ProblemResponses },
      },
    },
    async (request, reply) => {
      await refreshTokens.revokeFamilyOf(request.body.refreshToken);
      return reply.code(204).send(null);
    },
  );
}
