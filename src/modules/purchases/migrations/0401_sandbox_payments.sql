-- The books of the sandbox payment processor (src/modules/purchases/payments/sandbox.ts): what a real
-- provider would keep on its side. Shared by every API process, so a double charge is visible in SQL:
-- one row per idempotency key, by construction. Money is integer milliunits of `currency`.
-- Stands alone: no reference to the commerce tables of 0400.
CREATE TABLE sandbox_charges (
  id text PRIMARY KEY,                      -- ch_<24 hex>
  idempotency_key text NOT NULL UNIQUE,
  amount_milli bigint NOT NULL CHECK (amount_milli > 0),
  currency char(3) NOT NULL,
  environment text NOT NULL CHECK (environment IN ('Sandbox', 'Production')),
  customer_id text NOT NULL,
  description text NOT NULL,
  status text NOT NULL CHECK (status IN ('succeeded', 'declined')),
  decline_code text,                        -- card_declined, insufficient_funds, ...
  refunded_milli bigint NOT NULL DEFAULT 0 CHECK (refunded_milli >= 0 AND refunded_milli <= amount_milli),
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((status = 'declined') = (decline_code IS NOT NULL)),
  CHECK (status = 'succeeded' OR refunded_milli = 0)
);

CREATE TABLE sandbox_refunds (
  id text PRIMARY KEY,                      -- re_<24 hex>
  idempotency_key text NOT NULL UNIQUE,
  charge_id text NOT NULL REFERENCES sandbox_charges(id),
  amount_milli bigint NOT NULL CHECK (amount_milli > 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sandbox_refunds_charge ON sandbox_refunds (charge_id);
