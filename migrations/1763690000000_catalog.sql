-- Up Migration
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- lower(unaccent(x)), declared IMMUTABLE (unaccent itself is only STABLE
-- because its dictionary could change) so it can back an index: "limao"
-- then finds "Limão" through the trigram index below.
CREATE FUNCTION armazem_fold(text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$;

CREATE TABLE products (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name        text          NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  description text          NOT NULL DEFAULT '' CHECK (char_length(description) <= 5000),
  -- Exact money: numeric, never float. 10 integer digits, 2 decimals.
  price       numeric(12,2) NOT NULL CHECK (price >= 0),
  stock       integer       NOT NULL CHECK (stock >= 0),
  category    text          NOT NULL CHECK (category ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND char_length(category) <= 50),
  created_at  timestamptz   NOT NULL DEFAULT now(),
  updated_at  timestamptz   NOT NULL DEFAULT now()
);

CREATE INDEX products_name_fold_trgm ON products USING gin (armazem_fold(name) gin_trgm_ops);
CREATE INDEX products_category_id ON products (category, id);
CREATE INDEX products_price_id ON products (price, id);

-- Down Migration
DROP TABLE products;
DROP FUNCTION armazem_fold(text);
