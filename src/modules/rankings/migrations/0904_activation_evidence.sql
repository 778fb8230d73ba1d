-- Activation evidence (issue 20): acquisitions of SDK apps count in charts only as far as real installs open the
-- app. An activation is an install (a real download's install token) reporting its first attested session.

-- Per (app, country, day of the install's first session): installs activated. Kept by SDK ingestion.
ALTER TABLE app_daily_stats ADD COLUMN activations int NOT NULL DEFAULT 0;

-- Running sums (see 0900) of activations and, for the app's own activation rate, of trusted downloads:
--   activations_day:  half-life 1 day (trending's recent rate)
--   activations_week: half-life 7 days (top charts' download velocity)
--   activations_long: half-life 60 days (the app's expected activations per trusted download...)
--   downloads_long:   trusted downloads, half-life 60 days (...over these)
ALTER TABLE app_chart_signals
  ADD COLUMN activations_day double precision NOT NULL DEFAULT 0,
  ADD COLUMN activations_week double precision NOT NULL DEFAULT 0,
  ADD COLUMN activations_long double precision NOT NULL DEFAULT 0,
  ADD COLUMN downloads_long double precision NOT NULL DEFAULT 0;
-- Existing rows: the 7-day sum rescaled to a 60-day one at the same rate (rebuildSignals refolds exactly).
UPDATE app_chart_signals SET downloads_long = downloads_week * (1 - power(2::float8, -1.0 / 7)) / (1 - power(2::float8, -1.0 / 60))
 WHERE downloads_week > 0;

-- The per-install daily caps of ingestion read what an install already reported on a day.
CREATE INDEX engagement_sessions_install_day ON engagement_sessions (app_id, install_key, day);

-- Past activations, from the installs' first days (their country: that of a session of their first day, while
-- the raw sessions are kept); rebuildSignals folds them.
UPDATE app_daily_stats s SET activations = a.n
  FROM (SELECT i.app_id, f.country, i.first_day AS day, count(*)::int AS n
          FROM engagement_installs i
          JOIN LATERAL (SELECT min(e.country) AS country FROM engagement_sessions e
                         WHERE e.app_id = i.app_id AND e.install_key = i.install_key AND e.day = i.first_day) f ON f.country IS NOT NULL
         GROUP BY 1, 2, 3) a
 WHERE s.app_id = a.app_id AND s.country = a.country AND s.day = a.day;

