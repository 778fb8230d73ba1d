-- Who is signed in now (a live session), and since when: batch jobs precompute answers for these users.
CREATE VIEW identity_active_users AS
SELECT user_id AS id, max(created_at) AS signed_in_at FROM sessions
 WHERE revoked_at IS NULL AND expires_at > now()
 GROUP BY user_id;
