import { type Static, Type } from 'typebox';
import { VISIBLE } from '../../http/text.ts';
import { DECIMAL_PATTERN } from './price.ts';

export const ProductId = Type.Integer({
  minimum: 1,
  maximum: Number.MAX_SAFE_INTEGER,
  description: 'Product id',
});

/** At least one visible character: not only spaces, zero-width or other invisible code points. */
const Name = Type.String({ minLength: 1, maxLength: 200, pattern: VISIBLE });
const Description = Type.String({ maxLength: 5000 });
const Price = Type.Union(
  [
    Type.String({
      pattern: DECIMAL_PATTERN,
      description: 'Exact decimal with up to 2 places (canonical form)',
    }),
    Type.Number({ minimum: 0, description: 'Accepted when it is an exact decimal with up to 2 places' }),
  ],
  { examples: ['19.90'] },
);
const Stock = Type.Integer({ minimum: 0, maximum: 2_147_483_647 });
export const CATEGORY_PATTERN = '^[a-z0-9]+(-[a-z0-9]+)*$';
const Category = Type.String({
  minLength: 1,
  maxLength: 50,
  pattern: CATEGORY_PATTERN,
  examples: ['frutas'],
});

export const ProductInput = Type.Object(
  { name: Name, description: Type.Optional(Description), price: Price, stock: Stock, category: Category },
  { additionalProperties: false },
);
export type ProductInput = Static<typeof ProductInput>;

export const ProductPatch = Type.Partial(
  Type.Object({ name: Name, description: Description, price: Price, stock: Stock, category: Category }),
  { additionalProperties: false, minProperties: 1 },
);
export type ProductPatch = Static<typeof ProductPatch>;

export const Product = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  description: Type.String(),
  price: Type.String({ pattern: DECIMAL_PATTERN, examples: ['19.90'] }),
  stock: Type.Integer(),
  category: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type Product = Static<typeof Product>;

export const ListQuery = Type.Object(
  {
    search: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 100,
        description: 'Case- and accent-insensitive match on the name',
      }),
    ),
    category: Type.Optional(Category),
    minPrice: Type.Optional(Type.String({ pattern: DECIMAL_PATTERN })),
    maxPrice: Type.Optional(Type.String({ pattern: DECIMAL_PATTERN })),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' })),
  },
  { additionalProperties: false },
);
export type ListQuery = Static<typeof ListQuery>;

export const ProductPage = Type.Object({
  items: Type.Array(Product),
  nextCursor: Type.Union([Type.String(), Type.Null()], {
    description: 'Pass as `cursor` for the next page; null on the last page',
  }),
});
export type ProductPage = Static<typeof ProductPage>;

export const IdParams = Type.Object({ id: ProductId }, { additionalProperties: false });
