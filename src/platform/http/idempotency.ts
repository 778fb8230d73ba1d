// Idempotency-Key with Stripe's semantics: the same key and body replay the stored response, the same key
// with another body is a 422, and a key whose first request is still running is a 409.
//
// The database row (user, scope, key) is the source of truth: its primary key lets exactly one request
// proceed. Finished responses are also kept in the cache, so replays (retries after a lost response)
// are answered without touching the database.
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Cache } from '../cache/index.ts';
import type { Db, Queryable } from '../db/index.ts';
import { DomainError, invalid, rejected } from '../errors.ts';

const KEY_SHAPE = /^[\x21-\x7e]{1,255}$/;
/** A response is replayable for this long (Stripe: 24 h). */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
/** An in-flight claim older than this belongs to a crashed worker and may be taken over. */
const CLAIM_MS = 60_000;

export interface StoredResponse {
  status: number;
  body: unknown;
}

/** What a money-moving request is identified by. */
export interface IdempotencyScope {
  userId: string;
  scope: string;
  key: string;
  /** sha256 of the request's canonical form: see requestHash. */
  hash: string;
}

export type Claim = { kind: 'claimed'; takenOver: boolean } | { kind: 'replay'; response: StoredResponse };

/** The Idempotency-Key header, required and well-formed. */
export function idempotencyKeyOf(req: FastifyRequest): string {
  const key = req.headers['idempotency-key'];
  if (key === undefined) {
    throw invalid('IDEMPOTENCY_KEY_REQUIRED', 'This request moves money: send an Idempotency-Key header (a unique value, e.g. a UUID, reused on retries).');
  }
  if (typeof key !== 'string' || !KEY_SHAPE.test(key)) {
    throw invalid('IDEMPOTENCY_KEY_INVALID', 'Idempotency-Key must be 1 to 255 printable ASCII characters without spaces.');
  }
  return key;
}

/** Canonical JSON (object keys sorted) of what the request asks for, hashed. */
export function requestHash(parts: unknown): string {
  return createHash('sha256').update(canonicalJson(parts)).digest('hex');
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

const cacheKey = (s: IdempotencyScope) => `idem:${s.scope}:${s.userId}:${createHash('sha256').update(s.key).digest('base64url')}`;
export const reused = () =>
  rejected('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used with a different request; use a new key for a new request.');
export const inFlight = () =>
  new DomainError('conflict', 'IDEMPOTENCY_KEY_IN_FLIGHT', 'A request with this Idempotency-Key is still being processed; retry shortly.', {
    retryAfterSeconds: 1,
  });

export function createIdempotency(deps: { db: Db; cache: Cache }) {
  const { db, cache } = deps;

  /** The fast path: a finished response kept in the cache (null when there is none); 422 for another request. */
  async function cached(s: IdempotencyScope): Promise<StoredResponse | null> {
    const hit = await cache.get(cacheKey(s)).catch(() => null);
    if (!hit) return null;
    const { hash, response } = JSON.parse(hit) as { hash: string; response: StoredResponse };
    if (hash !== s.hash) throw reused();
    return response;
  }

  /** Claims the key for this request, or answers with the stored response; throws 422 / 409 otherwise. */
  async function claim(s: IdempotencyScope): Promise<Claim> {
    const response = await cached(s);
    if (response) return { kind: 'replay', response };
    const inserted = await db.query(
      `INSERT INTO idempotency_keys (user_id, scope, key, request_hash, status, locked_until)
       VALUES ($1, $2, $3, $4, 'in_flight', now() + make_interval(secs => $5))
       ON CONFLICT (user_id, scope, key) DO NOTHING`,
      [s.userId, s.scope, s.key, s.hash, CLAIM_MS / 1000],
    );
    if (inserted.rowCount === 1) return { kind: 'claimed', takenOver: false };

    const { rows } = await db.query<{ request_hash: string; status: string; response_status: number | null; response: unknown; stale: boolean }>(
      `SELECT request_hash, status, response_status, response, locked_until < now() AS stale
         FROM idempotency_keys WHERE user_id = $1 AND scope = $2 AND key = $3`,
      [s.userId, s.scope, s.key],
    );
    const row = rows[0];
    if (!row) return claim(s); // released between our insert and read: try again
    if (row.request_hash !== s.hash) throw reused();
    if (row.status === 'done') {
      const response = { status: row.response_status!, body: row.response };
      await remember(s, response);
      return { kind: 'replay', response };
    }
    if (!row.stale) throw inFlight();
    const taken = await db.query(
      `UPDATE idempotency_keys SET locked_until = now() + make_interval(secs => $4)
        WHERE user_id = $1 AND scope = $2 AND key = $3 AND status = 'in_flight' AND locked_until < now()`,
      [s.userId, s.scope, s.key, CLAIM_MS / 1000],
    );
    if (taken.rowCount !== 1) throw inFlight();
    return { kind: 'claimed', takenOver: true };
  }

  /** Stores the final response; pass the transaction that commits the request's effect, so both land together. */
  async function finish(q: Queryable, s: IdempotencyScope, response: StoredResponse): Promise<void> {
    await q.query(
      `UPDATE idempotency_keys SET status = 'done', response_status = $4, response = $5
        WHERE user_id = $1 AND scope = $2 AND key = $3`,
      [s.userId, s.scope, s.key, response.status, JSON.stringify(response.body)],
    );
  }

  /** After the commit: replays of this key are served from the cache from now on. */
  async function remember(s: IdempotencyScope, response: StoredResponse): Promise<void> {
    await cache.set(cacheKey(s), JSON.stringify({ hash: s.hash, response }), IDEMPOTENCY_TTL_MS).catch(() => {});
  }

  /** Frees the key when the request had no effect (bad input, conflict, provider down): it may be used again. */
  async function release(s: IdempotencyScope): Promise<void> {
    await db.query(`DELETE FROM idempotency_keys WHERE user_id = $1 AND scope = $2 AND key = $3 AND status = 'in_flight'`, [s.userId, s.scope, s.key]);
  }

  /**
   * Runs a request under its key. The response `run` returns is stored for replays, unless `run` says it
   * already stored it (`stored: true`: written by the same statement that committed its effect). When
   * `run` throws, the key is released: nothing happened, the key may be used again.
   */
  async function execute(
    s: IdempotencyScope,
    run: (takenOver: boolean) => Promise<StoredResponse & { stored?: boolean }>,
  ): Promise<StoredResponse & { replayed: boolean }> {
    const claimed = await claim(s);
    if (claimed.kind === 'replay') return { ...claimed.response, replayed: true };
    let result: StoredResponse & { stored?: boolean };
    try {
      result = await run(claimed.takenOver);
    } catch (err) {
      await release(s).catch(() => {});
      throw err;
    }
    const response = { status: result.status, body: result.body };
    if (!result.stored) await finish(db, s, response);
    await remember(s, response);
    return { ...response, replayed: false };
  }

  return { cached, claim, finish, remember, release, execute };
}
export type Idempotency = ReturnType<typeof createIdempotency>;

/** Deletes records older than the replay window. */
export async function sweepIdempotencyKeys(db: Db): Promise<number> {
  const r = await db.query(`DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1)`, [IDEMPOTENCY_TTL_MS / 1000]);
  return r.rowCount;
}
