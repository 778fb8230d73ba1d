// Similar apps on the public app detail ("similarApps", from the recommendations module's memory): the first
// read of an app starts the computation and the next reads carry it; the items are those of
// GET /apps/:id/recommendations (US), never the app itself, only published apps; one computation per app at a
// time, dropped by a new batch build, failures never reach the request.
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, kinds } from './support/infra.ts';
import { createTestApp, makeAdmin, makeDeveloper, registerUser, type TestApp, type TestUser } from './support/app.ts';
import { createDraft, expectError, ok, publishApp, sender, type Send } from './support/catalog.ts';
import { grantApp } from './support/library.ts';

const HOUR = 3_600_000;
type Key = 'editor' | 'filters' | 'collage' | 'retouch' | 'quest' | 'metronome';

for (const kind of kinds()) {
  describe(`recommendations on the app detail (${kind})`, () => {
    let t: TestApp;
    let send: Send;
    let dev: TestUser;
    let admin: TestUser;
    const apps = {} as Record<Key, string>;
    let draft = '';
    const publicIds = () => new Set([apps.editor, apps.filters, apps.collage, apps.quest, apps.metronome]);
    const detail = async (id: string) => ok(await send('GET', `/apps/${id}`));
    /** The detail once it carries similarApps (the first read of an app only starts computing them). */
    const withSimilar = (id: string) =>
      eventually(async () => {
        const d = await detail(id);
        return Array.isArray(d.similarApps) && d;
      });

    before(async () => {
      t = await createTestApp(kind);
      send = sender(t.app);
      dev = await makeDeveloper(t.app, 'Aurora Labs');
      admin = await makeAdmin(t.infra, t.app);
      const photo = (name: string, description: string) => ({ name, description, category: 'photo-video', subcategory: null });
      apps.editor = (
        await publishApp(send, dev.token, admin.token, photo('Aurora Photo Editor', 'Edit photos: crop, exposure, colour, portrait retouching.'))
      ).id;
      apps.filters = (
        await publishApp(send, dev.token, admin.token, photo('Aurora Photo Filters', 'Photo filters and colour presets for your portrait photos.'))
      ).id;
      apps.collage = (await publishApp(send, dev.token, admin.token, photo('Aurora Photo Collage', 'Collage layouts for photos, with crop and colour.'))).id;
      apps.retouch = (
        await publishApp(send, dev.token, admin.token, photo('Aurora Photo Retouch', 'Portrait retouching for photos: crop, colour, exposure.'))
      ).id;
      apps.quest = (
        await publishApp(send, dev.token, admin.token, {
          name: 'Zebra Quest',
          description: 'Slide tiles until the zebra is whole.',
          category: 'games',
          subcategory: 'games-puzzle',
        })
      ).id;
      // nothing in common with anything: other developer, other category, its own words, nobody owns it
      const other = await makeDeveloper(t.app, 'Quietwerk');
      apps.metronome = (
        await publishApp(send, other.token, admin.token, {
          name: 'Xylo Metronome',
          description: 'Tempo ticks, bpm tapping, xylophone clicks.',
          category: 'music',
          subcategory: null,
        })
      ).id;
      draft = (await createDraft(send, dev.token, photo('Aurora Photo Editor Plus', 'Edit photos: crop, exposure, colour, portrait retouching.'))).id;

      // libraries, oldest first: editor goes with filters (3 users) and quest (2), filters with collage (2), retouch with editor (2)
      const libraries: Key[][] = [
        ['editor', 'filters', 'quest'],
        ['editor', 'filters', 'retouch'],
        ['editor', 'filters'],
        ['filters', 'collage'],
        ['collage', 'filters'],
        ['editor', 'quest', 'retouch'],
      ];
      const start = Date.now() - 100 * HOUR;
      for (const [u, library] of libraries.entries()) {
        const user = await registerUser(t.app);
        for (const [k, app] of library.entries()) await grantApp(t.infra.db, user.user.id, apps[app], { purchasedAt: new Date(start + (u * 10 + k) * HOUR) });
      }
      // removed from the store after it was got: its co-downloads are in the build, it must never be shown
      ok(await send('POST', `/developer/apps/${apps.retouch}/remove`, { token: dev.token }));
      assert.ok(await t.modules.recommendations.build({ settleMs: 0 })); // settleMs: acquisitions of the last seconds count too
      // the search engine has every public app and none of the others
      await eventually(async () => {
        const ids = ok(await send('GET', '/search?q=aurora')).items.map((i: any) => i.id);
        return ids.length === 3 && [apps.editor, apps.filters, apps.collage].every((id) => ids.includes(id));
      }, 15_000);
      t.modules.recommendations.service.onBuilt();
    });
    after(() => t?.close());

    test('the first read starts the computation; the next reads carry the apps of GET /apps/:id/recommendations', async () => {
      const first = await detail(apps.editor);
      assert.equal(first.id, apps.editor);
      assert.equal(first.similarApps, undefined, 'nothing in memory yet: the detail is not held up');
      const d = await withSimilar(apps.editor);
      const ids = d.similarApps.map((i: any) => i.id);
      assert.ok(ids.includes(apps.filters), `co-downloaded and alike: ${JSON.stringify(d.similarApps.map((i: any) => i.name))}`);
      assert.ok(ids.includes(apps.quest), 'co-downloaded, other category');
      assert.ok(!ids.includes(apps.editor), 'never the app itself');
      assert.ok(
        ids.every((id: string) => publicIds().has(id)),
        'only published apps',
      );
      assert.ok(ids.length <= 10);
      const endpoint = ok(await send('GET', `/apps/${apps.editor}/recommendations`));
      assert.deepEqual(d.similarApps, endpoint.items, 'the same summaries as the recommendations endpoint (US)');
      assert.ok(d.similarApps.every((i: any) => typeof i.name === 'string' && i.rating && typeof i.isFree === 'boolean'));
      // by bundle id too (the same detail)
      const byBundle = ok(await send('GET', `/apps/by-bundle/${d.bundleId}`));
      assert.deepEqual(byBundle.similarApps, d.similarApps);
    });

    test('every public app: never itself, never a draft or a removed app; an app with nothing alike gets []', async () => {
      for (const id of publicIds()) {
        const d = await withSimilar(id);
        const ids: string[] = d.similarApps.map((i: any) => i.id);
        assert.ok(!ids.includes(id), `${d.name} recommends itself`);
        assert.ok(!ids.includes(draft) && !ids.includes(apps.retouch), `${d.name}: ${JSON.stringify(d.similarApps.map((i: any) => i.name))}`);
        assert.ok(ids.every((x) => publicIds().has(x)));
        assert.equal(new Set(ids).size, ids.length, 'no duplicates');
      }
      assert.deepEqual((await withSimilar(apps.metronome)).similarApps, []);
      // not public: still a 404, with or without similar apps around
      expectError(await send('GET', `/apps/${draft}`), 404);
      expectError(await send('GET', `/apps/${apps.retouch}`), 404);
    });

    test('one computation per app at a time; a new build drops them; a failure never reaches the request', async () => {
      const { service } = t.modules.recommendations;
      const search = t.modules.search.service;
      const original = search.similarIds;
      let calls = 0;
      let fail = false;
      search.similarIds = function (this: typeof search, appId: string, limit?: number) {
        if (appId === apps.filters) calls++;
        if (fail) return Promise.reject(new Error('search is down'));
        return original.call(this, appId, limit);
      } as typeof search.similarIds;
      try {
        service.onBuilt();
        for (let i = 0; i < 5; i++) assert.equal(service.similarMember(apps.filters), undefined);
        const member = await eventually(async () => service.similarMember(apps.filters));
        assert.equal(calls, 1, 'five misses in a row: one computation');
        assert.equal(service.similarMember(apps.filters), member, 'held: no new computation');
        assert.equal(calls, 1);
        assert.match(member, /^"similarApps":\[.*\]$/);
        assert.deepEqual(JSON.parse(`{${member}}`).similarApps, ok(await send('GET', `/apps/${apps.filters}/recommendations`)).items);
        calls = 0; // the endpoint asked too

        // a new batch build: dropped everywhere; a failing computation leaves the detail as it was
        service.onBuilt();
        fail = true;
        const d = await detail(apps.filters);
        assert.equal(d.similarApps, undefined);
        assert.equal(d.id, apps.filters);
        await eventually(async () => calls === 1);
        await new Promise((r) => setTimeout(r, 50));
        assert.equal((await detail(apps.filters)).similarApps, undefined, 'nothing cached from a failure');
        fail = false;
        assert.ok((await withSimilar(apps.filters)).similarApps.length > 0, 'the next read tries again');
      } finally {
        search.similarIds = original;
      }
    });
  });
}
