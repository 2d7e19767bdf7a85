import { Type } from 'typebox';
import { ERROR_CODES, type ErrorCode } from '../error-codes.ts';

/** The problem+json body, for the OpenAPI document. */
export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.String(),
    code: Type.Unsafe<ErrorCode>({
      type: 'string',
      enum: Object.keys(ERROR_CODES),
      description:
        'Stable machine-readable error code, from a closed catalogue: `x-error-codes` gives each one’s status, title and meaning',
    }),
    requestId: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  {
    $id: 'Problem',
    description:
      'RFC 9457 problem details; some problems add members of their own (e.g. the balance that refused a debit)',
    additionalProperties: true,
  },
);

const ref = Type.Unsafe<unknown>({ $ref: 'Problem#' });

/** Error statuses every route may answer. */
export const ProblemResponses = { '4xx': ref, '5xx': ref } as const;
