// Compact JWS (ES256, x5c chain in the header) as the App Store signs transactions, and our own verifier.
import { sign as signBytes, verify as verifyBytes, X509Certificate } from 'node:crypto';
import { findChainProblem, validityAt } from './certificates.ts';
import type { ReceiptKeys } from './keys.ts';

export interface ReceiptHeader {
  alg: 'ES256';
  /** Standard base64 DER: leaf, intermediate, root. */
  x5c: [string, string, string];
}

export interface ReceiptSigner {
  sign(payload: object): string;
}

export type ReceiptRejection =
  | 'MALFORMED' // not a compact JWS whose header and payload are base64url JSON objects
  | 'UNSUPPORTED_ALGORITHM' // alg is not ES256
  | 'CHAIN_INVALID' // x5c absent or unreadable, links broken, or Apple's marker extensions missing
  | 'UNTRUSTED_ROOT' // the chain does not lead to our root
  | 'SIGNATURE_INVALID' // not signed by the leaf's key (tampered, or signed by another key)
  | 'CERTIFICATE_EXPIRED' // a certificate of the chain had expired at signedDate
  | 'CERTIFICATE_NOT_YET_VALID'; // a certificate of the chain was not yet valid at signedDate

export type ReceiptVerification =
  | { valid: true; payload: Record<string, unknown>; header: ReceiptHeader }
  | { valid: false; reason: ReceiptRejection; message: string };

// A receipt is ~3 KB (three certificates and a payload); anything far larger is not one of ours.
const MAX_RECEIPT_LENGTH = 64 * 1024;
const ES256_SIGNATURE_BYTES = 64;

export function createReceiptSigner(keys: Pick<ReceiptKeys, 'signingKey' | 'chainDer'>): ReceiptSigner {
  const [leaf, intermediate, root] = keys.chainDer;
  const header: ReceiptHeader = {
    alg: 'ES256',
    x5c: [leaf.toString('base64'), intermediate.toString('base64'), root.toString('base64')],
  };
  const encodedHeader = Buffer.from(JSON.stringify(header)).toString('base64url');
  return {
    sign(payload: object): string {
      const signingInput = `${encodedHeader}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
      const signature = signBytes('sha256', Buffer.from(signingInput), { key: keys.signingKey, dsaEncoding: 'ieee-p1363' });
      return `${signingInput}.${signature.toString('base64url')}`;
    },
  };
}

/**
 * Verifies a receipt against our root (DER). Certificate validity is judged at the payload's signedDate,
 * as Apple does offline (`now` when the payload has none), so a receipt stays valid after its leaf expires.
 * Checks only the signature and chain: the caller compares bundleId and environment. Never throws.
 */
export function verifyReceipt(jws: unknown, rootDer: Buffer, now: Date = new Date()): ReceiptVerification {
  try {
    return verifyCompactJws(jws, rootDer, now);
  } catch {
    // Every expected failure is checked explicitly above; this only keeps the never-throws promise.
    return reject('MALFORMED', 'the receipt could not be read');
  }
}

function verifyCompactJws(jws: unknown, rootDer: Buffer, now: Date): ReceiptVerification {
  if (typeof jws !== 'string' || jws.length === 0) return reject('MALFORMED', 'a receipt is a non-empty string');
  if (jws.length > MAX_RECEIPT_LENGTH) return reject('MALFORMED', `a receipt is at most ${MAX_RECEIPT_LENGTH} characters`);
  const parts = jws.split('.');
  if (parts.length !== 3) return reject('MALFORMED', 'a compact JWS has three dot-separated parts');
  const [encodedHeader, encodedPayload, encodedSignature] = parts;

  const header = decodeJsonObject(encodedHeader);
  if (!header) return reject('MALFORMED', 'the header is not a base64url-encoded JSON object');
  const payload = decodeJsonObject(encodedPayload);
  if (!payload) return reject('MALFORMED', 'the payload is not a base64url-encoded JSON object');
  if (header.alg !== 'ES256') return reject('UNSUPPORTED_ALGORITHM', `alg must be ES256, got ${describe(header.alg)}`);
  if ('crit' in header) return reject('MALFORMED', 'critical header parameters are not supported');

  const x5c = header.x5c;
  if (!Array.isArray(x5c) || x5c.length !== 3 || !x5c.every((c) => typeof c === 'string')) {
    return reject('CHAIN_INVALID', 'the x5c header must list three base64 certificates: leaf, intermediate, root');
  }
  const chainDer = x5c.map(decodeBase64);
  const certificates = chainDer.map((der) => (der ? parseCertificate(der) : null));
  const unreadable = certificates.findIndex((c) => c === null);
  if (unreadable !== -1) return reject('CHAIN_INVALID', `x5c[${unreadable}] is not a base64 DER certificate`);
  const [leaf, intermediate, root] = certificates as [X509Certificate, X509Certificate, X509Certificate];

  if (!root.raw.equals(rootDer)) return reject('UNTRUSTED_ROOT', 'the chain does not end at the Orchard root certificate');
  const problem = findChainProblem(leaf, intermediate, root);
  if (problem) return reject(problem.code, problem.message);
  if (leaf.publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    return reject('CHAIN_INVALID', 'the leaf key is not an EC P-256 key, as ES256 requires');
  }

  const signature = decodeBase64url(encodedSignature);
  if (!signature || signature.length !== ES256_SIGNATURE_BYTES) {
    return reject('SIGNATURE_INVALID', 'the signature is not a 64-byte ES256 signature');
  }
  const signingInput = Buffer.from(`${encodedHeader}.${encodedPayload}`);
  if (!verifyBytes('sha256', signingInput, { key: leaf.publicKey, dsaEncoding: 'ieee-p1363' }, signature)) {
    return reject('SIGNATURE_INVALID', 'the signature does not match the header and payload');
  }

  const signedDate = payload.signedDate;
  if (signedDate !== undefined && !(typeof signedDate === 'number' && Number.isFinite(signedDate))) {
    return reject('MALFORMED', 'signedDate must be a number of milliseconds since the epoch');
  }
  const effectiveDate = signedDate === undefined ? now : new Date(signedDate);
  const labels = ['leaf', 'intermediate', 'root'];
  for (const [i, cert] of [leaf, intermediate, root].entries()) {
    const state = validityAt(cert, effectiveDate);
    if (state === 'expired') {
      return reject('CERTIFICATE_EXPIRED', `the ${labels[i]} certificate had expired (${cert.validTo}) when the receipt was signed`);
    }
    if (state === 'not_yet_valid') {
      return reject('CERTIFICATE_NOT_YET_VALID', `the ${labels[i]} certificate was not yet valid (${cert.validFrom}) when the receipt was signed`);
    }
  }
  return { valid: true, payload, header: { alg: 'ES256', x5c: x5c as [string, string, string] } };
}

function reject(reason: ReceiptRejection, message: string): ReceiptVerification {
  return { valid: false, reason, message };
}

// Node's decoders skip characters outside the alphabet; accepting only canonical text means that any change
// to the receipt's text changes what is verified.
function decodeBase64url(text: string): Buffer | null {
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : null;
}

function decodeBase64(text: string): Buffer | null {
  const bytes = Buffer.from(text, 'base64');
  return bytes.length > 0 && bytes.toString('base64') === text ? bytes : null;
}

function decodeJsonObject(segment: string): Record<string, unknown> | null {
  const bytes = decodeBase64url(segment);
  if (!bytes || bytes.length === 0) return null;
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return null;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

function parseCertificate(der: Buffer): X509Certificate | null {
  try {
    return new X509Certificate(der);
  } catch {
    return null;
  }
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 20)) : typeof value;
}
