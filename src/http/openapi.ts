import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { ERROR_CODES } from '../error-codes.ts';

interface OpenApiDocument {
  components?: { schemas?: Record<string, Record<string, unknown>> };
  paths?: Record<
    string,
    Record<
      string,
      {
        parameters?: Array<{ required?: boolean; schema?: { default?: unknown } }>;
        requestBody?: {
          required?: boolean;
          content?: Record<string, { schema?: { anyOf?: Array<{ type?: string }> } }>;
        };
      }
    >
  >;
}

/**
 * What the route schemas mean but the generator does not say: a parameter
 * with a default (`limit`) is not required, a body that may be null
 * (`POST /orders/:id/pay`) may be left out, and each error code has a status,
 * a title and a meaning (the catalogue, beside the Problem schema).
 */
function documentDefaults(doc: OpenApiDocument): OpenApiDocument {
  const problem = doc.components?.schemas?.Problem;
  if (problem) problem['x-error-codes'] = ERROR_CODES;
  for (const ops of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(ops)) {
      for (const p of op.parameters ?? []) if (p.schema?.default !== undefined) p.required = false;
      const body = op.requestBody;
      const json = body?.content?.['application/json']?.schema;
      if (body && json?.anyOf?.some((s) => s.type === 'null')) body.required = false;
    }
  }
  return doc;
}

/** OpenAPI 3.1 generated from the route schemas; served at /openapi.json, browsable at /docs. */
export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    // Shared schemas keep their $id as their name under components.schemas.
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
    transformObject: (document) =>
      documentDefaults(
        ('openapiObject' in document ? document.openapiObject : {}) as OpenApiDocument,
      ) as object,
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'armazem',
        version,
        description: 'Commerce backend: catalog, customers, orders, payments, store credit.',
      },
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
      tags: [
        { name: 'catalog', description: 'Products, cached in Redis; writes for admins' },
        { name: 'customers', description: 'Registration, my account; listing for admins' },
        { name: 'auth', description: 'Login, rotating refresh tokens, logout' },
        { name: 'orders', description: 'Orders that never oversell: reserve, change, cancel' },
        {
          name: 'payments',
          description: 'Payments routed between two processors (Rinha de Backend 2025 contract)',
        },
        { name: 'operations', description: 'Health, status and diagnostics' },
        { name: 'credit', description: 'Store credit: balances and limits that never break' },
        { name: 'rinha-2024', description: 'Rinha de Backend 2024/Q1 contract (CREDIT_CONTEST_ROUTES)' },
      ],
    },
  });
  // staticCSP: the docs page gets a CSP that allows its own assets, in place of the API's strict one.
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/openapi.json', { schema: { hide: true }, logLevel: 'warn' }, () => app.swagger());
}
