// Similar apps on the public app detail ("similarApps"): the batch job's stored lists, read (never computed) on the
// request path; the items are those of GET /apps/:id/recommendations (US), never the app itself, only published
// apps; a new app's list comes from the job, a removed app leaves the lists, a failing or stalled read leaves the
// member out of a detail that is still sent.
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
    before(async () => {
      t = await createTestApp(kind);
      send = sender(t.app);
      void t.modules.search.service.start(); // what listening does; the index follows every change after
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
        return [apps.editor, apps.filters, apps.collage].every((id) => ids.includes(id)) && !ids.includes(apps.retouch) && !ids.includes(draft);
      }, 15_000);
      await t.modules.search.service.start();
      // the precompute job (workers run it every minute): every public app's list, stored
      const pass = await t.modules.recommendations.precompute({ scan: true });
      assert.equal(pass.similar.skipped, undefined);
    });
    after(() => t?.close());

    test('the first read carries the stored list: the apps of GET /apps/:id/recommendations, nothing computed for it', async () => {
      const search = t.modules.search.service;
      const original = search.similarIds;
      let asked = 0;
      search.similarIds = function (this: typeof search, ...args: Parameters<typeof original>) {
        asked++;
        return original.apply(this, args);
      } as typeof search.similarIds;
      try {
        t.modules.recommendations.service.forgetSimilar();
        const d = await detail(apps.editor);
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
        // by bundle id too (the same detail), and again from memory
        const byBundle = ok(await send('GET', `/apps/by-bundle/${d.bundleId}`));
        assert.deepEqual(byBundle.similarApps, d.similarApps);
        assert.deepEqual((await detail(apps.editor)).similarApps, d.similarApps);
        assert.equal(asked, 0, "read as stored data: the search engine is not asked on a request's behalf");
      } finally {
        search.similarIds = original;
      }
    });

    test('every public app: never itself, never a draft or a removed app; an app with nothing alike gets []', async () => {
      for (const id of publicIds()) {
        const d = await detail(id);
        const ids: string[] = d.similarApps.map((i: any) => i.id);
        assert.ok(!ids.includes(id), `${d.name} recommends itself`);
        assert.ok(!ids.includes(draft) && !ids.includes(apps.retouch), `${d.name}: ${JSON.stringify(d.similarApps.map((i: any) => i.name))}`);
        assert.ok(ids.every((x) => publicIds().has(x)));
        assert.equal(new Set(ids).size, ids.length, 'no duplicates');
      }
      assert.deepEqual((await detail(apps.metronome)).similarApps, []);
      // not public: still a 404, with or without similar apps around
      expectError(await send('GET', `/apps/${draft}`), 404);
      expectError(await send('GET', `/apps/${apps.retouch}`), 404);
      const rows = await t.infra.db.query<{ app_id: string }>('SELECT app_id FROM recs_similar');
      assert.deepEqual(new Set(rows.rows.map((r) => r.app_id)), publicIds(), 'a stored list for every public app, none for the others');
    });

    test('a new app gets its list from the job; a removed app leaves the lists; a failing or stalled read leaves the member out', async () => {
      const { service } = t.modules.recommendations;
      const fresh = (
        await publishApp(send, dev.token, admin.token, {
          name: 'Aurora Photo Studio',
          description: 'Studio portrait photos: crop, colour, exposure, retouching.',
          category: 'photo-video',
          subcategory: null,
        })
      ).id;
      assert.deepEqual((await detail(fresh)).similarApps, [], 'not computed yet: present and empty, the detail not held up');
      // app.changed gives it a row to compute
      await eventually(async () => (await t.infra.db.query('SELECT 1 FROM recs_similar WHERE app_id = $1 AND stale', [fresh])).rows.length === 1);
      await eventually(async () => {
        const ids = ok(await send('GET', '/search?q=studio')).items.map((i: any) => i.id);
        return ids.includes(fresh);
      }, 15_000);
      const pass = await t.modules.recommendations.precompute();
      service.forgetSimilar([fresh]); // what the short hold of an empty list does within a minute
      const computed = await t.infra.db.query<{ ids: string[]; stale: boolean; pending: boolean }>(
        `SELECT ids, stale, computed_at = '-infinity' AS pending FROM recs_similar WHERE app_id = $1`,
        [fresh],
      );
      assert.deepEqual([computed.rows[0].stale, computed.rows[0].pending], [false, false], 'computed by the pass');
      const shown = (await detail(fresh)).similarApps;
      assert.deepEqual(shown, ok(await send('GET', `/apps/${fresh}/recommendations`)).items);
      assert.deepEqual(
        shown.map((i: any) => i.id),
        computed.rows[0].ids.slice(0, 10),
      );

      // removed: gone from every list it was in, before any list is computed again
      const listed: string[] = (await detail(apps.editor)).similarApps.map((i: any) => i.id);
      const removed = [apps.collage, apps.quest, apps.filters].find((id) => listed.includes(id))!;
      assert.ok(removed, JSON.stringify(listed));
      ok(await send('POST', `/developer/apps/${removed}/remove`, { token: dev.token }));
      await eventually(async () => !(await detail(apps.editor)).similarApps.some((i: any) => i.id === removed));
      await t.modules.recommendations.precompute({ scan: true });
      const stored = await t.infra.db.query('SELECT 1 FROM recs_similar WHERE app_id = $1', [removed]);
      assert.equal(stored.rows.length, 0, 'its own list is deleted');

      // the database fails, then stalls: the detail is sent without the member, never held up for long
      const db = t.infra.db;
      const query = db.query;
      let mode: 'fail' | 'stall' = 'fail';
      db.query = function (this: typeof db, sql: string, ...rest: unknown[]) {
        if (typeof sql === 'string' && sql.includes('FROM recs_similar')) {
          return mode === 'fail' ? Promise.reject(new Error('connection lost')) : new Promise(() => {});
        }
        return (query as (...a: unknown[]) => unknown).call(this, sql, ...rest);
      } as typeof db.query;
      try {
        service.forgetSimilar();
        const failed = await detail(apps.editor);
        assert.equal(failed.id, apps.editor);
        assert.equal(failed.similarApps, undefined);
        mode = 'stall';
        service.forgetSimilar();
        const started = Date.now();
        const stalled = await detail(apps.metronome);
        assert.equal(stalled.similarApps, undefined);
        assert.ok(Date.now() - started < 5_000, 'sent without waiting for the stalled read');
      } finally {
        db.query = query;
      }
      service.forgetSimilar();
      assert.ok((await detail(apps.editor)).similarApps.length > 0, 'the next read tries again');
    });
  });
}
