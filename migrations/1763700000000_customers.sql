-- Up Migration
CREATE TABLE customers (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name          text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  email         text        NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
  -- "scrypt$N$r$p$salt$hash"; '!' for an erased account (matches no password).
  password_hash text        NOT NULL,
  role          text        NOT NULL DEFAULT 'customer' CHECK (role IN ('customer', 'admin')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  -- Set when the customer deletes the account: personal data is erased, the
  -- row stays so orders and transactions keep their owner.
  deleted_at    timestamptz
);
-- One account per address, whatever its case.
CREATE UNIQUE INDEX customers_email_lower ON customers (lower(email));
CREATE INDEX customers_name_fold_trgm ON customers USING gin (armazem_fold(name) gin_trgm_ops);

-- Refresh tokens are opaque; only their SHA-256 is stored. Each login starts
-- a family; every refresh uses one token and issues the next in the family.
CREATE TABLE refresh_tokens (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer_id bigint      NOT NULL REFERENCES customers (id),
  family_id   uuid        NOT NULL,
  token_hash  bytea       NOT NULL UNIQUE,
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  revoked_at  timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_customer ON refresh_tokens (customer_id) WHERE revoked_at IS NULL;

-- Down Migration
DROP TABLE refresh_tokens;
DROP TABLE customers;
