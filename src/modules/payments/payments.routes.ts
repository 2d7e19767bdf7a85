import { Type } from 'typebox';
import type { Config } from '../../config.ts';
import { ERRORS } from '../../errors.ts';
import type { AppInstance } from '../../http/app-instance.ts';
import { assertOwnerOrAdmin, authenticate } from '../../http/auth.ts';
import { ProblemResponses } from '../../http/problem-schema.ts';
import { assertRange } from '../../http/range.ts';
import { parseMoney } from '../catalog/price.ts';
import type { OrderRepository } from '../orders/orders.repository.ts';
import type { PaymentRepository } from './payments.repository.ts';
import { Payment } from './payments.schemas.ts';

export interface PaymentsDeps {
  config: Config;
  payments: PaymentRepository;
  orders: OrderRepository;
}

const SummaryPart = Type.Object({ totalRequests: Type.Integer(), totalAmount: Type.Number() });

/** The Rinha de Backend 2025 contract, plus a payment's status. No login: the test sends none. */
export function paymentRoutes(app: AppInstance, { config, payments, orders }: PaymentsDeps): void {
  app.post(
    '/payments',
    {
      schema: {
        tags: ['payments'],
        summary: 'Accept a payment: 202 once it is durable; it is then processed exactly once',
        body: Type.Object(
          {
            correlationId: Type.String({ format: 'uuid' }),
            amount: Type.Union([
              Type.Number({ exclusiveMinimum: 0, maximum: 999_999_999_999.99 }),
              Type.String({ pattern: '^[0-9]{1,12}(\\.[0-9]{1,2})?$' }),
            ]),
          },
          { additionalProperties: false },
        ),
        response: { 202: Type.String({ maxLength: 0, description: 'No body' }), ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const amount = parseMoney(request.body.amount, 'body.amount', 12);
      if (Number(amount) <= 0) throw ERRORS.invalidField('body.amount', 'must be greater than 0');
      const outcome = await payments.accept(request.body.correlationId.toLowerCase(), amount);
      if (outcome === 'unavailable') throw ERRORS.databaseUnavailable();
      if (outcome === 'conflict') {
        throw ERRORS.conflict(
          'correlation_id_reused',
          'body.correlationId',
          'this correlationId was already used with another amount',
        );
      }
      return reply.code(202).send('');
    },
  );

  app.get(
    '/payments-summary',
    {
      schema: {
        tags: ['payments'],
        summary: 'Processed payments per processor, by the requestedAt sent to it',
        querystring: Type.Object(
          {
            from: Type.Optional(Type.String({ format: 'date-time' })),
            to: Type.Optional(Type.String({ format: 'date-time' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ default: SummaryPart, fallback: SummaryPart }), ...ProblemResponses },
      },
    },
    async (request) => {
      assertRange(request.query.from, request.query.to);
      return payments.summary(request.query.from, request.query.to);
    },
  );

  app.get(
    '/payments/:correlationId',
    {
      schema: {
        tags: ['payments'],
        summary:
          'A payment: queued, processing (pinned to a processor), processed, or failed; and its attempts. An order’s payment only to its owner or an admin (bearer token); the contest’s anonymous payments to anyone',
        params: Type.Object(
          { correlationId: Type.String({ format: 'uuid' }) },
          { additionalProperties: false },
        ),
        response: { 200: Payment, ...ProblemResponses },
      },
    },
    async (request) => {
      const id = request.params.correlationId;
      const found = await payments.find(id.toLowerCase());
      if (!found) throw ERRORS.notFound('payment', id);
      // The contest's payments are anonymous; an order's payment is its owner's (or an admin's) to see.
      if (found.orderId !== null) {
        const owner = await orders.findById(found.orderId);
        try {
          await authenticate(request);
        } catch {
          throw ERRORS.notFound('payment', id);
        }
        assertOwnerOrAdmin(request.user, owner?.customerId ?? 0, 'payment', id);
      }
      return found;
    },
  );

  app.post(
    '/purge-payments',
    {
      schema: {
        tags: ['payments'],
        summary: 'Delete all payments (test runs: PAYMENTS_PURGE_ENABLED, or an admin)',
        response: { 200: Type.Object({ purged: Type.Integer() }), ...ProblemResponses },
      },
    },
    async (request) => {
      if (!config.PAYMENTS_PURGE_ENABLED) {
        try {
          await authenticate(request);
        } catch {
          throw ERRORS.forbidden('purging payments is off (PAYMENTS_PURGE_ENABLED) and this is not an admin');
        }
        if (request.user.role !== 'admin') throw ERRORS.forbidden('purging payments is for admins');
      }
      return { purged: await payments.purge() };
    },
  );
}
