import { createHash, randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { Db, Queryable } from '../../platform/db/index.ts';
import type { Cache } from '../../platform/cache/index.ts';
import { DomainError, type ErrorKind } from '../../platform/errors.ts';
import type { Bus } from '../../platform/bus/index.ts';
import { identityEvents } from './events.ts';
import type { Principal, Role } from '../../platform/http/auth.ts';
import type { Metrics } from '../../platform/observability/metrics.ts';
import { hashPassword, verifyAgainstDummy, verifyPassword } from './passwords.ts';

/** The storefront countries (the catalog's `storefronts` table, which is created after identity's tables). */
export const STOREFRONT_COUNTRIES = [
  'US',
  'GB',
  'DE',
  'FR',
  'IT',
  'ES',
  'NL',
  'SE',
  'CH',
  'CA',
  'AU',
  'JP',
  'KR',
  'CN',
  'IN',
  'BR',
  'MX',
  'PL',
  'TR',
  'NO',
] as const;
export type Country = (typeof STOREFRONT_COUNTRIES)[number];

export type IdentityErrorCode = 'EMAIL_TAKEN' | 'INVALID_CREDENTIALS' | 'WRONG_PASSWORD' | 'ALREADY_DEVELOPER' | 'VALIDATION_FAILED';

const KIND: Record<IdentityErrorCode, ErrorKind> = {
  EMAIL_TAKEN: 'conflict',
  INVALID_CREDENTIALS: 'unauthenticated',
  WRONG_PASSWORD: 'forbidden', // not unauthenticated: clients treat a 401 as "session gone" and would sign the user out
  ALREADY_DEVELOPER: 'conflict',
  VALIDATION_FAILED: 'invalid',
};

/** An expected outcome of the identity service. */
export class IdentityError extends DomainError {
  override name = 'IdentityError';
  declare readonly code: IdentityErrorCode;
  constructor(code: IdentityErrorCode, message: string) {
    super(KIND[code], code, message);
  }
}

export interface Developer {
  id: string;
  companyName: string;
  website: string | null;
  verified: boolean;
  createdAt: string;
}

export interface User {
  id: string;
  email: string;
  displayName: string;
  role: Role;
  country: string;
  createdAt: string;
  developer: Developer | null;
}

export interface Session {
  token: string;
  expiresAt: string;
}

/** Where a session was opened from (kept on the session row). */
export interface ClientInfo {
  ip?: string;
  userAgent?: string;
}

export type NewUser = {
  email: string;
  displayName: string;
  country?: Country;
  /** Developers are made with enrollDeveloper, which also creates their developers row. */
  role?: 'user' | 'admin';
  /** Backdated accounts (seed); defaults to now. */
  createdAt?: Date;
} & ({ password: string } | { passwordHash: string });

const TOKEN_PREFIX = 'orc_';
const TOKEN_SHAPE = /^orc_[A-Za-z0-9_-]{43}$/;
// How long an authenticated session may be served from the cache. Revocation through this
// service is immediate; a change made directly in the database shows within this time.
const SESSION_CACHE_MS = 30_000;
const REVOKED = 'revoked';

const sha256hex = (s: string) => createHash('sha256').update(s).digest('hex');
const sessionKey = (tokenHashHex: string) => `session:${tokenHashHex}`;
const iso = (v: Date | string) => new Date(v).toISOString();

interface UserRow {
  id: string;
  email: string;
  display_name: string;
  role: Role;
  country: string;
  created_at: Date;
  developer_id: string | null;
  company_name: string | null;
  website: string | null;
  verified: boolean | null;
  developer_created_at: Date | null;
}

const USER_SELECT = `
  SELECT u.id, u.email, u.display_name, u.role, u.country, u.created_at,
         d.id AS developer_id, d.company_name, d.website, d.verified, d.created_at AS developer_created_at
    FROM users u LEFT JOIN developers d ON d.user_id = u.id`;

function toUser(r: UserRow): User {
  return {
    id: r.id,
    email: r.email,
    displayName: r.display_name,
    role: r.role,
    country: r.country,
    createdAt: iso(r.created_at),
    developer: r.developer_id
      ? {
          id: r.developer_id,
          companyName: r.company_name!,
          website: r.website,
          verified: r.verified!,
          createdAt: iso(r.developer_created_at!),
        }
      : null,
  };
}

function nonBlank(field: string, value: string): string {
  const v = value.trim();
  if (!v) throw new IdentityError('VALIDATION_FAILED', `${field} must not be blank`);
  return v;
}

export function createIdentityService(deps: { db: Db; cache: Cache; bus: Bus; metrics: Metrics; sessionTtlMs: number }) {
  const { db, cache, bus, sessionTtlMs } = deps;
  const registrations = deps.metrics.counter('identity_registrations_total', 'Accounts created');
  const logins = deps.metrics.counter('identity_logins_total', 'Sign-in attempts by outcome', ['outcome']);

  async function openSession(q: Queryable, userId: string, client: ClientInfo): Promise<Session> {
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const expiresAt = new Date(Date.now() + sessionTtlMs);
    await q.query(
      `INSERT INTO sessions (id, user_id, token_hash, expires_at, ip, user_agent)
       VALUES ($1, $2, decode($3, 'hex'), $4, $5, $6)`,
      [uuidv7(), userId, sha256hex(token), expiresAt, client.ip ?? null, client.userAgent?.slice(0, 512) ?? null],
    );
    return { token, expiresAt: expiresAt.toISOString() };
  }

  async function insertUser(q: Queryable, input: NewUser): Promise<User> {
    const passwordHash = 'passwordHash' in input ? input.passwordHash : await hashPassword(input.password);
    const createdAt = input.createdAt ?? new Date();
    const id = uuidv7({ msecs: createdAt.getTime() });
    const country = input.country ?? 'US';
    const { rows } = await q.query<{ created_at: Date }>(
      `INSERT INTO users (id, email, display_name, password_hash, role, country, created_at, password_changed_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
       ON CONFLICT (lower(email)) DO NOTHING
       RETURNING created_at`,
      [id, input.email, nonBlank('displayName', input.displayName), passwordHash, input.role ?? 'user', country, createdAt],
    );
    if (!rows[0]) throw new IdentityError('EMAIL_TAKEN', 'An account with this email already exists; sign in instead.');
    const user: User = {
      id,
      email: input.email,
      displayName: input.displayName.trim(),
      role: input.role ?? 'user',
      country,
      createdAt: iso(rows[0].created_at),
      developer: null,
    };
    await identityEvents.record(q, 'user.registered', { userId: id, country, createdAt: user.createdAt }, id);
    return user;
  }

  /** Tombstones rather than deletes: a lookup racing with the revocation cannot re-cache the session. */
  async function revokeCached(tokenHashes: string[]) {
    await Promise.all(tokenHashes.map((h) => cache.set(sessionKey(h), REVOKED, SESSION_CACHE_MS)));
  }

  /** After a role change: cached principals of the user's sessions are stale. */
  async function forgetCachedSessions(userId: string) {
    const { rows } = await db.query<{ hash: string }>(`SELECT encode(token_hash, 'hex') AS hash FROM sessions WHERE user_id = $1 AND revoked_at IS NULL`, [
      userId,
    ]);
    if (rows.length) await cache.del(...rows.map((r) => sessionKey(r.hash)));
  }

  const service = {
    async getUser(id: string): Promise<User | null> {
      const { rows } = await db.query<UserRow>(`${USER_SELECT} WHERE u.id = $1`, [id]);
      return rows[0] ? toUser(rows[0]) : null;
    },

    /** Creates an account without a session (seed, other modules); records user.registered. */
    async createUser(input: NewUser): Promise<User> {
      const user = await db.tx((q) => insertUser(q, input));
      bus.nudge();
      return user;
    },

    async register(input: { email: string; password: string; displayName: string; country?: Country }, client: ClientInfo) {
      const passwordHash = await hashPassword(input.password);
      const result = await db.tx(async (q) => {
        const user = await insertUser(q, { ...input, passwordHash });
        return { user, session: await openSession(q, user.id, client) };
      });
      bus.nudge();
      registrations.inc();
      return result;
    },

    async login(email: string, password: string, client: ClientInfo): Promise<{ user: User; session: Session }> {
      const { rows } = await db.query<{ id: string; password_hash: string }>('SELECT id, password_hash FROM users WHERE lower(email) = lower($1)', [email]);
      const ok = rows[0] ? await verifyPassword(rows[0].password_hash, password) : await verifyAgainstDummy(password);
      logins.inc({ outcome: ok ? 'success' : 'failure' });
      if (!ok) throw new IdentityError('INVALID_CREDENTIALS', 'The email or password is wrong.');
      const session = await openSession(db, rows[0].id, client);
      return { user: (await service.getUser(rows[0].id))!, session };
    },

    /** A session for an existing account without its password: for operator tools (the integrity simulator), never reachable over HTTP. */
    async openSessionFor(userId: string, client: ClientInfo = {}): Promise<Session> {
      return db.tx((q) => openSession(q, userId, client));
    },

    async logout(sessionId: string): Promise<void> {
      const { rows } = await db.query<{ hash: string }>(
        `UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING encode(token_hash, 'hex') AS hash`,
        [sessionId],
      );
      await revokeCached(rows.map((r) => r.hash));
    },

    /** Signs the user out everywhere and returns a fresh session for the caller. */
    async changePassword(userId: string, currentPassword: string, newPassword: string, client: ClientInfo): Promise<Session> {
      const { rows } = await db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [userId]);
      if (!rows[0] || !(await verifyPassword(rows[0].password_hash, currentPassword))) {
        throw new IdentityError('WRONG_PASSWORD', 'currentPassword is not the current password.');
      }
      const passwordHash = await hashPassword(newPassword);
      const { session, revoked } = await db.tx(async (q) => {
        await q.query('UPDATE users SET password_hash = $2, password_changed_at = now() WHERE id = $1', [userId, passwordHash]);
        const revoked = await q.query<{ hash: string }>(
          `UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL RETURNING encode(token_hash, 'hex') AS hash`,
          [userId],
        );
        return { session: await openSession(q, userId, client), revoked: revoked.rows.map((r) => r.hash) };
      });
      await revokeCached(revoked);
      return session;
    },

    /** Makes the user a developer (admins keep their role); records developer.enrolled. */
    async enrollDeveloper(userId: string, input: { companyName: string; website?: string }): Promise<User> {
      const developerId = uuidv7();
      const companyName = nonBlank('companyName', input.companyName);
      const enrolled = await db.tx(async (q) => {
        const { rows } = await q.query(
          `INSERT INTO developers (id, user_id, company_name, website) VALUES ($1, $2, $3, $4)
           ON CONFLICT (user_id) DO NOTHING RETURNING id`,
          [developerId, userId, companyName, input.website ?? null],
        );
        if (!rows.length) return false;
        await q.query(`UPDATE users SET role = 'developer' WHERE id = $1 AND role = 'user'`, [userId]);
        await identityEvents.record(q, 'developer.enrolled', { developerId, userId, companyName }, developerId);
        return true;
      });
      if (!enrolled) throw new IdentityError('ALREADY_DEVELOPER', 'This account is already enrolled as a developer.');
      bus.nudge();
      await forgetCachedSessions(userId);
      return (await service.getUser(userId))!;
    },

    /** The principal of a live session token, or null (unknown, malformed, expired or revoked). */
    async authenticate(token: string): Promise<Principal | null> {
      if (!TOKEN_SHAPE.test(token)) return null;
      const hash = sha256hex(token);
      const key = sessionKey(hash);
      const cached = await cache.get(key);
      if (cached === REVOKED) return null;
      if (cached) {
        const { principal, expiresAt } = JSON.parse(cached) as { principal: Principal; expiresAt: number };
        if (expiresAt > Date.now()) return principal;
      }
      const { rows } = await db.query<{ session_id: string; user_id: string; role: Role; developer_id: string | null; country: string; expires_at: Date }>(
        `SELECT s.id AS session_id, s.user_id, u.role, d.id AS developer_id, u.country, s.expires_at
           FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN developers d ON d.user_id = u.id
          WHERE s.token_hash = decode($1, 'hex') AND s.revoked_at IS NULL AND s.expires_at > now()`,
        [hash],
      );
      const r = rows[0];
      if (!r) return null;
      const principal: Principal = { userId: r.user_id, role: r.role, sessionId: r.session_id, developerId: r.developer_id, country: r.country };
      const expiresAt = new Date(r.expires_at).getTime();
      const ttl = Math.min(SESSION_CACHE_MS, expiresAt - Date.now());
      // setIfAbsent: never overwrite a revocation tombstone written meanwhile
      if (ttl > 0) await cache.setIfAbsent(key, JSON.stringify({ principal, expiresAt }), ttl);
      return principal;
    },
  };
  return service;
}

export type IdentityService = ReturnType<typeof createIdentityService>;
