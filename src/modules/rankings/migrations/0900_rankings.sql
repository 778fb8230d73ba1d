-- Rankings: daily statistics per app and storefront country, the running decayed signals the hourly chart
-- run reads, the charts it writes, and each app's rank history.

-- One row per (app, country, UTC day) with any activity; days without activity have no row (the long tail
-- is sparse). Kept by the rankings.signals consumer (downloads, purchases, refunds) and the engagement
-- ingestion. No foreign keys: ~50M rows at scale, written in batches; an app's rows outlive nothing.
CREATE TABLE app_daily_stats (
  app_id uuid NOT NULL,
  country char(2) NOT NULL,
  day date NOT NULL,
  first_downloads int NOT NULL DEFAULT 0,           -- an account's first ever download of the app: counted once per account per app
  redownloads int NOT NULL DEFAULT 0,               -- counted apart, never feed charts
  updates int NOT NULL DEFAULT 0,                   -- counted apart, never feed charts
  unique_downloaders int NOT NULL DEFAULT 0,        -- accounts with any download of the app that day
  trusted_downloads real NOT NULL DEFAULT 0,        -- first downloads weighted by account trust: what charts count
  fresh_downloads int NOT NULL DEFAULT 0,           -- first downloads by accounts younger than a week (burst detection)
  revenue_milli bigint NOT NULL DEFAULT 0,          -- Production sales less refunds, milliunits of the storefront's currency
  active_users int NOT NULL DEFAULT 0,              -- distinct installs with a session that day (SDK)
  sessions int NOT NULL DEFAULT 0,
  session_seconds bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (app_id, country, day)
);

-- Running decayed sums per (app, country), so the hourly run never rescans 90 days of rows. Each value is
-- "as of last_day": its value on a later day d is value * 2^(-(d - last_day) / half_life). A new day's amount
-- x is folded as value * 2^(-(day - last_day) / h) + x (and late amounts for an earlier day are added decayed).
--   downloads_week: trusted first downloads, half-life 7 days (the chart's download velocity)
--   downloads_day:  trusted first downloads, half-life 1 day (trending: the recent rate against the weekly one)
--   revenue_week:   revenue_milli, half-life 7 days (grossing)
-- Partitioned by country: the chart run ranks groups of countries on several connections, each reading
-- only its countries' partitions.
CREATE TABLE app_chart_signals (
  app_id uuid NOT NULL,
  country char(2) NOT NULL,
  last_day date NOT NULL,
  downloads_week double precision NOT NULL DEFAULT 0,
  downloads_day double precision NOT NULL DEFAULT 0,
  revenue_week double precision NOT NULL DEFAULT 0,
  PRIMARY KEY (app_id, country)
) PARTITION BY LIST (country);
DO $$
DECLARE c text;
BEGIN
  FOR c IN SELECT country FROM catalog_storefronts LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF app_chart_signals FOR VALUES IN (%L)', 'app_chart_signals_' || lower(c), c);
  END LOOP;
END $$;
CREATE TABLE app_chart_signals_other PARTITION OF app_chart_signals DEFAULT;

-- Engagement aggregates per app (all countries), refreshed by the engagement job from SDK sessions.
CREATE TABLE app_engagement (
  app_id uuid PRIMARY KEY,
  dau int NOT NULL DEFAULT 0,                       -- distinct installs active on the last complete day
  mau int NOT NULL DEFAULT 0,                       -- distinct installs active over the 30 days before it
  day7_retention real NOT NULL DEFAULT 0,           -- of installs first seen 7 days before the last complete day, the share active that day (0-1)
  avg_session_minutes real NOT NULL DEFAULT 0,      -- over the last 7 days
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Accounts as the charts see them: how many apps each has got (an account with no other activity weighs less).
CREATE TABLE chart_accounts (
  user_id uuid PRIMARY KEY,
  apps_downloaded int NOT NULL DEFAULT 0
);

-- One row per hourly slot: scheduling it twice (several workers) records one ranking.compute.
CREATE TABLE chart_runs (
  id uuid PRIMARY KEY,
  slot timestamptz NOT NULL UNIQUE,                 -- the hour the run is for (or the time of a manual run)
  status text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'running', 'done', 'failed')),
  started_at timestamptz,
  finished_at timestamptz,
  stats jsonb
);
CREATE INDEX chart_runs_done ON chart_runs (finished_at DESC) WHERE status = 'done';

-- The charts of the most recent runs: each chart's top entries, with score and signal breakdown.
-- category '' is the overall chart of the country. No foreign key to chart_runs: a run's countries are
-- written by several connections while its chart_runs row is not committed yet; readers only read runs
-- that are 'done', and pruning a run deletes its entries.
CREATE TABLE chart_entries (
  run_id uuid NOT NULL,
  country char(2) NOT NULL,
  category text NOT NULL,
  chart text NOT NULL CHECK (chart IN ('top-free', 'top-paid', 'top-grossing', 'trending', 'new')),
  rank smallint NOT NULL,
  app_id uuid NOT NULL,
  score real NOT NULL,
  downloads real NOT NULL,
  rating real NOT NULL,
  engagement real NOT NULL,
  revenue real NOT NULL,
  freshness real NOT NULL,
  PRIMARY KEY (run_id, country, category, chart, rank)
);
CREATE INDEX chart_entries_app ON chart_entries (app_id, run_id);

-- Rank over time for developer analytics: each app's best rank per chart and UTC day, kept indefinitely.
CREATE TABLE chart_rank_history (
  app_id uuid NOT NULL,
  chart text NOT NULL,
  country char(2) NOT NULL,
  category text NOT NULL,
  day date NOT NULL,
  best_rank smallint NOT NULL,
  PRIMARY KEY (app_id, chart, country, category, day)
);
