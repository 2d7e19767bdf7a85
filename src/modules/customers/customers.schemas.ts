import { type Static, Type } from 'typebox';
import { VISIBLE } from '../../http/text.ts';

export const Email = Type.String({
  format: 'email',
  minLength: 3,
  maxLength: 254,
  examples: ['ana@example.com'],
});
/** At least one visible character: not only spaces, zero-width or other invisible code points. */
const Name = Type.String({ minLength: 1, maxLength: 200, pattern: VISIBLE });
/** Long enough to resist guessing; bounded so hashing cost stays bounded. */
export const Password = Type.String({
  minLength: 10,
  maxLength: 200,
  description: 'At least 10 characters, not the email',
});

export const CustomerId = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });

export const RegisterInput = Type.Object(
  { name: Name, email: Email, password: Password },
  { additionalProperties: false },
);
export type RegisterInput = Static<typeof RegisterInput>;

export const CustomerPatch = Type.Object(
  {
    name: Type.Optional(Name),
    email: Type.Optional(Email),
    password: Type.Optional(Password),
    currentPassword: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'Required to change email or password' }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type CustomerPatch = Static<typeof CustomerPatch>;

export const Customer = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  email: Type.String(),
  role: Type.Union([Type.Literal('customer'), Type.Literal('admin')]),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  deletedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
export type Customer = Static<typeof Customer>;

export const CustomerListQuery = Type.Object(
  {
    search: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 100,
        description: 'Case- and accent-insensitive match on name or email',
      }),
    ),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' })),
  },
  { additionalProperties: false },
);

export const CustomerPage = Type.Object({
  items: Type.Array(Customer),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

export const LoginInput = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 254 }),
    password: Type.String({ minLength: 1, maxLength: 200 }),
  },
  { additionalProperties: false },
);
export type LoginInput = Static<typeof LoginInput>;

export const RefreshInput = Type.Object(
  { refreshToken: Type.String({ minLength: 20, maxLength: 200 }) },
  { additionalProperties: false },
);

export const TokenPair = Type.Object({
  tokenType: Type.Literal('Bearer'),
  accessToken: Type.String(),
  expiresIn: Type.Integer({ description: 'Seconds until the access token expires' }),
  refreshToken: Type.String({ description: 'Opaque; use once with POST /auth/refresh' }),
  refreshExpiresIn: Type.Integer(),
});
