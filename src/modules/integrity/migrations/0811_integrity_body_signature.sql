-- Integrity: a second MinHash signature over the review's body alone. Candidates are still found through the
-- LSH bands of title + body (integrity_bands); whether one is a copy is then decided on the bodies, so a copier
-- who changes the title (a few words, a large share of a short review's shingles) is still caught.
-- NULL for rows scored before: their title + body signature is used instead.
ALTER TABLE integrity_reviews ADD COLUMN body_signature bytea;
