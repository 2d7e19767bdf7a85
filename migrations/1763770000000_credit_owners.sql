-- Up Migration

-- An account held in one instance's memory (CREDIT_JOURNAL_DIR): the tag of
-- the instance's life that holds it. Its balance may then be ahead of this
-- row in that instance's journal, so nothing else changes it while the tag is
-- set: credit_post() answers 'owned', and the caller asks the holder to let
-- go (NOTIFY armazem_credit_release) and tries again. The holder clears it
-- once its journal is sent; a holder that died is cleared by whoever sends
-- what its journal left.
ALTER TABLE credit_accounts ADD COLUMN owner text;

-- A transaction sent from a journal carries its entry's id: a batch sent
-- twice (a crash between its commit and its file's deletion) lands once.
ALTER TABLE credit_transactions ADD COLUMN journal_id uuid;
CREATE UNIQUE INDEX credit_transactions_journal ON credit_transactions (journal_id) WHERE journal_id IS NOT NULL;

-- credit_post() as before, plus the outcome
--   owned       the account is held by an instance (credit_accounts.owner): nothing was done
CREATE OR REPLACE FUNCTION credit_post(
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
  owners   text[] := '{}';
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
      WHERE c.customer_id = p_account[1] AND c.owner IS NULL AND c.balance + next_bal >= -c.credit_limit
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
    -- Refused, held by an instance, or no such account: the general path below says which.
  END IF;

  FOR acct IN SELECT c.customer_id, c.balance, c.credit_limit, c.owner FROM credit_accounts c
              WHERE c.customer_id = ANY (p_account) ORDER BY c.customer_id FOR UPDATE LOOP
    ids := ids || acct.customer_id;
    bals := bals || acct.balance;
    limits := limits || acct.credit_limit;
    changed := changed || false;
    owners := owners || acct.owner;
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
    IF owners[pos] IS NOT NULL THEN
      outcome := 'owned'; balance := NULL;
      RETURN NEXT;
      CONTINUE;
    END IF;
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
CREATE OR REPLACE FUNCTION credit_post(
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
DROP INDEX credit_transactions_journal;
ALTER TABLE credit_transactions DROP COLUMN journal_id;
ALTER TABLE credit_accounts DROP COLUMN owner;
