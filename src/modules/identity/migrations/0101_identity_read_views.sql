-- Identity's read views: what other modules may read of accounts and developers. Never emails, password
-- hashes or sessions. Simple projections, so PostgreSQL inlines them: a join through a view costs what a join
-- on the table does. Columns may be added; removing or renaming one is a change to every reader.
CREATE VIEW identity_users AS
SELECT id, display_name, role, country, created_at FROM users;

CREATE VIEW identity_developers AS
SELECT id, user_id, company_name, website, verified, created_at FROM developers;
