// Catalog: the developer → review → publication workflow, visibility, ownership, concurrency and caching.
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { PublicApp, DeveloperApp } from '../src/modules/catalog/schemas.ts';
import { kinds } from './support/infra.ts';
import { createTestApp, makeAdmin, makeDeveloper, registerUser, type TestApp, type TestUser } from './support/app.ts';
import { LIMITS, createDraft, expectError, ok, prepareForReview, publishApp, sender, PNG, JPEG, type Send } from './support/catalog.ts';

/** The response really has the shape its route documents (those routes send pre-serialised JSON). */
const schemaErrors = (schema: TSchema, value: unknown) => [...Value.Errors(schema, value)].map((e) => JSON.stringify(e));

for (const kind of kinds()) {
  describe(`catalog workflow (${kind})`, () => {
    let t: TestApp;
    let send: Send;
    let dev: TestUser;
    let other: TestUser;
    let admin: TestUser;
    let user: TestUser;

    before(async () => {
      t = await createTestApp(kind, { config: { limits: LIMITS } });
      send = sender(t.app);
      dev = await makeDeveloper(t.app, 'Acme Games');
      other = await makeDeveloper(t.app, 'Other Studio');
      admin = await makeAdmin(t.infra, t.app);
      user = await registerUser(t.app);
    });
    after(async () => {
      await t?.close();
    });

    test('reference data: category tree and storefronts', async () => {
      const tree = ok(await send('GET', '/categories'));
      const games = tree.find((c: { slug: string }) => c.slug === 'games');
      assert.equal(games.name, 'Games');
      assert.ok(games.subcategories.some((s: { slug: string }) => s.slug === 'games-puzzle'));
      assert.ok(!tree.some((c: { slug: string }) => c.slug === 'games-puzzle'), 'subcategories only under their parent');
      const fronts = ok(await send('GET', '/storefronts'));
      assert.deepEqual(
        fronts.find((s: { country: string }) => s.country === 'DE'),
        { country: 'DE', alpha3: 'DEU', currency: 'EUR', appleStorefrontId: 143443, name: 'Germany' },
      );
    });

    test('the whole workflow: draft → icon → version + binary → prices → submit → approve → publish → public', async () => {
      const draft = await createDraft(send, dev.token, { name: 'Gem Miner', isFree: false, keywords: ['gems', 'mining', 'gems'] });

      // a draft is invisible to the public and to other users, visible to its developer and admins
      expectError(await send('GET', `/apps/${draft.id}`), 404, 'NOT_FOUND');
      expectError(await send('GET', `/apps/${draft.id}`, { token: user.token }), 404);
      expectError(await send('GET', `/apps/${draft.id}`, { token: other.token }), 404);
      expectError(await send('GET', `/apps/by-bundle/${draft.bundleId}`), 404);
      assert.equal(ok(await send('GET', `/apps/${draft.id}`, { token: dev.token })).status, 'draft');
      assert.equal(ok(await send('GET', `/apps/${draft.id}`, { token: admin.token })).status, 'draft');

      // submitting too early lists everything missing
      const early = expectError(await send('POST', `/developer/apps/${draft.id}/submit`, { token: dev.token }), 422, 'SUBMISSION_INCOMPLETE');
      assert.deepEqual(early.details, { missing: ['icon', 'version', 'prices'] });

      const versionId = await prepareForReview(send, dev.token, draft.id, { paid: true, permissions: ['camera', 'location'] });
      ok(await send('POST', `/developer/apps/${draft.id}/screenshots/iphone`, { token: dev.token, body: PNG, headers: { 'content-type': 'image/png' } }), 201);
      ok(
        await send('POST', `/developer/apps/${draft.id}/screenshots/iphone`, { token: dev.token, body: JPEG, headers: { 'content-type': 'image/jpeg' } }),
        201,
      );
      ok(await send('POST', `/developer/apps/${draft.id}/screenshots/ipad`, { token: dev.token, body: PNG, headers: { 'content-type': 'image/png' } }), 201);

      const submitted = ok(await send('POST', `/developer/apps/${draft.id}/submit`, { token: dev.token }));
      assert.deepEqual(submitted, { id: draft.id, status: 'in_review', version: { id: versionId, version: '1.0', status: 'in_review' } });
      expectError(await send('POST', `/developer/apps/${draft.id}/submit`, { token: dev.token }), 409, 'INVALID_STATE');
      expectError(
        await send('PUT', `/developer/apps/${draft.id}/versions/${versionId}/binary`, {
          token: dev.token,
          body: Buffer.from('new build'),
          headers: { 'content-type': 'application/octet-stream' },
        }),
        409,
        'VERSION_LOCKED',
      );

      // the reviewer sees it in the queue with the permission diff (a first release: everything is added)
      const queue = ok(await send('GET', '/admin/review-queue', { token: admin.token }));
      const item = queue.items.find((i: { app: { id: string } }) => i.app.id === draft.id);
      assert.equal(item.kind, 'new_app');
      assert.deepEqual(item.version.permissionDiff, { added: ['camera', 'location'], removed: [] });
      assert.equal(item.app.developer.name, 'Acme Games');
      expectError(await send('GET', '/admin/review-queue', { token: dev.token }), 403, 'FORBIDDEN');
      expectError(await send('POST', `/admin/apps/${draft.id}/approve`, { token: dev.token }), 403);

      expectError(await send('POST', `/developer/apps/${draft.id}/publish`, { token: dev.token }), 409, 'NOTHING_TO_PUBLISH');
      assert.equal(ok(await send('POST', `/admin/apps/${draft.id}/approve`, { token: admin.token })).status, 'approved');
      expectError(await send('GET', `/apps/${draft.id}`), 404, 'NOT_FOUND'); // approved is not yet public
      const published = ok(await send('POST', `/developer/apps/${draft.id}/publish`, { token: dev.token }));
      assert.equal(published.status, 'published');

      const detail = ok(await send('GET', `/apps/${draft.id}`));
      assert.deepEqual(schemaErrors(PublicApp, detail), []);
      assert.equal(detail.name, 'Gem Miner');
      assert.deepEqual(detail.keywords, ['gems', 'mining']);
      assert.deepEqual(detail.category, { slug: 'games', name: 'Games' });
      assert.deepEqual(detail.subcategory, { slug: 'games-puzzle', name: 'Puzzle' });
      assert.deepEqual(detail.developer, { id: dev.user.developer!.id, name: 'Acme Games' });
      assert.match(detail.iconUrl, /\/api\/v1\/media\/[0-9a-f]{64}$/);
      assert.equal(detail.screenshots.iphone.length, 2);
      assert.equal(detail.screenshots.ipad.length, 1);
      assert.equal(detail.currentVersion.version, '1.0');
      assert.equal(detail.currentVersion.releaseNotes, 'First release');
      assert.equal(detail.currentVersion.sizeBytes, 2048);
      assert.deepEqual(detail.prices, [
        { country: 'DE', currency: 'EUR', amountMilli: 990, tier: null },
        { country: 'US', currency: 'USD', amountMilli: 990, tier: 1 },
      ]);
      assert.deepEqual(detail.rating, { average: 0, count: 0 });
      assert.deepEqual(detail.inAppPurchases, { count: 0, hasSubscriptions: false, items: [] });
      assert.ok(detail.publishedAt);
      assert.equal(!('revision' in detail) && !('reviewNote' in detail), true, 'no developer-only fields in public detail');

      const byBundle = ok(await send('GET', `/apps/by-bundle/${draft.bundleId}`));
      assert.equal(byBundle.id, draft.id);

      // the icon is served, immutable, with an ETag honoured by If-None-Match
      const icon = await send('GET', detail.iconUrl.replace(/^https?:\/\/[^/]+/, ''));
      assert.equal(icon.statusCode, 200);
      assert.equal(icon.headers['content-type'], 'image/png');
      assert.equal(icon.headers['cache-control'], 'public, max-age=31536000, immutable');
      assert.deepEqual(icon.rawPayload, PNG);
      const again = await send('GET', detail.iconUrl.replace(/^https?:\/\/[^/]+/, ''), { headers: { 'if-none-match': String(icon.headers.etag) } });
      assert.equal(again.statusCode, 304);

      // it is browsable in its category and subcategory, and in the developer's own list
      const page = ok(await send('GET', '/apps?category=games&sort=newest&limit=100'));
      const listed = page.items.find((i: { id: string }) => i.id === draft.id);
      assert.equal(listed.price.amountMilli, 990);
      assert.equal(listed.price.currency, 'USD');
      const inDe = ok(await send('GET', '/apps?subcategory=games-puzzle&country=DE&limit=100'));
      assert.equal(inDe.items.find((i: { id: string }) => i.id === draft.id).price.currency, 'EUR');
      const mine = ok(await send('GET', '/developer/apps', { token: dev.token }));
      assert.ok(mine.items.some((a: { id: string; status: string }) => a.id === draft.id && a.status === 'published'));
    });

    test('an update of a published app is reviewed on its own; publishing it makes it current', async () => {
      const { id } = await publishApp(send, dev.token, admin.token);
      const v1 = ok(await send('GET', `/developer/apps/${id}/versions`, { token: dev.token })).items[0];
      assert.equal(v1.status, 'published');

      // versions must grow
      for (const version of ['1.0', '0.9', '1.0.0']) {
        expectError(
          await send('POST', `/developer/apps/${id}/versions`, { token: dev.token, body: { version, minOsVersion: '17' } }),
          409,
          'VERSION_NOT_NEWER',
        );
      }
      const v2 = ok(
        await send('POST', `/developer/apps/${id}/versions`, {
          token: dev.token,
          body: { version: '1.1', releaseNotes: 'Maps!', minOsVersion: '17.0', permissions: ['location', 'camera', 'location'] },
        }),
        201,
      );
      assert.deepEqual(v2.permissions, ['camera', 'location']);
      expectError(
        await send('POST', `/developer/apps/${id}/versions`, { token: dev.token, body: { version: '1.2', minOsVersion: '17' } }),
        409,
        'VERSION_IN_PROGRESS',
      );
      expectError(await send('POST', `/developer/apps/${id}/submit`, { token: dev.token }), 422, 'SUBMISSION_INCOMPLETE');
      ok(
        await send('PUT', `/developer/apps/${id}/versions/${v2.id}/binary`, {
          token: dev.token,
          body: Buffer.alloc(4096, 7),
          headers: { 'content-type': 'application/octet-stream' },
        }),
      );
      const submitted = ok(await send('POST', `/developer/apps/${id}/submit`, { token: dev.token }));
      assert.equal(submitted.status, 'published', 'the app stays live during the review of an update');

      const queue = ok(await send('GET', '/admin/review-queue?limit=100', { token: admin.token }));
      const item = queue.items.find((i: { app: { id: string } }) => i.app.id === id);
      assert.equal(item.kind, 'update');
      assert.equal(item.previousVersion, '1.0');
      assert.deepEqual(item.version.permissionDiff, { added: ['camera', 'location'], removed: [] });

      // rejection needs a reason, which the developer sees; then fix and resubmit
      expectError(await send('POST', `/admin/apps/${id}/reject`, { token: admin.token, body: {} }), 400, 'VALIDATION_FAILED');
      expectError(await send('POST', `/admin/apps/${id}/reject`, { token: admin.token, body: { reason: '   ' } }), 400, 'REASON_REQUIRED');
      ok(await send('POST', `/admin/apps/${id}/reject`, { token: admin.token, body: { reason: 'Explain why you need the camera.' } }));
      const mine = ok(await send('GET', `/developer/apps/${id}`, { token: dev.token }));
      assert.equal(mine.status, 'published');
      assert.deepEqual(mine.pendingVersion, { id: v2.id, version: '1.1', status: 'rejected', hasBinary: true, reviewNote: 'Explain why you need the camera.' });
      assert.equal(ok(await send('GET', `/apps/${id}`)).currentVersion.version, '1.0');

      ok(await send('POST', `/developer/apps/${id}/submit`, { token: dev.token }));
      ok(await send('POST', `/admin/apps/${id}/approve`, { token: admin.token }));
      ok(await send('POST', `/developer/apps/${id}/publish`, { token: dev.token }));
      const detail = ok(await send('GET', `/apps/${id}`));
      assert.equal(detail.currentVersion.version, '1.1');
      assert.equal(detail.currentVersion.releaseNotes, 'Maps!');
      assert.equal(detail.currentVersion.sizeBytes, 4096);

      // later versions are diffed against the current one
      const v3 = ok(
        await send('POST', `/developer/apps/${id}/versions`, {
          token: dev.token,
          body: { version: '2.0', minOsVersion: '18', permissions: ['camera', 'microphone'] },
        }),
        201,
      );
      assert.deepEqual(v3.permissionDiff, { added: ['microphone'], removed: ['location'] });
      ok(await send('DELETE', `/developer/apps/${id}/versions/${v3.id}`, { token: dev.token }), 204);
    });

    test('a first release that is rejected goes back to the developer and can be resubmitted', async () => {
      const draft = await createDraft(send, dev.token);
      await prepareForReview(send, dev.token, draft.id);
      ok(await send('POST', `/developer/apps/${draft.id}/submit`, { token: dev.token }));
      const rejected = ok(await send('POST', `/admin/apps/${draft.id}/reject`, { token: admin.token, body: { reason: 'Crashes on launch.' } }));
      assert.equal(rejected.status, 'rejected');
      const mine = ok(await send('GET', `/developer/apps/${draft.id}`, { token: dev.token }));
      assert.equal(mine.reviewNote, 'Crashes on launch.');
      expectError(await send('POST', `/admin/apps/${draft.id}/approve`, { token: admin.token }), 409, 'NOT_IN_REVIEW');
      assert.equal(ok(await send('POST', `/developer/apps/${draft.id}/submit`, { token: dev.token })).status, 'in_review');
      assert.equal(ok(await send('GET', `/developer/apps/${draft.id}`, { token: dev.token })).reviewNote, null);
    });

    test('removal: by the developer or an admin; removed apps leave the store and stop changing', async () => {
      const a = await publishApp(send, dev.token, admin.token);
      const b = await publishApp(send, dev.token, admin.token);
      ok(await send('GET', `/apps/${a.id}`));
      assert.equal(ok(await send('POST', `/developer/apps/${a.id}/remove`, { token: dev.token })).status, 'removed');
      assert.equal(ok(await send('POST', `/admin/apps/${b.id}/remove`, { token: admin.token })).status, 'removed');
      for (const { id, bundleId } of [a, b]) {
        expectError(await send('GET', `/apps/${id}`), 404);
        expectError(await send('GET', `/apps/by-bundle/${bundleId}`), 404);
        const page = ok(await send('GET', '/apps?category=games&limit=100'));
        assert.ok(!page.items.some((i: { id: string }) => i.id === id));
      }
      assert.equal(ok(await send('GET', `/developer/apps/${a.id}`, { token: dev.token })).status, 'removed');
      const etag = String((await send('GET', `/developer/apps/${a.id}`, { token: dev.token })).headers.etag);
      expectError(
        await send('PATCH', `/developer/apps/${a.id}`, { token: dev.token, body: { name: 'Back' }, headers: { 'if-match': etag } }),
        409,
        'APP_REMOVED',
      );
      expectError(await send('POST', `/developer/apps/${a.id}/remove`, { token: dev.token }), 409, 'APP_REMOVED');
    });

    test("another developer's app is 404 on every developer route (and plain users are refused)", async () => {
      const { id } = await createDraft(send, dev.token);
      const versionId = await prepareForReview(send, dev.token, id);
      const media = ok(await send('GET', `/developer/apps/${id}/media`, { token: dev.token })).items;
      const png = { 'content-type': 'image/png' };
      const routes: [string, string, { body?: unknown; headers?: Record<string, string> }?][] = [
        ['GET', `/developer/apps/${id}`],
        ['PATCH', `/developer/apps/${id}`, { body: { name: 'Mine now' }, headers: { 'if-match': '"1"' } }],
        ['GET', `/developer/apps/${id}/media`],
        ['PUT', `/developer/apps/${id}/icon`, { body: PNG, headers: png }],
        ['POST', `/developer/apps/${id}/screenshots/iphone`, { body: PNG, headers: png }],
        ['PUT', `/developer/apps/${id}/screenshots/iphone/order`, { body: { ids: [] } }],
        ['DELETE', `/developer/apps/${id}/screenshots/${media[0].id}`],
        ['GET', `/developer/apps/${id}/versions`],
        ['POST', `/developer/apps/${id}/versions`, { body: { version: '9.0', minOsVersion: '17' } }],
        ['DELETE', `/developer/apps/${id}/versions/${versionId}`],
        ['PUT', `/developer/apps/${id}/versions/${versionId}/binary`, { body: Buffer.from('x'), headers: { 'content-type': 'application/octet-stream' } }],
        ['PUT', `/developer/apps/${id}/prices`, { body: { prices: [] } }],
        ['GET', `/developer/apps/${id}/products`],
        ['POST', `/developer/apps/${id}/products`, { body: { productId: 'gems', referenceName: 'Gems', type: 'consumable' } }],
        ['POST', `/developer/apps/${id}/submit`],
        ['POST', `/developer/apps/${id}/publish`],
        ['POST', `/developer/apps/${id}/remove`],
      ];
      for (const [method, url, opts] of routes) {
        expectError(await send(method as 'GET', url, { token: other.token, ...opts }), 404, 'NOT_FOUND');
        expectError(await send(method as 'GET', url, { token: admin.token, ...opts }), 404, 'NOT_FOUND');
        expectError(await send(method as 'GET', url, { token: user.token, ...opts }), 403, 'FORBIDDEN');
        expectError(await send(method as 'GET', url, opts), 401, 'UNAUTHENTICATED');
      }
      assert.ok(!ok(await send('GET', '/developer/apps?limit=100', { token: other.token })).items.some((a: { id: string }) => a.id === id));
      // and nothing changed
      const mine = ok(await send('GET', `/developer/apps/${id}`, { token: dev.token }));
      assert.equal(mine.status, 'draft');
      assert.equal(mine.revision, 1);
      assert.equal(ok(await send('GET', `/developer/apps/${id}/versions`, { token: dev.token })).items.length, 1);
    });

    test('PATCH: If-Match required (428), stale revision 412, omitted fields untouched, new ETag', async () => {
      const { id } = await createDraft(send, dev.token, { subtitle: 'Match three', description: 'Long text', keywords: ['a'] });
      const got = await send('GET', `/developer/apps/${id}`, { token: dev.token });
      assert.equal(got.headers.etag, '"1"');
      assert.deepEqual(schemaErrors(DeveloperApp, got.json()), []);

      expectError(await send('PATCH', `/developer/apps/${id}`, { token: dev.token, body: { name: 'New' } }), 428, 'PRECONDITION_REQUIRED');
      expectError(await send('PATCH', `/developer/apps/${id}`, { token: dev.token, body: { name: 'New' }, headers: { 'if-match': '*' } }), 428);

      const patched = await send('PATCH', `/developer/apps/${id}`, { token: dev.token, body: { name: '  New name ' }, headers: { 'if-match': '"1"' } });
      assert.equal(patched.statusCode, 200, patched.body);
      assert.equal(patched.headers.etag, '"2"');
      const body = patched.json();
      assert.equal(body.name, 'New name');
      assert.equal(body.revision, 2);
      assert.equal(body.subtitle, 'Match three');
      assert.equal(body.description, 'Long text');
      assert.deepEqual(body.keywords, ['a']);
      assert.deepEqual(body.subcategory, { slug: 'games-puzzle', name: 'Puzzle' });

      const stale = await send('PATCH', `/developer/apps/${id}`, { token: dev.token, body: { subtitle: null }, headers: { 'if-match': '"1"' } });
      const err = expectError(stale, 412, 'PRECONDITION_FAILED');
      assert.deepEqual(err.details, { currentRevision: 2 });
      assert.equal(stale.headers.etag, '"2"');
      assert.equal(ok(await send('GET', `/developer/apps/${id}`, { token: dev.token })).subtitle, 'Match three');

      // category and subcategory must agree; sending null clears the subcategory
      expectError(
        await send('PATCH', `/developer/apps/${id}`, { token: dev.token, body: { category: 'finance' }, headers: { 'if-match': '"2"' } }),
        400,
        'SUBCATEGORY_MISMATCH',
      );
      const moved = ok(
        await send('PATCH', `/developer/apps/${id}`, { token: dev.token, body: { category: 'finance', subcategory: null }, headers: { 'if-match': '"2"' } }),
      );
      assert.deepEqual([moved.category.slug, moved.subcategory, moved.revision], ['finance', null, 3]);
    });

    test('cache: an edit of a published app is visible at once in detail, by bundle id and in browse', async () => {
      const { id, bundleId } = await publishApp(send, dev.token, admin.token, { name: 'Before' });
      // warm every cache layer
      for (let i = 0; i < 3; i++) {
        assert.equal(ok(await send('GET', `/apps/${id}`)).name, 'Before');
        assert.equal(ok(await send('GET', `/apps/by-bundle/${bundleId}`)).name, 'Before');
      }
      const listedName = async () => ok(await send('GET', '/apps?category=games&sort=newest&limit=100')).items.find((i: { id: string }) => i.id === id)?.name;
      assert.equal(await listedName(), 'Before');

      const etag = String((await send('GET', `/developer/apps/${id}`, { token: dev.token })).headers.etag);
      ok(await send('PATCH', `/developer/apps/${id}`, { token: dev.token, body: { name: 'After' }, headers: { 'if-match': etag } }));
      assert.equal(ok(await send('GET', `/apps/${id}`)).name, 'After');
      assert.equal(ok(await send('GET', `/apps/by-bundle/${bundleId}`)).name, 'After');
      assert.equal(await listedName(), 'After');

      // moving category drops it from the old category's pages and shows it in the new one's
      const etag2 = String((await send('GET', `/developer/apps/${id}`, { token: dev.token })).headers.etag);
      ok(await send('PATCH', `/developer/apps/${id}`, { token: dev.token, body: { category: 'finance', subcategory: null }, headers: { 'if-match': etag2 } }));
      assert.equal(await listedName(), undefined);
      assert.ok(ok(await send('GET', '/apps?category=finance&limit=100')).items.some((i: { id: string }) => i.id === id));

      // a cached "not public" answer is dropped when the app is published
      const draft = await createDraft(send, dev.token);
      expectError(await send('GET', `/apps/${draft.id}`), 404);
      expectError(await send('GET', `/apps/by-bundle/${draft.bundleId}`), 404);
      await prepareForReview(send, dev.token, draft.id);
      ok(await send('POST', `/developer/apps/${draft.id}/submit`, { token: dev.token }));
      ok(await send('POST', `/admin/apps/${draft.id}/approve`, { token: admin.token }));
      ok(await send('POST', `/developer/apps/${draft.id}/publish`, { token: dev.token }));
      assert.equal(ok(await send('GET', `/apps/${draft.id}`)).id, draft.id);
      assert.equal(ok(await send('GET', `/apps/by-bundle/${draft.bundleId}`)).id, draft.id);

      // the hot path answers from the cache without touching the database
      const loads = async () => {
        const text = await t.infra.metrics.registry.getSingleMetricAsString('catalog_detail_loads_total');
        return Number(/catalog_detail_loads_total (\d+)/.exec(text)?.[1] ?? 0);
      };
      const before = await loads();
      for (let i = 0; i < 20; i++) ok(await send('GET', `/apps/${draft.id}`));
      assert.equal(await loads(), before);
    });

    test('screenshots: append, reorder (every id once), delete renumbers', async () => {
      const { id } = await createDraft(send, dev.token);
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const m = ok(
          await send('POST', `/developer/apps/${id}/screenshots/iphone`, { token: dev.token, body: PNG, headers: { 'content-type': 'image/png' } }),
          201,
        );
        assert.equal(m.position, i);
        ids.push(m.id);
      }
      expectError(
        await send('PUT', `/developer/apps/${id}/screenshots/iphone/order`, { token: dev.token, body: { ids: ids.slice(1) } }),
        422,
        'ORDER_MISMATCH',
      );
      expectError(
        await send('PUT', `/developer/apps/${id}/screenshots/iphone/order`, { token: dev.token, body: { ids: [ids[0], ids[0], ids[1]] } }),
        422,
        'ORDER_MISMATCH',
      );
      const reordered = ok(await send('PUT', `/developer/apps/${id}/screenshots/iphone/order`, { token: dev.token, body: { ids: [ids[2], ids[0], ids[1]] } }));
      assert.deepEqual(
        reordered.items.map((m: { id: string }) => m.id),
        [ids[2], ids[0], ids[1]],
      );
      ok(await send('DELETE', `/developer/apps/${id}/screenshots/${ids[0]}`, { token: dev.token }), 204);
      expectError(await send('DELETE', `/developer/apps/${id}/screenshots/${ids[0]}`, { token: dev.token }), 404);
      const left = ok(await send('GET', `/developer/apps/${id}/media`, { token: dev.token })).items;
      assert.deepEqual(
        left.map((m: { id: string; position: number }) => [m.id, m.position]),
        [
          [ids[2], 0],
          [ids[1], 1],
        ],
      );
      expectError(await send('PUT', `/developer/apps/${id}/screenshots/watch/order`, { token: dev.token, body: { ids: [ids[1]] } }), 422, 'ORDER_MISMATCH');
      expectError(
        await send('POST', `/developer/apps/${id}/screenshots/fridge`, { token: dev.token, body: PNG, headers: { 'content-type': 'image/png' } }),
        400,
        'VALIDATION_FAILED',
      );
    });

    test('in-app products with prices, summarised in the detail', async () => {
      const { id } = await publishApp(send, dev.token, admin.token);
      const gems = ok(
        await send('POST', `/developer/apps/${id}/products`, {
          token: dev.token,
          body: {
            productId: 'com.test.gems100',
            referenceName: '100 Gems',
            type: 'consumable',
            prices: [{ country: 'US', currency: 'USD', amountMilli: 1990 }],
          },
        }),
        201,
      );
      assert.deepEqual(gems.prices, [{ country: 'US', currency: 'USD', amountMilli: 1990, tier: null }]);
      expectError(
        await send('POST', `/developer/apps/${id}/products`, {
          token: dev.token,
          body: { productId: 'com.test.gems100', referenceName: 'Again', type: 'consumable' },
        }),
        409,
        'PRODUCT_ID_TAKEN',
      );
      expectError(
        await send('POST', `/developer/apps/${id}/products`, { token: dev.token, body: { productId: 'pro', referenceName: 'Pro', type: 'auto_renewable' } }),
        422,
        'SUBSCRIPTION_FIELDS',
      );
      expectError(
        await send('POST', `/developer/apps/${id}/products`, {
          token: dev.token,
          body: { productId: 'gold', referenceName: 'Gold', type: 'consumable', subscriptionPeriod: 'P1M', subscriptionGroup: 'main' },
        }),
        422,
        'SUBSCRIPTION_FIELDS',
      );
      ok(
        await send('POST', `/developer/apps/${id}/products`, {
          token: dev.token,
          body: { productId: 'pro.monthly', referenceName: 'Pro', type: 'auto_renewable', subscriptionPeriod: 'P1M', subscriptionGroup: 'pro' },
        }),
        201,
      );
      const repriced = ok(
        await send('PUT', `/developer/apps/${id}/products/${gems.id}/prices`, {
          token: dev.token,
          body: {
            prices: [
              { country: 'JP', currency: 'JPY', amountMilli: 300000 },
              { country: 'US', currency: 'USD', amountMilli: 2990 },
            ],
          },
        }),
      );
      assert.deepEqual(
        repriced.prices.map((p: { amountMilli: number }) => p.amountMilli),
        [300000, 2990],
      );
      const detail = ok(await send('GET', `/apps/${id}`));
      assert.equal(detail.inAppPurchases.count, 2);
      assert.equal(detail.inAppPurchases.hasSubscriptions, true);
      assert.deepEqual(detail.inAppPurchases.items[1], { productId: 'pro.monthly', referenceName: 'Pro', type: 'auto_renewable', subscriptionPeriod: 'P1M' });
      assert.equal(ok(await send('GET', `/developer/apps/${id}/products`, { token: dev.token })).items.length, 2);
    });

    test('prices: paid apps only, replaced as a whole; switching to free drops them', async () => {
      const free = await createDraft(send, dev.token);
      expectError(
        await send('PUT', `/developer/apps/${free.id}/prices`, { token: dev.token, body: { prices: [{ country: 'US', currency: 'USD', amountMilli: 990 }] } }),
        422,
        'APP_IS_FREE',
      );
      const paid = await createDraft(send, dev.token, { isFree: false });
      ok(
        await send('PUT', `/developer/apps/${paid.id}/prices`, { token: dev.token, body: { prices: [{ country: 'US', currency: 'USD', amountMilli: 990 }] } }),
      );
      ok(await send('PUT', `/developer/apps/${paid.id}/prices`, { token: dev.token, body: { prices: [{ country: 'GB', currency: 'GBP', amountMilli: 0 }] } }));
      assert.deepEqual(ok(await send('GET', `/developer/apps/${paid.id}`, { token: dev.token })).prices, [
        { country: 'GB', currency: 'GBP', amountMilli: 0, tier: null },
      ]);
      ok(await send('PATCH', `/developer/apps/${paid.id}`, { token: dev.token, body: { isFree: true }, headers: { 'if-match': '"1"' } }));
      const after = ok(await send('GET', `/developer/apps/${paid.id}`, { token: dev.token }));
      assert.deepEqual([after.isFree, after.prices], [true, []]);
      assert.equal((await t.infra.db.query('SELECT count(*)::int AS n FROM app_prices WHERE app_id = $1', [paid.id])).rows[0].n, 0);
    });

    test('every state change is recorded as app.changed in the outbox', async () => {
      const { id } = await publishApp(send, dev.token, admin.token);
      const { rows } = await t.infra.db.query<{ type: string; payload: { change: string; status: string } }>(
        `SELECT type, payload FROM outbox WHERE aggregate_id = $1 ORDER BY id`,
        [id],
      );
      const changes = rows.filter((r) => r.type === 'app.changed').map((r) => `${r.payload.change}:${r.payload.status}`);
      assert.deepEqual(changes, [
        'created:draft',
        'icon:draft',
        'version:draft',
        'binary:draft',
        'submitted:in_review',
        'approved:approved',
        'published:published',
      ]);
      assert.ok(rows.some((r) => r.type === 'app.submitted'));
      assert.ok(rows.some((r) => r.type === 'app.reviewed'));
    });

    test('business counters', async () => {
      const text = await t.infra.metrics.registry.metrics();
      assert.match(text, /catalog_apps_published_total \d+/);
      assert.match(text, /catalog_reviews_total\{decision="approved"\} \d+/);
    });
  });
}
