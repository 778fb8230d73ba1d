-- Engagement from apps' SDKs: per-app ingestion keys, the raw sessions (kept 40 days) and each install's first
-- day (for day-7 retention). The hourly aggregation folds them into app_daily_stats and app_engagement (0900).
-- Developers' identifiers are never stored as sent: session and install ids are kept as a hash
-- (sha256 of app id and the id, first 16 bytes, uuid-shaped), which is also what makes the rows compact.

-- Ingestion keys: "osk_..." secrets shown once at creation; only their sha256 is kept. At most a few active per app.
CREATE TABLE sdk_keys (
  id uuid PRIMARY KEY,
  app_id uuid NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  key_hash bytea NOT NULL UNIQUE,                   -- sha256 of the whole key: what ingestion looks keys up by
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,                         -- refreshed at most once a minute by accepted batches
  revoked_at timestamptz
);
CREATE INDEX sdk_keys_app ON sdk_keys (app_id, created_at DESC);

-- One row per SDK session. No foreign keys (written in batches at volume; the key already named the app).
-- A replayed session (same app, same session id) is a no-op. `day` is the UTC day of started_at.
CREATE TABLE engagement_sessions (
  app_id uuid NOT NULL,
  session_key uuid NOT NULL,                        -- hash of (app id, SDK session id)
  install_key uuid NOT NULL,                        -- hash of (app id, SDK install id)
  country char(2) NOT NULL,
  day date NOT NULL,
  started_at timestamptz NOT NULL,
  seconds int NOT NULL CHECK (seconds BETWEEN 0 AND 86400),
  -- session_key first: the key only ever answers "stored already?"; led by app_id it would be an app-ordered
  -- index over a day-ordered heap, which the planner picks for the per-app grouping and then reads at random.
  PRIMARY KEY (session_key, app_id)
);
-- The aggregation reads day ranges (the last 31 days for daily stats, the last 30 for DAU/MAU/retention)
-- and the prune deletes by day.
CREATE INDEX engagement_sessions_day ON engagement_sessions (day, app_id);

-- The first UTC day each install of an app was seen: the cohorts of day-7 retention. Kept beyond the sessions'
-- 40 days, so an install that comes back later is not taken for a new one.
CREATE TABLE engagement_installs (
  app_id uuid NOT NULL,
  install_key uuid NOT NULL,
  first_day date NOT NULL,
  PRIMARY KEY (app_id, install_key)
);
CREATE INDEX engagement_installs_first_day ON engagement_installs (first_day);

-- The aggregation's memory: the UTC day of its last full pass. The first run of each UTC day recounts the daily
-- rows of the last 31 days (late sessions of older days); the other runs recount only yesterday and today.
CREATE TABLE engagement_aggregation (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  full_day date NOT NULL,
  ran_at timestamptz NOT NULL
);
