-- Builds write their neighbours under their own id and go live by moving one pointer (recs_live), so a full
-- build of millions of rows is loaded with COPY beside the live one and swapped in at once. The live set is
-- then updated in place by incremental builds. The rows are derived data: the old table is simply replaced.
DROP TABLE app_neighbors;
CREATE TABLE app_neighbors (
  build_id uuid NOT NULL,
  app_id uuid NOT NULL,
  rank smallint NOT NULL,
  other_id uuid NOT NULL,
  score real NOT NULL,
  co_users int NOT NULL,
  PRIMARY KEY (build_id, app_id, rank)
);

-- How many libraries hold each app (among each user's most recent apps): the cosine's denominators, kept so an
-- incremental build can score new pairs without reading every library.
CREATE TABLE recs_app_owners (
  build_id uuid NOT NULL,
  app_id uuid NOT NULL,
  owners int NOT NULL CHECK (owners > 0),
  PRIMARY KEY (build_id, app_id)
);

-- The live set: the full build it came from, the acquisitions folded in (created up to `watermark`), and when
-- it was last rebuilt from scratch. One row at most.
CREATE TABLE recs_live (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  build_id uuid NOT NULL,
  watermark timestamptz NOT NULL,
  full_at timestamptz NOT NULL
);

ALTER TABLE recs_builds ADD COLUMN kind text NOT NULL DEFAULT 'full' CHECK (kind IN ('full', 'incremental'));
-- The incremental build reads app acquisitions and revocations since its watermark: purchases keeps the two
-- indexes that make it cheap (its 0403 migration).
