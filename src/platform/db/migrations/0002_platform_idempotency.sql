-- Idempotency-Key records of money-moving requests other than purchases (refunds, payouts): the source of
-- truth behind the cache fast path of platform/http/idempotency.ts. (user, scope, key) is unique, so two
-- requests with one key cannot both proceed. The platform owns it and knows no module, so user_id has no
-- foreign key here. First created by purchases' migration; IF NOT EXISTS keeps databases that ran it as they are.
CREATE TABLE IF NOT EXISTS idempotency_keys (
  user_id uuid NOT NULL,
  scope text NOT NULL,                      -- e.g. 'refund'
  key text NOT NULL,
  request_hash text NOT NULL,               -- sha256 of the canonical request: same key + other body = 422
  status text NOT NULL CHECK (status IN ('in_flight', 'done')),
  response_status int,
  response jsonb,
  locked_until timestamptz NOT NULL,        -- an in-flight record past this may be taken over (crashed worker)
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, scope, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_age ON idempotency_keys (created_at);
