-- Integrity: group-level detection (issue 20). The projection keeps what ties reviews into groups: the author's
-- profile when writing (account age, ownership, when they acquired the app and their first app), the app's
-- developer, and the gist signature (content words, synonyms folded; its LSH keys go to integrity_bands, bands
-- 21..30). NULL for rows scored before: they take part in groups through their authors and apps only.
ALTER TABLE integrity_reviews
  ADD COLUMN developer_id uuid,
  ADD COLUMN verified boolean,
  ADD COLUMN account_created_at timestamptz,
  ADD COLUMN acquired_at timestamptz,
  ADD COLUMN first_acquired_at timestamptz,
  ADD COLUMN gist_signature bytea;

-- Groups found (incrementally as reviews arrive, or by the periodic pass), each with its evidence.
CREATE TABLE integrity_groups (
  id uuid PRIMARY KEY,
  kind text NOT NULL,                      -- 'same-gist', 'lockstep', 'profile-burst', 'dense-block'
  reason text NOT NULL,
  authors int NOT NULL,
  apps int NOT NULL,
  decision text NOT NULL,                  -- 'hold' or 'reject'
  found_by text NOT NULL,                  -- 'incremental' or 'periodic'
  found_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE integrity_group_members (
  group_id uuid NOT NULL REFERENCES integrity_groups(id) ON DELETE CASCADE,
  review_id uuid NOT NULL,
  user_id uuid NOT NULL,
  PRIMARY KEY (group_id, review_id)
);
CREATE INDEX integrity_group_members_review ON integrity_group_members (review_id);
CREATE INDEX integrity_group_members_user ON integrity_group_members (user_id);

-- Every verdict integrity revised after its first one (held, rejected or restored later), with its reason.
CREATE TABLE integrity_revisions (
  id bigserial PRIMARY KEY,
  review_id uuid NOT NULL,
  revision int NOT NULL,
  from_status text NOT NULL,
  to_status text NOT NULL,
  reason text NOT NULL,
  group_id uuid,
  found_by text NOT NULL,                  -- 'incremental' or 'periodic'
  revised_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX integrity_revisions_review ON integrity_revisions (review_id, revised_at);
