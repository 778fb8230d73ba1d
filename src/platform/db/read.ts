// Reads that tolerate a little lag (browse, public app pages on a cache miss, the search fallback, charts,
// analytics, the recommendation build's reads) go to a read replica when one is configured
// (DATABASE_REPLICA_URL). When the replica cannot be reached they go to the primary, and the other way
// round: with the primary lost, these reads go on from the replica while writes answer 503. Anything that
// must read its own writes uses the primary Db, never this one.
import type { Db } from './index.ts';
import { UnavailableError } from '../unavailable.ts';

/** After a failure, how long one side is skipped before it is tried first again. */
const SKIP_MS = 2_000;

/**
 * Reads from `replica` (more exactly: the preferred side), or from `primary` while it cannot be reached. Also
 * used the other way round, primary first, for reads that want fresh data but prefer stale data to a 503.
 * close() closes the preferred side only.
 */
export function createReadDb(replica: Db, primary: Db): Db {
  const downUntil = new Map<Db, number>();
  const order = (): [Db, Db] => ((downUntil.get(replica) ?? 0) > Date.now() ? [primary, replica] : [replica, primary]);
  async function read<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    const [first, second] = order();
    try {
      return await fn(first);
    } catch (err) {
      if (!(err instanceof UnavailableError)) throw err;
      downUntil.set(first, Date.now() + SKIP_MS);
      return fn(second);
    }
  }
  return {
    kind: replica.kind,
    query: <R>(sql: string, params?: unknown[]) => read((db) => db.query<R>(sql, params)),
    // Read-only transactions (a consistent snapshot over several statements) also go to whichever answers.
    tx: (fn) => read((db) => db.tx(fn)),
    copyRows: () => Promise.reject(new Error('the read Db does not write')),
    ping: () => read((db) => db.ping()),
    close: () => replica.close(),
  };
}
