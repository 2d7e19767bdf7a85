import { createHmac } from 'node:crypto';
import { expect } from 'vitest';
import type { TestApp } from './app.ts';
import { json } from './app.ts';

export interface Session {
  id: number;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
  auth: { authorization: string };
}

let seq = 0;

/** Registers a customer and logs in; returns the customer and its tokens. */
export async function registerAndLogin(
  t: TestApp,
  over: { name?: string; email?: string; password?: string } = {},
): Promise<Session> {
  seq++;
  const email = over.email ?? `cliente${seq}-${process.pid}@example.com`;
  const password = over.password ?? `senha-segura-${seq}`;
  const reg = await t.app.inject({
    method: 'POST',
    url: '/customers',
    ...json({ name: over.name ?? `Cliente ${seq}`, email, password }),
  });
  expect(reg.statusCode, reg.body).toBe(201);
  const login = await t.app.inject({ method: 'POST', url: '/auth/login', ...json({ email, password }) });
  expect(login.statusCode, login.body).toBe(200);
  const { accessToken, refreshToken } = login.json();
  return {
    id: reg.json().id,
    email,
    password,
    accessToken,
    refreshToken,
    auth: { authorization: `Bearer ${accessToken}` },
  };
}

/** An HS256 JWT built by hand, to forge expired, tampered or foreign tokens. */
export function handMadeJwt(
  payload: Record<string, unknown>,
  secret: string,
  header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' },
): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${b64(header)}.${b64(payload)}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

export const decodeJwt = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString());
