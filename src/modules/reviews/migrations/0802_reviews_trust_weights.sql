-- Votes and reports weighted by trust (trust.ts): each vote and report keeps the weight its account had when it
-- was cast (0 to 1). reviews.helpful_count and report_count stay the raw counts shown to people;
-- helpful_score (the "most helpful" order) and report_score (what holds a review) are the sums of the weights.
-- Existing votes and reports count as 1, so nothing moves at the upgrade.
ALTER TABLE review_votes ADD COLUMN weight numeric(4, 3) NOT NULL DEFAULT 1 CHECK (weight BETWEEN 0 AND 1);
ALTER TABLE review_reports ADD COLUMN weight numeric(4, 3) NOT NULL DEFAULT 1 CHECK (weight BETWEEN 0 AND 1);
ALTER TABLE reviews
  ADD COLUMN helpful_score numeric(12, 3) NOT NULL DEFAULT 0 CHECK (helpful_score >= 0),
  ADD COLUMN report_score numeric(12, 3) NOT NULL DEFAULT 0 CHECK (report_score >= 0);
UPDATE reviews SET helpful_score = helpful_count, report_score = report_count WHERE helpful_count > 0 OR report_count > 0;

-- "Most helpful" orders by the weighted score now (then last-written time and id, as before).
DROP INDEX reviews_public_helpful;
CREATE INDEX reviews_public_helpful ON reviews (app_id, helpful_score DESC, updated_at DESC, id DESC) WHERE status = 'approved';
-- An account's earlier votes are part of its history.
CREATE INDEX review_votes_user ON review_votes (user_id, created_at);
