-- The identity.sessions-purge job deletes sessions that ended (expired or revoked) long ago, oldest first.
CREATE INDEX sessions_expires ON sessions (expires_at);
