// Recommendations: the co-download batch job (formula, determinism), a user's precomputed rows (owned apps
// excluded, the most recent apps first, a purchase leaves them at once), cold start from the charts while a user's
// rows are computed, similar apps, and who may read what.
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { neighborsFromLibraries } from '../src/modules/recommendations/cf.ts';
import { recommendationsEvents } from '../src/modules/recommendations/events.ts';
import { rebuildSignals } from '../src/modules/rankings/index.ts';
import { eventually, kinds } from './support/infra.ts';
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
      (
        await db().query<{ app_id: string; rank: number; other_id: string; score: number; co_users: number }>(
          `SELECT n.app_id, n.rank, n.other_id, n.score, n.co_users FROM app_neighbors n JOIN recs_live l ON l.build_id = n.build_id
          ORDER BY n.app_id, n.rank`,
        )
      ).rows;

    before(async () => {
      t = await createTestApp(kind);
      send = sender(t.app);
      dev = await makeDeveloper(t.app);
      admin = await makeAdmin(t.infra, t.app);
      for (const [k, category] of [
        ['a', 'photo-video'],
        ['b', 'photo-video'],
        ['c', 'photo-video'],
        ['d', 'games'],
        ['e', 'games'],
      ] as const) {
        apps[k] = (
          await publishApp(send, dev.token, admin.token, {
            name: `App ${k.toUpperCase()}`,
            category,
            subcategory: category === 'games' ? 'games-puzzle' : null,
          })
        ).id;
      }
      // libraries, oldest acquisition first: A and B go together (3 users), B and C (2), the rest once
      const libraries = [
        ['a', 'b', 'c'],
        ['a', 'b', 'd'],
        ['a', 'b'],
        ['b', 'c'],
      ] as const;
      const start = Date.now() - 100 * HOUR;
      for (const [u, library] of libraries.entries()) {
        const user = await registerUser(t.app);
        users.push(user);
        for (const [k, app] of library.entries()) await grantApp(db(), user.user.id, apps[app], { purchasedAt: new Date(start + (u * 10 + k) * HOUR) });
      }
    });
    after(() => t?.close());

    test('the batch job: cosine of co-owners, pairs of one user dropped, the same as the reference, the same every time', async () => {
      const first = await t.modules.recommendations.build({ settleMs: 0 });
      assert.equal(first?.kind, 'full');
      assert.equal(first?.reason, 'first');
      const rows = await neighborsTable();
      const of = (x: string) => rows.filter((r) => r.app_id === apps[x as 'a']).map((r) => [r.other_id, Math.round(r.score * 1e4) / 1e4, r.co_users]);
      assert.deepEqual(of('a'), [[apps.b, Math.round((3 / Math.sqrt(3 * 4)) * 1e4) / 1e4, 3]]);
      assert.deepEqual(of('b'), [
        [apps.a, Math.round((3 / Math.sqrt(4 * 3)) * 1e4) / 1e4, 3],
        [apps.c, Math.round((2 / Math.sqrt(4 * 2)) * 1e4) / 1e4, 2],
      ]);
      assert.deepEqual(of('d'), [], 'd was got with a and b by one user only');
      // the SQL job and the pure reference agree
      const reference = neighborsFromLibraries(
        [
          ['c', 'b', 'a'],
          ['d', 'b', 'a'],
          ['b', 'a'],
          ['c', 'b'],
        ].map((l) => l.map((x) => apps[x as 'a'])),
      );
      for (const r of rows) assert.ok(Math.abs(reference.get(r.app_id)![r.rank - 1].score - r.score) < 1e-6);
      assert.equal((await t.modules.recommendations.build({ full: true, settleMs: 0 }))?.reason, 'asked');
      assert.deepEqual(await neighborsTable(), rows, 'a rebuild over the same libraries is identical');
      const unchanged = await t.modules.recommendations.build({ settleMs: 0 });
      assert.deepEqual([unchanged?.kind, unchanged?.acquisitions], ['incremental', 0], 'nothing new: nothing to fold in');
      assert.deepEqual(await neighborsTable(), rows);
      const sets = await db().query<{ n: number }>('SELECT count(DISTINCT build_id)::int AS n FROM app_neighbors');
      assert.equal(sets.rows[0].n, 1, 'the replaced set is dropped');
    });

    test('incremental: new acquisitions are folded into both sides as a full build would; a revocation brings a full build', async () => {
      // e is new: the first user gets it beside a, b and c, the fourth beside b and c
      for (const user of [users[0], users[3]]) await grantApp(db(), user.user.id, apps.e);
      const inc = await t.modules.recommendations.build({ settleMs: 0 });
      assert.deepEqual([inc?.kind, inc?.acquisitions, inc?.apps], ['incremental', 2, 4]);
      const incremental = await neighborsTable();
      const full = await t.modules.recommendations.build({ full: true, settleMs: 0 });
      assert.equal(full?.kind, 'full');
      const rebuilt = await neighborsTable();
      // here the incremental lists are what a full build gives (build.ts says when they may lag until the daily one)
      const rounded = (rows: typeof rebuilt) => rows.map((r) => [r.app_id, r.rank, r.other_id, r.co_users, Math.round(r.score * 1e5)]);
      assert.deepEqual(rounded(incremental), rounded(rebuilt));
      const of = (x: string) => rebuilt.filter((r) => r.app_id === apps[x as 'a']).map((r) => r.other_id);
      assert.deepEqual(of('e'), [apps.c, apps.b], 'e is new: c (2 of 2 owners), then b (2 of 4)');
      assert.ok(of('b').includes(apps.e) && of('c').includes(apps.e), 'and the other side of each pair knows it');
      assert.ok(!of('a').includes(apps.e), 'a and e: one user');

      // a refund takes the app out of the library: the next build starts from scratch
      const tx = await grantApp(db(), (await registerUser(t.app)).user.id, apps.d);
      await db().query('UPDATE transactions SET revocation_date = now(), revocation_reason = 0 WHERE id = $1', [tx]);
      const after = await t.modules.recommendations.build({ settleMs: 0 });
      assert.deepEqual([after?.kind, after?.reason], ['full', 'revocations']);
      assert.deepEqual(await neighborsTable(), rebuilt);
    });

    test('a user never gets an app they own; "Because you downloaded" follows their most recent apps', async () => {
      await t.modules.recommendations.build({ settleMs: 0 });
      t.modules.recommendations.service.onBuilt();
      await t.modules.search.service.start();
      // the precompute job: similar lists, then the rows of every signed-in user
      const pass = await t.modules.recommendations.precompute({ scan: true });
      assert.ok(pass.users.computed >= users.length, JSON.stringify(pass));
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
      // getting c in the store takes it out at once, before any computation
      const bought = await send('POST', '/purchases', { token: third.token, body: { appId: apps.c }, headers: { 'idempotency-key': randomUUID() } });
      assert.equal(bought.statusCode, 201, bought.body);
      const after = ok(await send('GET', '/me/recommendations', { token: third.token }));
      for (const row of after.rows) for (const item of row.items) assert.notEqual(item.id, apps.c);
      // the rows are computed again from the library that has it
      const stale = await db().query<{ stale: boolean; acquired: string[] }>('SELECT stale, acquired FROM recs_user_rows WHERE user_id = $1', [third.user.id]);
      assert.deepEqual(stale.rows[0], { stale: true, acquired: [apps.c] });
      await t.modules.recommendations.precompute();
      const fresh = await db().query<{ stale: boolean; acquired: string[]; rows: { owned: string[] } }>(
        'SELECT stale, acquired, rows FROM recs_user_rows WHERE user_id = $1',
        [third.user.id],
      );
      assert.deepEqual([fresh.rows[0].stale, fresh.rows[0].acquired, fresh.rows[0].rows.owned[0]], [false, [], apps.c]);
      for (const row of ok(await send('GET', '/me/recommendations', { token: third.token })).rows)
        for (const item of row.items) assert.ok(![apps.a, apps.b, apps.c].includes(item.id));
    });

    test('a purchase goes through when the rows cannot be marked; the library event marks them', async () => {
      const { service } = t.modules.recommendations;
      const [first] = users; // owns a, b, c and e; has rows from the precompute
      const noteAcquired = service.noteAcquired;
      service.noteAcquired = () => Promise.reject(new Error('database hiccup'));
      try {
        const bought = await send('POST', '/purchases', { token: first.token, body: { appId: apps.d }, headers: { 'idempotency-key': randomUUID() } });
        assert.equal(bought.statusCode, 201, bought.body);
      } finally {
        service.noteAcquired = noteAcquired;
      }
      await eventually(async () => {
        const r = await db().query<{ stale: boolean; acquired: string[] }>('SELECT stale, acquired FROM recs_user_rows WHERE user_id = $1', [first.user.id]);
        return r.rows[0]?.stale === true && r.rows[0].acquired.includes(apps.d);
      });
      for (const row of ok(await send('GET', '/me/recommendations', { token: first.token })).rows)
        for (const item of row.items) assert.notEqual(item.id, apps.d);
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

    test('a signed-in user without stored rows gets the cold-start rows at once, theirs are computed in the background', async () => {
      const late = await registerUser(t.app);
      await grantApp(db(), late.user.id, apps.a, { purchasedAt: new Date(Date.now() - HOUR) });
      await grantApp(db(), late.user.id, apps.b);
      const first = ok(await send('GET', '/me/recommendations', { token: late.token }));
      assert.ok(first.rows.length && first.rows.every((r: any) => ['popular', 'trending'].includes(r.kind)), 'the charts, at once');
      await t.modules.recommendations.service.settled();
      const theirs = ok(await send('GET', '/me/recommendations', { token: late.token }));
      const kinds = theirs.rows.map((r: any) => r.kind);
      assert.ok(kinds.includes('might-like') || kinds.includes('because'), JSON.stringify(kinds));
      for (const row of theirs.rows) for (const item of row.items) assert.ok(![apps.a, apps.b].includes(item.id));

      // signed out everywhere: the next scan drops the rows
      assert.equal((await send('POST', '/auth/logout', { token: late.token })).statusCode, 204);
      await t.modules.recommendations.precompute({ scan: true });
      const left = await db().query('SELECT 1 FROM recs_user_rows WHERE user_id = $1', [late.user.id]);
      assert.equal(left.rows.length, 0);
    });

    test('only signed-in users, only their own; similar apps for anyone; bad input is a 400', async () => {
      expectError(await send('GET', '/me/recommendations'), 401);
      expectError(await send('GET', '/me/recommendations?userId=' + users[0].user.id, { token: users[1].token }), 400);
      expectError(await send('GET', '/me/recommendations?country=usa', { token: users[1].token }), 400);
      const similar = ok(await send('GET', `/apps/${apps.b}/recommendations`));
      assert.ok(similar.items.every((i: any) => i.id !== apps.b));
      assert.ok(
        similar.items.some((i: any) => i.id === apps.a),
        JSON.stringify(similar.items.map((i: any) => i.name)),
      );
      expectError(await send('GET', `/apps/${randomUUID()}/recommendations`), 404);
      expectError(await send('GET', '/apps/nope/recommendations'), 400);
      expectError(await send('GET', `/apps/${apps.b}/recommendations?limit=31`), 400);
    });

    test("a user's answer is held until their rows change (on any process), the chart run moves on or an app it shows changes", async () => {
      const user = users[1]; // owns a, b and d; rows from the precompute
      const read = async () => ok(await send('GET', '/me/recommendations', { token: user.token }));
      const rowReads = async (fn: () => Promise<unknown>) => {
        const pool = db();
        const query = pool.query;
        let n = 0;
        pool.query = ((sql: string, params?: unknown[]) => {
          if (sql.includes('recs_user_rows')) n++;
          return query.call(pool, sql, params);
        }) as typeof pool.query;
        try {
          await fn();
        } finally {
          pool.query = query;
        }
        return n;
      };
      const first = await read();
      assert.ok(
        first.rows.some((r: any) => r.kind === 'might-like'),
        JSON.stringify(first.rows.map((r: any) => r.kind)),
      );
      assert.equal(await rowReads(async () => assert.deepEqual(await read(), first)), 0, 'held: the rows are not read again');

      // an app it shows changes (a price, a removal: its summary is invalidated): rendered again
      const shown = first.rows.flatMap((r: any) => r.items.map((i: any) => i.id));
      t.modules.search.service.summaries.invalidate(shown[0]);
      assert.equal(await rowReads(async () => assert.deepEqual(await read(), first)), 1);
      assert.equal(await rowReads(read), 0);

      // another process stores new rows: its recs.rows_changed reaches this one
      await db().tx(async (q) => {
        await q.query(`UPDATE recs_user_rows SET rows = jsonb_set(rows, '{mightLike}', '[]') WHERE user_id = $1`, [user.user.id]);
        await recommendationsEvents.record(q, 'recs.rows_changed', { userIds: [user.user.id] });
      });
      t.infra.bus.nudge();
      await eventually(async () => !(await read()).rows.some((r: any) => r.kind === 'might-like'));

      // a new chart run: the "Popular in" rows follow it
      await db().query(
        `INSERT INTO app_daily_stats (app_id, country, day, first_downloads, trusted_downloads) VALUES ($1, 'US', current_date, 500, 500)
                        ON CONFLICT (app_id, country, day) DO UPDATE SET first_downloads = 500, trusted_downloads = 500`,
        [apps.e],
      );
      await rebuildSignals(db());
      assert.equal((await t.modules.rankings.compute()).status, 'done');
      t.modules.rankings.service.onComputed();
      assert.equal(await rowReads(read), 1);
    });
  });
}
