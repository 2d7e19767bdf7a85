-- Up Migration

-- What the store has received of each product (initial stock + restocks +
-- adjustments), so the stock invariant can be checked:
--   stock_received = stock + quantities held by reserved and paid orders.
ALTER TABLE products ADD COLUMN stock_received integer NOT NULL DEFAULT 0;
UPDATE products SET stock_received = stock;
-- Bumped by every stock change: the optimistic strategy's version check.
ALTER TABLE products ADD COLUMN version integer NOT NULL DEFAULT 0;

-- A new product has received exactly its initial stock, whoever inserts it.
CREATE FUNCTION armazem_product_received() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.stock_received := NEW.stock;
  RETURN NEW;
END $$;
CREATE TRIGGER products_stock_received BEFORE INSERT ON products
  FOR EACH ROW EXECUTE FUNCTION armazem_product_received();

CREATE TABLE orders (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer_id     bigint        NOT NULL REFERENCES customers (id),
  status          text          NOT NULL CHECK (status IN ('pending', 'reserved', 'paid', 'cancelled', 'rejected', 'payment_failed')),
  total           numeric(14,2) NOT NULL CHECK (total >= 0),
  idempotency_key text          CHECK (char_length(idempotency_key) BETWEEN 1 AND 200),
  -- Why a queued order was rejected: the first product short of stock.
  rejected_product_id bigint,
  created_at      timestamptz   NOT NULL DEFAULT now(),
  updated_at      timestamptz   NOT NULL DEFAULT now(),
  reserved_at     timestamptz,
  -- A reserved order not paid by then is cancelled by the sweeper.
  expires_at      timestamptz,
  UNIQUE (customer_id, idempotency_key)
);
-- "My orders, newest first, from/to": served by one index.
CREATE INDEX orders_customer_created ON orders (customer_id, created_at DESC, id DESC);
CREATE INDEX orders_created ON orders (created_at DESC, id DESC);
-- The queue: pending orders, oldest first; and the sweeper's work list.
CREATE INDEX orders_pending ON orders (id) WHERE status = 'pending';
CREATE INDEX orders_reservation_expiry ON orders (expires_at) WHERE status = 'reserved';

CREATE TABLE order_items (
  order_id   bigint        NOT NULL REFERENCES orders (id),
  product_id bigint        NOT NULL REFERENCES products (id),
  quantity   integer       NOT NULL CHECK (quantity > 0),
  -- The price when the order was placed.
  unit_price numeric(12,2) NOT NULL CHECK (unit_price >= 0),
  PRIMARY KEY (order_id, product_id)
);
CREATE INDEX order_items_product ON order_items (product_id);

-- Terminal states never change, whatever the code path (defence in depth
-- behind the conditional UPDATEs that perform each transition).
CREATE FUNCTION armazem_guard_order_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status <> NEW.status AND NOT (
       (OLD.status = 'pending'  AND NEW.status IN ('reserved', 'rejected', 'cancelled')) OR
       (OLD.status = 'reserved' AND NEW.status IN ('paid', 'cancelled', 'payment_failed'))) THEN
    RAISE EXCEPTION 'order % cannot go from % to %', OLD.id, OLD.status, NEW.status USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER orders_status_guard BEFORE UPDATE OF status ON orders
  FOR EACH ROW EXECUTE FUNCTION armazem_guard_order_status();

-- Down Migration
DROP TABLE order_items;
DROP TABLE orders;
DROP FUNCTION armazem_guard_order_status();
DROP TRIGGER products_stock_received ON products;
DROP FUNCTION armazem_product_received();
ALTER TABLE products DROP COLUMN version;
ALTER TABLE products DROP COLUMN stock_received;
