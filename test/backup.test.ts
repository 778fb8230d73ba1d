// `orchard backup` and `orchard restore`: a store restored from a backup is the store that was backed up (apps,
// users, transactions, ledger; blobs, receipt keys and secrets), on the embedded database and on PostgreSQL, where
// the backup is taken while purchases go on and still holds every purchase acknowledged before it began, with
// balanced books. Restore checks every checksum first and refuses a damaged backup or a store that is not empty.
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Environment, SignedDataVerifier } from '@apple/app-store-server-library';
import { createInfra, loadConfig, type Config, type Infra } from '../src/config.ts';
import { buildApp, createModules, migrationDirs, startEvents, type Modules } from '../src/app.ts';
import { migrate, type Queryable } from '../src/platform/db/index.ts';
import { backup, restore, verifyBackup, type Manifest } from '../src/ops/backup.ts';
import { createScratchDatabase, productionUrls } from './support/infra.ts';
import { createTestApp, makeAdmin, makeDeveloper, registerUser, type TestApp, type TestUser } from './support/app.ts';
import { LIMITS, ok, publishApp, sender, type Send } from './support/catalog.ts';
import { runOrchard, spawnServe } from './support/serve.ts';

const work = await mkdtemp(path.join(os.tmpdir(), 'orchard-backup-test-'));
after(() => rm(work, { recursive: true, force: true }));

const APP_APPLE_ID = 1234567890; // Apple's verifier wants one in Production; transactions never compare it
const quiet = { logLevel: process.env.TEST_LOG_LEVEL ?? 'silent', demo: { apps: 0, users: 0 }, limits: LIMITS };

/** What must survive a backup and restore, read the same way from both stores. */
async function books(db: Queryable) {
  const rows = async (sql: string) => (await db.query(sql)).rows;
  return {
    apps: await rows('SELECT id, bundle_id, name, status FROM apps ORDER BY id'),
    media: await rows('SELECT app_id, kind, sha256 FROM app_media ORDER BY id'),
    users: await rows('SELECT id, email, role, password_hash FROM users ORDER BY id'),
    transactions: await rows('SELECT id::text, user_id, app_id, price_milli::text, currency FROM transactions ORDER BY id'),
    ledger: await rows('SELECT account, currency, sum(amount_milli)::text AS total, count(*)::int AS lines FROM ledger_lines GROUP BY 1, 2 ORDER BY 1, 2'),
  };
}

/** The books' invariants as the bench checks them (bench/commerce.ts), in the restored database. */
async function booksBalance(db: Queryable) {
  const one = async (sql: string) => Number(Object.values((await db.query(sql)).rows[0])[0]);
  return {
    unbalanced: await one(`SELECT count(*) FROM (SELECT transaction_id FROM ledger_lines GROUP BY transaction_id, entry HAVING sum(amount_milli) <> 0) u`),
    paidIn: await one(`SELECT coalesce(-sum(amount_milli), 0) FROM ledger_lines WHERE account = 'customer_payment'`),
    charged: await one(`SELECT coalesce(sum(amount_milli), 0) FROM sandbox_charges WHERE status = 'succeeded'`),
    chargesWithoutPurchase: await one(
      `SELECT count(*) FROM sandbox_charges c WHERE c.status = 'succeeded' AND NOT EXISTS
         (SELECT 1 FROM purchases p WHERE p.status = 'completed' AND c.idempotency_key = 'purchase:' || p.user_id || ':' || p.idempotency_key)`,
    ),
    pending: await one(`SELECT count(*) FROM purchases WHERE status = 'pending'`),
  };
}

interface Store {
  config: Config;
  infra: Infra;
  modules: Modules;
  app: FastifyInstance;
  close(): Promise<void>;
}

/** A store on the embedded database ON DISK under dataDir (as `serve` runs it), built like createTestApp builds one. */
async function openEmbedded(dataDir: string): Promise<Store & { applied: string[] }> {
  const config = loadConfig({}, { ...quiet, dataDir });
  const infra = await createInfra(config);
  const applied = await migrate(infra.db, migrationDirs);
  const modules = createModules(config, infra);
  const app = await buildApp(config, infra, modules);
  await startEvents(infra, modules, { relay: true, consume: true });
  return {
    config,
    infra,
    modules,
    app,
    applied,
    async close() {
      await app.close();
      await infra.close();
    },
  };
}

const buy = (send: Send, token: string, body: Record<string, unknown>) =>
  send('POST', '/purchases', { token, body, headers: { 'idempotency-key': randomUUID() } });

describe('backup and restore (embedded)', () => {
  const dataDir = path.join(work, 'embedded');
  const dest = path.join(work, 'embedded-backup');
  let before: Awaited<ReturnType<typeof books>>;
  let receipt: string;
  let paidApp: { id: string; bundleId: string };
  let link: { url: string; sha256: string };
  let manifest: Manifest;

  test('a store with purchases is backed up once stopped (not while a process has its database open)', async () => {
    const store = await openEmbedded(dataDir);
    try {
      const send = sender(store.app);
      const dev = await makeDeveloper(store.app, 'Backup Labs');
      const admin = await makeAdmin({ db: store.infra.db } as never, store.app);
      paidApp = await publishApp(send, dev.token, admin.token, { name: 'Kept Safe', isFree: false });
      const freeApp = await publishApp(send, dev.token, admin.token, { name: 'Free Too' });
      const buyers: TestUser[] = [];
      for (let i = 0; i < 3; i++) buyers.push(await registerUser(store.app));
      for (const u of buyers) {
        const r = ok(await buy(send, u.token, { appId: paidApp.id, price: { amountMilli: 990, currency: 'USD' } }), 201);
        receipt ??= r.signedTransaction;
      }
      ok(await buy(send, buyers[0].token, { appId: freeApp.id }), 201);
      // a signed download URL: the key under <dataDir>/keys and the binary's blob must both come back
      link = ok(await send('POST', `/apps/${paidApp.id}/download`, { token: buyers[0].token }));
      before = await books(store.infra.db);
      assert.equal(before.transactions.length, 4);
    } finally {
      await store.close();
    }

    // PGlite is single-process: a running store's database is not copied under it
    const running = await spawnServe({ ORCHARD_DATA_DIR: dataDir, DATABASE_URL: '', REDIS_URL: '', AMQP_URL: '', DEMO_APPS: '0' });
    try {
      const config = loadConfig({}, { ...quiet, dataDir });
      await assert.rejects(backup(config, path.join(work, 'refused')), /in use by process \d+: PGlite is single-process, so stop Orchard/);
      assert.equal(existsSync(path.join(work, 'refused', 'manifest.json')), false);
    } finally {
      await running.stop();
    }

    const r = await runOrchard(['backup', dest], { ORCHARD_DATA_DIR: dataDir, DATABASE_URL: '' });
    assert.equal(r.code, 0, r.output);
    manifest = JSON.parse(await readFile(path.join(dest, 'manifest.json'), 'utf8'));
    assert.equal(manifest.database.kind, 'pglite');
    assert.equal(manifest.orchardVersion, JSON.parse(await readFile('package.json', 'utf8')).version);
    assert.ok(Date.parse(manifest.createdAt) > Date.now() - 600_000);
    const files = manifest.files.map((f) => f.path);
    assert.ok(files.includes('database.pglite.tar.gz'));
    assert.ok(files.includes('data/receipts/root.pem') && files.includes('data/receipts/leaf.key.pem'));
    assert.ok(files.includes('data/keys/download-url.key'));
    assert.ok(files.includes(`data/blobs/${link.sha256.slice(0, 2)}/${link.sha256.slice(2, 4)}/${link.sha256}`), 'the binary');
    assert.ok(!files.some((f) => f.startsWith('data/search') || f.startsWith('data/pglite')), 'no cache, no raw database files');
    assert.deepEqual(
      manifest.database.migrations,
      (await restoreMigrationNames()).filter((n) => manifest.database.migrations.includes(n)),
    );
    for (const f of manifest.files) assert.match(f.sha256, /^[0-9a-f]{64}$/);
    assert.equal(manifest.files.find((f) => f.path === 'data/receipts/leaf.key.pem')!.mode, '600');
  });

  test('restored into an empty data dir: the same apps, users, transactions, ledger, blobs and keys', async () => {
    const target = path.join(work, 'embedded-restored');
    const config = loadConfig({}, { ...quiet, dataDir: target });
    const r = await restore(config, dest, { migrationDirs });
    assert.equal(r.manifest.files.length, manifest.files.length);
    assert.match(r.receiptRootFingerprint ?? '', /^[0-9A-F:]{95}$/);

    const store = await openEmbedded(target);
    try {
      assert.deepEqual(store.applied, [], 'nothing to migrate: the restored store is at the backup’s level');
      assert.deepEqual(await books(store.infra.db), before);
      const send = sender(store.app);
      // a receipt issued before the backup verifies against the restored store's root, with Apple's verifier
      const root = await store.app.inject({ method: 'GET', url: '/.well-known/orchard/receipt-root.cer' });
      const decoded = await new SignedDataVerifier([root.rawPayload], false, Environment.PRODUCTION, paidApp.bundleId, APP_APPLE_ID).verifyAndDecodeTransaction(
        receipt,
      );
      assert.equal(decoded.bundleId, paidApp.bundleId);
      assert.equal(ok(await send('POST', '/receipts/verify', { body: { signedTransaction: receipt } })).valid, true);
      // the download URL signed before the backup still opens (same secret), and the blob is there
      const res = await store.app.inject({ method: 'GET', url: new URL(link.url).pathname });
      assert.equal(res.statusCode, 200);
      assert.equal(createHash('sha256').update(res.rawPayload).digest('hex'), link.sha256);
      for (const m of before.media) assert.equal((await send('GET', `/media/${m.sha256}`)).statusCode, 200, `media ${m.sha256}`);
    } finally {
      await store.close();
    }
  });

  test('restore refuses a damaged backup (naming the file) and a store that is not empty', async () => {
    // a flipped byte in a blob
    const damaged = path.join(work, 'damaged');
    await cp(dest, damaged, { recursive: true });
    const blob = manifest.files.find((f) => f.path === `data/blobs/${link.sha256.slice(0, 2)}/${link.sha256.slice(2, 4)}/${link.sha256}`)!;
    const bytes = await readFile(path.join(damaged, blob.path));
    bytes[10] ^= 0xff;
    await writeFile(path.join(damaged, blob.path), bytes);
    const empty = path.join(work, 'never-restored');
    const config = loadConfig({}, { ...quiet, dataDir: empty });
    await assert.rejects(restore(config, damaged, { migrationDirs }), (err: Error) => {
      assert.match(err.message, /is damaged, nothing was restored/);
      assert.ok(err.message.includes(`${blob.path} does not match its checksum`), err.message);
      return true;
    });
    assert.equal(existsSync(empty), false, 'nothing written');
    // the database file truncated, through the CLI
    const truncated = path.join(work, 'truncated');
    await cp(dest, truncated, { recursive: true });
    await writeFile(path.join(truncated, 'database.pglite.tar.gz'), (await readFile(path.join(dest, 'database.pglite.tar.gz'))).subarray(0, 1000));
    const cli = await runOrchard(['restore', truncated], { ORCHARD_DATA_DIR: empty, DATABASE_URL: '' });
    assert.notEqual(cli.code, 0);
    assert.match(cli.output, /database\.pglite\.tar\.gz has 1000 bytes, the manifest says \d+/);
    assert.equal(existsSync(empty), false, 'nothing written');
    // an unfinished backup (no manifest)
    await rm(path.join(truncated, 'manifest.json'));
    await assert.rejects(verifyBackup(truncated), /has no manifest\.json: not an Orchard backup, or an unfinished one/);

    // a store that is not empty: refused, untouched; --force replaces it
    await assert.rejects(
      restore(loadConfig({}, { ...quiet, dataDir }), dest, { migrationDirs }),
      /refusing to restore over a store that is not empty: the data dir .* has \d+ files/,
    );
    const occupied = path.join(work, 'occupied');
    await mkdir(path.join(occupied, 'blobs'), { recursive: true });
    await writeFile(path.join(occupied, 'blobs', 'stray'), 'x');
    await writeFile(path.join(occupied, 'notes.txt'), 'the operator’s');
    const refused = await runOrchard(['restore', dest], { ORCHARD_DATA_DIR: occupied, DATABASE_URL: '' });
    assert.notEqual(refused.code, 0);
    assert.match(refused.output, /not empty: the data dir .* has 2 files/);
    const forced = await runOrchard(['restore', dest, '--force'], { ORCHARD_DATA_DIR: occupied, DATABASE_URL: '' });
    assert.equal(forced.code, 0, forced.output);
    assert.equal(existsSync(path.join(occupied, 'blobs', 'stray')), false, 'Orchard’s parts replaced');
    assert.equal(existsSync(path.join(occupied, 'notes.txt')), true, 'nothing else touched');
    assert.ok((await readdir(path.join(occupied, 'pglite'))).includes('PG_VERSION'));
  });
});

async function restoreMigrationNames() {
  const names: string[] = [];
  for (const dir of migrationDirs) for (const f of await readdir(dir)) if (f.endsWith('.sql')) names.push(f.replace(/\.sql$/, ''));
  return names.sort();
}

const skip =
  productionUrls.db && productionUrls.redis && productionUrls.amqp ? false : 'needs ORCHARD_TEST_DATABASE_URL, _REDIS_URL and _AMQP_URL (see .ci/run)';

describe('backup and restore (PostgreSQL, while purchases go on)', { skip }, () => {
  let t: TestApp;
  let send: Send;
  const cleanups: (() => Promise<void>)[] = [];
  before(async () => {
    t = await createTestApp('production', {
      config: { limits: LIMITS },
      modules: (infra) => createModules(infra.config, infra, { purchases: { limits: { purchases: { name: 'purchase', max: 100_000, windowMs: 60_000 } } } }),
    });
    send = sender(t.app);
  });
  after(async () => {
    await t?.close();
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });

  test('every purchase acknowledged before the backup began is restored, and the books balance', async (ctx) => {
    const testStarted = new Date();
    const dev = await makeDeveloper(t.app, 'Busy Studio');
    const admin = await makeAdmin(t.infra, t.app);
    const app = await publishApp(send, dev.token, admin.token, { name: 'Gem Mine', isFree: false });
    ok(
      await send('POST', `/developer/apps/${app.id}/products`, {
        token: dev.token,
        body: { productId: 'gems.10', referenceName: 'gems', type: 'consumable', prices: [{ country: 'US', currency: 'USD', amountMilli: 990 }] },
      }),
      201,
    );
    const buyers = await Promise.all(Array.from({ length: 6 }, () => registerUser(t.app)));

    // purchases, four at a time, until told to stop; each 201 noted with the time it was received
    const acked: { transactionId: string; at: number }[] = [];
    let stop = false;
    let failures = 0;
    const loops = buyers.slice(0, 4).map(async (u) => {
      while (!stop) {
        const res = await buy(send, u.token, { appId: app.id, productId: 'gems.10', price: { amountMilli: 990, currency: 'USD' } });
        if (res.statusCode === 201) acked.push({ transactionId: res.json().purchase.transactionId, at: Date.now() });
        else failures++;
      }
    });
    while (acked.length < 20) await new Promise((r) => setTimeout(r, 20));

    const dest = path.join(work, 'pg-backup');
    const backupStarted = Date.now();
    const ackedBefore = acked.filter((a) => a.at < backupStarted).map((a) => a.transactionId);
    const r = await runOrchard(['backup', dest], { DATABASE_URL: t.infra.config.databaseUrl!, ORCHARD_DATA_DIR: t.infra.config.dataDir });
    const duringBackup = acked.filter((a) => a.at >= backupStarted).length;
    stop = true;
    await Promise.all(loops);
    assert.equal(r.code, 0, r.output);
    assert.equal(failures, 0);
    assert.ok(duringBackup > 0, 'purchases went on while the backup ran');
    const manifest: Manifest = JSON.parse(await readFile(path.join(dest, 'manifest.json'), 'utf8'));
    assert.equal(manifest.database.kind, 'postgres');
    assert.equal(manifest.database.file, 'database.pgdump');
    assert.deepEqual(manifest.database.migrations, await restoreMigrationNames());
    assert.ok(manifest.files.some((f) => f.path === 'data/receipts/root.pem'));

    // a non-empty database is refused (the source itself)
    const refused = await runOrchard(['restore', dest], { DATABASE_URL: t.infra.config.databaseUrl!, ORCHARD_DATA_DIR: path.join(work, 'pg-refused') });
    assert.notEqual(refused.code, 0);
    assert.match(refused.output, /refusing to restore over a store that is not empty: the database has \d+ tables/);

    const scratch = await createScratchDatabase();
    cleanups.push(scratch.drop);
    const targetDir = path.join(work, 'pg-restored');
    const restored = await runOrchard(['restore', dest], { DATABASE_URL: scratch.url, ORCHARD_DATA_DIR: targetDir });
    assert.equal(restored.code, 0, restored.output);
    assert.match(restored.output, /restored .* in [\d.]+ s/);

    const config = loadConfig({}, { ...quiet, dataDir: targetDir, databaseUrl: scratch.url });
    const infra = await createInfra(config);
    try {
      assert.deepEqual(await migrate(infra.db, migrationDirs), [], 'the restored database is at the backup’s migration level');
      const ids = new Set((await infra.db.query<{ id: string }>('SELECT id::text AS id FROM transactions')).rows.map((r) => r.id));
      const missing = ackedBefore.filter((id) => !ids.has(id));
      assert.deepEqual(missing, [], `${missing.length} of ${ackedBefore.length} purchases acknowledged before the backup are missing`);
      assert.equal((await booksBalance(infra.db)).unbalanced, 0, 'every transaction’s ledger lines sum to zero');

      // purchases in flight when the snapshot was taken are pending orders in it: once their lock has passed, the
      // restored store's reconciler settles them, and the books agree with the provider's exactly
      const inFlight = (await infra.db.query(`UPDATE purchases SET locked_until = now() - interval '1 hour' WHERE status = 'pending'`)).rowCount;
      ctx.diagnostic(
        `${ackedBefore.length} purchases acknowledged before the backup, ${duringBackup} during it; ${ids.size} transactions and ${inFlight} orders in flight in the snapshot`,
      );
      const modules = createModules(config, infra);
      for (let pass = 0; pass < 50; pass++) {
        const report = await modules.purchases.reconcile();
        if (report && report.completed + report.failed + report.released + report.deferred + report.errors === 0) break;
      }
      const balance = await booksBalance(infra.db);
      assert.deepEqual(balance, { ...balance, unbalanced: 0, chargesWithoutPurchase: 0, pending: 0, paidIn: balance.charged });
      const check = await modules.purchases.compareBooks({ from: new Date(testStarted.getTime() - 60_000), to: new Date(Date.now() + 60_000) });
      assert.deepEqual(check.mismatches, []);
      assert.ok(check.transactionsChecked >= ackedBefore.length);
    } finally {
      await infra.close();
    }
    // the source kept serving, with balanced books too
    assert.equal((await booksBalance(t.infra.db)).unbalanced, 0);
  });
});
