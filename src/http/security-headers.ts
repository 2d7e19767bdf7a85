import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * Helmet's security headers, computed once. @fastify/helmet runs helmet per
 * request, re-parsing the CSP directives each time, a visible share of a
 * cached read's CPU (docs/decisions.md). Our headers never vary by request,
 * so helmet runs once at start and its result is sent as is.
 */
export function securityHeaders(options: Readonly<HelmetOptions>): Record<string, string> {
  const headers: Record<string, string> = {};
  const res = {
    setHeader: (name: string, value: string) => {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader: (name: string) => {
      delete headers[name.toLowerCase()];
    },
  };
  helmet(options)({} as IncomingMessage, res as unknown as ServerResponse, () => {});
  return headers;
}

// What OWASP's REST Security Cheat Sheet asks of a JSON API (CSP, HSTS,
// nosniff, frame denial, referrer, CORP). Headers that only protect HTML
// documents or long-gone browsers are left out: they made a cached product
// response much larger and slower (docs/decisions.md has the A/B).
export const SECURITY_HEADERS: Readonly<Record<string, string>> = securityHeaders({
  contentSecurityPolicy: {
    useDefaults: false,
    directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  },
  frameguard: { action: 'deny' },
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
});

/** Adds the security headers to every response; a route may still set its own (the docs page sets its CSP). */
export function registerSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(SECURITY_HEADERS);
    done();
  });
}
