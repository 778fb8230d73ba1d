// Engagement: what apps' SDKs report about their sessions, and what the charts read of it.
//
// - SDK keys: a developer makes up to MAX_ACTIVE_SDK_KEYS ingestion keys per app ("osk_" + 32 random bytes,
//   base64url). The secret is shown once; only its sha256 is stored. A revoked key stops working at once
//   (every batch looks its key up: one indexed read).
// - Ingestion: POST /api/v1/sdk/engagement, Authorization: Bearer osk_..., a batch of 1..500 sessions. Each
//   session is stored once per (app, session id): a replayed batch is harmless and answers how many were
//   duplicates. Session and install ids are stored as hashes with the app id (never as sent).
// - Attested installs: a session counts only with the install token of a real download of the key's app (the
//   library issues one with each download link and gives us its verifier). The install is the token's install
//   id, so one download is one install whatever the SDK calls it. Sessions without a valid token are refused
//   (reasons missing | invalid_token | wrong_app | expired), counted in orchard_engagement_sessions_refused_total
//   and listed by index in the answer; the rest of the batch is stored.
// - Aggregation (aggregateEngagement, hourly): app_daily_stats' active_users / sessions / session_seconds per
//   (app, country, day) recounted over the last 31 days by the first run of each UTC day and over yesterday and
//   today by the others; app_engagement (DAU, MAU, day-7 retention, average session minutes) per app; raw
//   sessions older than 40 days pruned. A few set-based statements, no per-app loop; rerunning changes nothing.
import { createHash, randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { FastifyPluginAsync } from 'fastify';
import type { Infra } from '../../config.ts';
import type { InstallTokenCheck, InstallTokenVerifier } from '../library/index.ts';
import type { Db, Queryable } from '../../platform/db/index.ts';
import type { Guards, Principal } from '../../platform/http/auth.ts';
import { conflict, invalid, notFound, type DomainError } from '../../platform/errors.ts';
import type { Limit } from '../../platform/http/rate-limit.ts';
import { engagementRoutes, type RefusalReason, type SessionInput } from './engagement-routes.ts';
import { recordActivations } from './ingest.ts';

export { REFUSAL_REASONS, type RefusalReason, type SessionInput } from './engagement-routes.ts';

export const SDK_KEY_PREFIX = 'osk_';
const SDK_KEY_SHAPE = /^osk_[A-Za-z0-9_-]{43}$/;
/** Active (not revoked) keys an app may have at once. */
export const MAX_ACTIVE_SDK_KEYS = 5;
/** A session may start at most this far ahead of the server's clock (devices' clocks drift). */
export const MAX_FUTURE_MS = 5 * 60_000;
/** Sessions older than this are refused: they could no longer change any figure worth having. */
export const MAX_AGE_DAYS = 30;
/** Raw sessions are kept this long (the aggregation reads 31 days back at most). */
export const SESSION_RETENTION_DAYS = 40;
/** Batches per key: a device SDK sends one every few minutes; a whole app's fleet is funnelled through its keys. */
export const DEFAULT_INGEST_LIMIT: Limit = { name: 'sdk-batches', max: 600, windowMs: 60_000 };

const DAY_MS = 86_400_000;

// ==================================================================== pure helpers

/** A new ingestion key: "osk_" + 32 random bytes in base64url (43 characters). */
export function newSdkKey(): string {
  return SDK_KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** Could this be a key we issued? (Anything else is refused without a database read.) */
export function isSdkKeyShape(key: string): boolean {
  return SDK_KEY_SHAPE.test(key);
}

/** What is stored of a key: its sha256, hex. */
export function sdkKeyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * An SDK identifier (session or install id) as stored: the first 16 bytes of sha256(appId ":" id), written as a
 * uuid. Per app, so the same device id under two apps gives unrelated values.
 */
export function hashedId(appId: string, id: string): string {
  const h = createHash('sha256').update(`${appId}:${id}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** YYYY-MM-DD of the UTC day of t. */
export function utcDay(t: Date): string {
  return t.toISOString().slice(0, 10);
}

/** The UTC day n days after day (n may be negative). */
export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
}

export interface BatchIssue {
  path: string;
  message: string;
}

/**
 * What JSON Schema cannot check: each session's start within [now - 30 days, now + 5 min], and its country a
 * storefront. Every issue names the session's index, e.g. body.sessions.3.startedAt.
 */
export function checkBatch(sessions: readonly SessionInput[], now: Date, isStorefront: (country: string) => boolean): BatchIssue[] {
  const issues: BatchIssue[] = [];
  const latest = now.getTime() + MAX_FUTURE_MS;
  const earliest = now.getTime() - MAX_AGE_DAYS * DAY_MS;
  sessions.forEach((s, i) => {
    const at = `body.sessions.${i}`;
    const t = Date.parse(s.startedAt);
    if (!Number.isFinite(t)) {
      issues.push({ path: `${at}.startedAt`, message: `${at}.startedAt is not a valid ISO 8601 date-time` });
    } else if (t > latest) {
      issues.push({ path: `${at}.startedAt`, message: `${at}.startedAt (${s.startedAt}) is more than ${MAX_FUTURE_MS / 60_000} minutes in the future` });
    } else if (t < earliest) {
      issues.push({ path: `${at}.startedAt`, message: `${at}.startedAt (${s.startedAt}) is older than ${MAX_AGE_DAYS} days: such sessions are not accepted` });
    }
    if (!isStorefront(s.country)) {
      issues.push({ path: `${at}.country`, message: `${at}.country '${s.country}' is not an Orchard storefront` });
    }
  });
  return issues;
}

/**
 * The install a session counts for, or why it counts for none: its token is missing, not one we issued
 * (invalid_token), another app's (wrong_app), too old (expired), or the session started before the download the
 * token came from (before_download; MAX_FUTURE_MS of clock drift allowed). `check` is the verifier's answer.
 */
export function attestedInstall(
  appId: string,
  check: InstallTokenCheck | null,
  startedAtMs = Number.POSITIVE_INFINITY,
): { installId: string } | { refused: RefusalReason } {
  if (!check) return { refused: 'missing' };
  if (!check.ok) return { refused: check.reason === 'expired' ? 'expired' : 'invalid_token' };
  if (check.appId.toLowerCase() !== appId.toLowerCase()) return { refused: 'wrong_app' };
  if (startedAtMs < check.issuedAt.getTime() - MAX_FUTURE_MS) return { refused: 'before_download' };
  return { installId: check.installId };
}

/** What one install may report a day: more sessions, or more time, is refused (over_daily_cap). */
export const MAX_INSTALL_DAY_SESSIONS = 50;
export const MAX_INSTALL_DAY_SECONDS = 8 * 3600;

export interface InstallDaySession {
  /** install key | day */
  installDay: string;
  seconds: number;
  /** Stored already (a replay): neither capped nor counted again. */
  duplicate: boolean;
}

/**
 * Which sessions of a batch fit their install's daily cap (in batch order), given what each install and day
 * already has stored (`stored`, by installDay): a session that would pass MAX_INSTALL_DAY_SESSIONS or
 * MAX_INSTALL_DAY_SECONDS is refused, the rest count on.
 */
export function withinDailyCap(sessions: readonly InstallDaySession[], stored: ReadonlyMap<string, { sessions: number; seconds: number }>): boolean[] {
  const used = new Map<string, { sessions: number; seconds: number }>();
  return sessions.map((s) => {
    if (s.duplicate) return true;
    const u = used.get(s.installDay) ?? { ...(stored.get(s.installDay) ?? { sessions: 0, seconds: 0 }) };
    used.set(s.installDay, u);
    if (u.sessions + 1 > MAX_INSTALL_DAY_SESSIONS || u.seconds + s.seconds > MAX_INSTALL_DAY_SECONDS) return false;
    u.sessions++;
    u.seconds += s.seconds;
    return true;
  });
}

/** One invalid-input error for all of a batch's issues (the first few in the message, all in details). */
export function batchError(issues: BatchIssue[]): DomainError {
  const shown = issues.slice(0, 5).map((i) => i.message);
  const more = issues.length > shown.length ? `; and ${issues.length - shown.length} more` : '';
  return invalid('VALIDATION_FAILED', shown.join('; ') + more, issues);
}

// ==================================================================== service

/** Who manages an app's keys: its developer (anyone else sees 404). */
export type KeyActor = Pick<Principal, 'developerId'>;

export interface SdkKeyView {
  id: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}
export interface NewSdkKey {
  id: string;
  /** The secret: shown here once, never again. */
  key: string;
  createdAt: string;
}
/** The app a valid key speaks for. */
export interface SdkKeyRef {
  keyId: string;
  appId: string;
}
export interface IngestResult {
  accepted: number;
  duplicates: number;
  refused: number;
  refusals: { index: number; reason: RefusalReason }[];
}

const STOREFRONTS_TTL_MS = 10 * 60_000;
const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

export class EngagementService {
  private storefronts: { countries: Set<string>; loadedAt: number } | null = null;

  constructor(
    private readonly deps: {
      db: Db;
      installTokens: InstallTokenVerifier;
      /** orchard_engagement_sessions_refused_total{reason} */
      refusedSessions?: { inc(labels: { reason: RefusalReason }, n?: number): void };
      maxActiveKeys?: number;
    },
  ) {}

  // ---- keys

  /** A new key for the caller's app: 404 for anyone else's app, 409 TOO_MANY_SDK_KEYS over the limit. */
  async createKey(actor: KeyActor, appId: string): Promise<NewSdkKey> {
    const max = this.deps.maxActiveKeys ?? MAX_ACTIVE_SDK_KEYS;
    const key = newSdkKey();
    const id = uuidv7();
    const row = await this.deps.db.tx(async (q) => {
      // the app's key lock serialises concurrent creations, so the count below holds
      await this.ownApp(q, actor, appId, true);
      const { rows } = await q.query<{ n: number }>('SELECT count(*)::int AS n FROM sdk_keys WHERE app_id = $1 AND revoked_at IS NULL', [appId]);
      if (rows[0].n >= max) {
        throw conflict(
          'TOO_MANY_SDK_KEYS',
          `An app has at most ${max} active SDK keys: revoke one first (DELETE /api/v1/developer/apps/${appId}/sdk-keys/<keyId>).`,
          {
            active: rows[0].n,
            max,
          },
        );
      }
      const inserted = await q.query<{ created_at: Date }>(
        `INSERT INTO sdk_keys (id, app_id, key_hash) VALUES ($1, $2, decode($3, 'hex')) RETURNING created_at`,
        [id, appId, sdkKeyHash(key)],
      );
      return inserted.rows[0];
    });
    return { id, key, createdAt: iso(row.created_at)! };
  }

  /** The app's keys without their secrets: active ones first, then the most recently made revoked ones (100 at most). */
  async listKeys(actor: KeyActor, appId: string): Promise<SdkKeyView[]> {
    await this.ownApp(this.deps.db, actor, appId, false);
    const { rows } = await this.deps.db.query<{ id: string; created_at: Date; last_used_at: Date | null; revoked_at: Date | null }>(
      `SELECT id, created_at, last_used_at, revoked_at FROM sdk_keys WHERE app_id = $1
        ORDER BY revoked_at IS NOT NULL, created_at DESC, id DESC LIMIT 100`,
      [appId],
    );
    return rows.map((r) => ({ id: r.id, createdAt: iso(r.created_at)!, lastUsedAt: iso(r.last_used_at), revokedAt: iso(r.revoked_at) }));
  }

  /** Revokes a key of the caller's app at once (idempotent: revoking a revoked key changes nothing). */
  async revokeKey(actor: KeyActor, appId: string, keyId: string): Promise<void> {
    await this.ownApp(this.deps.db, actor, appId, false);
    const { rows } = await this.deps.db.query(`UPDATE sdk_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND app_id = $2 RETURNING id`, [
      keyId,
      appId,
    ]);
    if (!rows.length) throw notFound('SDK key');
  }

  private async ownApp(q: Queryable, actor: KeyActor, appId: string, lock: boolean): Promise<void> {
    if (!actor.developerId) throw notFound('App');
    const { rows } = await q.query('SELECT 1 FROM catalog_apps WHERE id = $1 AND developer_id = $2', [appId, actor.developerId]);
    if (!rows.length) throw notFound('App');
    // serialises this app's key changes (the catalog's app row is not ours to lock)
    if (lock) await q.query(`SELECT pg_advisory_xact_lock(hashtext('sdk_keys:' || $1::text))`, [appId]);
  }

  // ---- ingestion

  /** The app a key speaks for; null when the key is unknown or revoked. */
  async authenticate(key: string): Promise<SdkKeyRef | null> {
    if (!isSdkKeyShape(key)) return null;
    const { rows } = await this.deps.db.query<{ id: string; app_id: string }>(
      `SELECT id, app_id FROM sdk_keys WHERE key_hash = decode($1, 'hex') AND revoked_at IS NULL`,
      [sdkKeyHash(key)],
    );
    return rows[0] ? { keyId: rows[0].id, appId: rows[0].app_id } : null;
  }

  /**
   * Stores a batch (already schema-checked) in one statement: new sessions, their installs' first days, and the
   * key's last use. 400 naming each bad session; nothing is stored from a bad batch. Sessions without a valid
   * install token of the key's app are refused (counted, listed by index); the others are stored.
   */
  async ingest(key: SdkKeyRef, sessions: readonly SessionInput[], now = new Date()): Promise<IngestResult> {
    const countries = await this.storefrontSet(sessions.map((s) => s.country));
    const issues = checkBatch(sessions, now, (c) => countries.has(c));
    if (issues.length) throw batchError(issues);

    // an SDK batches many sessions of few installs: each distinct token is verified once
    const verdicts = new Map<string, Promise<InstallTokenCheck>>();
    const checks = await Promise.all(
      sessions.map((s) => {
        if (s.installToken === undefined) return null;
        let verdict = verdicts.get(s.installToken);
        if (!verdict) verdicts.set(s.installToken, (verdict = this.deps.installTokens.verify(s.installToken, now.getTime())));
        return verdict;
      }),
    );

    const refusals: IngestResult['refusals'] = [];
    const attested: { index: number; sessionKey: string; installKey: string; country: string; startedAt: string; day: string; seconds: number }[] = [];
    sessions.forEach((s, index) => {
      const started = new Date(s.startedAt);
      const install = attestedInstall(key.appId, checks[index], started.getTime());
      if ('refused' in install) {
        refusals.push({ index, reason: install.refused });
        return;
      }
      attested.push({
        index,
        sessionKey: hashedId(key.appId, s.sessionId),
        installKey: hashedId(key.appId, install.installId),
        country: s.country,
        startedAt: started.toISOString(),
        day: utcDay(started),
        seconds: s.durationSeconds,
      });
    });

    const result = await this.deps.db.tx(async (q) => {
      // the per-install daily cap: what each install and day has stored, replays aside
      const stored = new Map<string, { sessions: number; seconds: number }>();
      const known = new Set<string>();
      if (attested.length) {
        const { rows: dup } = await q.query<{ session_key: string }>(
          'SELECT session_key FROM engagement_sessions WHERE app_id = $1 AND session_key = ANY($2::uuid[])',
          [key.appId, attested.map((a) => a.sessionKey)],
        );
        for (const r of dup) known.add(r.session_key);
        const { rows: days } = await q.query<{ install_key: string; day: string; sessions: number; seconds: number }>(
          `SELECT install_key, to_char(day, 'YYYY-MM-DD') AS day, count(*)::int AS sessions, sum(seconds)::int AS seconds FROM engagement_sessions
            WHERE app_id = $1 AND install_key = ANY($2::uuid[]) AND day = ANY($3::date[]) GROUP BY install_key, day`,
          [key.appId, [...new Set(attested.map((a) => a.installKey))], [...new Set(attested.map((a) => a.day))]],
        );
        for (const r of days) stored.set(`${r.install_key}|${r.day}`, { sessions: r.sessions, seconds: r.seconds });
      }
      const fits = withinDailyCap(
        attested.map((a) => ({ installDay: `${a.installKey}|${a.day}`, seconds: a.seconds, duplicate: known.has(a.sessionKey) })),
        stored,
      );
      const admitted = attested.filter((a, i) => {
        if (!fits[i]) refusals.push({ index: a.index, reason: 'over_daily_cap' });
        return fits[i];
      });
      if (!admitted.length) return { accepted: 0, duplicates: 0 };
      const { rows } = await q.query<{ accepted: number; activations: { country: string; day: string; n: number }[] | null }>(
        `WITH input AS (
           SELECT * FROM unnest($4::uuid[], $5::uuid[], $6::text[], $7::timestamptz[], $8::int[])
                      AS x(session_key, install_key, country, started_at, seconds)
         ), ins AS (
           INSERT INTO engagement_sessions (app_id, session_key, install_key, country, day, started_at, seconds)
           SELECT $1::uuid, session_key, install_key, country, (started_at AT TIME ZONE 'UTC')::date, started_at, seconds
             FROM input ORDER BY session_key
           ON CONFLICT (session_key, app_id) DO NOTHING
           RETURNING install_key, country, day
         ), firsts AS (
           SELECT install_key, min(day) AS day, min(country) AS country FROM ins GROUP BY install_key
         ), activated AS (
           -- an install's first attested session: an activation (of its day and country)
           INSERT INTO engagement_installs (app_id, install_key, first_day)
           SELECT $1::uuid, install_key, day FROM firsts ORDER BY install_key
           ON CONFLICT (app_id, install_key) DO NOTHING
           RETURNING install_key
         ), earlier AS (
           UPDATE engagement_installs i SET first_day = f.day FROM firsts f
            WHERE i.app_id = $1::uuid AND i.install_key = f.install_key AND f.day < i.first_day
         ), used AS (
           UPDATE sdk_keys SET last_used_at = $3::timestamptz
            WHERE id = $2::uuid AND (last_used_at IS NULL OR last_used_at < $3::timestamptz - interval '1 minute')
         )
         SELECT (SELECT count(*)::int FROM ins) AS accepted,
                (SELECT json_agg(json_build_object('country', country, 'day', to_char(day, 'YYYY-MM-DD'), 'n', n))
                   FROM (SELECT f.country, f.day, count(*)::int AS n FROM activated a JOIN firsts f ON f.install_key = a.install_key
                          GROUP BY f.country, f.day) x) AS activations`,
        [
          key.appId,
          key.keyId,
          now,
          admitted.map((a) => a.sessionKey),
          admitted.map((a) => a.installKey),
          admitted.map((a) => a.country),
          admitted.map((a) => a.startedAt),
          admitted.map((a) => a.seconds),
        ],
      );
      const activations = rows[0].activations ?? [];
      await recordActivations(
        q,
        key.appId,
        activations.map((a) => ({ country: a.country.trim(), day: a.day, n: a.n })),
      );
      return { accepted: rows[0].accepted, duplicates: admitted.length - rows[0].accepted };
    });
    refusals.sort((a, b) => a.index - b.index);
    const byReason = new Map<RefusalReason, number>();
    for (const r of refusals) byReason.set(r.reason, (byReason.get(r.reason) ?? 0) + 1);
    for (const [reason, n] of byReason) this.deps.refusedSessions?.inc({ reason }, n);
    return { ...result, refused: refusals.length, refusals };
  }

  /** The storefront countries, read once per 10 minutes (again sooner when a batch names one not in the list). */
  private async storefrontSet(wanted: string[]): Promise<Set<string>> {
    const fresh = this.storefronts && Date.now() - this.storefronts.loadedAt < STOREFRONTS_TTL_MS;
    const missing = this.storefronts && wanted.some((c) => !this.storefronts!.countries.has(c));
    if (!fresh || (missing && Date.now() - this.storefronts!.loadedAt > 60_000)) {
      const { rows } = await this.deps.db.query<{ country: string }>('SELECT country FROM catalog_storefronts');
      this.storefronts = { countries: new Set(rows.map((r) => r.country.trim())), loadedAt: Date.now() };
    }
    return this.storefronts!.countries;
  }
}

// ==================================================================== aggregation

export interface AggregateResult {
  /** The last complete UTC day the per-app figures are for. */
  day: string;
  /** Whether app_daily_stats was recounted over the last 31 days (else yesterday and today only). */
  full: boolean;
  /** app_daily_stats rows inserted or changed. */
  dailyRows: number;
  /** app_engagement rows written. */
  apps: number;
  /** Raw sessions deleted (older than SESSION_RETENTION_DAYS). */
  pruned: number;
}

/** Days app_daily_stats is recounted over by a full pass (D - 30 .. today) and by the other runs (D - 1 .. today). */
export const FULL_RECOUNT_DAYS = 31;
const HOURLY_RECOUNT_DAYS = 2;

/**
 * Folds the raw sessions into app_daily_stats and app_engagement, then prunes old sessions. D is the last complete
 * UTC day (the day before now's):
 * - app_daily_stats, for every (app, country, day) with sessions since D - 30 (the first run of each UTC day, or
 *   `full`) or since D - 1 (the other runs: nearly every session arrives within a day; one older than that is
 *   counted by the next day's first run): active_users (distinct installs), sessions, session_seconds are SET to
 *   the recount (rows are created when missing; other columns untouched; rows whose figures did not change are
 *   not rewritten).
 * - app_engagement, for every app with sessions in [D - 29, D] or a retention cohort, and every SDK-fed app whose
 *   figures are not yet zero: dau (distinct installs on D), mau (distinct installs in [D - 29, D]), day7_retention
 *   (of installs first seen in [D - 13, D - 7], the share active exactly 7 days after their first day; 0 without
 *   a cohort), avg_session_minutes (seconds / sessions / 60 over [D - 6, D]; 0 without sessions), updated_at = now.
 *   Always from the raw sessions, so late sessions count at the next run. Rows of apps that never had an SDK
 *   install are left alone.
 * Idempotent; meant to run one at a time (the hourly chart run's lock).
 */
export async function aggregateEngagement(db: Queryable, now: Date = new Date(), opts: { full?: boolean } = {}): Promise<AggregateResult> {
  const today = utcDay(now);
  const d = addDays(today, -1);
  const last = await db.query<{ full_day: string }>('SELECT full_day::text AS full_day FROM engagement_aggregation');
  const full = opts.full ?? last.rows[0]?.full_day !== today;

  const daily = await db.query<{ n: number }>(
    `WITH recount AS (
       SELECT app_id, country, day, count(DISTINCT install_key)::int AS active_users, count(*)::int AS sessions,
              sum(seconds)::bigint AS session_seconds
         FROM engagement_sessions WHERE day >= $1::date
        GROUP BY app_id, country, day
     ), written AS (
       INSERT INTO app_daily_stats (app_id, country, day, active_users, sessions, session_seconds)
       SELECT app_id, country, day, active_users, sessions, session_seconds FROM recount ORDER BY app_id, country, day
       ON CONFLICT (app_id, country, day) DO UPDATE
          SET active_users = excluded.active_users, sessions = excluded.sessions, session_seconds = excluded.session_seconds
        WHERE (app_daily_stats.active_users, app_daily_stats.sessions, app_daily_stats.session_seconds)
              IS DISTINCT FROM (excluded.active_users, excluded.sessions, excluded.session_seconds)
       RETURNING 1
     )
     SELECT count(*)::int AS n FROM written`,
    [addDays(d, -((full ? FULL_RECOUNT_DAYS : HOURLY_RECOUNT_DAYS) - 1))],
  );

  const engagement = await db.query<{ n: number }>(
    `WITH activity AS (
       SELECT app_id,
              count(DISTINCT install_key) FILTER (WHERE day = $1::date) AS dau,
              count(DISTINCT install_key) AS mau,
              count(*) FILTER (WHERE day >= $1::date - 6) AS sessions,
              coalesce(sum(seconds) FILTER (WHERE day >= $1::date - 6), 0) AS seconds
         FROM engagement_sessions WHERE day BETWEEN $1::date - 29 AND $1::date
        GROUP BY app_id
     ), returned AS (
       SELECT DISTINCT app_id, install_key, day FROM engagement_sessions WHERE day BETWEEN $1::date - 6 AND $1::date
     ), cohort AS (
       SELECT i.app_id, count(*) AS size, count(r.app_id) AS retained
         FROM engagement_installs i
         LEFT JOIN returned r ON r.app_id = i.app_id AND r.install_key = i.install_key AND r.day = i.first_day + 7
        WHERE i.first_day BETWEEN $1::date - 13 AND $1::date - 7
        GROUP BY i.app_id
     ), targets AS (
       SELECT app_id FROM activity
       UNION SELECT app_id FROM cohort
       UNION SELECT e.app_id FROM app_engagement e
              WHERE (e.dau > 0 OR e.mau > 0 OR e.day7_retention > 0 OR e.avg_session_minutes > 0)
                AND EXISTS (SELECT 1 FROM engagement_installs i WHERE i.app_id = e.app_id)
     ), written AS (
       INSERT INTO app_engagement (app_id, dau, mau, day7_retention, avg_session_minutes, updated_at)
       SELECT t.app_id, coalesce(a.dau, 0), coalesce(a.mau, 0),
              CASE WHEN coalesce(c.size, 0) = 0 THEN 0 ELSE c.retained::double precision / c.size END,
              CASE WHEN coalesce(a.sessions, 0) = 0 THEN 0 ELSE a.seconds::double precision / a.sessions / 60 END,
              $2::timestamptz
         FROM targets t LEFT JOIN activity a ON a.app_id = t.app_id LEFT JOIN cohort c ON c.app_id = t.app_id
        ORDER BY t.app_id
       ON CONFLICT (app_id) DO UPDATE
          SET dau = excluded.dau, mau = excluded.mau, day7_retention = excluded.day7_retention,
              avg_session_minutes = excluded.avg_session_minutes, updated_at = excluded.updated_at
       RETURNING 1
     )
     SELECT count(*)::int AS n FROM written`,
    [d, now],
  );

  const pruned = await db.query<{ n: number }>(
    `WITH gone AS (DELETE FROM engagement_sessions WHERE day < $1::date RETURNING 1) SELECT count(*)::int AS n FROM gone`,
    [addDays(today, -SESSION_RETENTION_DAYS)],
  );
  if (full) {
    await db.query(
      `INSERT INTO engagement_aggregation (id, full_day, ran_at) VALUES (true, $1::date, $2::timestamptz)
       ON CONFLICT (id) DO UPDATE SET full_day = excluded.full_day, ran_at = excluded.ran_at`,
      [today, now],
    );
  }
  return { day: d, full, dailyRows: daily.rows[0].n, apps: engagement.rows[0].n, pruned: pruned.rows[0].n };
}

// ==================================================================== factory

export interface EngagementDeps extends Pick<Infra, 'db' | 'cache' | 'logger' | 'metrics'> {
  /** The library's install-token verifier: only sessions of installs a real download issued count. */
  installTokens: InstallTokenVerifier;
  config?: {
    /** Overrides of the per-key batch limit (default 600 a minute). */
    ingestLimit?: Partial<Pick<Limit, 'max' | 'windowMs'>>;
    /** Active keys per app (default 5). */
    maxActiveKeys?: number;
  };
}

/**
 * The engagement part of rankings: `routes` (mount under /api/v1 with { guards }) and `aggregate` (the hourly job
 * calls it; idempotent, safe to run again, but meant to run one at a time).
 */
export function createEngagement(deps: EngagementDeps) {
  const refusedSessions = deps.metrics.counter(
    'orchard_engagement_sessions_refused_total',
    'SDK sessions refused for want of a valid install token of the app, by reason (missing | invalid_token | wrong_app | expired)',
    ['reason'],
  );
  const service = new EngagementService({
    db: deps.db,
    installTokens: deps.installTokens,
    refusedSessions,
    maxActiveKeys: deps.config?.maxActiveKeys,
  });
  const limit: Limit = { ...DEFAULT_INGEST_LIMIT, ...deps.config?.ingestLimit };
  const routes: FastifyPluginAsync<{ guards: Guards }> = engagementRoutes(service, deps.cache, limit);
  async function aggregate(now: Date = new Date(), opts: { full?: boolean } = {}): Promise<AggregateResult> {
    const started = Date.now();
    const result = await aggregateEngagement(deps.db, now, opts);
    deps.logger.info({ ...result, ms: Date.now() - started }, 'engagement aggregated');
    return result;
  }
  return { service, routes, aggregate };
}
export type Engagement = ReturnType<typeof createEngagement>;
