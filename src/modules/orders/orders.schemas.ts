import { type Static, Type } from 'typebox';

export const MAX_ORDER_ITEMS = 50;
export const MAX_QUANTITY = 10_000;
const Quantity = Type.Integer({ minimum: 1, maximum: MAX_QUANTITY });
const ProductRef = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });

export const PlaceOrderInput = Type.Object(
  {
    items: Type.Array(
      Type.Object({ productId: ProductRef, quantity: Quantity }, { additionalProperties: false }),
      {
        minItems: 1,
        maxItems: MAX_ORDER_ITEMS,
      },
    ),
  },
  { additionalProperties: false },
);
export type PlaceOrderInput = Static<typeof PlaceOrderInput>;

export const ChangeOrderInput = Type.Object(
  {
    items: Type.Array(
      Type.Object(
        {
          productId: ProductRef,
          quantity: Type.Integer({ minimum: 0, maximum: MAX_QUANTITY, description: '0 removes the item' }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: MAX_ORDER_ITEMS },
    ),
  },
  { additionalProperties: false },
);
export type ChangeOrderInput = Static<typeof ChangeOrderInput>;

export const OrderStatus = Type.Union([
  Type.Literal('pending'),
  Type.Literal('reserved'),
  Type.Literal('paid'),
  Type.Literal('cancelled'),
  Type.Literal('rejected'),
  Type.Literal('payment_failed'),
]);
export type OrderStatus = 'pending' | 'reserved' | 'paid' | 'cancelled' | 'rejected' | 'payment_failed';

export const Order = Type.Object({
  id: Type.Integer(),
  customerId: Type.Integer(),
  status: OrderStatus,
  total: Type.String({ description: 'Exact decimal', examples: ['39.80'] }),
  items: Type.Array(
    Type.Object({
      productId: Type.Integer(),
      quantity: Type.Integer(),
      unitPrice: Type.String({ description: 'Price when ordered' }),
    }),
  ),
  rejectedProductId: Type.Union([Type.Integer(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  reservedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
export type Order = Static<typeof Order>;

export const OrderListQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
    customerId: Type.Optional(
      Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'Admins only' }),
    ),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' })),
  },
  { additionalProperties: false },
);

export const OrderPage = Type.Object({
  items: Type.Array(Order),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

export const StockCheck = Type.Object({
  ok: Type.Boolean(),
  checkedProducts: Type.Integer(),
  mismatches: Type.Array(
    Type.Object({
      productId: Type.Integer(),
      name: Type.String(),
      received: Type.Integer({ description: 'initial stock + restocks' }),
      stock: Type.Integer(),
      held: Type.Integer({ description: 'in reserved and paid orders' }),
      difference: Type.Integer({ description: 'received − stock − held; 0 when consistent' }),
    }),
  ),
});
