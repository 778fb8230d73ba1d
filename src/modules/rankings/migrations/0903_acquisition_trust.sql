-- Acquisition trust beyond account age (issue 20): trusted acquirers per day, their running sums for
-- trending, and the per-day creation-hour counts of each app's acquirers (the lockstep-cohort test).

-- First downloads by accounts that are not fresh, thin, flagged or in a lockstep cohort: distinct trusted
-- acquirers. NULL on rows written before this column or loaded in bulk (seed, bench): rebuildSignals then
-- counts their trusted_downloads.
ALTER TABLE app_daily_stats ADD COLUMN trusted_acquirers int;

-- Trusted acquirers folded like the download sums (see 0900):
--   acquirers_day:  half-life 1 day (trending: the recent rate, and its breadth)
--   acquirers_base: half-life 14 days (trending: the smoothed baseline)
-- Existing rows start from the trusted download sums (the 7-day sum rescaled to a 14-day one at the same rate).
ALTER TABLE app_chart_signals
  ADD COLUMN acquirers_day double precision NOT NULL DEFAULT 0,
  ADD COLUMN acquirers_base double precision NOT NULL DEFAULT 0;
UPDATE app_chart_signals
   SET acquirers_day = downloads_day,
       acquirers_base = downloads_week * (1 - power(2::float8, -1.0 / 7)) / (1 - power(2::float8, -1.0 / 14))
 WHERE downloads_week > 0 OR downloads_day > 0;

-- How many of an app's first-download accounts of a day (per country) were created in each hour
-- (hours since 1970). Kept two days (pruned by the chart run).
CREATE TABLE chart_cohort_buckets (
  app_id uuid NOT NULL,
  country char(2) NOT NULL,
  day date NOT NULL,
  bucket int NOT NULL,
  acquirers int NOT NULL DEFAULT 0,
  PRIMARY KEY (app_id, country, day, bucket)
);
CREATE INDEX chart_cohort_buckets_day ON chart_cohort_buckets (day);
