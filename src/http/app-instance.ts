import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';

/**
 * The Fastify instance every route module registers on: the TypeBox type
 * provider makes each route's schema its handler's types. Declared here, below
 * the modules, so they need not import app.ts (which imports them).
 */
export type AppInstance = FastifyInstance<
  Server,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;
