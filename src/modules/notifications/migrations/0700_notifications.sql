-- App Store Server Notifications V2: each app's webhook, the notifications owed to it (an outbox per app,
-- delivered in order per original transaction) and every send attempt (for the history endpoint).

-- Apple's numeric app id (appAppleId in notification data, which Apple's verifier compares in Production).
CREATE SEQUENCE app_apple_ids START 1000000001;

CREATE TABLE notification_endpoints (
  app_id uuid PRIMARY KEY REFERENCES apps(id),
  url text,                                 -- NULL once removed: the app keeps its appAppleId
  app_apple_id bigint NOT NULL UNIQUE DEFAULT nextval('app_apple_ids'),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE notifications (
  id uuid PRIMARY KEY,                      -- notificationUUID: the event's id (UUIDv7), so the order events happened in
  app_id uuid NOT NULL REFERENCES apps(id),
  type text NOT NULL,                       -- Apple's notificationType
  subtype text,
  original_transaction_id bigint,           -- ordering key; NULL for TEST
  transaction_id bigint,
  environment text NOT NULL CHECK (environment IN ('Sandbox', 'Production')),
  data_status smallint,                     -- data.status (Apple's subscription Status), when known
  signed_payload text,                      -- signed at the first attempt, re-sent as is on every retry (as Apple does)
  test_token text UNIQUE,                   -- TEST notifications only
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts int NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notifications_pending_by_original ON notifications (original_transaction_id, id) WHERE status = 'pending';
CREATE INDEX notifications_history ON notifications (app_id, id);

CREATE TABLE notification_attempts (
  id bigserial PRIMARY KEY,
  notification_id uuid NOT NULL REFERENCES notifications(id),
  attempted_at timestamptz NOT NULL,
  http_status int,                          -- NULL when no response came
  result text NOT NULL,                     -- Apple's SendAttemptResult
  error text
);
CREATE INDEX notification_attempts_of ON notification_attempts (notification_id, id);
