// Library: ownership, signed download URLs and the blob route, download statistics, update checks, the
// library listing, and the seed's builds. Ownership is written straight into `transactions` (support/library.ts).
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { applyOnce } from '../src/platform/bus/consume.ts';
import { seed, DEMO_ACCOUNTS } from '../src/seed/index.ts';
import { DOWNLOAD_STATS_CONSUMER, applyDownload, type AppDownloadedEvent } from '../src/modules/library/stats.ts';
import { createTestInfra, eventually, kinds, type TestInfra } from './support/infra.ts';
import { createTestApp, makeAdmin, makeDeveloper, registerUser, type TestApp, type TestUser } from './support/app.ts';
import { LIMITS, createDraft, expectError, ok, publishApp, sender, type Send } from './support/catalog.ts';
import { createProduct, grantApp, grantProduct, pathOf, publishUpdate, revoke } from './support/library.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const today = () => new Date().toISOString().slice(0, 10);
const HOUR = 3_600_000;

for (const kind of kinds()) {
  describe(`library (${kind})`, () => {
    let t: TestApp;
    let send: Send;
    let dev: TestUser;
    let otherDev: TestUser;
    let admin: TestUser;
    let alice: TestUser;
    let bob: TestUser;
    let freeApp: { id: string; bundleId: string };
    let paidApp: { id: string; bundleId: string };

    const db = () => t.infra.db;
    const download = (token: string, appId: string) => send('POST', `/apps/${appId}/download`, { token });
    const fetchUrl = (url: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') => t.app.inject({ method, url: pathOf(url), headers });
    const dayRow = (appId: string) =>
      db()
        .query<{ first_downloads: number; redownloads: number; updates: number }>(
          'SELECT first_downloads, redownloads, updates FROM app_download_days WHERE app_id = $1 AND day = $2',
          [appId, today()],
        )
        .then((r) => r.rows[0]);
    const downloadCount = async (appId: string) =>
      Number((await db().query<{ n: string }>('SELECT download_count AS n FROM apps WHERE id = $1', [appId])).rows[0].n);
    const downloadEvents = async () => Number((await db().query<{ n: string }>(`SELECT count(*) AS n FROM outbox WHERE type = 'app.downloaded'`)).rows[0].n);

    before(async () => {
      t = await createTestApp(kind, { config: { limits: LIMITS } });
      send = sender(t.app);
      dev = await makeDeveloper(t.app, 'Library Labs');
      otherDev = await makeDeveloper(t.app, 'Other Labs');
      admin = await makeAdmin(t.infra, t.app);
      alice = await registerUser(t.app, { displayName: 'Alice' });
      bob = await registerUser(t.app, { displayName: 'Bob' });
      freeApp = await publishApp(send, dev.token, admin.token, { name: 'Free Notes' });
      paidApp = await publishApp(send, dev.token, admin.token, { name: 'Paid Maps', isFree: false });
    });
    after(async () => {
      await t?.close();
    });

    // ---------------------------------------------------------------- ownership

    test('a paid app is not downloadable without a live Production purchase of the caller', async () => {
      const refused = expectError(await download(alice.token, paidApp.id), 403, 'NOT_OWNED');
      assert.match(refused.message, /POST \/api\/v1\/purchases/);

      await grantApp(db(), bob.user.id, paidApp.id, { priceMilli: 990 });
      expectError(await download(alice.token, paidApp.id), 403, 'NOT_OWNED'); // another user's purchase does not help

      await grantApp(db(), alice.user.id, paidApp.id, { priceMilli: 990, environment: 'Sandbox' });
      expectError(await download(alice.token, paidApp.id), 403, 'NOT_OWNED'); // sandbox purchases never count

      const bought = await grantApp(db(), alice.user.id, paidApp.id, { priceMilli: 990 });
      ok(await download(alice.token, paidApp.id));
      await revoke(db(), bought);
      expectError(await download(alice.token, paidApp.id), 403, 'NOT_OWNED'); // refunded

      ok(await download(bob.token, paidApp.id));
    });

    test('a free app must be got first (through the purchase path, at price 0)', async () => {
      expectError(await download(alice.token, freeApp.id), 403, 'NOT_OWNED');
      await grantApp(db(), alice.user.id, freeApp.id, { purchasedAt: new Date(Date.now() - 2 * HOUR) });
      const link = ok(await download(alice.token, freeApp.id));
      assert.deepEqual(Object.keys(link).sort(), ['expiresAt', 'installToken', 'sha256', 'size', 'url', 'version']);
      // the install token for the app's SDK: this app, a new install id per download, issued now
      const install = await t.modules.library.installTokens.verify(link.installToken);
      assert.ok(install.ok, link.installToken);
      assert.equal(install.appId, freeApp.id);
      assert.ok(Math.abs(install.issuedAt.getTime() - Date.now()) < 5_000);
      const again = await t.modules.library.installTokens.verify(ok(await download(alice.token, freeApp.id)).installToken);
      assert.ok(again.ok);
      assert.notEqual(again.installId, install.installId, 'one download, one install');
      // the link's token is not an install token
      assert.equal((await t.modules.library.installTokens.verify(pathOf(link.url).split('/').at(-1)!)).ok, false);
      assert.equal(link.version, '1.0');
      const versions = ok(await send('GET', `/developer/apps/${freeApp.id}/versions`, { token: dev.token })).items;
      assert.deepEqual({ sha256: link.sha256, size: link.size }, { sha256: versions[0].binary.sha256, size: versions[0].binary.sizeBytes });
      const ttl = Date.parse(link.expiresAt) - Date.now();
      assert.ok(ttl > 240_000 && ttl <= 300_000, `expires in ${ttl} ms`);
      assert.match(link.url, /^http:\/\/localhost:\d+\/api\/v1\/downloads\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    });

    test('bad ids, unknown and unpublished apps, signed-out callers, removed apps', async () => {
      expectError(await send('POST', '/apps/not-a-uuid/download', { token: alice.token }), 400, 'VALIDATION_FAILED');
      expectError(await download(alice.token, randomUUID()), 404, 'NOT_FOUND');
      expectError(await send('POST', `/apps/${freeApp.id}/download`), 401, 'UNAUTHENTICATED');
      expectError(await send('POST', `/apps/${freeApp.id}/download`, { token: 'nope' }), 401, 'UNAUTHENTICATED');

      const draft = await createDraft(send, dev.token);
      await grantApp(db(), alice.user.id, draft.id);
      expectError(await download(alice.token, draft.id), 404, 'NOT_FOUND');

      const doomed = await publishApp(send, dev.token, admin.token, { name: 'Short Lived' });
      await grantApp(db(), alice.user.id, doomed.id);
      ok(await download(alice.token, doomed.id));
      ok(await send('POST', `/developer/apps/${doomed.id}/remove`, { token: dev.token }));
      expectError(await download(alice.token, doomed.id), 410, 'APP_UNAVAILABLE'); // its owner learns why
      expectError(await download(bob.token, doomed.id), 404, 'NOT_FOUND'); // anyone else: it does not exist
    });

    // ---------------------------------------------------------------- the blob route

    test('the URL serves the build with validators, ranges and HEAD, without a session', async () => {
      const link = ok(await download(alice.token, freeApp.id));
      const etag = `"${link.sha256}"`;

      const full = await fetchUrl(link.url);
      assert.equal(full.statusCode, 200);
      assert.equal(full.rawPayload.length, link.size);
      assert.equal(sha256(full.rawPayload), link.sha256);
      assert.equal(full.headers.etag, etag);
      assert.equal(full.headers['accept-ranges'], 'bytes');
      assert.equal(full.headers['content-type'], 'application/octet-stream');
      assert.equal(full.headers['content-length'], String(link.size));
      assert.equal(full.headers['content-disposition'], `attachment; filename="${freeApp.bundleId}-1.0.ipa"`);
      const cache = /^private, max-age=(\d+), immutable$/.exec(String(full.headers['cache-control']));
      assert.ok(cache && Number(cache[1]) > 240 && Number(cache[1]) <= 300, String(full.headers['cache-control']));

      const head = await fetchUrl(link.url, {}, 'HEAD');
      assert.equal(head.statusCode, 200);
      assert.equal(head.rawPayload.length, 0);
      assert.equal(head.headers['content-length'], String(link.size));
      assert.equal(head.headers.etag, etag);

      const first = await fetchUrl(link.url, { range: 'bytes=0-99' });
      assert.equal(first.statusCode, 206);
      assert.equal(first.headers['content-range'], `bytes 0-99/${link.size}`);
      assert.equal(first.headers['content-length'], '100');
      assert.deepEqual(first.rawPayload, full.rawPayload.subarray(0, 100));

      const rest = await fetchUrl(link.url, { range: 'bytes=100-' });
      assert.equal(rest.statusCode, 206);
      assert.deepEqual(Buffer.concat([first.rawPayload, rest.rawPayload]), full.rawPayload);
      const tail = await fetchUrl(link.url, { range: 'bytes=-10' });
      assert.deepEqual(tail.rawPayload, full.rawPayload.subarray(-10));
      const headRange = await fetchUrl(link.url, { range: 'bytes=10-19' }, 'HEAD');
      assert.equal(headRange.statusCode, 206);
      assert.equal(headRange.headers['content-range'], `bytes 10-19/${link.size}`);

      const beyond = await fetchUrl(link.url, { range: `bytes=${link.size}-` });
      expectError(beyond, 416, 'RANGE_NOT_SATISFIABLE');
      assert.equal(beyond.headers['content-range'], `bytes */${link.size}`);
      assert.equal((await fetchUrl(link.url, { range: 'bytes=0-1,5-9' })).statusCode, 200); // several ranges: the whole
      assert.equal((await fetchUrl(link.url, { range: 'bytes=9-1' })).statusCode, 200); // malformed: ignored

      const notModified = await fetchUrl(link.url, { 'if-none-match': etag });
      assert.equal(notModified.statusCode, 304);
      assert.equal(notModified.rawPayload.length, 0);
      assert.equal(notModified.headers.etag, etag);
      assert.equal((await fetchUrl(link.url, { 'if-none-match': `"other", W/${etag}` })).statusCode, 304);
      assert.equal((await fetchUrl(link.url, { 'if-none-match': '"other"' })).statusCode, 200);

      assert.equal((await fetchUrl(link.url, { range: 'bytes=0-9', 'if-range': etag })).statusCode, 206);
      assert.equal((await fetchUrl(link.url, { range: 'bytes=0-9', 'if-range': '"stale"' })).statusCode, 200);
      assert.equal((await fetchUrl(link.url, { range: 'bytes=0-9', 'if-range': new Date().toUTCString() })).statusCode, 200);
    });

    test('altered, foreign, malformed and expired links are refused with 403, never a 500', async () => {
      const link = ok(await download(alice.token, freeApp.id));
      const path = pathOf(link.url);
      const token = path.split('/').pop()!;
      const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
      for (const bad of [
        flip(token, 5),
        flip(token, 60),
        flip(token, token.length - 3),
        token.slice(0, -1),
        'x',
        'a.b',
        `${token}.x`,
        token.replace('.', ''),
      ]) {
        for (const method of ['GET', 'HEAD'] as const) {
          const res = await t.app.inject({ method, url: `/api/v1/downloads/${bad}` });
          assert.equal(res.statusCode, 403, `${method} ${bad}: ${res.statusCode} ${res.body}`);
          if (method === 'GET') expectError(res, 403, 'DOWNLOAD_LINK_INVALID');
        }
      }
      // a token for content the caller was never granted cannot be made without the key
      const service = t.modules.library.service;
      const expired = await service.links.sign({ versionId: randomUUID(), sha256: link.sha256, userId: alice.user.id }, Date.now() - 10 * 60_000);
      expectError(await t.app.inject({ method: 'GET', url: `/api/v1/downloads/${expired.token}` }), 403, 'DOWNLOAD_LINK_EXPIRED');
      const tooLong = await t.app.inject({ method: 'GET', url: `/api/v1/downloads/${'A'.repeat(300)}` });
      assert.ok(tooLong.statusCode >= 400 && tooLong.statusCode < 500, String(tooLong.statusCode));
      expectError(tooLong, tooLong.statusCode);
      // a valid link to a build that is not (or no longer) there: 404
      const gone = await service.links.sign({ versionId: randomUUID(), sha256: 'f'.repeat(64), userId: alice.user.id });
      expectError(await t.app.inject({ method: 'GET', url: `/api/v1/downloads/${gone.token}` }), 404, 'NOT_FOUND');
    });

    // ---------------------------------------------------------------- statistics

    test('issuing links records first downloads, re-downloads and updates; the consumer counts them once', async () => {
      const app = await publishApp(send, dev.token, admin.token, { name: 'Stat Tracker' });
      const carol = await registerUser(t.app);
      const dave = await registerUser(t.app);
      await grantApp(db(), carol.user.id, app.id);
      await grantApp(db(), dave.user.id, app.id);
      const before = await downloadCount(app.id);

      ok(await download(carol.token, app.id));
      await eventually(async () => (await dayRow(app.id))?.first_downloads === 1);
      assert.equal(await downloadCount(app.id), before + 1);

      ok(await download(carol.token, app.id));
      ok(await download(dave.token, app.id));
      await eventually(async () => {
        const row = await dayRow(app.id);
        return row?.redownloads === 1 && row.first_downloads === 2;
      });
      assert.equal(await downloadCount(app.id), before + 2);

      await publishUpdate(send, dev.token, admin.token, app.id, '1.1');
      const updated = ok(await download(carol.token, app.id));
      assert.equal(updated.version, '1.1');
      await eventually(async () => (await dayRow(app.id))?.updates === 1);
      assert.deepEqual({ ...(await dayRow(app.id)) }, { first_downloads: 2, redownloads: 1, updates: 1 });

      const events = await db().query<{ payload: Record<string, unknown> }>(
        `SELECT payload FROM outbox WHERE type = 'app.downloaded' AND aggregate_id = $1 ORDER BY id`,
        [app.id],
      );
      assert.deepEqual(
        events.rows.map((r) => [r.payload.userId, r.payload.kind]),
        [
          [carol.user.id, 'first'],
          [carol.user.id, 'redownload'],
          [dave.user.id, 'first'],
          [carol.user.id, 'update'],
        ],
      );
      assert.equal(events.rows[0].payload.day, today());

      // a redelivered event changes nothing
      const first = (
        await db().query<{ id: string; occurred_at: Date; payload: AppDownloadedEvent['payload'] }>(
          `SELECT id, occurred_at, payload FROM outbox WHERE type = 'app.downloaded' AND aggregate_id = $1 ORDER BY id LIMIT 1`,
          [app.id],
        )
      ).rows[0];
      const redelivered: AppDownloadedEvent = {
        id: first.id,
        type: 'app.downloaded',
        aggregateId: app.id,
        occurredAt: new Date(first.occurred_at).toISOString(),
        payload: first.payload,
      };
      assert.equal(await applyOnce(db(), DOWNLOAD_STATS_CONSUMER, redelivered, applyDownload), false);
      assert.equal((await dayRow(app.id))?.first_downloads, 2);
      assert.equal(await downloadCount(app.id), before + 2);
    });

    test('app.changed { change: downloads } is sent at most about once a minute per app; held-back ones follow', async () => {
      const app = await publishApp(send, dev.token, admin.token, { name: 'Busy App' });
      const announcements = async (appId: string) =>
        Number(
          (
            await db().query<{ n: string }>(
              `SELECT count(*) AS n FROM outbox WHERE type = 'app.changed' AND aggregate_id = $1 AND payload->>'change' = 'downloads'`,
              [appId],
            )
          ).rows[0].n,
        );
      const users = await Promise.all([registerUser(t.app), registerUser(t.app), registerUser(t.app)]);
      for (const u of users) {
        await grantApp(db(), u.user.id, app.id);
        ok(await download(u.token, app.id));
      }
      await eventually(async () => (await dayRow(app.id))?.first_downloads === 3);
      assert.equal(await announcements(app.id), 1);
      const signal = (await db().query<{ pending: boolean }>('SELECT pending FROM app_download_signals WHERE app_id = $1', [app.id])).rows[0];
      assert.equal(signal.pending, true);

      // a minute later, the next download of any app sends the held-back announcement
      await db().query(`UPDATE app_download_signals SET emitted_at = emitted_at - interval '2 minutes' WHERE app_id = $1`, [app.id]);
      ok(await download(alice.token, freeApp.id));
      await eventually(async () => (await announcements(app.id)) === 2);
      assert.equal((await db().query<{ pending: boolean }>('SELECT pending FROM app_download_signals WHERE app_id = $1', [app.id])).rows[0].pending, false);
    });

    test('developers read the daily series of their own apps only', async () => {
      const app = await publishApp(send, dev.token, admin.token, { name: 'Chart Topper' });
      await grantApp(db(), bob.user.id, app.id);
      ok(await download(bob.token, app.id));
      ok(await download(bob.token, app.id));
      // the two events may be applied in either order (several consumers on RabbitMQ): wait for both
      await eventually(async () => {
        const row = await dayRow(app.id);
        return row?.redownloads === 1 && row?.first_downloads === 1;
      });

      const stats = ok(await send('GET', `/developer/apps/${app.id}/downloads`, { token: dev.token }));
      assert.equal(stats.days.length, 30);
      assert.equal(stats.to, today());
      assert.deepEqual(stats.days.at(-1), { day: today(), firstDownloads: 1, redownloads: 1, updates: 0 });
      assert.deepEqual(stats.totals, { firstDownloads: 1, redownloads: 1, updates: 0 });
      assert.equal(stats.downloadCount, 1);
      assert.ok(stats.days.slice(0, -1).every((d: { firstDownloads: number }) => d.firstDownloads === 0));

      const window = ok(await send('GET', `/developer/apps/${app.id}/downloads?from=2025-12-30&to=2026-01-02`, { token: dev.token }));
      assert.deepEqual(
        window.days.map((d: { day: string }) => d.day),
        ['2025-12-30', '2025-12-31', '2026-01-01', '2026-01-02'],
      );

      expectError(await send('GET', `/developer/apps/${app.id}/downloads`, { token: otherDev.token }), 404, 'NOT_FOUND');
      expectError(await send('GET', `/developer/apps/${app.id}/downloads`, { token: bob.token }), 403, 'FORBIDDEN');
      expectError(await send('GET', `/developer/apps/${app.id}/downloads`), 401);
      expectError(await send('GET', `/developer/apps/${randomUUID()}/downloads`, { token: dev.token }), 404);
      expectError(await send('GET', `/developer/apps/nope/downloads`, { token: dev.token }), 400, 'VALIDATION_FAILED');
      expectError(await send('GET', `/developer/apps/${app.id}/downloads?from=2026-02-30`, { token: dev.token }), 400, 'VALIDATION_FAILED');
      expectError(await send('GET', `/developer/apps/${app.id}/downloads?from=yesterday`, { token: dev.token }), 400, 'VALIDATION_FAILED');
      expectError(await send('GET', `/developer/apps/${app.id}/downloads?from=2026-01-05&to=2026-01-01`, { token: dev.token }), 400, 'BAD_WINDOW');
      expectError(await send('GET', `/developer/apps/${app.id}/downloads?from=2020-01-01&to=2026-01-01`, { token: dev.token }), 400, 'BAD_WINDOW');
      expectError(await send('GET', `/developer/apps/${app.id}/downloads?days=7`, { token: dev.token }), 400, 'VALIDATION_FAILED');
    });

    // ---------------------------------------------------------------- updates

    test('updates: newer versions of owned apps come with working URLs; others are reported, not given URLs', async () => {
      const app = await publishApp(send, dev.token, admin.token, { name: 'Updater' });
      const erin = await registerUser(t.app);
      await grantApp(db(), erin.user.id, app.id);
      await publishUpdate(send, dev.token, admin.token, app.id, '1.2.0');
      const draft = await createDraft(send, dev.token);
      const unknownId = randomUUID();

      const res = ok(
        await send('POST', '/me/updates', {
          token: erin.token,
          body: {
            installed: [
              { appId: app.id, version: '1.0' },
              { bundleId: app.bundleId, version: '1.0' }, // the same app again: counted once
              { bundleId: paidApp.bundleId, version: '0.9' },
              { appId: unknownId, version: '1.0' },
              { bundleId: 'com.nowhere.app', version: '1.0' },
              { appId: draft.id, version: '1.0' },
            ],
          },
        }),
      );
      assert.equal(res.updates.length, 1);
      const [update] = res.updates;
      assert.equal(update.appId, app.id);
      assert.equal(update.bundleId, app.bundleId);
      assert.equal(update.installedVersion, '1.0');
      assert.equal(update.version, '1.2.0');
      assert.equal(update.releaseNotes, 'What is new in 1.2.0');
      const build = await fetchUrl(update.download.url);
      assert.equal(build.statusCode, 200);
      assert.equal(sha256(build.rawPayload), update.sha256);
      assert.equal(build.rawPayload.length, update.size);
      assert.deepEqual(res.notOwned, [{ appId: paidApp.id, bundleId: paidApp.bundleId }]);
      assert.deepEqual(res.unknown, [{ appId: unknownId }, { bundleId: 'com.nowhere.app' }, { appId: draft.id }]);

      // numeric comparison, not text: 1.10 is newer than 1.9; equal or newer installs get nothing
      const up = async (version: string) =>
        ok(await send('POST', '/me/updates', { token: erin.token, body: { installed: [{ appId: app.id, version }] } })).updates.length;
      assert.equal(await up('1.1.9'), 1);
      assert.equal(await up('1.2'), 0);
      assert.equal(await up('1.2.0.0'), 0);
      assert.equal(await up('1.10'), 0);
      assert.equal(await up('2'), 0);

      // asking again does not count the same version again
      const events = await downloadEvents();
      assert.equal(await up('1.0'), 1);
      assert.equal(await downloadEvents(), events);
      assert.deepEqual(ok(await send('POST', '/me/updates', { token: erin.token, body: { installed: [] } })), { updates: [], notOwned: [], unknown: [] });
    });

    test('updates: every bad entry is a 400 that names it', async () => {
      const post = (body: unknown) => send('POST', '/me/updates', { token: alice.token, body });
      const e1 = expectError(
        await post({
          installed: [
            { appId: freeApp.id, version: '1.0' },
            { appId: freeApp.id, version: '1.0-beta' },
          ],
        }),
        400,
        'INVALID_VERSION',
      );
      assert.match(e1.message, /installed\[1\]\.version/);
      expectError(await post({ installed: [{ appId: freeApp.id, version: '01.0' }] }), 400, 'INVALID_VERSION');
      expectError(await post({ installed: [{ appId: freeApp.id, version: '1.0.0.0.0' }] }), 400, 'INVALID_VERSION');
      const both = expectError(await post({ installed: [{ appId: freeApp.id, bundleId: freeApp.bundleId, version: '1.0' }] }), 400, 'VALIDATION_FAILED');
      assert.match(both.message, /installed\[0\] must name the app by exactly one of appId or bundleId/);
      expectError(await post({ installed: [{ version: '1.0' }] }), 400, 'VALIDATION_FAILED');
      expectError(await post({ installed: [{ appId: 'nope', version: '1.0' }] }), 400, 'VALIDATION_FAILED');
      expectError(await post({ installed: [{ appId: freeApp.id, version: 1 }] }), 400, 'VALIDATION_FAILED');
      expectError(await post({ installed: [{ appId: freeApp.id, version: '1.0', extra: true }] }), 400, 'VALIDATION_FAILED');
      expectError(await post({ installed: [], extra: 1 }), 400, 'VALIDATION_FAILED');
      expectError(await post({}), 400, 'VALIDATION_FAILED');
      expectError(await post({ installed: Array.from({ length: 501 }, () => ({ appId: freeApp.id, version: '1.0' })) }), 400, 'VALIDATION_FAILED');
      expectError(await post('not json'), 415);
      expectError(await send('POST', '/me/updates', { body: { installed: [] } }), 401);
    });

    // ---------------------------------------------------------------- library

    test('the library lists what the caller owns in Production, refunded and expired things excluded', async () => {
      const frank = await registerUser(t.app);
      const studio = await publishApp(send, dev.token, admin.token, { name: 'Studio Pro' });
      const [unlock, gems, monthly, season] = [
        await createProduct(send, dev.token, studio.id, 'non_consumable', 'pro.unlock'),
        await createProduct(send, dev.token, studio.id, 'consumable', 'pro.gems'),
        await createProduct(send, dev.token, studio.id, 'auto_renewable', 'pro.monthly'),
        await createProduct(send, dev.token, studio.id, 'non_consumable', 'pro.season'),
      ];
      const now = Date.now();
      const at = (hoursAgo: number) => new Date(now - hoursAgo * HOUR);
      await grantApp(db(), frank.user.id, freeApp.id, { purchasedAt: at(50) });
      await grantApp(db(), frank.user.id, paidApp.id, { purchasedAt: at(40), priceMilli: 990 });
      await revoke(db(), await grantApp(db(), frank.user.id, freeApp.id, { purchasedAt: at(45) })); // a refunded duplicate
      await grantApp(db(), frank.user.id, studio.id, { purchasedAt: at(30), environment: 'Sandbox' });
      await grantProduct(db(), frank.user.id, unlock, { purchasedAt: at(20) });
      await grantProduct(db(), frank.user.id, gems, { purchasedAt: at(19) }); // consumables are not kept
      await revoke(db(), await grantProduct(db(), frank.user.id, season, { purchasedAt: at(18) }));
      // a subscription whose first period has ended and whose renewal runs for another 700 hours
      const sub = await grantProduct(db(), frank.user.id, monthly, { purchasedAt: at(10), expiresAt: at(2) });
      await grantProduct(db(), frank.user.id, monthly, { purchasedAt: at(2), expiresAt: at(-700), renewalOf: sub });
      const lapsed = await registerUser(t.app);
      await grantProduct(db(), lapsed.user.id, monthly, { purchasedAt: at(800), expiresAt: at(80) });

      const page = ok(await send('GET', '/me/library', { token: frank.token }));
      assert.equal(page.nextCursor, null);
      assert.deepEqual(
        page.items.map((i: { kind: string; appId: string; productId?: string }) => [i.kind, i.appId, i.productId ?? null]),
        [
          ['in_app', studio.id, 'pro.monthly'],
          ['in_app', studio.id, 'pro.unlock'],
          ['app', paidApp.id, null],
          ['app', freeApp.id, null],
        ],
      );
      const [subscription, unlocked, paid, free] = page.items;
      assert.equal(subscription.type, 'auto_renewable');
      assert.equal(subscription.transactionId, sub);
      assert.equal(Date.parse(subscription.expiresAt), at(-700).getTime());
      assert.equal(Date.parse(subscription.acquiredAt), at(10).getTime());
      assert.equal(unlocked.type, 'non_consumable');
      assert.equal(unlocked.expiresAt, null);
      assert.equal(unlocked.appName, 'Studio Pro');
      assert.deepEqual(paid.price, { amountMilli: 990, currency: 'USD' });
      assert.deepEqual(free.price, { amountMilli: 0, currency: 'USD' });
      assert.equal(free.bundleId, freeApp.bundleId);
      assert.equal(free.name, 'Free Notes');
      assert.equal(free.available, true);
      assert.match(free.iconUrl, /\/api\/v1\/media\/[0-9a-f]{64}$/);
      const detail = ok(await send('GET', `/apps/${freeApp.id}`));
      assert.equal(free.iconUrl, detail.iconUrl);
      assert.equal(free.currentVersion, detail.currentVersion.version);

      const apps = ok(await send('GET', '/me/library?kind=app', { token: frank.token }));
      assert.deepEqual(
        apps.items.map((i: { appId: string }) => i.appId),
        [paidApp.id, freeApp.id],
      );
      assert.deepEqual(ok(await send('GET', '/me/library', { token: lapsed.token })).items, []);
    });

    test('library pages follow nextCursor to the end; other users see none of it; bad input is a 400', async () => {
      const gina = await registerUser(t.app);
      const owned: string[] = [];
      for (let i = 0; i < 5; i++) {
        const app = i < 2 ? [freeApp, paidApp][i] : await publishApp(send, dev.token, admin.token, { name: `Paged ${i}` });
        await grantApp(db(), gina.user.id, app.id, { purchasedAt: new Date(Date.now() - (i + 1) * HOUR) });
        owned.push(app.id);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 10; pages++) {
        const res: { items: { appId: string }[]; nextCursor: string | null } = ok(
          await send('GET', `/me/library?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token: gina.token }),
        );
        assert.ok(res.items.length <= 2);
        seen.push(...res.items.map((i) => i.appId));
        cursor = res.nextCursor;
        if (!cursor) break;
      }
      assert.deepEqual(seen, owned); // newest acquisition first

      const stranger = await registerUser(t.app);
      assert.deepEqual(ok(await send('GET', '/me/library', { token: stranger.token })).items, []);

      const bad = (qs: string) => send('GET', `/me/library?${qs}`, { token: gina.token });
      expectError(await bad('cursor=garbage'), 400, 'BAD_CURSOR');
      expectError(await bad(`cursor=${Buffer.from('[1,"x"]').toString('base64url')}`), 400, 'BAD_CURSOR');
      expectError(await bad(`cursor=${Buffer.from('[1.5,"12"]').toString('base64url')}`), 400, 'BAD_CURSOR');
      expectError(await bad(`cursor=${Buffer.from('{"a":1}').toString('base64url')}`), 400, 'BAD_CURSOR');
      expectError(await bad('limit=0'), 400, 'VALIDATION_FAILED');
      expectError(await bad('limit=101'), 400, 'VALIDATION_FAILED');
      expectError(await bad('limit=two'), 400, 'VALIDATION_FAILED');
      expectError(await bad('kind=song'), 400, 'VALIDATION_FAILED');
      expectError(await bad('sort=name'), 400, 'VALIDATION_FAILED');
      expectError(await send('GET', '/me/library'), 401, 'UNAUTHENTICATED');
    });
  });

  // ---------------------------------------------------------------- seed

  describe(`library: seeded builds (${kind})`, () => {
    let infra: TestInfra;
    before(async () => {
      infra = await createTestInfra(kind);
      await seed({ infra, apps: 40, users: 5 });
    });
    after(() => infra.close());

    test('every seeded version points at a real build of its recorded size, from a small fixed set', async () => {
      const { rows } = await infra.db.query<{ binary_sha256: string; binary_size: string }>('SELECT DISTINCT binary_sha256, binary_size FROM app_versions');
      assert.ok(rows.length > 1 && rows.length <= 16, `${rows.length} distinct builds`);
      for (const r of rows) {
        assert.equal((await infra.blobs.stat(r.binary_sha256))?.size, Number(r.binary_size));
        assert.ok(Number(r.binary_size) >= 4096 && Number(r.binary_size) <= 65536);
      }
    });

    test('seeding again (another database, same blob store) writes no new build', async () => {
      const other = await createTestInfra('embedded', { dataDir: infra.config.dataDir });
      try {
        const builds = (await infra.db.query<{ s: string }>('SELECT DISTINCT binary_sha256 AS s FROM app_versions')).rows.map((r) => r.s).sort();
        await seed({ infra: other, apps: 40, users: 5 });
        const again = (await other.db.query<{ s: string }>('SELECT DISTINCT binary_sha256 AS s FROM app_versions')).rows.map((r) => r.s).sort();
        assert.deepEqual(again, builds);
      } finally {
        await other.db.close();
      }
    });
  });
}

describe('library: a seeded app downloads like an uploaded one (embedded)', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp('embedded');
    await seed({ infra: t.infra, apps: 30, users: 3 });
  });
  after(() => t?.close());

  test('the demo user gets a seeded app and downloads its build', async () => {
    const send = sender(t.app);
    const signIn = ok(await send('POST', '/auth/login', { body: { email: DEMO_ACCOUNTS[2].email, password: DEMO_ACCOUNTS[2].password } }));
    const token: string = signIn.session.token;
    const user = (await t.infra.db.query<{ id: string }>('SELECT id FROM users WHERE email = $1', [DEMO_ACCOUNTS[2].email])).rows[0];
    const app = (await t.infra.db.query<{ id: string }>(`SELECT id FROM apps WHERE status = 'published' ORDER BY id LIMIT 1`)).rows[0];
    expectError(await send('POST', `/apps/${app.id}/download`, { token }), 403, 'NOT_OWNED');
    await grantApp(t.infra.db, user.id, app.id);
    const link = ok(await send('POST', `/apps/${app.id}/download`, { token }));
    const build = await t.app.inject({ method: 'GET', url: pathOf(link.url) });
    assert.equal(build.statusCode, 200);
    assert.equal(build.rawPayload.length, link.size);
    assert.equal(sha256(build.rawPayload), link.sha256);
  });
});
