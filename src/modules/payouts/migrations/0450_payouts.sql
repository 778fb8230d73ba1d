-- Payouts. Each payout's ledger lines carry its id in ledger_lines.payout_id (a purchases column, set only through
-- purchases' claimPayableLines in the transaction that creates the payout). Databases created before the tables
-- had owners created this table in purchases' migration, with a foreign key from that column.
-- One payout per developer, month and currency: paying a period twice is impossible.
CREATE TABLE IF NOT EXISTS payouts (
  id uuid PRIMARY KEY,
  developer_id uuid NOT NULL REFERENCES developers(id),
  period char(7) NOT NULL,                  -- YYYY-MM (UTC)
  currency char(3) NOT NULL,
  amount_milli bigint NOT NULL,
  line_count int NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (developer_id, period, currency)
);
