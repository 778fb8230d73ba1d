import 'reflect-metadata';
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, KeyObject, webcrypto, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, unlink, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { mulberry32 } from '../../../platform/rng.ts';
import { Environment, SignedDataVerifier, VerificationException, VerificationStatus } from '@apple/app-store-server-library';
import {
  createReceiptSigner,
  loadOrCreateReceiptKeys,
  RECEIPT_KEY_FILES,
  toDecodedPayload,
  verifyReceipt,
  type ReceiptKeys,
  type ReceiptRejection,
  type TransactionRecord,
} from './index.ts';
import { APPLE_INTERMEDIATE_MARKER_OID, APPLE_LEAF_MARKER_OID, createCertificateChain, issueCertificate, type Issuer } from './certificates.ts';

const workDir = await mkdtemp(path.join(tmpdir(), 'orchard-receipts-'));
after(() => rm(workDir, { recursive: true, force: true }));

const keysDir = path.join(workDir, 'keys');
const keys = await loadOrCreateReceiptKeys({ dir: keysDir });
const signer = createReceiptSigner(keys);

// Apple's constructor insists on an appAppleId in Production, though it never compares it for transactions.
const APP_APPLE_ID = 1234567890;
const BUNDLE_ID = 'com.example.weather';
const appleVerifier = (environment: Environment, bundleId = BUNDLE_ID, root = keys.rootDer) =>
  new SignedDataVerifier([root], false, environment, bundleId, APP_APPLE_ID);

const signedAt = new Date();
const subscription: TransactionRecord = {
  id: '2000000000000042',
  originalTransactionId: '2000000000000007',
  bundleId: BUNDLE_ID,
  productId: 'com.example.weather.pro.monthly',
  kind: 'auto_renewable',
  subscriptionGroup: 'weather-pro',
  environment: 'Production',
  storefront: 'US',
  storefrontAlpha3: 'USA',
  appleStorefrontId: 143441,
  currency: 'USD',
  priceMilli: '4990',
  quantity: 1,
  purchaseDate: new Date('2025-03-01T10:00:00Z'),
  originalPurchaseDate: new Date('2025-01-01T10:00:00Z'),
  expiresDate: new Date('2025-04-01T10:00:00Z'),
  transactionReason: 'RENEWAL',
  appAccountToken: '7e3fb20b-4cdb-47cc-936d-99d65f608138',
  revocationDate: null,
  revocationReason: null,
};
const refundedNonConsumable: TransactionRecord = {
  ...subscription,
  id: '2000000000000099',
  originalTransactionId: '2000000000000099',
  productId: 'com.example.weather.radar',
  kind: 'non_consumable',
  subscriptionGroup: null,
  environment: 'Sandbox',
  storefront: 'DE',
  storefrontAlpha3: 'DEU',
  appleStorefrontId: 143443,
  currency: 'EUR',
  priceMilli: 1990n,
  purchaseDate: new Date('2025-02-02T08:00:00Z'),
  originalPurchaseDate: new Date('2025-02-02T08:00:00Z'),
  expiresDate: null,
  transactionReason: 'PURCHASE',
  revocationDate: new Date('2025-02-10T12:00:00Z'),
  revocationReason: 1,
};

function rejectedBy(status: VerificationStatus) {
  return (err: unknown) => err instanceof VerificationException && err.status === status;
}

function assertRejected(jws: unknown, reason: ReceiptRejection, root = keys.rootDer) {
  const result = verifyReceipt(jws, root);
  assert.equal(result.valid, false, `expected ${reason}, got a valid receipt`);
  if (!result.valid) {
    assert.equal(result.reason, reason, result.message);
    assert.ok(result.message.length > 0);
  }
}

const encodeJson = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const decodeJson = (segment: string) => JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));

function signerFor(signingKey: KeyObject, chainDer: ReceiptKeys['chainDer']) {
  return createReceiptSigner({ signingKey, chainDer });
}

test('toDecodedPayload follows Apple JWSTransactionDecodedPayload and omits what is absent', () => {
  assert.deepEqual(toDecodedPayload(subscription, signedAt), {
    transactionId: '2000000000000042',
    originalTransactionId: '2000000000000007',
    webOrderLineItemId: '2000000000000042',
    bundleId: BUNDLE_ID,
    productId: 'com.example.weather.pro.monthly',
    subscriptionGroupIdentifier: 'weather-pro',
    purchaseDate: Date.parse('2025-03-01T10:00:00Z'),
    originalPurchaseDate: Date.parse('2025-01-01T10:00:00Z'),
    expiresDate: Date.parse('2025-04-01T10:00:00Z'),
    quantity: 1,
    type: 'Auto-Renewable Subscription',
    appAccountToken: '7e3fb20b-4cdb-47cc-936d-99d65f608138',
    inAppOwnershipType: 'PURCHASED',
    signedDate: signedAt.getTime(),
    environment: 'Production',
    transactionReason: 'RENEWAL',
    storefront: 'USA',
    storefrontId: '143441',
    price: 4990,
    currency: 'USD',
  });

  const refunded = toDecodedPayload(refundedNonConsumable, signedAt);
  assert.equal(refunded.type, 'Non-Consumable');
  assert.equal(refunded.price, 1990);
  assert.equal(refunded.revocationReason, 1);
  assert.equal(refunded.revocationDate, Date.parse('2025-02-10T12:00:00Z'));
  for (const absent of ['webOrderLineItemId', 'subscriptionGroupIdentifier', 'expiresDate', 'isUpgraded', 'offerType', 'appTransactionId']) {
    assert.ok(!(absent in refunded), `${absent} should be omitted`);
  }
  assert.ok(!Object.values(refunded).includes(null));

  const app = toDecodedPayload(
    { ...refundedNonConsumable, kind: 'app', productId: 'anything', appAccountToken: null, revocationDate: null, revocationReason: null },
    signedAt,
  );
  assert.equal(app.type, 'Non-Consumable');
  assert.equal(app.productId, BUNDLE_ID);
  assert.ok(!('appAccountToken' in app) && !('revocationReason' in app) && !('revocationDate' in app));

  assert.equal(toDecodedPayload({ ...subscription, kind: 'consumable', quantity: 3 }, signedAt).type, 'Consumable');
  assert.equal(toDecodedPayload({ ...subscription, kind: 'non_renewing' }, signedAt).type, 'Non-Renewing Subscription');
  assert.equal(toDecodedPayload({ ...subscription, isUpgraded: true }, signedAt).isUpgraded, true);
  assert.throws(() => toDecodedPayload({ ...subscription, priceMilli: '4.99' }, signedAt), /priceMilli/);
  assert.throws(() => toDecodedPayload({ ...subscription, purchaseDate: new Date('nope') }, signedAt), /purchaseDate/);
});

test("Apple's SignedDataVerifier accepts our receipts and decodes exactly what we signed", async () => {
  const cases: TransactionRecord[] = [
    subscription,
    { ...subscription, environment: 'Sandbox' },
    { ...refundedNonConsumable, environment: 'Production' },
    refundedNonConsumable,
  ];
  for (const record of cases) {
    const payload = toDecodedPayload(record, signedAt);
    const jws = signer.sign(payload);
    const environment = record.environment === 'Production' ? Environment.PRODUCTION : Environment.SANDBOX;
    const decoded = await appleVerifier(environment).verifyAndDecodeTransaction(jws);
    assert.deepEqual(decoded, payload);

    const ours = verifyReceipt(jws, keys.rootDer);
    assert.ok(ours.valid, ours.valid ? '' : ours.message);
    assert.deepEqual(ours.payload, payload);
    assert.deepEqual(ours.header, {
      alg: 'ES256',
      x5c: keys.chainDer.map((der) => der.toString('base64')),
    });
  }
});

test('a tampered payload is rejected (one digit of the price changed)', async () => {
  const jws = signer.sign(toDecodedPayload(subscription, signedAt));
  const [header, payload, signature] = jws.split('.');
  const tamperedJson = Buffer.from(payload, 'base64url').toString('utf8').replace('"price":4990', '"price":4991');
  assert.notEqual(tamperedJson, Buffer.from(payload, 'base64url').toString('utf8'));
  const tampered = `${header}.${Buffer.from(tamperedJson).toString('base64url')}.${signature}`;

  await assert.rejects(appleVerifier(Environment.PRODUCTION).verifyAndDecodeTransaction(tampered), rejectedBy(VerificationStatus.VERIFICATION_FAILURE));
  assertRejected(tampered, 'SIGNATURE_INVALID');
});

test('a truncated receipt is rejected', async () => {
  const jws = signer.sign(toDecodedPayload(subscription, signedAt));
  for (const truncated of [jws.slice(0, -3), jws.slice(0, jws.lastIndexOf('.')), jws.slice(0, jws.length / 2)]) {
    await assert.rejects(appleVerifier(Environment.PRODUCTION).verifyAndDecodeTransaction(truncated), VerificationException);
  }
  assertRejected(jws.slice(0, -3), 'SIGNATURE_INVALID');
  assertRejected(jws.slice(0, jws.lastIndexOf('.')), 'MALFORMED');
  assertRejected(jws.slice(0, jws.indexOf('.') + 10), 'MALFORMED');
});

test('a receipt signed by another key under our chain is rejected', async () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const forged = signerFor(privateKey, keys.chainDer).sign(toDecodedPayload(subscription, signedAt));

  await assert.rejects(appleVerifier(Environment.PRODUCTION).verifyAndDecodeTransaction(forged), rejectedBy(VerificationStatus.VERIFICATION_FAILURE));
  assertRejected(forged, 'SIGNATURE_INVALID');
});

test('a receipt whose chain leads to a foreign root is rejected', async () => {
  const foreign = await createCertificateChain();
  const payload = toDecodedPayload(subscription, signedAt);
  const foreignChain: ReceiptKeys['chainDer'] = [foreign.leaf.der, foreign.intermediate.der, foreign.root.der];
  const selfRooted = signerFor(foreign.leaf.privateKey, foreignChain).sign(payload);
  // Same foreign leaf and intermediate, but our root named at the end of x5c.
  const claimingOurRoot = signerFor(foreign.leaf.privateKey, [foreign.leaf.der, foreign.intermediate.der, keys.rootDer]).sign(payload);

  for (const jws of [selfRooted, claimingOurRoot]) {
    await assert.rejects(appleVerifier(Environment.PRODUCTION).verifyAndDecodeTransaction(jws), rejectedBy(VerificationStatus.VERIFICATION_FAILURE));
    assertRejected(jws, 'UNTRUSTED_ROOT');
  }
  // A foreign leaf presented under our intermediate and root.
  const foreignLeaf = signerFor(foreign.leaf.privateKey, [foreign.leaf.der, keys.chainDer[1], keys.rootDer]).sign(payload);
  await assert.rejects(appleVerifier(Environment.PRODUCTION).verifyAndDecodeTransaction(foreignLeaf), rejectedBy(VerificationStatus.VERIFICATION_FAILURE));
  assertRejected(foreignLeaf, 'CHAIN_INVALID');
  // It is a well-formed receipt: trusted by its own root.
  assert.equal(verifyReceipt(selfRooted, foreign.root.der).valid, true);
});

test('Apple rejects the wrong environment or bundle id; ours verifies signature and chain only', async () => {
  const production = signer.sign(toDecodedPayload(subscription, signedAt));
  await assert.rejects(appleVerifier(Environment.SANDBOX).verifyAndDecodeTransaction(production), rejectedBy(VerificationStatus.INVALID_ENVIRONMENT));
  await assert.rejects(
    appleVerifier(Environment.PRODUCTION, 'com.example.other').verifyAndDecodeTransaction(production),
    rejectedBy(VerificationStatus.INVALID_APP_IDENTIFIER),
  );
  const ours = verifyReceipt(production, keys.rootDer);
  assert.ok(ours.valid);
  assert.equal(ours.payload.environment, 'Production');
  assert.equal(ours.payload.bundleId, BUNDLE_ID);
});

test('certificates are judged at signedDate: expired and not-yet-valid chains are rejected', async () => {
  const leafNotAfter = Date.parse(new X509Certificate(keys.chainDer[0]).validTo);
  const afterExpiry = signer.sign(toDecodedPayload(subscription, new Date(leafNotAfter + 24 * 3600 * 1000)));
  const beforeIssue = signer.sign(toDecodedPayload(subscription, new Date('2001-01-01T00:00:00Z')));

  for (const jws of [afterExpiry, beforeIssue]) {
    await assert.rejects(appleVerifier(Environment.PRODUCTION).verifyAndDecodeTransaction(jws), rejectedBy(VerificationStatus.INVALID_CERTIFICATE));
  }
  assertRejected(afterExpiry, 'CERTIFICATE_EXPIRED');
  assertRejected(beforeIssue, 'CERTIFICATE_NOT_YET_VALID');

  // Without signedDate, `now` decides.
  const undated = signer.sign({ bundleId: BUNDLE_ID });
  assert.equal(verifyReceipt(undated, keys.rootDer).valid, true);
  const later = verifyReceipt(undated, keys.rootDer, new Date(leafNotAfter + 24 * 3600 * 1000));
  assert.equal(later.valid ? 'valid' : later.reason, 'CERTIFICATE_EXPIRED');
  assertRejected(signer.sign({ signedDate: 'yesterday' }), 'MALFORMED');
});

test('a chain without Apple marker extensions is rejected, even under our root', async () => {
  const root: Issuer = {
    cert: new x509.X509Certificate(new Uint8Array(keys.rootDer)),
    key: await importPrivateKey(path.join(keysDir, RECEIPT_KEY_FILES.rootKey)),
  };
  const notBefore = new Date(Date.now() - 3600_000);
  const caExtensions = () => [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)];
  const leafExtensions = () => [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)];
  const marker = (oid: string) => new x509.Extension(oid, false, new Uint8Array([0x05, 0x00]));

  const unmarkedIntermediate = await issueCertificate(root, { name: 'CN=Unmarked CA', notBefore, years: 1, extensions: caExtensions() });
  const leafUnderUnmarked = await issueCertificate(unmarkedIntermediate, {
    name: 'CN=Leaf',
    notBefore,
    years: 1,
    extensions: [...leafExtensions(), marker(APPLE_LEAF_MARKER_OID)],
  });
  const markedIntermediate = await issueCertificate(root, {
    name: 'CN=Marked CA',
    notBefore,
    years: 1,
    extensions: [...caExtensions(), marker(APPLE_INTERMEDIATE_MARKER_OID)],
  });
  const unmarkedLeaf = await issueCertificate(markedIntermediate, { name: 'CN=Unmarked leaf', notBefore, years: 1, extensions: leafExtensions() });

  for (const [leaf, intermediate] of [
    [leafUnderUnmarked, unmarkedIntermediate],
    [unmarkedLeaf, markedIntermediate],
  ]) {
    const der = (issuer: Issuer) => Buffer.from(issuer.cert.rawData);
    const jws = signerFor(KeyObject.from(leaf.key), [der(leaf), der(intermediate), keys.rootDer]).sign(toDecodedPayload(subscription, signedAt));
    await assert.rejects(appleVerifier(Environment.PRODUCTION).verifyAndDecodeTransaction(jws), rejectedBy(VerificationStatus.VERIFICATION_FAILURE));
    assertRejected(jws, 'CHAIN_INVALID');
  }
});

test('our verifier names what is wrong with malformed receipts', () => {
  const jws = signer.sign(toDecodedPayload(subscription, signedAt));
  const [header, payload, signature] = jws.split('.');
  const withHeader = (h: unknown) => `${encodeJson(h)}.${payload}.${signature}`;
  const x5c = decodeJson(header).x5c as string[];

  for (const input of [undefined, null, 42, {}, [], '', 'abc', 'a.b', 'a.b.c.d', '..', '!!!.***.???', 'x'.repeat(70_000)]) {
    assertRejected(input, 'MALFORMED');
  }
  assertRejected(`${encodeJson('just a string')}.${payload}.${signature}`, 'MALFORMED');
  assertRejected(`${Buffer.from('{not json').toString('base64url')}.${payload}.${signature}`, 'MALFORMED');
  assertRejected(`${header}.${encodeJson([1, 2])}.${signature}`, 'MALFORMED');
  assertRejected(`${header}=.${payload}.${signature}`, 'MALFORMED');
  assertRejected(withHeader({ alg: 'none', x5c }), 'UNSUPPORTED_ALGORITHM');
  assertRejected(withHeader({ alg: 'HS256', x5c }), 'UNSUPPORTED_ALGORITHM');
  assertRejected(withHeader({ x5c }), 'UNSUPPORTED_ALGORITHM');
  assertRejected(withHeader({ alg: 'ES256', x5c, crit: ['exp'] }), 'MALFORMED');
  assertRejected(withHeader({ alg: 'ES256' }), 'CHAIN_INVALID');
  assertRejected(withHeader({ alg: 'ES256', x5c: x5c.slice(0, 2) }), 'CHAIN_INVALID');
  assertRejected(withHeader({ alg: 'ES256', x5c: [...x5c, x5c[2]] }), 'CHAIN_INVALID');
  assertRejected(withHeader({ alg: 'ES256', x5c: [x5c[0], 'bm90IGEgY2VydA==', x5c[2]] }), 'CHAIN_INVALID');
  assertRejected(withHeader({ alg: 'ES256', x5c: [x5c[0], x5c[1], 42] }), 'CHAIN_INVALID');
  assertRejected(withHeader({ alg: 'ES256', x5c: [x5c[1], x5c[0], x5c[2]] }), 'UNTRUSTED_ROOT'); // out of order
  // A well-formed header other than ours changes the signing input.
  assertRejected(withHeader({ alg: 'ES256', x5c, kid: 'extra' }), 'SIGNATURE_INVALID');
  assertRejected(`${header}.${payload}.${signature.slice(0, 40)}`, 'SIGNATURE_INVALID');
  assertRejected(`${header}.${payload}.`, 'SIGNATURE_INVALID');
  assertRejected(jws, 'UNTRUSTED_ROOT', Buffer.from('not our root'));
});

test('fuzz: hundreds of mutations of a valid receipt never throw and are never valid', () => {
  const jws = signer.sign(toDecodedPayload(subscription, signedAt));
  const random = mulberry32(20250301);
  const pick = (n: number) => Math.floor(random() * n);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ é\u0000';
  const mutations: Array<(s: string) => string> = [
    (s) => {
      const i = pick(s.length);
      return s.slice(0, i) + alphabet[pick(alphabet.length)] + s.slice(i + 1);
    },
    (s) => {
      const i = pick(s.length);
      return s.slice(0, i) + s.slice(i + 1);
    },
    (s) => {
      const i = pick(s.length);
      return s.slice(0, i) + alphabet[pick(alphabet.length)] + s.slice(i);
    },
    (s) => s.slice(0, pick(s.length)),
    (s) => s.slice(pick(s.length)),
    (s) => {
      const parts = s.split('.');
      const i = pick(parts.length);
      const j = pick(parts.length);
      [parts[i], parts[j]] = [parts[j], parts[i]];
      return parts.join('.');
    },
    (s) => {
      const parts = s.split('.');
      parts.splice(pick(parts.length), 0, parts[pick(parts.length)]);
      return parts.join('.');
    },
    (s) => {
      const parts = s.split('.');
      const i = pick(parts.length);
      const bytes = Buffer.from(parts[i], 'base64url');
      if (bytes.length) bytes[pick(bytes.length)] ^= 1 << pick(8);
      parts[i] = bytes.toString('base64url');
      return parts.join('.');
    },
    () => Buffer.from(Array.from({ length: pick(200) }, () => pick(256))).toString('latin1'),
  ];
  const reasons = new Set<string>();
  for (let round = 0; round < 600; round++) {
    let mutated = jws;
    for (let n = 1 + pick(3); n > 0; n--) mutated = mutations[pick(mutations.length)](mutated);
    if (mutated === jws) continue;
    const result = verifyReceipt(mutated, keys.rootDer);
    assert.equal(result.valid, false, `mutation accepted: ${mutated}`);
    if (!result.valid) reasons.add(result.reason);
  }
  assert.ok(reasons.size >= 3, `mutations should hit several checks, hit ${[...reasons].join(', ')}`);
});

test('keys are created once, reloaded identically, and kept private', async () => {
  const reloaded = await loadOrCreateReceiptKeys({ dir: keysDir });
  assertSameKeys(reloaded, keys);
  assert.equal(reloaded.rootPem, keys.rootPem);
  assert.match(keys.rootPem, /^-----BEGIN CERTIFICATE-----/);
  assert.deepEqual(new X509Certificate(keys.rootPem).raw, keys.rootDer);

  assert.deepEqual((await readdir(keysDir)).sort(), Object.values(RECEIPT_KEY_FILES).sort());
  for (const name of [RECEIPT_KEY_FILES.leafKey, RECEIPT_KEY_FILES.intermediateKey, RECEIPT_KEY_FILES.rootKey]) {
    assert.equal((await stat(path.join(keysDir, name))).mode & 0o777, 0o600, name);
  }
  assert.equal((await stat(keysDir)).mode & 0o077, 0, 'the key directory is private to its owner');

  const years = (der: Buffer) => {
    const cert = new X509Certificate(der);
    return (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / (365.25 * 24 * 3600 * 1000);
  };
  assert.deepEqual(
    keys.chainDer.map((der) => Math.round(years(der))),
    [5, 10, 20],
  );
  const notBefore = Date.parse(new X509Certificate(keys.chainDer[0]).validFrom);
  assert.ok(notBefore < Date.now() - 60_000 && notBefore > Date.now() - 24 * 3600 * 1000, 'notBefore slightly in the past');

  const fromPem = await loadOrCreateReceiptKeys({
    pem: {
      signingKey: await readFile(path.join(keysDir, RECEIPT_KEY_FILES.leafKey), 'utf8'),
      chain: [
        await readFile(path.join(keysDir, RECEIPT_KEY_FILES.leafCert), 'utf8'),
        await readFile(path.join(keysDir, RECEIPT_KEY_FILES.intermediateCert), 'utf8'),
        await readFile(path.join(keysDir, RECEIPT_KEY_FILES.rootCert), 'utf8'),
      ],
    },
  });
  assertSameKeys(fromPem, keys);
  const jws = createReceiptSigner(fromPem).sign(toDecodedPayload(subscription, signedAt));
  assert.equal(verifyReceipt(jws, keys.rootDer).valid, true);
});

test('concurrent first starts agree on one key set (same process and separate processes)', async () => {
  const inProcessDir = path.join(workDir, 'concurrent', 'in-process');
  const sets = await Promise.all(Array.from({ length: 4 }, () => loadOrCreateReceiptKeys({ dir: inProcessDir })));
  for (const set of sets) assertSameKeys(set, sets[0]);
  assert.deepEqual((await readdir(path.dirname(inProcessDir))).sort(), ['in-process'], 'no staging directories left behind');

  const crossProcessDir = path.join(workDir, 'concurrent', 'cross-process');
  const moduleUrl = new URL('./keys.ts', import.meta.url).href;
  const script = `const { loadOrCreateReceiptKeys } = await import(${JSON.stringify(moduleUrl)});
    const keys = await loadOrCreateReceiptKeys({ dir: ${JSON.stringify(crossProcessDir)} });
    process.stdout.write(keys.rootDer.toString('base64') + ' ' + keys.chainDer[0].toString('base64'));`;
  const outputs = await Promise.all([runNode(script), runNode(script)]);
  assert.equal(outputs[0], outputs[1]);
  const onDisk = await loadOrCreateReceiptKeys({ dir: crossProcessDir });
  assert.equal(outputs[0], `${onDisk.rootDer.toString('base64')} ${onDisk.chainDer[0].toString('base64')}`);
});

test('unusable key material is refused with a reason, never silently replaced', async () => {
  const incomplete = path.join(workDir, 'incomplete');
  await cp(keysDir, incomplete, { recursive: true });
  await unlink(path.join(incomplete, RECEIPT_KEY_FILES.leafCert));
  await assert.rejects(loadOrCreateReceiptKeys({ dir: incomplete }), /incomplete \(missing leaf\.pem\)/);

  const unrelated = path.join(workDir, 'unrelated');
  await mkdir(unrelated);
  await writeFile(path.join(unrelated, 'notes.txt'), 'hello');
  await assert.rejects(loadOrCreateReceiptKeys({ dir: unrelated }), /not empty but holds no receipt keys/);

  const empty = path.join(workDir, 'empty');
  await mkdir(empty);
  assert.ok((await loadOrCreateReceiptKeys({ dir: empty })).rootDer.length > 0);

  const chain: [string, string, string] = [
    await readFile(path.join(keysDir, RECEIPT_KEY_FILES.leafCert), 'utf8'),
    await readFile(path.join(keysDir, RECEIPT_KEY_FILES.intermediateCert), 'utf8'),
    await readFile(path.join(keysDir, RECEIPT_KEY_FILES.rootCert), 'utf8'),
  ];
  const otherKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  await assert.rejects(loadOrCreateReceiptKeys({ pem: { signingKey: otherKey, chain } }), /does not belong to the leaf/);
  await assert.rejects(loadOrCreateReceiptKeys({ pem: { signingKey: 'garbage', chain } }), /not a readable PEM private key/);
  const rsaKey = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  await assert.rejects(loadOrCreateReceiptKeys({ pem: { signingKey: rsaKey, chain } }), /EC P-256/);
  const signingKey = await readFile(path.join(keysDir, RECEIPT_KEY_FILES.leafKey), 'utf8');
  const foreign = await createCertificateChain();
  const foreignRootPem = new X509Certificate(foreign.root.der).toString();
  await assert.rejects(loadOrCreateReceiptKeys({ pem: { signingKey, chain: [chain[0], chain[1], foreignRootPem] } }), /not issued by the trusted root/);
  await assert.rejects(loadOrCreateReceiptKeys({ pem: { signingKey, chain: [chain[0], 'nope', chain[2]] } }), /intermediate certificate is not a readable/);
});

function assertSameKeys(actual: ReceiptKeys, expected: ReceiptKeys) {
  assert.deepEqual(actual.rootDer, expected.rootDer);
  assert.deepEqual(actual.chainDer, expected.chainDer);
  const pkcs8 = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'der' });
  assert.deepEqual(pkcs8(actual.signingKey), pkcs8(expected.signingKey));
}

async function importPrivateKey(file: string): Promise<CryptoKey> {
  const der = createPrivateKey(await readFile(file, 'utf8')).export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']);
}

function runNode(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${err}`))));
  });
}
