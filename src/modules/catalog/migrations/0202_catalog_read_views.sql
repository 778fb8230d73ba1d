-- The catalog's read views: what other modules may read of apps, versions, media, prices, in-app products and
-- storefronts (never review notes or the ETag revision). Simple projections, so PostgreSQL inlines them: a join
-- through a view costs what a join on the table does. Columns may be added; removing or renaming one is a
-- change to every reader. Writes to these tables go through the catalog's exported functions.
--
-- The full-text document of an app (used by search's PostgreSQL fallback) is a generated column of apps, so it
-- is the catalog's: a generated column cannot live in another table. Created in search's migration before the
-- tables had owners; IF NOT EXISTS keeps databases that ran that migration as they are.

-- array_to_string is only STABLE in general (any element type); over text[] it is immutable, which a
-- generated column needs.
CREATE OR REPLACE FUNCTION search_words(text[]) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT array_to_string($1, ' ') $$;

-- Weighted document: name A, keywords B, subtitle C, description D.
ALTER TABLE apps ADD COLUMN IF NOT EXISTS search_document tsvector GENERATED ALWAYS AS (
  setweight(to_tsvector('english', name), 'A') ||
  setweight(to_tsvector('english', search_words(keywords)), 'B') ||
  setweight(to_tsvector('english', coalesce(subtitle, '')), 'C') ||
  setweight(to_tsvector('english', description), 'D')
) STORED;
CREATE INDEX IF NOT EXISTS apps_search_document ON apps USING gin (search_document) WHERE status = 'published';
-- Prefix suggestions: lower(name) LIKE 'prefix%' over published apps.
CREATE INDEX IF NOT EXISTS apps_search_name_prefix ON apps (lower(name) text_pattern_ops) WHERE status = 'published';
-- Catch-up scans of the search index: apps changed since a point in time.
CREATE INDEX IF NOT EXISTS apps_updated_at ON apps (updated_at);

CREATE VIEW catalog_apps AS
SELECT id, developer_id, bundle_id, name, subtitle, description, keywords, category, subcategory, age_rating, is_free, status,
       current_version, rating_count, rating_average, download_count, created_at, updated_at, published_at, search_document
  FROM apps;

CREATE VIEW catalog_app_versions AS
SELECT id, app_id, version, release_notes, min_os_version, permissions, binary_sha256, binary_size, status, created_at, published_at
  FROM app_versions;

CREATE VIEW catalog_app_media AS
SELECT id, app_id, kind, device_type, position, sha256, size_bytes, content_type, created_at FROM app_media;

CREATE VIEW catalog_app_prices AS
SELECT app_id, country, tier, amount_milli, currency FROM app_prices;

CREATE VIEW catalog_in_app_products AS
SELECT id, app_id, product_id, reference_name, type, subscription_period, subscription_group, created_at FROM in_app_products;

CREATE VIEW catalog_in_app_prices AS
SELECT product_id, country, tier, amount_milli, currency FROM in_app_prices;

CREATE VIEW catalog_storefronts AS
SELECT country, alpha3, currency, apple_storefront_id, name FROM storefronts;
