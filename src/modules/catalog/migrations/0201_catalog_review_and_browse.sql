-- Additions to 0200 (nothing there is renamed or removed).

-- Review bookkeeping: the queue is ordered by submission time; who decided and when.
ALTER TABLE app_versions ADD COLUMN submitted_at timestamptz;
ALTER TABLE app_versions ADD COLUMN reviewed_at timestamptz;
ALTER TABLE app_versions ADD COLUMN reviewed_by uuid REFERENCES users(id);
CREATE INDEX app_versions_review_queue ON app_versions (submitted_at, id) WHERE status = 'in_review';

-- GET /media/:sha256 finds the stored content type of a blob.
CREATE INDEX app_media_sha256 ON app_media (sha256);

-- Browse without a category filter, and by subcategory with every sort: each page is an index range scan.
CREATE INDEX apps_browse_all_newest ON apps (published_at DESC, id) WHERE status = 'published';
CREATE INDEX apps_browse_all_popular ON apps (download_count DESC, id) WHERE status = 'published';
CREATE INDEX apps_browse_all_rating ON apps (rating_average DESC, id) WHERE status = 'published';
CREATE INDEX apps_browse_all_name ON apps (name, id) WHERE status = 'published';
CREATE INDEX apps_browse_sub_popular ON apps (subcategory, download_count DESC, id) WHERE status = 'published';
CREATE INDEX apps_browse_sub_rating ON apps (subcategory, rating_average DESC, id) WHERE status = 'published';
CREATE INDEX apps_browse_sub_name ON apps (subcategory, name, id) WHERE status = 'published';
