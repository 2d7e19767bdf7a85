import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/** OpenAPI 3.1 generated from the route schemas; served at /openapi.json, browsable at /docs. */
export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    // Shared schemas keep their $id as their name under components.schemas.
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
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
      ],
    },
  });
  // staticCSP: the docs page gets a CSP that allows its own assets, in place of the API's strict one.
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/openapi.json', { schema: { hide: true }, logLevel: 'warn' }, () => app.swagger());
}
