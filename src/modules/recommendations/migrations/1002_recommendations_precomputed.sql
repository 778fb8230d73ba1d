-- What the request path reads as stored data, computed by the batch job (build.ts, similar.ts, users.ts).

-- Each public app's similar apps, best first: more-like-this blended with co-downloads, re-ranked by quality.
-- `stale`: to be computed again soon (the app changed, or its co-download neighbours did); every list is also
-- computed again once a day. An app without a row has not been computed yet (just published).
CREATE TABLE recs_similar (
  app_id uuid PRIMARY KEY,
  ids uuid[] NOT NULL,
  stale boolean NOT NULL DEFAULT false,
  computed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recs_similar_stale ON recs_similar (computed_at) WHERE stale;
CREATE INDEX recs_similar_age ON recs_similar (computed_at);

-- A signed-in user's rows, precomputed for active users: the apps of each personal row (more than shown, so a
-- few can be left out at read), the library's top categories (their "Popular in" rows follow the current charts
-- at read) and the owned apps left out of every row. `acquired`: apps got since, left out at once until the rows
-- are computed again (`stale`).
CREATE TABLE recs_user_rows (
  user_id uuid PRIMARY KEY,
  rows jsonb NOT NULL,
  acquired uuid[] NOT NULL DEFAULT '{}',
  stale boolean NOT NULL DEFAULT false,
  computed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recs_user_rows_stale ON recs_user_rows (computed_at) WHERE stale;
