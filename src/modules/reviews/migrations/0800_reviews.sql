-- Reviews: one per user per app, scored by the integrity module, public once approved; helpful votes,
-- abuse reports, developer responses, and each app's rating summary kept incrementally.

-- status: pending (waiting for integrity), held (for a moderator), approved (public, counted in the summary),
-- rejected. revision is bumped by every edit: a verdict names the revision it scored, so a late score of
-- an edited review changes nothing. The integrity_* fields describe the current revision (an edit clears them).
CREATE TABLE reviews (
  id uuid PRIMARY KEY,
  app_id uuid NOT NULL REFERENCES apps(id),
  user_id uuid NOT NULL REFERENCES users(id),
  rating smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
  title text NOT NULL,
  body text NOT NULL,
  app_version text,
  verified boolean NOT NULL DEFAULT false,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'held', 'approved', 'rejected')),
  revision int NOT NULL DEFAULT 1,
  integrity_score double precision,
  integrity_signals jsonb,
  integrity_action text CHECK (integrity_action IN ('approve', 'manual_review', 'reject')),
  integrity_model text,
  scored_at timestamptz,
  moderated_by uuid,          -- the admin who decided last; no foreign key: a moderator's account may go, the decision stays
  moderated_at timestamptz,
  helpful_count int NOT NULL DEFAULT 0 CHECK (helpful_count >= 0),
  report_count int NOT NULL DEFAULT 0 CHECK (report_count >= 0),
  response_body text,
  response_at timestamptz,
  response_updated_at timestamptz,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  UNIQUE (user_id, app_id)
);
-- Public lists (approved only): most helpful, by rating; most recent and the developer's list use reviews_app.
CREATE INDEX reviews_public_helpful ON reviews (app_id, helpful_count DESC, updated_at DESC, id DESC) WHERE status = 'approved';
CREATE INDEX reviews_public_rating ON reviews (app_id, rating DESC, updated_at DESC, id DESC) WHERE status = 'approved';
CREATE INDEX reviews_app ON reviews (app_id, updated_at DESC, id DESC);
-- The moderation queue: one status, oldest revision first.
CREATE INDEX reviews_moderation ON reviews (status, updated_at, id);

-- "Helpful" votes: one per user per review; reviews.helpful_count counts them.
CREATE TABLE review_votes (
  review_id uuid NOT NULL REFERENCES reviews(id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users(id),
  created_at timestamptz NOT NULL,
  PRIMARY KEY (review_id, user_id)
);

-- Abuse reports: one per user per review; reviews.report_count counts them.
CREATE TABLE review_reports (
  review_id uuid NOT NULL REFERENCES reviews(id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users(id),
  reason text NOT NULL CHECK (reason IN ('spam', 'offensive', 'off_topic', 'fake', 'other')),
  note text,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (review_id, user_id)
);

-- Each app's approved ratings, kept incrementally (never recounted): every status change and deletion appends
-- a delta (+1 or -1 of one rating) to app_rating_deltas, without taking any lock a concurrent verdict on the
-- same app would wait for; a job folds the deltas into app_rating_summaries about once a second and copies the
-- result into apps.rating_count / rating_average. A read adds the deltas not folded yet, so it is exact.
-- The checks catch any drift at the fold that would cause it.
CREATE TABLE app_rating_summaries (
  app_id uuid PRIMARY KEY REFERENCES apps(id),
  count int NOT NULL DEFAULT 0,
  sum bigint NOT NULL DEFAULT 0,
  c1 int NOT NULL DEFAULT 0 CHECK (c1 >= 0),
  c2 int NOT NULL DEFAULT 0 CHECK (c2 >= 0),
  c3 int NOT NULL DEFAULT 0 CHECK (c3 >= 0),
  c4 int NOT NULL DEFAULT 0 CHECK (c4 >= 0),
  c5 int NOT NULL DEFAULT 0 CHECK (c5 >= 0),
  updated_at timestamptz NOT NULL,
  CHECK (count = c1 + c2 + c3 + c4 + c5),
  CHECK (sum = c1 + 2::bigint * c2 + 3::bigint * c3 + 4::bigint * c4 + 5::bigint * c5)
);
CREATE TABLE app_rating_deltas (
  id bigserial PRIMARY KEY,
  app_id uuid NOT NULL,
  rating smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
  delta smallint NOT NULL CHECK (delta IN (-1, 1))
);
CREATE INDEX app_rating_deltas_app ON app_rating_deltas (app_id);
