-- Recommendations: each app's nearest neighbours by co-downloads ("people who got X also got Y"), rebuilt by
-- the batch job from every library; and the builds themselves.

-- Up to 50 neighbours per app, best first: cosine similarity of the two apps' sets of owners.
-- No foreign keys: rebuilt wholesale by the job, read by id.
CREATE TABLE app_neighbors (
  app_id uuid NOT NULL,
  rank smallint NOT NULL,
  other_id uuid NOT NULL,
  score real NOT NULL,
  co_users int NOT NULL,
  PRIMARY KEY (app_id, rank)
);

CREATE TABLE recs_builds (
  id uuid PRIMARY KEY,
  built_at timestamptz NOT NULL DEFAULT now(),
  stats jsonb NOT NULL
);
