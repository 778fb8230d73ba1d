// The receipt certificate chain: an Orchard root CA, an intermediate CA and a leaf signing certificate,
// shaped like Apple's so that Apple's own verifier (app-store-server-library's SignedDataVerifier) accepts
// receipts signed under it. Also the chain checks shared by key loading and receipt verification.
import 'reflect-metadata'; // @peculiar/x509 relies on it and must be imported after it
import { createPrivateKey, X509Certificate as NodeCertificate, KeyObject, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

/** Apple's marker extensions, checked for presence (not value) by Apple's verifier. */
export const APPLE_INTERMEDIATE_MARKER_OID = '1.2.840.113635.100.6.2.1';
export const APPLE_LEAF_MARKER_OID = '1.2.840.113635.100.6.11.1';
/** Apple tolerates this much clock skew on certificate validity; so do we. */
export const VALIDITY_SKEW_MS = 60_000;

const ASN1_NULL = new Uint8Array([0x05, 0x00]);
const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;
const BACKDATE_MS = 3600 * 1000; // tolerate verifiers whose clock is a little behind ours

export interface IssuedCertificate {
  der: Buffer;
  privateKey: KeyObject;
}

/** A CA (or leaf) certificate with its private key, in the form @peculiar/x509 issues with. */
export interface Issuer {
  cert: x509.X509Certificate;
  key: CryptoKey;
}

export async function createCertificateChain(now = new Date()): Promise<{
  root: IssuedCertificate;
  intermediate: IssuedCertificate;
  leaf: IssuedCertificate;
}> {
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  const root = await createRootCa(notBefore);
  const intermediate = await issueCertificate(root, {
    name: 'CN=Orchard Receipt Signing Intermediate CA, O=Orchard',
    notBefore,
    years: 10,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.Extension(APPLE_INTERMEDIATE_MARKER_OID, false, ASN1_NULL),
    ],
  });
  const leaf = await issueLeaf(intermediate, notBefore);
  return { root: exportIssuer(root), intermediate: exportIssuer(intermediate), leaf: exportIssuer(leaf) };
}

/** A receipt signing (leaf) certificate under `intermediate`: 5 years, never past the intermediate's own expiry. */
export async function issueLeaf(intermediate: Issuer, notBefore: Date): Promise<Issuer> {
  return issueCertificate(intermediate, {
    name: 'CN=Orchard Receipt Signing, O=Orchard',
    notBefore,
    years: 5,
    notAfterAtMost: intermediate.cert.notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.Extension(APPLE_LEAF_MARKER_OID, false, ASN1_NULL),
    ],
  });
}

/** A new leaf for an existing intermediate CA (PEM certificate and PKCS#8 key), from `now` less the usual backdating. */
export async function issueLeafFromPem(intermediateCertPem: string, intermediateKeyPem: string, now = new Date()): Promise<IssuedCertificate> {
  const cert = new x509.X509Certificate(intermediateCertPem);
  const der = createPrivateKey(intermediateKeyPem).export({ type: 'pkcs8', format: 'der' });
  const key = await webcrypto.subtle.importKey('pkcs8', der, EC_P256, false, ['sign']);
  return exportIssuer(await issueLeaf({ cert, key }, new Date(now.getTime() - BACKDATE_MS)));
}

/** A self-signed EC P-256 root CA valid for 20 years. Exported for tests that need a foreign root. */
export async function createRootCa(notBefore: Date, name = 'CN=Orchard Root CA, O=Orchard'): Promise<Issuer> {
  const keys = await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name,
    keys,
    notBefore,
    notAfter: yearsLater(notBefore, 20),
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, key: keys.privateKey };
}

export async function issueCertificate(
  issuer: Issuer,
  spec: { name: string; notBefore: Date; years: number; notAfterAtMost?: Date; extensions: x509.Extension[] },
): Promise<Issuer> {
  const notAfter = yearsLater(spec.notBefore, spec.years);
  const keys = await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    subject: spec.name,
    issuer: issuer.cert.subject,
    publicKey: keys.publicKey,
    signingKey: issuer.key,
    notBefore: spec.notBefore,
    notAfter: spec.notAfterAtMost && spec.notAfterAtMost < notAfter ? spec.notAfterAtMost : notAfter,
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      ...spec.extensions,
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.cert.publicKey),
    ],
  });
  return { cert, key: keys.privateKey };
}

function yearsLater(date: Date, years: number): Date {
  const later = new Date(date);
  later.setUTCFullYear(later.getUTCFullYear() + years);
  return later;
}

function exportIssuer(issuer: Issuer): IssuedCertificate {
  return { der: Buffer.from(issuer.cert.rawData), privateKey: KeyObject.from(issuer.key) };
}

export function hasExtension(der: Buffer, oid: string): boolean {
  return new x509.X509Certificate(new Uint8Array(der)).getExtension(oid) !== null;
}

export type ChainProblem = { code: 'UNTRUSTED_ROOT'; message: string } | { code: 'CHAIN_INVALID'; message: string };

/**
 * Checks that leaf <- intermediate <- root are linked by signatures and names, that the intermediate is a CA,
 * and that both carry Apple's marker extensions. Validity dates are checked separately (they depend on when
 * the receipt was signed). Returns null when the chain is sound.
 */
export function findChainProblem(leaf: NodeCertificate, intermediate: NodeCertificate, root: NodeCertificate): ChainProblem | null {
  if (!root.checkIssued(root) || !root.verify(root.publicKey)) {
    return { code: 'UNTRUSTED_ROOT', message: 'the root certificate is not self-signed' };
  }
  if (!intermediate.checkIssued(root) || !intermediate.verify(root.publicKey)) {
    return { code: 'UNTRUSTED_ROOT', message: 'the intermediate certificate was not issued by the trusted root' };
  }
  if (!leaf.checkIssued(intermediate) || !leaf.verify(intermediate.publicKey)) {
    return { code: 'CHAIN_INVALID', message: 'the leaf certificate was not issued by the intermediate' };
  }
  if (!intermediate.ca) return { code: 'CHAIN_INVALID', message: 'the intermediate certificate is not a CA' };
  if (leaf.ca) return { code: 'CHAIN_INVALID', message: 'the leaf certificate must not be a CA' };
  if (!hasExtension(intermediate.raw, APPLE_INTERMEDIATE_MARKER_OID)) {
    return { code: 'CHAIN_INVALID', message: `the intermediate certificate lacks the marker extension ${APPLE_INTERMEDIATE_MARKER_OID}` };
  }
  if (!hasExtension(leaf.raw, APPLE_LEAF_MARKER_OID)) {
    return { code: 'CHAIN_INVALID', message: `the leaf certificate lacks the marker extension ${APPLE_LEAF_MARKER_OID}` };
  }
  return null;
}

/** 'expired' / 'not_yet_valid' when `at` falls outside the certificate's validity (with Apple's skew). */
export function validityAt(cert: NodeCertificate, at: Date): 'valid' | 'expired' | 'not_yet_valid' {
  const t = at.getTime();
  if (new Date(cert.validFrom).getTime() > t + VALIDITY_SKEW_MS) return 'not_yet_valid';
  if (new Date(cert.validTo).getTime() < t - VALIDITY_SKEW_MS) return 'expired';
  return 'valid';
}
