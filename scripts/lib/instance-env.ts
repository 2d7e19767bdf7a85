import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Config, loadConfig } from '../../src/config.ts';
import type { StackConfig } from '../stack-config.ts';

export interface InstanceEnv {
  /** What every program of the stack starts with (supervisord passes it on). */
  env: Record<string, string>;
  /** The same, as the app reads it: validated before anything starts. */
  config: Config;
}

/** A secret kept in the state directory (mode 0600), made on first use. */
function stateSecret(stateDir: string, name: string): string {
  const file = join(stateDir, name);
  if (!existsSync(file)) {
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(file, randomBytes(36).toString('base64url'), { mode: 0o600 });
  }
  return readFileSync(file, 'utf8').trim();
}

/**
 * The app's environment for the stack's programs: the stack's defaults
 * (production mode against the local PostgreSQL and Redis, behind nginx on
 * loopback, the emulated processors), the profile's, then whatever the
 * caller's environment says; then the profile's paths in the state directory. Production mode needs a strong secret shared by
 * every instance, and an admin: made once in the state directory unless given.
 */
export function instanceEnv(stack: StackConfig): InstanceEnv {
  const given = stack.inherited;
  const env: Record<string, string | undefined> = {
    NODE_ENV: 'production',
    DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/armazem',
    REDIS_URL: 'redis://127.0.0.1:6379',
    ADMIN_EMAIL: 'admin@armazem.local',
    // nginx on loopback forwards the client's address; rate limits key on it.
    TRUST_PROXY: 'loopback',
    PAYMENT_PROCESSOR_URL_DEFAULT: `http://127.0.0.1:${stack.processorBasePort}`,
    PAYMENT_PROCESSOR_URL_FALLBACK: `http://127.0.0.1:${stack.processorBasePort + 1}`,
    ...stack.profile.env,
    ...given,
  };
  // Paths the profile keeps in the state directory, unless the environment says otherwise (empty: off).
  for (const [name, dir] of Object.entries(stack.profile.stateEnv)) env[name] ??= join(stack.stateDir, dir);
  // The credit shape runs without Redis, whatever the environment says (empty counts as unset).
  if (!stack.profile.redis) env.REDIS_URL = '';
  env.JWT_SECRET ||= stateSecret(stack.stateDir, 'jwt-secret');
  env.ADMIN_PASSWORD ||= stateSecret(stack.stateDir, 'admin-password');
  const defined = Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined),
  );
  return { env: defined, config: loadConfig(defined) };
}
