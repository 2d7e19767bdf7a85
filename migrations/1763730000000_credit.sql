-- Up Migration

-- Store credit: one account per customer, amounts in integer cents (exact,
-- and the unit of the Rinha de Backend 2024/Q1 contract). The invariant holds
-- by construction: every change of `balance` goes through credit_post(),
-- which writes the transaction that explains it, and the CHECK refuses any
-- balance below −limit whatever the code path.
CREATE TABLE credit_accounts (
  customer_id  bigint      PRIMARY KEY REFERENCES customers (id),
  credit_limit bigint      NOT NULL DEFAULT 0 CHECK (credit_limit BETWEEN 0 AND 10000000000000),
  balance      bigint      NOT NULL DEFAULT 0 CHECK (balance <= 1000000000000000),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CHECK (balance >= -credit_limit)
);

CREATE TABLE credit_transactions (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer_id     bigint      NOT NULL REFERENCES credit_accounts (customer_id),
  kind            char(1)     NOT NULL CHECK (kind IN ('c', 'd')),
  -- Up to the largest order total, 999999999999.99, in cents.
  amount          bigint      NOT NULL CHECK (amount BETWEEN 1 AND 99999999999999),
  description     text        NOT NULL CHECK (char_length(description) BETWEEN 1 AND 200),
  -- The account's balance right after this transaction: the history explains
  -- the balance step by step (npm run check:credit follows the chain).
  balance_after   bigint      NOT NULL,
  -- A debit that paid an order.
  order_id        bigint      REFERENCES orders (id),
  idempotency_key text        CHECK (char_length(idempotency_key) BETWEEN 1 AND 200),
  -- Taken while the account row is locked (clock_timestamp(), not the
  -- transaction's start): for one account, time order and id order are both
  -- the order in which transactions were applied.
  created_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- History and statements: newest first (id order), per account.
CREATE INDEX credit_transactions_account ON credit_transactions (customer_id, id DESC);
-- An Idempotency-Key is used once per account.
CREATE UNIQUE INDEX credit_transactions_idempotency ON credit_transactions (customer_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
-- An order is paid with credit at most once.
CREATE UNIQUE INDEX credit_transactions_order ON credit_transactions (order_id) WHERE order_id IS NOT NULL;

-- The Rinha de Backend 2024/Q1 clients (ids 1–5) mapped onto armazem's accounts.
CREATE TABLE credit_contest_clients (
  client_id   integer PRIMARY KEY,
  customer_id bigint  NOT NULL UNIQUE REFERENCES credit_accounts (customer_id)
);

-- Every customer has an account, however the customer row was made.
CREATE FUNCTION armazem_credit_account_for_customer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO credit_accounts (customer_id) VALUES (NEW.id);
  RETURN NEW;
END $$;
CREATE TRIGGER customers_credit_account AFTER INSERT ON customers
  FOR EACH ROW EXECUTE FUNCTION armazem_credit_account_for_customer();
INSERT INTO credit_accounts (customer_id) SELECT id FROM customers;

-- Applies a batch of credits and debits in order, in the caller's
-- transaction: the accounts are locked once, in id order (two batches never
-- wait on each other in a cycle), each debit is checked against the running
-- balance, and each account is written once. Element i of the arrays is one
-- request; a NULL account means the account does not exist. Outcomes:
--   applied     the transaction was recorded
--   replayed    the idempotency key was already used for the same request
--   key_reused  the idempotency key was used for a different request
--   insufficient  a debit below −limit; too_large  a balance over the ceiling
--   not_found   no such account
-- For every outcome but not_found, balance and credit_limit are the
-- account's (after the transaction when applied or replayed).
CREATE FUNCTION credit_post(
  p_account     bigint[],
  p_kind        text[],
  p_amount      bigint[],
  p_description text[],
  p_order       bigint[],
  p_key         text[]
) RETURNS TABLE (
  idx            integer,
  outcome        text,
  transaction_id bigint,
  balance        bigint,
  credit_limit   bigint,
  created_at     timestamptz
) LANGUAGE plpgsql AS $$
DECLARE
  ids      bigint[] := '{}';
  bals     bigint[] := '{}';
  limits   bigint[] := '{}';
  changed  boolean[] := '{}';
  acct     record;
  pos      integer;
  next_bal bigint;
  prior    record;
  tx       record;
BEGIN
  -- A batch of one without a key (most requests at low load): the same rules as below, in one
  -- conditional UPDATE that locks, checks and writes the account at once.
  IF array_length(p_account, 1) = 1 AND p_key[1] IS NULL THEN
    idx := 1;
    next_bal := CASE p_kind[1] WHEN 'c' THEN p_amount[1] ELSE -p_amount[1] END;
    UPDATE credit_accounts c SET balance = c.balance + next_bal, updated_at = now()
      WHERE c.customer_id = p_account[1] AND c.balance + next_bal >= -c.credit_limit
        AND c.balance + next_bal <= 1000000000000000
      RETURNING c.balance, c.credit_limit INTO acct;
    IF FOUND THEN
      INSERT INTO credit_transactions (customer_id, kind, amount, description, balance_after, order_id)
        VALUES (p_account[1], p_kind[1], p_amount[1], p_description[1], acct.balance, p_order[1])
        RETURNING id, credit_transactions.created_at AS at INTO tx;
      outcome := 'applied'; transaction_id := tx.id; balance := acct.balance; credit_limit := acct.credit_limit;
      created_at := tx.at;
      RETURN NEXT;
      RETURN;
    END IF;
    -- Refused, or no such account: the general path below says which.
  END IF;

  FOR acct IN SELECT c.customer_id, c.balance, c.credit_limit FROM credit_accounts c
              WHERE c.customer_id = ANY (p_account) ORDER BY c.customer_id FOR UPDATE LOOP
    ids := ids || acct.customer_id;
    bals := bals || acct.balance;
    limits := limits || acct.credit_limit;
    changed := changed || false;
  END LOOP;

  FOR i IN 1 .. coalesce(array_length(p_account, 1), 0) LOOP
    idx := i;
    transaction_id := NULL; created_at := NULL;
    pos := array_position(ids, p_account[i]);
    IF pos IS NULL THEN
      outcome := 'not_found'; balance := NULL; credit_limit := NULL;
      RETURN NEXT;
      CONTINUE;
    END IF;
    credit_limit := limits[pos];
    IF p_key[i] IS NOT NULL THEN
      SELECT t.id, t.kind, t.amount, t.description, t.order_id, t.balance_after, t.created_at INTO prior
        FROM credit_transactions t WHERE t.customer_id = p_account[i] AND t.idempotency_key = p_key[i];
      IF FOUND THEN
        IF prior.kind = p_kind[i] AND prior.amount = p_amount[i] AND prior.description = p_description[i]
           AND prior.order_id IS NOT DISTINCT FROM p_order[i] THEN
          outcome := 'replayed'; transaction_id := prior.id; balance := prior.balance_after;
          created_at := prior.created_at;
        ELSE
          outcome := 'key_reused'; balance := bals[pos];
        END IF;
        RETURN NEXT;
        CONTINUE;
      END IF;
    END IF;
    next_bal := bals[pos] + CASE p_kind[i] WHEN 'c' THEN p_amount[i] ELSE -p_amount[i] END;
    IF next_bal < -limits[pos] THEN
      outcome := 'insufficient'; balance := bals[pos];
    ELSIF next_bal > 1000000000000000 THEN
      outcome := 'too_large'; balance := bals[pos];
    ELSE
      INSERT INTO credit_transactions (customer_id, kind, amount, description, balance_after, order_id, idempotency_key)
        VALUES (p_account[i], p_kind[i], p_amount[i], p_description[i], next_bal, p_order[i], p_key[i])
        RETURNING id, credit_transactions.created_at AS at INTO tx;
      bals[pos] := next_bal; changed[pos] := true;
      outcome := 'applied'; transaction_id := tx.id; balance := next_bal; created_at := tx.at;
    END IF;
    RETURN NEXT;
  END LOOP;

  -- Each account written once, by primary key.
  FOR k IN 1 .. coalesce(array_length(ids, 1), 0) LOOP
    CONTINUE WHEN NOT changed[k];
    UPDATE credit_accounts c SET balance = bals[k], updated_at = now() WHERE c.customer_id = ids[k];
  END LOOP;
END $$;

-- Down Migration
DROP FUNCTION credit_post(bigint[], text[], bigint[], text[], bigint[], text[]);
DROP TRIGGER customers_credit_account ON customers;
DROP FUNCTION armazem_credit_account_for_customer();
DROP TABLE credit_contest_clients;
DROP TABLE credit_transactions;
DROP TABLE credit_accounts;
