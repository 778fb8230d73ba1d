-- Commerce: orders, Apple-style transactions, the ledger, subscriptions and entitlements.
-- Money is integer milliunits of `currency` (990 = 0.99). Environment is Apple's: 'Sandbox' | 'Production'.

-- Apple transaction ids are numeric strings.
CREATE SEQUENCE transaction_ids START 2000000000000001;

-- An order: reserved before the charge, completed (or failed) after it. The partial unique index makes
-- "one owner per non-consumable" and "one pending order per product" hold under any concurrency.
CREATE TABLE purchases (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users(id),
  app_id uuid NOT NULL REFERENCES apps(id),
  product_uuid uuid REFERENCES in_app_products(id),   -- NULL: the app itself
  product_key text NOT NULL,                -- what uniqueness is about: app id, product uuid, or subscription group
  kind text NOT NULL CHECK (kind IN ('app', 'consumable', 'non_consumable', 'auto_renewable', 'non_renewing')),
  environment text NOT NULL CHECK (environment IN ('Sandbox', 'Production')),
  storefront char(2) NOT NULL,
  currency char(3) NOT NULL,
  price_milli bigint NOT NULL CHECK (price_milli >= 0),
  app_account_token uuid,
  status text NOT NULL CHECK (status IN ('pending', 'completed', 'failed', 'refunded')),
  provider_charge_id text,
  failure_code text,
  transaction_id bigint NOT NULL,            -- allocated with the order, so the receipt can be signed before commit
  -- The order is its own Idempotency-Key record: (user, key) is unique, the request's hash tells a
  -- retry from a different request, and the final response is kept for replays.
  idempotency_key text NOT NULL,
  request_hash text NOT NULL,
  locked_until timestamptz NOT NULL,        -- a pending order past this was left by a crashed worker: a retry resumes it
  response_status int,
  response jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  UNIQUE (user_id, idempotency_key)
);
CREATE UNIQUE INDEX purchases_one_owner ON purchases (user_id, product_key, environment)
  WHERE status = 'pending' OR (status = 'completed' AND kind IN ('app', 'non_consumable'));

-- What the signed payload (JWSTransactionDecodedPayload) is made from. Renewals share original_transaction_id.
CREATE TABLE transactions (
  id bigint PRIMARY KEY,
  original_transaction_id bigint NOT NULL,
  purchase_id uuid REFERENCES purchases(id),
  user_id uuid NOT NULL REFERENCES users(id),
  app_id uuid NOT NULL REFERENCES apps(id),
  developer_id uuid NOT NULL REFERENCES developers(id),
  product_uuid uuid REFERENCES in_app_products(id),
  product_id text NOT NULL,                 -- Apple productId (the bundle id for the app itself)
  bundle_id text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('app', 'consumable', 'non_consumable', 'auto_renewable', 'non_renewing')),
  subscription_group text,
  environment text NOT NULL CHECK (environment IN ('Sandbox', 'Production')),
  storefront char(2) NOT NULL,
  currency char(3) NOT NULL,
  price_milli bigint NOT NULL CHECK (price_milli >= 0),
  quantity int NOT NULL DEFAULT 1 CHECK (quantity > 0),
  purchase_date timestamptz NOT NULL,
  original_purchase_date timestamptz NOT NULL,
  expires_date timestamptz,
  transaction_reason text NOT NULL CHECK (transaction_reason IN ('PURCHASE', 'RENEWAL')),
  app_account_token uuid,
  revocation_date timestamptz,
  revocation_reason int CHECK (revocation_reason IN (0, 1)),   -- Apple: 0 other, 1 app issue
  period_index int,                         -- subscriptions: 0 for the first paid period, then 1, 2, ...
  provider_charge_id text,
  created_at timestamptz NOT NULL DEFAULT now()
);
-- A subscription period is charged once, whatever the number of renewal runs.
CREATE UNIQUE INDEX transactions_one_per_period ON transactions (original_transaction_id, period_index) WHERE period_index IS NOT NULL;
CREATE INDEX transactions_user ON transactions (user_id, app_id);
CREATE INDEX transactions_original ON transactions (original_transaction_id, purchase_date DESC);

-- Double entry: the lines of one event (a charge or its reversal) sum to zero.
--   customer_payment  -price      (money in from the provider)
--   developer_proceeds +70%/85%   (owed to the developer, paid out monthly)
--   store_commission   +30%/15%
CREATE TABLE ledger_lines (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  transaction_id bigint NOT NULL REFERENCES transactions(id),
  entry text NOT NULL CHECK (entry IN ('charge', 'refund')),
  account text NOT NULL CHECK (account IN ('customer_payment', 'developer_proceeds', 'store_commission')),
  developer_id uuid NOT NULL REFERENCES developers(id),
  environment text NOT NULL CHECK (environment IN ('Sandbox', 'Production')),
  currency char(3) NOT NULL,
  amount_milli bigint NOT NULL,
  commission_rate_pct int NOT NULL CHECK (commission_rate_pct IN (0, 15, 30)),
  payout_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (transaction_id, entry, account)
);
CREATE INDEX ledger_lines_payable ON ledger_lines (developer_id, created_at)
  WHERE account = 'developer_proceeds' AND payout_id IS NULL;

-- One row per subscriber per subscription group of an app (Apple: one active product per group).
CREATE TABLE subscriptions (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users(id),
  app_id uuid NOT NULL REFERENCES apps(id),
  subscription_group text NOT NULL,
  product_uuid uuid NOT NULL REFERENCES in_app_products(id),
  original_transaction_id bigint NOT NULL UNIQUE,
  environment text NOT NULL CHECK (environment IN ('Sandbox', 'Production')),
  storefront char(2) NOT NULL,
  app_account_token uuid,
  status text NOT NULL CHECK (status IN ('active', 'billing_retry', 'grace', 'expired', 'revoked')),
  auto_renew boolean NOT NULL DEFAULT true,
  period_index int NOT NULL DEFAULT 0,       -- of the latest paid period: 0 = the first
  period_anchor timestamptz NOT NULL,       -- start of the current run of periods: period ends are computed from it, never chained
  periods_since_anchor int NOT NULL DEFAULT 0,
  current_period_end timestamptz NOT NULL,
  grace_until timestamptz,
  retry_count int NOT NULL DEFAULT 0,
  next_attempt_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, app_id, subscription_group, environment)
);
CREATE INDEX subscriptions_due ON subscriptions (current_period_end) WHERE status IN ('active', 'billing_retry', 'grace');

-- Which entitlements a product grants. A product with no row grants the entitlement named by its product id;
-- the app itself grants 'app' (the right to download it).
CREATE TABLE product_entitlements (
  product_uuid uuid NOT NULL REFERENCES in_app_products(id),
  entitlement text NOT NULL,
  PRIMARY KEY (product_uuid, entitlement)
);

