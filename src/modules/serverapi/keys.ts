// API keys for the App Store Server API, App Store Connect style: a P-256 key pair per key, the private half
// shown once at creation, a key id (the JWT's kid) and one issuer id per developer (the JWT's iss).
import { generateKeyPairSync, randomInt, randomUUID } from 'node:crypto';
import type { Db } from '../../platform/db/index.ts';
import { notFound } from '../../platform/errors.ts';

export interface ApiKey {
  keyId: string;
  issuerId: string;
  createdAt: string;
  revokedAt: string | null;
}

/** What a live key lets its JWTs act as. */
export interface KeyOwner {
  developerId: string;
  issuerId: string;
  publicKey: string;
}

const KEY_ID_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const newKeyId = () => Array.from({ length: 10 }, () => KEY_ID_ALPHABET[randomInt(KEY_ID_ALPHABET.length)]).join('');

export function createApiKeys(db: Db) {
  return {
    async create(developerId: string): Promise<ApiKey & { privateKey: string }> {
      const { privateKey, publicKey } = generateKeyPairSync('ec', {
        namedCurve: 'prime256v1',
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
        publicKeyEncoding: { type: 'spki', format: 'pem' },
      });
      const { rows } = await db.tx(async (q) => {
        await q.query('INSERT INTO api_issuers (developer_id, issuer_id) VALUES ($1, $2) ON CONFLICT (developer_id) DO NOTHING', [developerId, randomUUID()]);
        return q.query<{ key_id: string; issuer_id: string; created_at: Date }>(
          `INSERT INTO api_keys (key_id, developer_id, public_key) VALUES ($1, $2, $3)
           RETURNING key_id, (SELECT issuer_id FROM api_issuers WHERE developer_id = $2), created_at`,
          [newKeyId(), developerId, publicKey],
        );
      });
      return { ...toApiKey({ ...rows[0], revoked_at: null }), privateKey };
    },

    async list(developerId: string): Promise<ApiKey[]> {
      const { rows } = await db.query(
        `SELECT k.key_id, i.issuer_id, k.created_at, k.revoked_at FROM api_keys k JOIN api_issuers i USING (developer_id)
          WHERE k.developer_id = $1 ORDER BY k.created_at DESC, k.key_id`,
        [developerId],
      );
      return rows.map(toApiKey);
    },

    /** Revoking twice is harmless; another developer's key is not found. */
    async revoke(developerId: string, keyId: string): Promise<void> {
      const { rowCount } = await db.query('UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE key_id = $1 AND developer_id = $2', [
        keyId,
        developerId,
      ]);
      if (!rowCount) throw notFound('API key');
    },

    /** The owner of a key that is not revoked, or null. */
    async liveKey(keyId: string): Promise<KeyOwner | null> {
      const { rows } = await db.query<{ developer_id: string; issuer_id: string; public_key: string }>(
        `SELECT k.developer_id, i.issuer_id, k.public_key FROM api_keys k JOIN api_issuers i USING (developer_id)
          WHERE k.key_id = $1 AND k.revoked_at IS NULL`,
        [keyId],
      );
      const r = rows[0];
      return r ? { developerId: r.developer_id, issuerId: r.issuer_id, publicKey: r.public_key } : null;
    },
  };
}
export type ApiKeys = ReturnType<typeof createApiKeys>;

function toApiKey(r: Record<string, any>): ApiKey {
  return {
    keyId: r.key_id,
    issuerId: r.issuer_id,
    createdAt: new Date(r.created_at).toISOString(),
    revokedAt: r.revoked_at ? new Date(r.revoked_at).toISOString() : null,
  };
}
