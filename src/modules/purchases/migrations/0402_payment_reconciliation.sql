-- Reconciliation with the payment provider (issue 17): orders a crash left pending are settled from the
-- provider's books, and once a day the provider's charges and our transactions are compared.

-- What a reconciler needs to complete an order the way its request would have (price_milli is the total).
ALTER TABLE purchases ADD COLUMN quantity int NOT NULL DEFAULT 1 CHECK (quantity > 0);
-- Pending orders are few: the reconciler takes the ones past their lock from here.
CREATE INDEX purchases_pending ON purchases (locked_until) WHERE status = 'pending';

-- The comparison finds the transaction of a provider charge, and walks our transactions by time.
CREATE INDEX transactions_charge ON transactions (provider_charge_id) WHERE provider_charge_id IS NOT NULL;
CREATE INDEX transactions_created ON transactions (created_at, id);

-- The sandbox provider lists its charges by time, like a real provider's list API.
CREATE INDEX sandbox_charges_created ON sandbox_charges (created_at, id);

-- One run of the comparison over [range_from, range_to): the daily one (scheduled) or one asked for.
CREATE TABLE payment_book_checks (
  id uuid PRIMARY KEY,
  scheduled boolean NOT NULL,
  range_from timestamptz NOT NULL,
  range_to timestamptz NOT NULL,
  charges_checked int NOT NULL,
  transactions_checked int NOT NULL,
  mismatches int NOT NULL,
  ran_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_book_checks_recent ON payment_book_checks (ran_at DESC);

-- What a comparison found wrong, once per (kind, subject) however many runs see it again:
--   charge_without_order  a succeeded charge no transaction records (subject: the charge id)
--   amount_mismatch       the charge and its transaction disagree on amount or currency (subject: the charge id)
--   charge_missing        a paid transaction whose charge the provider does not have as succeeded (subject: the transaction id)
CREATE TABLE payment_mismatches (
  id uuid PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('charge_without_order', 'amount_mismatch', 'charge_missing')),
  subject text NOT NULL,
  charge_id text,
  transaction_id bigint,
  purchase_id uuid,
  provider_amount_milli bigint,
  provider_currency char(3),
  order_amount_milli bigint,
  order_currency char(3),
  detail text NOT NULL,
  first_check_id uuid NOT NULL REFERENCES payment_book_checks(id),
  last_check_id uuid NOT NULL REFERENCES payment_book_checks(id),
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (kind, subject)
);
CREATE INDEX payment_mismatches_last_check ON payment_mismatches (last_check_id);
