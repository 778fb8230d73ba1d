// Sessions that ended long ago (expired, or revoked and then expired) are of no use: a token that maps to
// none is refused the same way. The identity.sessions-purge job deletes them in small batches, so the
// table and its unique token index stay the size of the live sessions.
import type { Db } from '../../platform/db/index.ts';

/** How long an ended session is kept (for an operator looking into an account's recent sign-ins). */
export const ENDED_SESSION_RETENTION_MS = 30 * 24 * 3_600_000;
const BATCH = 1000;

/** Deletes sessions that expired before now - retentionMs; returns how many. */
export async function purgeEndedSessions(db: Db, retentionMs = ENDED_SESSION_RETENTION_MS): Promise<number> {
  let total = 0;
  for (;;) {
    const { rowCount } = await db.query(
      `DELETE FROM sessions WHERE id IN (
         SELECT id FROM sessions WHERE expires_at < now() - make_interval(secs => $1::double precision / 1000) ORDER BY expires_at LIMIT ${BATCH})`,
      [retentionMs],
    );
    total += rowCount;
    if (rowCount < BATCH) return total;
  }
}
