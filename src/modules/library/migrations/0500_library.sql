-- Library: what each user owns, their downloads, and the daily download statistics of apps.

-- The ownership rule, written once: a user owns an app while one of their Production transactions of kind
-- 'app' for it is not revoked (free apps are "got" through the same purchase path, at price 0; Sandbox
-- purchases never count). One row per (user, app): the earliest such transaction.
CREATE VIEW owned_apps AS
SELECT DISTINCT ON (t.user_id, t.app_id)
       t.user_id, t.app_id, t.id AS transaction_id, t.original_purchase_date AS acquired_at, t.price_milli, t.currency
  FROM purchases_transactions t
 WHERE t.kind = 'app' AND t.environment = 'Production' AND t.revocation_date IS NULL
 ORDER BY t.user_id, t.app_id, t.purchase_date, t.id;

-- A user's downloads of an app: the row's creation is their first download (counted once in
-- apps.download_count); last_version tells an update from a re-download.
CREATE TABLE app_user_downloads (
  user_id uuid NOT NULL REFERENCES users(id),
  app_id uuid NOT NULL REFERENCES apps(id),
  first_downloaded_at timestamptz NOT NULL DEFAULT now(),
  last_version text NOT NULL,
  last_downloaded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, app_id)
);

-- Download links issued per app and UTC day, by kind; kept by the download-stats consumer (app.downloaded).
CREATE TABLE app_download_days (
  app_id uuid NOT NULL REFERENCES apps(id),
  day date NOT NULL,
  first_downloads int NOT NULL DEFAULT 0,
  redownloads int NOT NULL DEFAULT 0,
  updates int NOT NULL DEFAULT 0,
  PRIMARY KEY (app_id, day)
);

-- When app.changed { change: 'downloads' } was last emitted for an app, and whether a newer count waits:
-- at most about one such event a minute per app, so caches and search indexes are not thrashed.
CREATE TABLE app_download_signals (
  app_id uuid PRIMARY KEY REFERENCES apps(id),
  emitted_at timestamptz NOT NULL,
  pending boolean NOT NULL DEFAULT false
);
CREATE INDEX app_download_signals_pending ON app_download_signals (emitted_at) WHERE pending;
