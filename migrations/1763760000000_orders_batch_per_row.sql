-- Up Migration

-- order_place_batch() locks the batch's products with a loop over one
-- SELECT … ORDER BY id FOR UPDATE (the rows locked in id order, as every
-- other path locks them) and writes each product's stock by primary key,
-- instead of aggregating the locked rows into arrays and writing them with
-- one UPDATE … FROM unnest(), whose join the planner may run as a scan of
-- products; a batch touches a few rows, each found by its key. Same outcomes,
-- same contract.
CREATE OR REPLACE FUNCTION order_place_batch(
  p_customer    bigint[],
  p_key         text[],
  p_line_order  integer[],
  p_line_product bigint[],
  p_line_qty    integer[],
  p_ttl_seconds integer
) RETURNS TABLE (
  idx         integer,
  outcome     text,
  order_id    bigint,
  total       numeric,
  created_at  timestamptz,
  reserved_at timestamptz,
  expires_at  timestamptz,
  product_id  bigint,
  available   integer,
  unit_prices numeric[]
) LANGUAGE plpgsql AS $$
DECLARE
  ids     bigint[] := '{}';
  stocks  integer[] := '{}';
  prices  numeric[] := '{}';
  taken   integer[] := '{}';
  prod    record;
  pos     integer;
  j       integer;
  sum_    numeric;
  short   boolean;
  made    record;
BEGIN
  FOR prod IN SELECT pr.id, pr.stock, pr.price FROM products pr
              WHERE pr.id = ANY (p_line_product) ORDER BY pr.id FOR UPDATE LOOP
    ids := ids || prod.id;
    stocks := stocks || prod.stock;
    prices := prices || prod.price;
    taken := taken || 0;
  END LOOP;

  FOR i IN 1 .. coalesce(array_length(p_customer, 1), 0) LOOP
    idx := i; order_id := NULL; total := NULL; created_at := NULL; reserved_at := NULL; expires_at := NULL;
    product_id := NULL; available := NULL; unit_prices := NULL;
    IF p_key[i] IS NOT NULL THEN
      SELECT o.id INTO order_id FROM orders o WHERE o.customer_id = p_customer[i] AND o.idempotency_key = p_key[i];
      IF FOUND THEN
        outcome := 'replay';
        RETURN NEXT;
        CONTINUE;
      END IF;
    END IF;
    outcome := NULL; sum_ := 0; short := false;
    FOR j IN 1 .. array_length(p_line_order, 1) LOOP
      CONTINUE WHEN p_line_order[j] <> i;
      pos := array_position(ids, p_line_product[j]);
      IF pos IS NULL THEN
        outcome := 'unknown_product'; product_id := p_line_product[j];
        EXIT;
      END IF;
      IF stocks[pos] < p_line_qty[j] THEN
        outcome := 'out_of_stock'; product_id := p_line_product[j]; available := stocks[pos];
        EXIT;
      END IF;
      sum_ := sum_ + prices[pos] * p_line_qty[j];
    END LOOP;
    IF outcome IS NULL AND sum_ > 999999999999.99 THEN outcome := 'total_too_large'; END IF;
    IF outcome IS NOT NULL THEN
      RETURN NEXT;
      CONTINUE;
    END IF;
    -- Another request with this key may have committed meanwhile (on another instance): it wins.
    INSERT INTO orders (customer_id, status, total, idempotency_key, reserved_at, expires_at)
      VALUES (p_customer[i], 'reserved', sum_, p_key[i], now(), now() + make_interval(secs => p_ttl_seconds))
      ON CONFLICT (customer_id, idempotency_key) DO NOTHING
      RETURNING orders.id, orders.total, orders.created_at, orders.reserved_at, orders.expires_at INTO made;
    IF NOT FOUND THEN
      SELECT o.id INTO order_id FROM orders o WHERE o.customer_id = p_customer[i] AND o.idempotency_key = p_key[i];
      outcome := 'replay';
      RETURN NEXT;
      CONTINUE;
    END IF;
    FOR j IN 1 .. array_length(p_line_order, 1) LOOP
      CONTINUE WHEN p_line_order[j] <> i;
      pos := array_position(ids, p_line_product[j]);
      stocks[pos] := stocks[pos] - p_line_qty[j];
      taken[pos] := taken[pos] + p_line_qty[j];
    END LOOP;
    INSERT INTO order_items (order_id, product_id, quantity, unit_price)
      SELECT made.id, p_line_product[k], p_line_qty[k], prices[array_position(ids, p_line_product[k])]
      FROM generate_subscripts(p_line_order, 1) AS k WHERE p_line_order[k] = i;
    unit_prices := ARRAY(SELECT prices[array_position(ids, p_line_product[k])]
                         FROM generate_subscripts(p_line_order, 1) AS k WHERE p_line_order[k] = i ORDER BY k);
    outcome := 'reserved'; order_id := made.id; total := made.total; created_at := made.created_at;
    reserved_at := made.reserved_at; expires_at := made.expires_at;
    RETURN NEXT;
  END LOOP;

  -- Each product written once, by primary key.
  FOR k IN 1 .. coalesce(array_length(ids, 1), 0) LOOP
    CONTINUE WHEN taken[k] = 0;
    UPDATE products pr SET stock = pr.stock - taken[k], version = pr.version + 1 WHERE pr.id = ids[k];
  END LOOP;
END $$;

-- Down Migration
CREATE OR REPLACE FUNCTION order_place_batch(
  p_customer    bigint[],
  p_key         text[],
  p_line_order  integer[],
  p_line_product bigint[],
  p_line_qty    integer[],
  p_ttl_seconds integer
) RETURNS TABLE (
  idx         integer,
  outcome     text,
  order_id    bigint,
  total       numeric,
  created_at  timestamptz,
  reserved_at timestamptz,
  expires_at  timestamptz,
  product_id  bigint,
  available   integer,
  unit_prices numeric[]
) LANGUAGE plpgsql AS $$
DECLARE
  ids     bigint[];
  stocks  integer[];
  prices  numeric[];
  taken   integer[];
  pos     integer;
  j       integer;
  sum_    numeric;
  short   boolean;
  made    record;
BEGIN
  SELECT array_agg(p.id ORDER BY p.id), array_agg(p.stock ORDER BY p.id), array_agg(p.price ORDER BY p.id)
    INTO ids, stocks, prices
    FROM (SELECT pr.id, pr.stock, pr.price FROM products pr
          WHERE pr.id = ANY (p_line_product) ORDER BY pr.id FOR UPDATE) p;
  taken := array_fill(0, ARRAY[coalesce(array_length(ids, 1), 0)]);

  FOR i IN 1 .. coalesce(array_length(p_customer, 1), 0) LOOP
    idx := i; order_id := NULL; total := NULL; created_at := NULL; reserved_at := NULL; expires_at := NULL;
    product_id := NULL; available := NULL; unit_prices := NULL;
    IF p_key[i] IS NOT NULL THEN
      SELECT o.id INTO order_id FROM orders o WHERE o.customer_id = p_customer[i] AND o.idempotency_key = p_key[i];
      IF FOUND THEN
        outcome := 'replay';
        RETURN NEXT;
        CONTINUE;
      END IF;
    END IF;
    outcome := NULL; sum_ := 0; short := false;
    FOR j IN 1 .. array_length(p_line_order, 1) LOOP
      CONTINUE WHEN p_line_order[j] <> i;
      pos := array_position(ids, p_line_product[j]);
      IF pos IS NULL THEN
        outcome := 'unknown_product'; product_id := p_line_product[j];
        EXIT;
      END IF;
      IF stocks[pos] < p_line_qty[j] THEN
        outcome := 'out_of_stock'; product_id := p_line_product[j]; available := stocks[pos];
        EXIT;
      END IF;
      sum_ := sum_ + prices[pos] * p_line_qty[j];
    END LOOP;
    IF outcome IS NULL AND sum_ > 999999999999.99 THEN outcome := 'total_too_large'; END IF;
    IF outcome IS NOT NULL THEN
      RETURN NEXT;
      CONTINUE;
    END IF;
    -- Another request with this key may have committed meanwhile (on another instance): it wins.
    INSERT INTO orders (customer_id, status, total, idempotency_key, reserved_at, expires_at)
      VALUES (p_customer[i], 'reserved', sum_, p_key[i], now(), now() + make_interval(secs => p_ttl_seconds))
      ON CONFLICT (customer_id, idempotency_key) DO NOTHING
      RETURNING orders.id, orders.total, orders.created_at, orders.reserved_at, orders.expires_at INTO made;
    IF NOT FOUND THEN
      SELECT o.id INTO order_id FROM orders o WHERE o.customer_id = p_customer[i] AND o.idempotency_key = p_key[i];
      outcome := 'replay';
      RETURN NEXT;
      CONTINUE;
    END IF;
    FOR j IN 1 .. array_length(p_line_order, 1) LOOP
      CONTINUE WHEN p_line_order[j] <> i;
      pos := array_position(ids, p_line_product[j]);
      stocks[pos] := stocks[pos] - p_line_qty[j];
      taken[pos] := taken[pos] + p_line_qty[j];
    END LOOP;
    INSERT INTO order_items (order_id, product_id, quantity, unit_price)
      SELECT made.id, p_line_product[k], p_line_qty[k], prices[array_position(ids, p_line_product[k])]
      FROM generate_subscripts(p_line_order, 1) AS k WHERE p_line_order[k] = i;
    unit_prices := ARRAY(SELECT prices[array_position(ids, p_line_product[k])]
                         FROM generate_subscripts(p_line_order, 1) AS k WHERE p_line_order[k] = i ORDER BY k);
    outcome := 'reserved'; order_id := made.id; total := made.total; created_at := made.created_at;
    reserved_at := made.reserved_at; expires_at := made.expires_at;
    RETURN NEXT;
  END LOOP;

  UPDATE products p SET stock = p.stock - w.taken, version = p.version + 1
    FROM unnest(ids, taken) AS w(id, taken)
    WHERE p.id = w.id AND w.taken > 0;
END $$;
