// Signed download links: GET /api/v1/downloads/<token>. The token says which build to serve, to whom it was
// issued and until when, authenticated with HMAC-SHA256, so the blob route needs no session (a CDN can sit in
// front of it): the token itself is the permission. It stays under the router's 200-character path segment
// limit: a fixed 69-byte binary payload and a 32-byte MAC, each base64url, joined by a dot.
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { link, mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';

export interface DownloadGrant {
  versionId: string;
  sha256: string;
  userId: string;
}

export interface SignedLink {
  token: string;
  /** Whole seconds: the token carries the expiry in seconds. */
  expiresAt: Date;
}

export type TokenCheck = { ok: true; grant: DownloadGrant; expiresAt: Date } | { ok: false; reason: 'invalid' | 'expired' };

const FORMAT = 1;
const PAYLOAD_BYTES = 1 + 16 + 32 + 16 + 4; // format, version id, sha256, user id, expiry in seconds (uint32)
const TOKEN = /^([A-Za-z0-9_-]{92})\.([A-Za-z0-9_-]{43})$/; // base64url without padding of 69 and 32 bytes
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SHA256 = /^[0-9a-f]{64}$/;

const uuidBytes = (id: string) => Buffer.from(id.replace(/-/g, ''), 'hex');
const uuidText = (b: Buffer) => {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

export class DownloadLinks {
  constructor(
    private readonly key: () => Promise<Buffer>,
    readonly ttlMs: number,
  ) {}

  async sign(grant: DownloadGrant, now = Date.now()): Promise<SignedLink> {
    if (!UUID.test(grant.versionId) || !UUID.test(grant.userId) || !SHA256.test(grant.sha256)) throw new Error('malformed download grant');
    const expiresSeconds = Math.floor((now + this.ttlMs) / 1000);
    const payload = Buffer.alloc(PAYLOAD_BYTES);
    payload[0] = FORMAT;
    uuidBytes(grant.versionId).copy(payload, 1);
    Buffer.from(grant.sha256, 'hex').copy(payload, 17);
    uuidBytes(grant.userId).copy(payload, 49);
    payload.writeUInt32BE(expiresSeconds, 65);
    const mac = await this.mac(payload);
    return { token: `${payload.toString('base64url')}.${mac.toString('base64url')}`, expiresAt: new Date(expiresSeconds * 1000) };
  }

  /** The signature is checked before anything in the payload is believed, the expiry included. */
  async verify(token: string, now = Date.now()): Promise<TokenCheck> {
    const m = TOKEN.exec(token);
    if (!m) return { ok: false, reason: 'invalid' };
    const payload = Buffer.from(m[1], 'base64url');
    const mac = Buffer.from(m[2], 'base64url');
    // one spelling per token: a last character with stray low bits decodes to the same bytes, and is refused
    if (mac.toString('base64url') !== m[2] || payload[0] !== FORMAT) return { ok: false, reason: 'invalid' };
    if (!timingSafeEqual(mac, await this.mac(payload))) return { ok: false, reason: 'invalid' };
    const expiresAt = new Date(payload.readUInt32BE(65) * 1000);
    if (now >= expiresAt.getTime()) return { ok: false, reason: 'expired' };
    return {
      ok: true,
      grant: {
        versionId: uuidText(payload.subarray(1, 17)),
        sha256: payload.subarray(17, 49).toString('hex'),
        userId: uuidText(payload.subarray(49, 65)),
      },
      expiresAt,
    };
  }

  private async mac(payload: Buffer): Promise<Buffer> {
    return createHmac('sha256', await this.key())
      .update(payload)
      .digest();
  }
}

export const MIN_SECRET_LENGTH = 32;

/**
 * The signing key: the configured secret or, when there is none, the one in `file`, created on first use.
 * Several processes sharing the data dir agree on it; processes on other hosts need DOWNLOAD_URL_SECRET.
 * Loaded once; a failed load is retried on the next use.
 */
export function signingKey(secret: string | undefined, file: string): () => Promise<Buffer> {
  let key: Promise<Buffer> | undefined;
  return () => {
    key ??= (secret !== undefined ? Promise.resolve(secret) : loadOrCreateKeyFile(file)).then(
      (text) => Buffer.from(text, 'utf8'),
      (err) => {
        key = undefined;
        throw err;
      },
    );
    return key;
  };
}

/**
 * Reads the key file, or creates it with 32 random bytes (hex) readable by this user only. The new key is
 * written and synced under a temporary name, then hard-linked into place: link() fails when the file already
 * exists, so of several concurrent first starts exactly one key wins and every process reads that one.
 */
export async function loadOrCreateKeyFile(file: string): Promise<string> {
  const existing = await readKeyFile(file);
  if (existing !== null) return existing;
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${randomUUID()}.tmp`;
  try {
    const handle = await open(tmp, 'wx', 0o600);
    try {
      await handle.writeFile(`${randomBytes(32).toString('hex')}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await link(tmp, file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  } finally {
    await rm(tmp, { force: true });
  }
  const key = await readKeyFile(file);
  if (key === null) throw new Error(`download URL key ${file} vanished while it was being created`);
  return key;
}

async function readKeyFile(file: string): Promise<string | null> {
  let text: string;
  try {
    text = (await readFile(file, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  if (text.length < MIN_SECRET_LENGTH) {
    throw new Error(`download URL key ${file} is shorter than ${MIN_SECRET_LENGTH} characters: delete it to have a new one made`);
  }
  return text;
}
