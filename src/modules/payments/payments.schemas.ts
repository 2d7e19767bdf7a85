import { Type } from 'typebox';

/** A payment's state, for GET /payments/:correlationId and POST /orders/:id/pay. */
export const Payment = Type.Object({
  correlationId: Type.String({ format: 'uuid' }),
  amount: Type.String(),
  status: Type.Union([
    Type.Literal('queued'),
    Type.Literal('processing'),
    Type.Literal('processed'),
    Type.Literal('failed'),
  ]),
  processor: Type.Union([Type.Literal('default'), Type.Literal('fallback'), Type.Null()]),
  requestedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  attempts: Type.Integer(),
  orderId: Type.Union([Type.Integer(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
