-- Up Migration

-- The Telegram bot's tables (src/modules/bot/). A shopper links their Telegram
-- account to their armazem account with a one-time code from
-- POST /telegram/link-code; the code is stored only as its SHA-256 and used
-- by one DELETE … RETURNING, so it works exactly once.
CREATE TABLE telegram_link_codes (
  code_hash   bytea       PRIMARY KEY,
  customer_id bigint      NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
  expires_at  timestamptz NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX telegram_link_codes_expiry ON telegram_link_codes (expires_at);

-- One armazem account per Telegram user; an account may be linked from several.
CREATE TABLE telegram_links (
  telegram_user_id bigint      PRIMARY KEY,
  customer_id      bigint      NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
  linked_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX telegram_links_customer ON telegram_links (customer_id);

-- Down Migration
DROP TABLE telegram_links;
DROP TABLE telegram_link_codes;
