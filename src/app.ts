import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Deps } from './deps.ts';
import { registerOpenApi } from './http/openapi.ts';
import { registerProblemHandlers } from './http/problem.ts';
import { Problem } from './http/problem-schema.ts';
import { REQUEST_ID_HEADER, requestIdFor } from './http/request-id.ts';
import { OneLinePerRequest } from './http/request-log.ts';
import { validatorCompiler } from './http/validation.ts';
import { catalogRoutes } from './modules/catalog/catalog.routes.ts';
import { opsRoutes } from './modules/ops/ops.routes.ts';

export type AppInstance = FastifyInstance<
  Server,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** Builds the HTTP app. The server and the tests both go through here. */
export async function buildApp(deps: Deps): Promise<AppInstance> {
  const app = Fastify({
    loggerInstance: deps.log,
    genReqId: requestIdFor,
    logController: new OneLinePerRequest(),
    bodyLimit: deps.config.BODY_LIMIT_BYTES,
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  // Bodies are JSON only: anything else is 415, not a string to validate.
  app.removeContentTypeParser('text/plain');
  app.addSchema(Problem);
  registerProblemHandlers(app);

  // Once closing, responses end their keep-alive connection; otherwise a
  // connection that was busy when close() began would idle until
  // keepAliveTimeout and hold the shutdown up.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    if (closing) reply.header('connection', 'close');
  });

  await registerOpenApi(app, deps.version);
  opsRoutes(app, deps);
  catalogRoutes(app, deps.catalog);
  return app;
}
