// Install tokens: proof that an install of an app came from a download this store issued. Each download link
// comes with one (POST /apps/:id/download answers `installToken`); the app's SDK sends it with every session,
// and engagement counts only sessions whose token verifies (rankings gets `verify`, never the issuer).
//
// Format: base64url(payload) "." base64url(mac), 50 + 1 + 43 = 94 characters. The payload is 37 bytes: format
// (1 byte, 0x49), app id (16), a random install id (16), issue time in seconds (uint32). The MAC is
// HMAC-SHA256 of the payload under a key derived from the download-URL signing key
// (HMAC(downloadKey, "orchard install token v1")), so a download link's MAC never verifies as an install token's.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface InstallGrant {
  appId: string;
  /** Random, one per download: the install the SDK reports as. */
  installId: string;
  issuedAt: Date;
}

export type InstallTokenCheck = ({ ok: true } & InstallGrant) | { ok: false; reason: 'invalid' | 'expired' };

/** What other modules get: checking a token, not making one. */
export interface InstallTokenVerifier {
  verify(token: string, now?: number): Promise<InstallTokenCheck>;
}

/** A token is good for this long after its download (an install used for more than a year needs a new download). */
export const INSTALL_TOKEN_MAX_AGE_DAYS = 400;
/** The length of every token we issue; the SDK schema bounds what it accepts by it. */
export const INSTALL_TOKEN_LENGTH = 94;

const FORMAT = 0x49;
const PAYLOAD_BYTES = 1 + 16 + 16 + 4;
const TOKEN = /^([A-Za-z0-9_-]{50})\.([A-Za-z0-9_-]{43})$/; // base64url without padding of 37 and 32 bytes
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DAY_MS = 86_400_000;
const KEY_LABEL = 'orchard install token v1';

const uuidText = (b: Buffer) => {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

export class InstallTokens implements InstallTokenVerifier {
  private derived: Promise<Buffer> | undefined;

  /** `downloadKey`: the library's download-URL signing key (links.ts signingKey). */
  constructor(
    private readonly downloadKey: () => Promise<Buffer>,
    readonly maxAgeMs = INSTALL_TOKEN_MAX_AGE_DAYS * DAY_MS,
  ) {}

  /** A new token for one download of the app: a fresh random install id. */
  async issue(appId: string, now = Date.now()): Promise<{ token: string; installId: string; issuedAt: Date }> {
    if (!UUID.test(appId)) throw new Error('malformed app id');
    const installId = uuidText(randomBytes(16));
    const issuedSeconds = Math.floor(now / 1000);
    const payload = Buffer.alloc(PAYLOAD_BYTES);
    payload[0] = FORMAT;
    Buffer.from(appId.replace(/-/g, ''), 'hex').copy(payload, 1);
    Buffer.from(installId.replace(/-/g, ''), 'hex').copy(payload, 17);
    payload.writeUInt32BE(issuedSeconds, 33);
    const mac = await this.mac(payload);
    return { token: `${payload.toString('base64url')}.${mac.toString('base64url')}`, installId, issuedAt: new Date(issuedSeconds * 1000) };
  }

  /** The MAC is checked before anything in the payload is believed; then the age (issued within maxAgeMs of now). */
  readonly verify = async (token: string, now = Date.now()): Promise<InstallTokenCheck> => {
    const m = typeof token === 'string' ? TOKEN.exec(token) : null;
    if (!m) return { ok: false, reason: 'invalid' };
    const payload = Buffer.from(m[1], 'base64url');
    const mac = Buffer.from(m[2], 'base64url');
    // one spelling per token: a last character with stray low bits decodes to the same bytes, and is refused
    if (payload.toString('base64url') !== m[1] || mac.toString('base64url') !== m[2] || payload[0] !== FORMAT) return { ok: false, reason: 'invalid' };
    if (!timingSafeEqual(mac, await this.mac(payload))) return { ok: false, reason: 'invalid' };
    const issuedAt = new Date(payload.readUInt32BE(33) * 1000);
    if (now - issuedAt.getTime() > this.maxAgeMs) return { ok: false, reason: 'expired' };
    return { ok: true, appId: uuidText(payload.subarray(1, 17)), installId: uuidText(payload.subarray(17, 33)), issuedAt };
  };

  private async mac(payload: Buffer): Promise<Buffer> {
    return createHmac('sha256', await this.key())
      .update(payload)
      .digest();
  }

  private key(): Promise<Buffer> {
    this.derived ??= this.downloadKey().then(
      (key) => createHmac('sha256', key).update(KEY_LABEL).digest(),
      (err) => {
        this.derived = undefined;
        throw err;
      },
    );
    return this.derived;
  }
}
