import Fastify, { type FastifyInstance } from 'fastify';

/**
 * A payment processor as the Rinha de Backend 2025 test runs them: used by
 * armazem's tests, its local stack and its benchmark. Behaviour, from the
 * contract:
 * - POST /payments {correlationId, amount, requestedAt}: waits the configured
 *   delay, then 500 while failing (nothing stored), 422 for a correlationId it
 *   already has, else stores the payment and answers 200. A caller that
 *   disconnects does not stop the processing.
 * - GET /payments/service-health → {failing, minResponseTime}, with status
 *   503 while failing: at most one call per 5 s; a call due within
 *   HEALTH_QUEUE_MS waits for its slot (a short queue), any other gets 429.
 * - GET /payments/:id → the payment it holds {correlationId, amount,
 *   requestedAt}, or 404: no delay, no failure (the contest's processor
 *   serves it for troubleshooting).
 * - /admin/* behind X-Rinha-Token (initially "123"): payments-summary,
 *   configurations/token|delay|failure, purge-payments.
 */
export interface EmulatorOptions {
  name: 'default' | 'fallback';
  fee: number;
  /** Shortened by tests; the contract's window is 5 s. */
  healthWindowMs?: number;
}

const HEALTH_QUEUE_MS = 500;

interface StoredPayment {
  amountCents: number;
  requestedAt: number;
}

export function createProcessorEmulator(opts: EmulatorOptions): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 16_384 });
  // Admin calls such as purge-payments often send a JSON content type with no body.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, body === '' ? {} : JSON.parse(body as string));
    } catch (err) {
      (err as { statusCode?: number }).statusCode = 400;
      done(err as Error, undefined);
    }
  });
  const payments = new Map<string, StoredPayment>();
  const state = { token: '123', delayMs: 0, failing: false };
  const healthWindowMs = opts.healthWindowMs ?? 5000;
  let nextHealthSlot = 0;

  app.post<{ Body: { correlationId?: unknown; amount?: unknown; requestedAt?: unknown } }>(
    '/payments',
    async (request, reply) => {
      const { correlationId, amount, requestedAt } = request.body ?? {};
      const requested = typeof requestedAt === 'string' ? Date.parse(requestedAt) : Number.NaN;
      if (
        typeof correlationId !== 'string' ||
        correlationId.length === 0 ||
        typeof amount !== 'number' ||
        !(amount > 0) ||
        Number.isNaN(requested)
      ) {
        return reply.code(400).send({ message: 'correlationId, amount and requestedAt are required' });
      }
      if (state.delayMs > 0) await new Promise((r) => setTimeout(r, state.delayMs));
      if (state.failing) return reply.code(500).send({ message: 'processor failing' });
      if (payments.has(correlationId))
        return reply.code(422).send({ message: 'correlationId already exists' });
      payments.set(correlationId, { amountCents: Math.round(amount * 100), requestedAt: requested });
      return { message: 'payment processed successfully' };
    },
  );

  app.get('/payments/service-health', async (_request, reply) => {
    const now = Date.now();
    const wait = Math.max(0, nextHealthSlot - now);
    if (wait > HEALTH_QUEUE_MS) return reply.code(429).send({ message: 'too many requests' });
    nextHealthSlot = Math.max(now, nextHealthSlot) + healthWindowMs;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    return reply
      .code(state.failing ? 503 : 200)
      .send({ failing: state.failing, minResponseTime: state.delayMs });
  });

  app.get<{ Params: { id: string } }>('/payments/:id', async (request, reply) => {
    const p = payments.get(request.params.id);
    if (!p) return reply.code(404).send({ message: 'payment not found' });
    return {
      correlationId: request.params.id,
      amount: p.amountCents / 100,
      requestedAt: new Date(p.requestedAt).toISOString(),
    };
  });

  app.register(async (admin) => {
    admin.addHook('onRequest', async (request, reply) => {
      if (request.headers['x-rinha-token'] !== state.token)
        return reply.code(401).send({ message: 'invalid X-Rinha-Token' });
    });
    admin.get<{ Querystring: { from?: string; to?: string } }>('/admin/payments-summary', async (request) => {
      const from = request.query.from ? Date.parse(request.query.from) : Number.NEGATIVE_INFINITY;
      const to = request.query.to ? Date.parse(request.query.to) : Number.POSITIVE_INFINITY;
      let count = 0;
      let cents = 0;
      for (const p of payments.values()) {
        if (p.requestedAt >= from && p.requestedAt <= to) {
          count++;
          cents += p.amountCents;
        }
      }
      const totalAmount = cents / 100;
      return {
        totalRequests: count,
        totalAmount,
        totalFee: Math.round(cents * opts.fee) / 100,
        feePerTransaction: opts.fee,
      };
    });
    admin.put<{ Body: { token?: unknown } }>('/admin/configurations/token', async (request, reply) => {
      if (typeof request.body?.token !== 'string' || request.body.token.length === 0)
        return reply.code(400).send({ message: 'token' });
      state.token = request.body.token;
      return reply.code(204).send();
    });
    admin.put<{ Body: { delay?: unknown } }>('/admin/configurations/delay', async (request, reply) => {
      const delay = request.body?.delay;
      if (typeof delay !== 'number' || delay < 0) return reply.code(400).send({ message: 'delay' });
      state.delayMs = delay;
      return reply.code(204).send();
    });
    admin.put<{ Body: { failure?: unknown } }>('/admin/configurations/failure', async (request, reply) => {
      if (typeof request.body?.failure !== 'boolean') return reply.code(400).send({ message: 'failure' });
      state.failing = request.body.failure;
      return reply.code(204).send();
    });
    admin.post('/admin/purge-payments', async () => {
      payments.clear();
      return { message: 'All payments purged.' };
    });
  });

  return app;
}
