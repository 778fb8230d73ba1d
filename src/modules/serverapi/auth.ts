// Authentication of App Store Server API requests: the JWT Apple's libraries build from an API key
// (header alg ES256, kid, typ JWT; claims iss, iat, exp, aud 'appstoreconnect-v1', bid), checked as Apple does.
import { decodeProtectedHeader, importSPKI, jwtVerify } from 'jose';
import type { Db } from '../../platform/db/index.ts';
import type { Environment } from '../purchases/index.ts';
import type { ApiKeys } from './keys.ts';
import { unauthenticated } from './errors.ts';

const AUDIENCE = 'appstoreconnect-v1';
// Checked before either reaches the database (a NUL character, for one, would fail the query).
const KEY_ID = /^[A-Z0-9]{10}$/;
const BUNDLE_ID = /^[\x21-\x7e]{1,255}$/;
const MAX_LIFETIME_S = 60 * 60;
const CLOCK_SKEW_S = 60;

/** Whom a request acts for: one app of the key's developer, in the environment whose base URL it called. */
export interface ApiClient {
  developerId: string;
  appId: string;
  bundleId: string;
  environment: Environment;
}

export function createApiAuth(db: Db, keys: ApiKeys) {
  return async function authenticate(authorization: string | undefined, environment: Environment): Promise<ApiClient> {
    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!token) throw unauthenticated('send Authorization: Bearer <JWT signed with your API key>.');

    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      throw unauthenticated('the token is not a JWT.');
    }
    const owner = kid && KEY_ID.test(kid) ? await keys.liveKey(kid) : null;
    if (!owner) throw unauthenticated('the key id (kid) is unknown or the key was revoked.');

    let claims: Record<string, unknown>;
    try {
      ({ payload: claims } = await jwtVerify(token, await importSPKI(owner.publicKey, 'ES256'), {
        algorithms: ['ES256'],
        typ: 'JWT',
        issuer: owner.issuerId,
        audience: AUDIENCE,
        requiredClaims: ['iat', 'exp', 'bid'],
        clockTolerance: CLOCK_SKEW_S,
      }));
    } catch (err) {
      throw unauthenticated(`the token was rejected (${(err as Error).message}).`);
    }
    const { iat, exp, bid } = claims as { iat: number; exp: number; bid: unknown };
    if (iat > Date.now() / 1000 + CLOCK_SKEW_S) throw unauthenticated('the token is issued in the future (iat).');
    if (exp - iat > MAX_LIFETIME_S) throw unauthenticated('the token lives longer than 60 minutes (exp - iat).');
    if (typeof bid !== 'string' || !BUNDLE_ID.test(bid)) throw unauthenticated("the bid claim must be your app's bundle id.");

    const { rows } = await db.query<{ id: string }>('SELECT id FROM catalog_apps WHERE bundle_id = $1 AND developer_id = $2', [bid, owner.developerId]);
    if (!rows[0]) throw unauthenticated("the bundle id (bid) is not an app of this key's developer.");
    return { developerId: owner.developerId, appId: rows[0].id, bundleId: bid, environment };
  };
}
export type ApiAuth = ReturnType<typeof createApiAuth>;
