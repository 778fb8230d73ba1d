// Recommendations: the co-download batch job (formula, determinism), a user's rows (owned apps excluded, the
// most recent apps first), cold start from the charts, similar apps, and who may read what.
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { neighborsFromLibraries } from '../src/modules/recommendations/cf.ts';
import { rebuildSignals } from '../src/modules/rankings/index.ts';
import { kinds } from './support/infra.ts';
import { createTestApp, makeAdmin, makeDeveloper, registerUser, type TestApp, type TestUser } from './support/app.ts';
import { expectError, ok, publishApp, sender, type Send } from './support/catalog.ts';
import { grantApp } from './support/library.ts';

const HOUR = 3_600_000;

for (const kind of kinds()) {
  describe(`recommendations (${kind})`, () => {
    let t: TestApp;
    let send: Send;
    let dev: TestUser;
    let admin: TestUser;
    const apps: Record<'a' | 'b' | 'c' | 'd' | 'e', string> = { a: '', b: '', c: '', d: '', e: '' };
    const users: TestUser[] = [];
    const db = () => t.infra.db;
    const neighborsTable = async () =>
      (await db().query<{ app_id: string; rank: number; other_id: string; score: number; co_users: number }>(
        'SELECT app_id, rank, other_id, score, co_users FROM app_neighbors ORDER BY app_id, rank',
      )).rows;

    before(async () => {
      t = await createTestApp(kind);
      send = sender(t.app);
      dev = await makeDeveloper(t.app);
      admin = await makeAdmin(t.infra, t.app);
      for (const [k, category] of [['a', 'photo-video'], ['b', 'photo-video'], ['c', 'photo-video'], ['d', 'games'], ['e', 'games']] as const) {
        apps[k] = (await publishApp(send, dev.token, admin.token, { name: `App ${k.toUpperCase()}`, category, subcategory: category === 'games' ? 'games-puzzle' : null })).id;
      }
      // libraries, oldest acquisition first: A and B go together (3 users), B and C (2), the rest once
      const libraries = [['a', 'b', 'c'], ['a', 'b', 'd'], ['a', 'b'], ['b', 'c']] as const;
      const start = Date.now() - 100 * HOUR;
      for (const [u, library] of libraries.entries()) {
        const user = await registerUser(t.app);
        users.push(user);
        for (const [k, app] of library.entries()) await grantApp(db(), user.user.id, apps[app], { purchasedAt: new Date(start + (u * 10 + k) * HOUR) });
      }
    });
    after(() => t?.close());

    test('the batch job: cosine of co-owners, pairs of one user dropped, the same as the reference, the same every time', async () => {
      const first = await t.modules.recommendations.build();
      assert.ok(first);
      const rows = await neighborsTable();
      const of = (x: string) => rows.filter((r) => r.app_id === apps[x as 'a']).map((r) => [r.other_id, Math.round(r.score * 1e4) / 1e4, r.co_users]);
      assert.deepEqual(of('a'), [[apps.b, Math.round((3 / Math.sqrt(3 * 4)) * 1e4) / 1e4, 3]]);
      assert.deepEqual(of('b'), [[apps.a, Math.round((3 / Math.sqrt(4 * 3)) * 1e4) / 1e4, 3], [apps.c, Math.round((2 / Math.sqrt(4 * 2)) * 1e4) / 1e4, 2]]);
      assert.deepEqual(of('d'), [], 'd was got with a and b by one user only');
      // the SQL job and the pure reference agree
      const reference = neighborsFromLibraries([['c', 'b', 'a'], ['d', 'b', 'a'], ['b', 'a'], ['c', 'b']].map((l) => l.map((x) => apps[x as 'a'])));
      for (const r of rows) assert.ok(Math.abs(reference.get(r.app_id)![r.rank - 1].score - r.score) < 1e-6);
      await t.modules.recommendations.build();
      assert.deepEqual(await neighborsTable(), rows, 'a rebuild over the same libraries is identical');
    });

    test('a user never gets an app they own; "Because you downloaded" follows their most recent apps', async () => {
      await t.modules.recommendations.build();
      t.modules.recommendations.service.onBuilt();
      const [, , third] = users; // owns a, b (b most recent)
      const body = ok(await send('GET', '/me/recommendations', { token: third.token }));
      const owned = new Set([apps.a, apps.b]);
      for (const row of body.rows) for (const item of row.items) assert.ok(!owned.has(item.id), `${row.title} recommends owned ${item.id}`);
      const because = body.rows.filter((r: any) => r.kind === 'because');
      assert.ok(because.length <= 3);
      if (because.length) assert.equal(because[0].basedOn, apps.b, 'the first row is about the most recent app');
      const liked = body.rows.find((r: any) => r.kind === 'might-like');
      assert.ok(liked, JSON.stringify(body.rows.map((r: any) => r.title)));
      assert.equal(liked.items[0].id, apps.c, 'people who got b also got c');
      // getting c takes it out at once (the cache is keyed by the library)
      await grantApp(db(), third.user.id, apps.c);
      const after = ok(await send('GET', '/me/recommendations', { token: third.token }));
      for (const row of after.rows) for (const item of row.items) assert.notEqual(item.id, apps.c);
    });

    test('cold start: an empty library gets the charts', async () => {
      const fresh = await registerUser(t.app);
      assert.deepEqual(ok(await send('GET', '/me/recommendations', { token: fresh.token })).rows, [], 'no charts yet: no rows');
      await db().query(
        `INSERT INTO app_daily_stats (app_id, country, day, first_downloads, trusted_downloads)
         SELECT unnest($1::uuid[]), 'US', current_date, 50, 50`,
        [[apps.a, apps.d]],
      );
      await rebuildSignals(db());
      assert.equal((await t.modules.rankings.compute()).status, 'done');
      t.modules.rankings.service.onComputed();
      const body = ok(await send('GET', '/me/recommendations?country=US', { token: fresh.token }));
      const popular = body.rows.find((r: any) => r.kind === 'popular');
      assert.deepEqual(new Set(popular.items.map((i: any) => i.id)), new Set([apps.a, apps.d]));
    });

    test('only signed-in users, only their own; similar apps for anyone; bad input is a 400', async () => {
      expectError(await send('GET', '/me/recommendations'), 401);
      expectError(await send('GET', '/me/recommendations?userId=' + users[0].user.id, { token: users[1].token }), 400);
      expectError(await send('GET', '/me/recommendations?country=usa', { token: users[1].token }), 400);
      const similar = ok(await send('GET', `/apps/${apps.b}/recommendations`));
      assert.ok(similar.items.every((i: any) => i.id !== apps.b));
      assert.ok(similar.items.some((i: any) => i.id === apps.a), JSON.stringify(similar.items.map((i: any) => i.name)));
      expectError(await send('GET', `/apps/${randomUUID()}/recommendations`), 404);
      expectError(await send('GET', '/apps/nope/recommendations'), 400);
      expectError(await send('GET', `/apps/${apps.b}/recommendations?limit=31`), 400);
    });
  });
}
