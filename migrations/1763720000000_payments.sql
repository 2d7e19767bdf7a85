-- Up Migration

-- A payment is durably accepted by this INSERT, then processed exactly once
-- by a worker. Before each call to a processor the payment is pinned to it,
-- with the requestedAt it will send: an ambiguous outcome (a timeout) is then
-- resolved on that same processor, where 422 means "already taken", so two
-- processors can never both charge one payment, and the summary counts each
-- payment by the requestedAt its processor recorded.
CREATE TABLE payments (
  correlation_id  uuid          PRIMARY KEY,
  amount          numeric(14,2) NOT NULL CHECK (amount > 0),
  status          text          NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'processing', 'processed', 'failed')),
  processor       text          CHECK (processor IN ('default', 'fallback')),
  requested_at    timestamptz,
  attempts        integer       NOT NULL DEFAULT 0,
  order_id        bigint        REFERENCES orders (id),
  last_error      text,
  next_attempt_at timestamptz   NOT NULL DEFAULT now(),
  created_at      timestamptz   NOT NULL DEFAULT now(),
  updated_at      timestamptz   NOT NULL DEFAULT now(),
  -- Pinned (processing) and processed payments always say where and when.
  CHECK (status IN ('queued', 'failed') OR (processor IS NOT NULL AND requested_at IS NOT NULL))
);
-- The summary: processed payments by requestedAt.
CREATE INDEX payments_processed ON payments (requested_at, processor) WHERE status = 'processed';
-- One payment per order.
CREATE UNIQUE INDEX payments_order ON payments (order_id) WHERE order_id IS NOT NULL;
-- The work list: due payments, oldest first.
CREATE INDEX payments_due ON payments (next_attempt_at) WHERE status IN ('queued', 'processing');

-- Down Migration
DROP TABLE payments;
