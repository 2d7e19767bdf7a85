import { buildApp } from '../../../src/app.ts';
import { loadConfig } from '../../../src/config.ts';
import { createDeps } from '../../../src/deps.ts';
import { createLogger } from '../../../src/platform/logger.ts';

/**
 * The configuration the committed document describes: every optional family
 * of routes served (the Rinha 2024/Q1 routes; the Telegram webhook is hidden
 * from the document either way), so the reference covers the whole API.
 */
export const DOCUMENTED_ENV = { CREDIT_CONTEST_ROUTES: 'true' } as const;

/** The text committed as docs/openapi.json, so a diff of the API reads line by line in review. */
export const formatOpenApi = (document: unknown): string => `${JSON.stringify(document, null, 2)}\n`;

/**
 * Builds the production app (buildApp, as the server does) and returns its
 * OpenAPI document. Building runs no query and pools connect lazily, so the
 * database is an address nothing listens on: no server is needed, and the
 * embedded one (seconds to start) is not started.
 */
export async function generateOpenApi(): Promise<string> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    JWT_SECRET: 'openapi-generation-only-0123456789-abcdefghij',
    DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
    ...DOCUMENTED_ENV,
  });
  const deps = await createDeps(config, createLogger(config));
  try {
    const app = await buildApp(deps);
    await app.ready();
    const document = app.swagger();
    await app.close();
    return formatOpenApi(document);
  } finally {
    await deps.close();
  }
}
