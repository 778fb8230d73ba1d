-- Integrity: the module's own projection of reviews (fed by review.created/updated), the facts its
-- signals are computed over, moderators' labels, and the models trained from them.

-- One row per review: its latest scored revision. Windows are taken relative to written_at, so a
-- review's score does not depend on how late the consumer runs.
CREATE TABLE integrity_reviews (
  review_id uuid PRIMARY KEY,
  app_id uuid NOT NULL,
  user_id uuid NOT NULL,
  rating smallint NOT NULL,
  revision int NOT NULL,
  first_written_at timestamptz NOT NULL,
  written_at timestamptz NOT NULL,
  signature bytea NOT NULL                 -- MinHash signature of title + body
);
CREATE INDEX integrity_reviews_app ON integrity_reviews (app_id, first_written_at);
CREATE INDEX integrity_reviews_user ON integrity_reviews (user_id, first_written_at);

-- Keys of each review's text: its LSH bands (equal keys make near-duplicate candidates, within an app and
-- across apps) and its sentence fingerprints. Looked up newest first, a bounded number per key.
CREATE TABLE integrity_bands (
  band bigint NOT NULL,
  written_at timestamptz NOT NULL,
  review_id uuid NOT NULL                 -- no foreign key: ~25 rows a review, checked one by one; forgetReview deletes them
);
CREATE INDEX integrity_bands_key ON integrity_bands (band, written_at DESC);
CREATE INDEX integrity_bands_review ON integrity_bands (review_id);

-- Every moderator decision, with the features the review had when it was decided: training data.
CREATE TABLE integrity_labels (
  id uuid PRIMARY KEY,
  review_id uuid NOT NULL,
  revision int NOT NULL,
  genuine boolean NOT NULL,
  moderator_id uuid NOT NULL REFERENCES users(id),
  features double precision[] NOT NULL,
  feature_names text[] NOT NULL,
  note text,
  decided_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX integrity_labels_review ON integrity_labels (review_id, decided_at DESC);

-- Trained models, versioned; the newest is the one in use.
CREATE TABLE integrity_models (
  version serial PRIMARY KEY,
  model jsonb NOT NULL,
  labels int NOT NULL,
  metrics jsonb NOT NULL,
  trained_at timestamptz NOT NULL DEFAULT now()
);
