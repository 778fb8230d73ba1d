-- Search: the PostgreSQL full-text fallback (used while the in-memory engine is not ready or failing),
-- the prefix index of the fallback suggestions, and the catch-up scans of the index loader.

-- array_to_string is only STABLE in general (any element type); over text[] it is immutable, which a
-- generated column needs.
CREATE FUNCTION search_words(text[]) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT array_to_string($1, ' ') $$;

-- Weighted document: name A, keywords B, subtitle C, description D (the developer lives in another table,
-- and a generated column cannot join).
ALTER TABLE apps ADD COLUMN search_document tsvector GENERATED ALWAYS AS (
  setweight(to_tsvector('english', name), 'A') ||
  setweight(to_tsvector('english', search_words(keywords)), 'B') ||
  setweight(to_tsvector('english', coalesce(subtitle, '')), 'C') ||
  setweight(to_tsvector('english', description), 'D')
) STORED;
CREATE INDEX apps_search_document ON apps USING gin (search_document) WHERE status = 'published';

-- Fallback suggestions: lower(name) LIKE 'prefix%' over published apps.
CREATE INDEX apps_search_name_prefix ON apps (lower(name) text_pattern_ops) WHERE status = 'published';

-- Catch-up after a snapshot load or a missed broadcast: apps changed since a point in time.
CREATE INDEX apps_updated_at ON apps (updated_at);
