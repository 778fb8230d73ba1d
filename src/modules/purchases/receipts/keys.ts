// Receipt signing keys: loaded from a directory (created there on first start) or from PEM text (config).
import 'reflect-metadata'; // before anything that loads @peculiar/x509 (certificates.ts)
import { createPrivateKey, createPublicKey, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../../platform/observability/logger.ts';
import { createCertificateChain, findChainProblem, issueLeafFromPem, validityAt } from './certificates.ts';

export interface ReceiptKeys {
  /** The leaf's EC P-256 private key: signs receipts (ES256). */
  signingKey: KeyObject;
  /** leaf, intermediate, root: what goes into every receipt's x5c header. */
  chainDer: [Buffer, Buffer, Buffer];
  /** The root certificate clients pin (publish it; it is not secret). */
  rootPem: string;
  rootDer: Buffer;
}

export type ReceiptKeySource =
  | { dir: string }
  /** `origin` names where the PEM came from (the configuration variables), for error messages. */
  | { pem: { signingKey: string; chain: [leaf: string, intermediate: string, root: string] }; origin?: string };

export type ReceiptKeyLog = Pick<Logger, 'info' | 'warn'>;

export const RECEIPT_KEY_FILES = {
  leafKey: 'leaf.key.pem',
  leafCert: 'leaf.pem',
  intermediateKey: 'intermediate.key.pem',
  intermediateCert: 'intermediate.pem',
  rootKey: 'root.key.pem',
  rootCert: 'root.pem',
} as const;

// The CA private keys are written for rotating the leaf later but are not needed to sign, so they may be
// moved offline: loading requires only these.
const FILES_NEEDED_TO_SIGN = [RECEIPT_KEY_FILES.leafKey, RECEIPT_KEY_FILES.leafCert, RECEIPT_KEY_FILES.intermediateCert, RECEIPT_KEY_FILES.rootCert] as const;

const EXPIRY_WARNING_MS = 30 * 24 * 3600 * 1000;
const KEY_NOT_LEAFS = 'the signing key does not belong to the leaf certificate';

/**
 * With `{ dir }`: loads the key set from `dir`, or creates a new one there (a new Orchard root CA) when the
 * directory is absent or empty. `dir` should be dedicated to these files: the set is written into a staging
 * directory and renamed onto `dir` in one step, so processes starting together end up sharing one set.
 * With `{ pem }`: uses the given key and chain. Either way the set is checked (key matches leaf, chain
 * links, Apple's marker extensions, validity now) and a descriptive error is thrown if it is unusable.
 */
export async function loadOrCreateReceiptKeys(source: ReceiptKeySource, log?: ReceiptKeyLog): Promise<ReceiptKeys> {
  if ('pem' in source) return keysFromPem(source.pem.signingKey, source.pem.chain, source.origin ?? 'configured PEM', log);
  const dir = path.resolve(source.dir);
  const existing = await loadFromDir(dir, log);
  if (existing) return existing;
  await createInDir(dir, log);
  const created = await loadFromDir(dir, log);
  if (!created) {
    throw new Error(`receipt key directory ${dir} is not empty but holds no receipt keys: point the key directory at an absent or empty directory`);
  }
  return created;
}

async function loadFromDir(dir: string, log?: ReceiptKeyLog): Promise<ReceiptKeys | null> {
  let present = await filesPresent(dir);
  // Another process's set may have been renamed into place between two of these checks: look again before
  // calling a directory incomplete (an incomplete one stays so).
  for (let attempt = 0; attempt < 3 && present.some(Boolean) && !present.every(Boolean); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    present = await filesPresent(dir);
  }
  if (!present.some(Boolean)) return null;
  const missing = FILES_NEEDED_TO_SIGN.filter((_, i) => !present[i]);
  if (missing.length) {
    // Never fill the gap with new keys: a new root would invalidate every receipt clients already trust.
    throw new Error(`receipt key directory ${dir} is incomplete (missing ${missing.join(', ')}): restore the missing files`);
  }
  // `orchard keys rotate-leaf` renames the new leaf key and certificate into place one after the other: a pair read
  // between the two renames does not match, so it is read again before being refused.
  for (let attempt = 0; ; attempt++) {
    const [signingKey, leaf, intermediate, root] = await Promise.all(FILES_NEEDED_TO_SIGN.map((name) => readFile(path.join(dir, name), 'utf8')));
    try {
      return keysFromPem(signingKey, [leaf, intermediate, root], dir, log);
    } catch (err) {
      if (attempt >= 3 || !String((err as Error).message).includes(KEY_NOT_LEAFS)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/**
 * Issues a new leaf (signing key and certificate) under the intermediate CA of the set in `dir` and puts it in place of
 * the old one; needs the intermediate's private key there. The root does not change, so receipts signed before (they
 * carry their own leaf in x5c) keep verifying, and clients keep their pinned root. Processes load keys at start:
 * restart them to sign with the new leaf.
 */
export async function rotateReceiptLeaf(dirPath: string, log?: ReceiptKeyLog): Promise<{ dir: string; leafPem: string; validFrom: string; validTo: string }> {
  const dir = path.resolve(dirPath);
  const current = await loadFromDir(dir, log);
  if (!current) throw new Error(`receipt key directory ${dir} holds no receipt keys`);
  const file = (name: string) => path.join(dir, name);
  if (!(await isFile(file(RECEIPT_KEY_FILES.intermediateKey)))) {
    throw new Error(
      `${file(RECEIPT_KEY_FILES.intermediateKey)} is missing: rotate where the intermediate's private key is kept, then copy ${RECEIPT_KEY_FILES.leafKey} and ${RECEIPT_KEY_FILES.leafCert} here`,
    );
  }
  const [intermediatePem, intermediateKeyPem, rootPem] = await Promise.all(
    [RECEIPT_KEY_FILES.intermediateCert, RECEIPT_KEY_FILES.intermediateKey, RECEIPT_KEY_FILES.rootCert].map((name) => readFile(file(name), 'utf8')),
  );
  const leaf = await issueLeafFromPem(intermediatePem, intermediateKeyPem);
  const leafPem = new X509Certificate(leaf.der).toString();
  const keyPem = leaf.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  keysFromPem(keyPem, [leafPem, intermediatePem, rootPem], `new leaf for ${dir}`, log); // the same checks as loading
  const suffix = `.rotate-${process.pid}-${randomBytes(6).toString('hex')}`;
  await writeDurably(file(RECEIPT_KEY_FILES.leafKey) + suffix, keyPem, 0o600);
  await writeDurably(file(RECEIPT_KEY_FILES.leafCert) + suffix, leafPem, 0o644);
  await rename(file(RECEIPT_KEY_FILES.leafKey) + suffix, file(RECEIPT_KEY_FILES.leafKey));
  await rename(file(RECEIPT_KEY_FILES.leafCert) + suffix, file(RECEIPT_KEY_FILES.leafCert));
  await syncDirectory(dir);
  const cert = new X509Certificate(leaf.der);
  log?.info({ dir, validTo: cert.validTo }, 'issued a new receipt signing leaf under the same intermediate and root');
  return { dir, leafPem, validFrom: cert.validFrom, validTo: cert.validTo };
}

const filesPresent = (dir: string) => Promise.all(FILES_NEEDED_TO_SIGN.map((name) => isFile(path.join(dir, name))));

async function createInDir(dir: string, log?: ReceiptKeyLog): Promise<void> {
  const parent = path.dirname(dir);
  await mkdir(parent, { recursive: true });
  const staging = `${dir}.staging-${process.pid}-${randomBytes(6).toString('hex')}`;
  await mkdir(staging, { mode: 0o700 });
  try {
    const { root, intermediate, leaf } = await createCertificateChain();
    const certificatePem = (der: Buffer) => new X509Certificate(der).toString();
    const privateKeyPem = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }) as string;
    const files: Array<[name: string, content: string, mode: number]> = [
      [RECEIPT_KEY_FILES.rootCert, certificatePem(root.der), 0o644],
      [RECEIPT_KEY_FILES.rootKey, privateKeyPem(root.privateKey), 0o600],
      [RECEIPT_KEY_FILES.intermediateCert, certificatePem(intermediate.der), 0o644],
      [RECEIPT_KEY_FILES.intermediateKey, privateKeyPem(intermediate.privateKey), 0o600],
      [RECEIPT_KEY_FILES.leafCert, certificatePem(leaf.der), 0o644],
      [RECEIPT_KEY_FILES.leafKey, privateKeyPem(leaf.privateKey), 0o600],
    ];
    for (const [name, content, mode] of files) await writeDurably(path.join(staging, name), content, mode);
    try {
      // Atomic, and fails if `dir` already holds files: the first process to get here wins,
      // the others discard their set and load the winner's.
      await rename(staging, dir);
    } catch (err) {
      if (hasCode(err, 'ENOTEMPTY', 'EEXIST')) return;
      throw err;
    }
    await syncDirectory(parent);
    log?.info({ dir }, 'created receipt signing keys: a new Orchard root CA, intermediate and leaf');
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

function keysFromPem(signingKeyPem: string, chainPem: [leaf: string, intermediate: string, root: string], origin: string, log?: ReceiptKeyLog): ReceiptKeys {
  const fail = (what: string): never => {
    throw new Error(`receipt keys (${origin}): ${what}`);
  };
  let signingKey: KeyObject;
  try {
    signingKey = createPrivateKey(signingKeyPem);
  } catch {
    return fail('the signing key is not a readable PEM private key');
  }
  if (signingKey.asymmetricKeyType !== 'ec' || signingKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    fail('the signing key must be an EC P-256 key (ES256)');
  }
  const labels = ['leaf', 'intermediate', 'root'] as const;
  const [leaf, intermediate, root] = chainPem.map((pem, i) => {
    try {
      return new X509Certificate(pem);
    } catch {
      return fail(`the ${labels[i]} certificate is not a readable PEM certificate`);
    }
  });
  const spki = (key: KeyObject) => key.export({ type: 'spki', format: 'der' });
  if (!spki(createPublicKey(signingKey)).equals(spki(leaf.publicKey))) fail(KEY_NOT_LEAFS);
  const problem = findChainProblem(leaf, intermediate, root);
  if (problem) fail(problem.message);

  const now = new Date();
  [leaf, intermediate, root].forEach((cert, i) => {
    const state = validityAt(cert, now);
    if (state !== 'valid') {
      fail(`the ${labels[i]} certificate is ${state.replaceAll('_', ' ')} (valid from ${cert.validFrom} to ${cert.validTo})`);
    }
  });
  if (new Date(leaf.validTo).getTime() - now.getTime() < EXPIRY_WARNING_MS) {
    log?.warn({ origin, validTo: leaf.validTo }, 'the receipt signing certificate expires soon: issue a new leaf');
  }
  return {
    signingKey,
    chainDer: [leaf.raw, intermediate.raw, root.raw],
    rootPem: root.toString(),
    rootDer: root.raw,
  };
}

async function writeDurably(file: string, content: string, mode: number): Promise<void> {
  const handle = await open(file, 'wx', mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch (err) {
    if (hasCode(err, 'ENOENT', 'ENOTDIR')) return false;
    throw err;
  }
}

function hasCode(err: unknown, ...codes: string[]): boolean {
  return typeof err === 'object' && err !== null && codes.includes((err as { code?: string }).code ?? '');
}
