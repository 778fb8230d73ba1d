// Receipt signing keys as configuration: RECEIPT_SIGNING_KEY with RECEIPT_CERT_CHAIN (or the three certificates),
// each also as *_FILE. Every process given the same set signs under the same root: two `serve` processes with
// their own data dirs each sell, and Apple's SignedDataVerifier accepts both receipts against the one root. A
// partial or inconsistent set stops the process at start with the variable to fix. `orchard keys rotate-leaf`
// issues a new leaf under the same root, and receipts signed before it keep verifying.
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Environment, SignedDataVerifier } from '@apple/app-store-server-library';
import { createInfra, loadConfig } from '../src/config.ts';
import { createModules, startEvents } from '../src/app.ts';
import {
  createReceiptSigner,
  loadOrCreateReceiptKeys,
  RECEIPT_KEY_FILES,
  toDecodedPayload,
  type TransactionRecord,
} from '../src/modules/purchases/receipts/index.ts';
import { createScratchDatabase, productionUrls } from './support/infra.ts';
import { createTestApp } from './support/app.ts';
import { ok, publishApp, type Send } from './support/catalog.ts';
import { httpSender, promoteToAdmin, runOrchard, spawnServe, type Served } from './support/serve.ts';

const work = await mkdtemp(path.join(os.tmpdir(), 'orchard-receipt-keys-'));
after(() => rm(work, { recursive: true, force: true }));

/** A key set made the way Orchard makes one in a data dir, as PEM text and as files. */
async function keySet(name: string) {
  const dir = path.join(work, name);
  const keys = await loadOrCreateReceiptKeys({ dir });
  const read = (f: string) => readFile(path.join(dir, f), 'utf8');
  return {
    dir,
    keys,
    files: {
      key: path.join(dir, RECEIPT_KEY_FILES.leafKey),
      leaf: path.join(dir, RECEIPT_KEY_FILES.leafCert),
      intermediate: path.join(dir, RECEIPT_KEY_FILES.intermediateCert),
      root: path.join(dir, RECEIPT_KEY_FILES.rootCert),
    },
    key: await read(RECEIPT_KEY_FILES.leafKey),
    leaf: await read(RECEIPT_KEY_FILES.leafCert),
    intermediate: await read(RECEIPT_KEY_FILES.intermediateCert),
    root: await read(RECEIPT_KEY_FILES.rootCert),
  };
}
const a = await keySet('a');
const b = await keySet('b');
const chainOf = (s: { leaf: string; intermediate: string; root: string }) => s.leaf + s.intermediate + s.root;

const APP_APPLE_ID = 1234567890; // Apple's verifier wants one in Production; transactions never compare it
const appleVerifier = (rootDer: Buffer, bundleId: string) => new SignedDataVerifier([rootDer], false, Environment.PRODUCTION, bundleId, APP_APPLE_ID);
const x5cLeaf = (jws: string) => Buffer.from(JSON.parse(Buffer.from(jws.split('.')[0], 'base64url').toString()).x5c[0], 'base64');

describe('receipt keys from the environment', () => {
  const config = (env: Record<string, string>) => loadConfig(env).receiptKeys;
  const fails = (env: Record<string, string>, message: RegExp) => assert.throws(() => loadConfig(env), message);

  test('absent: none configured (a set is made under the data dir, as before)', () => {
    assert.equal(config({}), undefined);
  });

  test('the key and the chain as PEM text, or each certificate from a file: the same set', () => {
    const fromText = config({ RECEIPT_SIGNING_KEY: a.key, RECEIPT_CERT_CHAIN: chainOf(a) })!;
    assert.equal(fromText.origin, 'RECEIPT_SIGNING_KEY, RECEIPT_CERT_CHAIN');
    const fromFiles = config({
      RECEIPT_SIGNING_KEY_FILE: a.files.key,
      RECEIPT_LEAF_CERT_FILE: a.files.leaf,
      RECEIPT_INTERMEDIATE_CERT_FILE: a.files.intermediate,
      RECEIPT_ROOT_CERT_FILE: a.files.root,
    })!;
    assert.equal(fromFiles.origin, 'RECEIPT_SIGNING_KEY_FILE, RECEIPT_LEAF_CERT_FILE, RECEIPT_INTERMEDIATE_CERT_FILE, RECEIPT_ROOT_CERT_FILE');
    for (const c of [fromText, fromFiles]) {
      assert.equal(c.signingKey.trim(), a.key.trim());
      assert.deepEqual(
        c.chain.map((pem) => new X509Certificate(pem).fingerprint256),
        [a.leaf, a.intermediate, a.root].map((pem) => new X509Certificate(pem).fingerprint256),
      );
    }
    // one-line values with escaped newlines (env files, container platforms)
    const escaped = config({ RECEIPT_SIGNING_KEY: a.key.replaceAll('\n', '\\n'), RECEIPT_CERT_CHAIN: chainOf(a).replaceAll('\n', '\\n') })!;
    assert.equal(new X509Certificate(escaped.chain[2]).fingerprint256, new X509Certificate(a.root).fingerprint256);
  });

  test('a partial set names what is missing', () => {
    fails({ RECEIPT_SIGNING_KEY: a.key }, /RECEIPT_LEAF_CERT, RECEIPT_INTERMEDIATE_CERT, RECEIPT_ROOT_CERT missing/);
    fails({ RECEIPT_SIGNING_KEY: a.key, RECEIPT_LEAF_CERT: a.leaf, RECEIPT_ROOT_CERT: a.root }, /RECEIPT_INTERMEDIATE_CERT missing/);
    fails({ RECEIPT_CERT_CHAIN: chainOf(a) }, /RECEIPT_SIGNING_KEY \(or RECEIPT_SIGNING_KEY_FILE\) is missing/);
    fails({ RECEIPT_SIGNING_KEY: a.key, RECEIPT_CERT_CHAIN: a.leaf + a.root }, /RECEIPT_CERT_CHAIN must hold three PEM certificates .* it holds 2/);
    fails({ RECEIPT_SIGNING_KEY: a.key, RECEIPT_CERT_CHAIN: chainOf(a), RECEIPT_ROOT_CERT: a.root }, /not both/);
    fails(
      { RECEIPT_SIGNING_KEY: a.key, RECEIPT_SIGNING_KEY_FILE: a.files.key, RECEIPT_CERT_CHAIN: chainOf(a) },
      /RECEIPT_SIGNING_KEY or RECEIPT_SIGNING_KEY_FILE, not both/,
    );
    fails(
      { RECEIPT_SIGNING_KEY_FILE: path.join(work, 'nowhere.pem'), RECEIPT_CERT_CHAIN: chainOf(a) },
      /RECEIPT_SIGNING_KEY_FILE names .*nowhere\.pem, which cannot be read \(ENOENT\)/,
    );
  });

  test('an inconsistent set names the variable to fix', () => {
    fails(
      { RECEIPT_SIGNING_KEY: b.key, RECEIPT_CERT_CHAIN: chainOf(a) },
      /RECEIPT_SIGNING_KEY is not the private key of the leaf certificate \(RECEIPT_CERT_CHAIN \(leaf\)\)/,
    );
    fails(
      { RECEIPT_SIGNING_KEY: b.key, RECEIPT_LEAF_CERT: b.leaf, RECEIPT_INTERMEDIATE_CERT: a.intermediate, RECEIPT_ROOT_CERT: a.root },
      /RECEIPT_LEAF_CERT was not issued by the intermediate \(RECEIPT_INTERMEDIATE_CERT\)/,
    );
    fails(
      { RECEIPT_SIGNING_KEY: a.key, RECEIPT_LEAF_CERT: a.leaf, RECEIPT_INTERMEDIATE_CERT: b.intermediate, RECEIPT_ROOT_CERT: a.root },
      /RECEIPT_INTERMEDIATE_CERT was not issued by the root \(RECEIPT_ROOT_CERT\)/,
    );
    fails(
      { RECEIPT_SIGNING_KEY: a.key, RECEIPT_LEAF_CERT: a.leaf, RECEIPT_INTERMEDIATE_CERT: a.intermediate, RECEIPT_ROOT_CERT: a.leaf },
      /RECEIPT_ROOT_CERT is not a self-signed root/,
    );
    fails({ RECEIPT_SIGNING_KEY: 'not a key', RECEIPT_CERT_CHAIN: chainOf(a) }, /RECEIPT_SIGNING_KEY is not a readable PEM private key/);
    const broken = chainOf(a).replace(/(-----BEGIN CERTIFICATE-----\n)(.)/, (_m, head, c) => head + (c === 'A' ? 'B' : 'A'));
    fails({ RECEIPT_SIGNING_KEY: a.key, RECEIPT_CERT_CHAIN: broken }, /RECEIPT_CERT_CHAIN \(leaf\)/);
  });

  test('serve refuses to start on an inconsistent set, naming the variable', async () => {
    const r = await runOrchard(['serve', '--no-demo'], {
      ORCHARD_DATA_DIR: path.join(work, 'refused'),
      RECEIPT_SIGNING_KEY: b.key,
      RECEIPT_CERT_CHAIN: chainOf(a),
    });
    assert.notEqual(r.code, 0);
    assert.match(r.output, /receipt keys: RECEIPT_SIGNING_KEY is not the private key of the leaf certificate/);
    assert.equal(existsSync(path.join(work, 'refused', 'receipts')), false);
  });

  test('a store given the set signs with it and creates none in its data dir', async () => {
    const t = await createTestApp('embedded', {
      config: { receiptKeys: loadConfig({ RECEIPT_SIGNING_KEY: a.key, RECEIPT_CERT_CHAIN: chainOf(a) }).receiptKeys },
    });
    try {
      const root = await t.app.inject({ method: 'GET', url: '/.well-known/orchard/receipt-root.cer' });
      assert.deepEqual(root.rawPayload, a.keys.rootDer);
      assert.equal(existsSync(path.join(t.infra.config.dataDir, 'receipts')), false);
    } finally {
      await t.close();
    }
  });
});

describe('orchard keys rotate-leaf', () => {
  const transaction: TransactionRecord = {
    id: '2000000000000123',
    originalTransactionId: '2000000000000123',
    bundleId: 'com.example.rotation',
    productId: 'com.example.rotation',
    kind: 'non_consumable',
    subscriptionGroup: null,
    environment: 'Production',
    storefront: 'US',
    storefrontAlpha3: 'USA',
    appleStorefrontId: 143441,
    currency: 'USD',
    priceMilli: '990',
    quantity: 1,
    purchaseDate: new Date(),
    originalPurchaseDate: new Date(),
    expiresDate: null,
    transactionReason: 'PURCHASE',
    appAccountToken: null,
    revocationDate: null,
    revocationReason: null,
  };

  test('a new leaf under the same intermediate and root: old and new receipts verify', async () => {
    const dir = path.join(work, 'rotated');
    await cp(a.dir, dir, { recursive: true });
    const before = await loadOrCreateReceiptKeys({ dir });
    const old = createReceiptSigner(before).sign(toDecodedPayload(transaction, new Date()));

    const r = await runOrchard(['keys', 'rotate-leaf', '--dir', dir], { ORCHARD_DATA_DIR: path.join(work, 'unused') });
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /new receipt signing leaf in .*same intermediate and root/);

    const afterRotation = await loadOrCreateReceiptKeys({ dir });
    assert.notDeepEqual(afterRotation.chainDer[0], before.chainDer[0], 'a new leaf');
    assert.deepEqual(afterRotation.chainDer.slice(1), before.chainDer.slice(1), 'same intermediate and root');
    const leaf = new X509Certificate(afterRotation.chainDer[0]);
    assert.ok(Date.parse(leaf.validTo) <= Date.parse(new X509Certificate(afterRotation.chainDer[1]).validTo), 'never past the intermediate');
    const fresh = createReceiptSigner(afterRotation).sign(toDecodedPayload(transaction, new Date()));
    for (const jws of [old, fresh]) {
      const decoded = await appleVerifier(before.rootDer, transaction.bundleId).verifyAndDecodeTransaction(jws);
      assert.equal(decoded.transactionId, transaction.id);
    }
    assert.notDeepEqual(x5cLeaf(old), x5cLeaf(fresh));
  });

  test('without the intermediate key it says where to rotate', async () => {
    const dir = path.join(work, 'signing-only');
    await cp(a.dir, dir, { recursive: true });
    await rm(path.join(dir, RECEIPT_KEY_FILES.intermediateKey));
    await rm(path.join(dir, RECEIPT_KEY_FILES.rootKey));
    const r = await runOrchard(['keys', 'rotate-leaf', '--dir', dir], { ORCHARD_DATA_DIR: path.join(work, 'unused') });
    assert.notEqual(r.code, 0);
    assert.match(r.output, /intermediate\.key\.pem is missing: rotate where the intermediate's private key is kept/);
  });
});

const skip =
  productionUrls.db && productionUrls.redis && productionUrls.amqp ? false : 'needs ORCHARD_TEST_DATABASE_URL, _REDIS_URL and _AMQP_URL (see .ci/run)';

describe('two serve processes configured with the same keys (PostgreSQL, Redis, RabbitMQ)', { skip }, () => {
  const cleanups: (() => Promise<void>)[] = [];
  let env: Record<string, string>;
  let scratchUrl: string;
  const served: Served[] = [];

  before(async () => {
    const scratch = await createScratchDatabase();
    scratchUrl = scratch.url;
    const namespace = `orchard-keys-${randomBytes(5).toString('hex')}`;
    env = { DATABASE_URL: scratch.url, REDIS_URL: productionUrls.redis!, AMQP_URL: productionUrls.amqp!, ORCHARD_NAMESPACE: namespace, DEMO_APPS: '0' };
    cleanups.push(async () => {
      // the bus topology these processes declared (the same modules declare the same queues)
      const config = loadConfig(env, { logLevel: 'silent', dataDir: path.join(work, 'cleanup') });
      const infra = await createInfra(config, { deleteBusTopologyOnStop: true });
      await startEvents(infra, createModules(config, infra), { relay: false, consume: false });
      await infra.close();
      await scratch.drop();
    });
  });
  after(async () => {
    for (const s of served) await s.stop().catch(() => {});
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });

  test('each sells; both receipts verify against the one root with Apple’s verifier', async () => {
    const dataDirs = [path.join(work, 'serve-1'), path.join(work, 'serve-2')];
    // the first process: the key and the chain as PEM text; the second: each part from a file
    served.push(await spawnServe({ ...env, ORCHARD_DATA_DIR: dataDirs[0], RECEIPT_SIGNING_KEY: a.key, RECEIPT_CERT_CHAIN: chainOf(a) }));
    served.push(
      await spawnServe({
        ...env,
        ORCHARD_DATA_DIR: dataDirs[1],
        RECEIPT_SIGNING_KEY_FILE: a.files.key,
        RECEIPT_LEAF_CERT_FILE: a.files.leaf,
        RECEIPT_INTERMEDIATE_CERT_FILE: a.files.intermediate,
        RECEIPT_ROOT_CERT_FILE: a.files.root,
      }),
    );
    const sends: Send[] = served.map((s) => httpSender(s.base));
    const register = async (send: Send) => {
      const res = await send('POST', '/auth/register', {
        body: { email: `u-${randomBytes(6).toString('hex')}@example.test`, password: 'correct horse battery', displayName: 'Buyer' },
      });
      const body = ok(res, 201);
      return { token: body.session.token as string, id: body.user.id as string };
    };
    const dev = await register(sends[0]);
    ok(await sends[0]('POST', '/me/developer', { token: dev.token, body: { companyName: 'Keys Studio' } }), 201);
    const admin = await register(sends[0]);
    await promoteToAdmin(scratchUrl, admin.id);
    const app = await publishApp(sends[0], dev.token, admin.token, { name: 'Shared Root', isFree: false });

    const receipts: string[] = [];
    for (const send of sends) {
      const buyer = await register(send);
      const res = await send('POST', '/purchases', {
        token: buyer.token,
        headers: { 'idempotency-key': randomUUID() },
        body: { appId: app.id, price: { amountMilli: 990, currency: 'USD' } },
      });
      receipts.push(ok(res, 201).signedTransaction);
    }

    for (const send of sends) {
      const root = await send('GET', '/.well-known/orchard/receipt-root.cer');
      assert.equal(root.statusCode, 200);
      assert.deepEqual(root.rawPayload, a.keys.rootDer, 'every process publishes the configured root');
    }
    const verifier = appleVerifier(a.keys.rootDer, app.bundleId);
    const ids = new Set<string>();
    for (const jws of receipts) {
      const decoded = await verifier.verifyAndDecodeTransaction(jws);
      assert.equal(decoded.bundleId, app.bundleId);
      ids.add(decoded.transactionId!);
      assert.deepEqual(x5cLeaf(jws), a.keys.chainDer[0], 'signed by the configured leaf');
    }
    assert.equal(ids.size, 2);
    // each process also verifies what the other signed
    for (const [i, send] of sends.entries()) {
      const checked = ok(await send('POST', '/receipts/verify', { token: dev.token, body: { signedTransaction: receipts[1 - i] } }));
      assert.equal(checked.valid, true, JSON.stringify(checked));
    }
    for (const dir of dataDirs) assert.equal(existsSync(path.join(dir, 'receipts')), false, `${dir}: no key set of its own`);
  });
});
