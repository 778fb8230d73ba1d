-- Purchases' read views: what other modules may read of transactions, subscriptions and the ledger (never
-- orders or provider charge ids). Simple projections, so PostgreSQL inlines them: a join
-- through a view costs what a join on the table does. Columns may be added; removing or renaming one is a
-- change to every reader. Writes go through purchases' exported functions (payouts: claimPayableLines).
CREATE VIEW purchases_transactions AS
SELECT id, original_transaction_id, user_id, app_id, developer_id, product_uuid, product_id, bundle_id, kind, subscription_group,
       environment, storefront, currency, price_milli, quantity, purchase_date, original_purchase_date, expires_date,
       transaction_reason, app_account_token, revocation_date, revocation_reason, period_index, created_at
  FROM transactions;

CREATE VIEW purchases_subscriptions AS
SELECT id, user_id, app_id, subscription_group, product_uuid, original_transaction_id, environment, storefront, app_account_token,
       status, auto_renew, period_index, period_anchor, periods_since_anchor, current_period_end, grace_until, retry_count,
       created_at, updated_at
  FROM subscriptions;

CREATE VIEW purchases_ledger_lines AS
SELECT id, transaction_id, entry, account, developer_id, environment, currency, amount_milli, commission_rate_pct, payout_id, created_at
  FROM ledger_lines;

-- Indexes for the readers, kept with the tables they index (first created by payouts' and recommendations'
-- migrations; IF NOT EXISTS keeps databases that ran those as they are).
-- Payout statements read a payout's lines in id order (keyset pages); without this every page scans the ledger.
CREATE INDEX IF NOT EXISTS ledger_lines_of_payout ON ledger_lines (payout_id, id) WHERE payout_id IS NOT NULL;
-- The incremental recommendations build reads app acquisitions and revocations since its watermark.
CREATE INDEX IF NOT EXISTS transactions_app_created ON transactions (created_at) WHERE kind = 'app';
CREATE INDEX IF NOT EXISTS transactions_app_revoked ON transactions (revocation_date) WHERE kind = 'app' AND revocation_date IS NOT NULL;
