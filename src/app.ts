import type { IncomingMessage } from 'node:http';
import cors from '@fastify/cors';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import type { Deps } from './deps.ts';
import type { AppInstance } from './http/app-instance.ts';
import { registerAuth } from './http/auth.ts';
import { clientErrorHandler, frameworkErrors } from './http/edge-errors.ts';
import { hotReadServer, type Replayed } from './http/hot-reads.ts';
import { registerOpenApi } from './http/openapi.ts';
import { registerProblemHandlers } from './http/problem.ts';
import { Problem } from './http/problem-schema.ts';
import { registerRateLimits } from './http/rate-limit.ts';
import { REQUEST_ID_HEADER, requestIdFor } from './http/request-id.ts';
import { OneLinePerRequest, RequestDurations } from './http/request-log.ts';
import { registerSecurityHeaders } from './http/security-headers.ts';
import { validatorCompiler } from './http/validation.ts';
import { authRoutes } from './modules/auth/auth.routes.ts';
import { linkCodeRoutes } from './modules/bot/link-code.routes.ts';
import { catalogRoutes } from './modules/catalog/catalog.routes.ts';
import { productHotRead } from './modules/catalog/hot-read.ts';
import { contestLanes } from './modules/credit/contest.lane.ts';
import { contestRoutes } from './modules/credit/contest.routes.ts';
import { creditRoutes } from './modules/credit/credit.routes.ts';
import { customerRoutes } from './modules/customers/customers.routes.ts';
import { opsRoutes } from './modules/ops/ops.routes.ts';
import { orderRoutes } from './modules/orders/orders.routes.ts';
import { paymentRoutes } from './modules/payments/payments.routes.ts';
import { tracingEnabled } from './platform/tracing.ts';

/** Builds the HTTP app. The server and the tests both go through here. */
export async function buildApp(deps: Deps): Promise<AppInstance> {
  // Once closing, responses end their keep-alive connection; otherwise a
  // connection that was busy when close() began would idle until
  // keepAliveTimeout and hold the shutdown up.
  let closing = false;
  const durations = new RequestDurations(deps.metrics);
  const origins = deps.config.CORS_ORIGINS?.split(',');
  // Through the app once it exists: a lane's request whose body did not validate is answered by Fastify.
  let replay = (_req: IncomingMessage, _body: Buffer): Promise<Replayed> =>
    Promise.reject(new Error('the app is not built yet'));
  const app = Fastify({
    loggerInstance: deps.log,
    genReqId: requestIdFor,
    logController: new OneLinePerRequest(durations),
    // Near-copy hits and the contest's routes answered before Fastify; not with CORS or tracing, whose headers and spans Fastify adds.
    ...(origins || tracingEnabled()
      ? {}
      : {
          serverFactory: hotReadServer({
            reads: [productHotRead(deps.catalog.cache)],
            ...(deps.config.LISTENER_LANES && deps.config.CREDIT_CONTEST_ROUTES
              ? {
                  lanes: {
                    routes: contestLanes(deps.credit, deps.log),
                    replay: (req, body) => replay(req, body),
                  },
                }
              : {}),
            log: deps.log,
            durations,
            closing: () => closing,
          }),
        }),
    bodyLimit: deps.config.BODY_LIMIT_BYTES,
    return503OnClosing: true,
    frameworkErrors,
    clientErrorHandler,
    trustProxy: trustProxy(deps.config.TRUST_PROXY),
  }).withTypeProvider<TypeBoxTypeProvider>();

  replay = (req, body) =>
    app.inject({
      method: req.method as 'POST',
      url: req.url as string,
      headers: req.headers,
      payload: body,
      remoteAddress: req.socket.remoteAddress,
    });
  app.setValidatorCompiler(validatorCompiler);
  // Bodies are JSON only: anything else is 415, not a string to validate.
  app.removeContentTypeParser('text/plain');
  // An empty JSON body is no body (the Rinha 2025 test purges with one): routes that need a body
  // still refuse it, naming `body`; the rest run as if none was sent.
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') done(null, undefined);
    else json(request, body as string, done);
  });
  app.addSchema(Problem);
  registerProblemHandlers(app);

  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });

  registerSecurityHeaders(app);
  // Cross-origin access only for the configured origins; with none, not even a hook runs.
  if (origins) await app.register(cors, { origin: origins.includes('*') ? true : origins });
  await registerAuth(app, {
    secret: deps.jwtSecret,
    accessTtlSeconds: deps.config.ACCESS_TOKEN_TTL_SECONDS,
    isActiveAccount: (id) => deps.customers.isActive(id),
  });
  await registerRateLimits(app, deps.kv.redisClient);

  await registerOpenApi(app, deps.version);
  opsRoutes(app, deps);
  catalogRoutes(app, deps.catalog);
  customerRoutes(app, deps);
  authRoutes(app, deps);
  orderRoutes(app, deps);
  paymentRoutes(app, deps);
  creditRoutes(app, deps);
  if (deps.config.CREDIT_CONTEST_ROUTES) contestRoutes(app, deps);
  linkCodeRoutes(app, deps);
  // Webhook mode: grammY is loaded only by instances that serve Telegram's updates.
  if (deps.config.TELEGRAM_WEBHOOK_URL)
    await (await import('./modules/bot/webhook.route.ts')).telegramWebhookRoute(app, deps);
  return app;
}

/** TRUST_PROXY: unset or "false" → the socket's address is the client; "true" → the left-most forwarded one; else a list. */
function trustProxy(value: string | undefined): boolean | string {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  return value;
}
