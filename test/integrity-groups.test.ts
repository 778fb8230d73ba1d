// Group-level integrity end to end (issue 20): reviews that each look genuine (aged accounts that own the app,
// their own wording) are decided with their group: a ring paraphrasing one message across a developer's apps,
// and a fresh-account farm, are caught as they arrive and the group's earlier members revised with the reason; the
// periodic pass holds a dense block the review-by-review detection cannot see, and restores a group once
// moderators find its members genuine. Genuine reviews of the same app stay published.
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createModules } from '../src/app.ts';
import { eventually, kinds } from './support/infra.ts';
import { createTestApp, makeAdmin, makeDeveloper, registerUser, type TestApp, type TestUser } from './support/app.ts';
import { LIMITS, ok, publishApp, sender, type Send } from './support/catalog.ts';
import { grantApp } from './support/library.ts';

const DAY_MS = 86_400_000;
/** One brief ("fast, simple, beautiful, recommend to everyone"), paraphrased: synonyms swapped, sentences shuffled. */
const PARAPHRASES = [
  'Honestly the best app I have tried this year. It is simple, beautiful and fast. Highly recommend it to anyone, you will not regret downloading it!',
  'You will not regret installing it. It is easy, gorgeous and quick. Truly the greatest application I tried this year, I suggest it to everybody!',
  'Simple, stunning and speedy. The finest app I have tried all year, definitely recommend it to everyone. No regret downloading it.',
  'I highly suggest it to anybody. Quick, easy and lovely design. Best application I tried this year and I do not regret installing it at all.',
  'It is fast, simple and beautiful. Absolutely the best app I tried this year. Recommend to everybody, you will not regret downloading!',
  'Gorgeous, effortless and snappy. I recommend it to everyone, honestly the greatest app of the year. Will not regret getting it.',
];
/** Own words: a text per (author, app) from disjoint details, so no two share a gist. */
const THINGS = [
  'budget spreadsheet',
  'violin practice',
  'sourdough timer',
  'kayak routes',
  'chess openings',
  'garden watering',
  'bus timetable',
  'tax receipts',
];
const PLACES = ['Lisbon', 'the cabin', 'night shifts', 'my bakery', 'university', 'the marina', 'choir rehearsals', 'a warehouse'];
const QUIRKS = ['colour labels', 'haptic feedback', 'CSV import', 'siri shortcut', 'lock screen widget', 'landscape mode', 'font scaling', 'undo history'];
const ownWords = (k: number, j: number) =>
  `Mostly for ${THINGS[k % 8]} around ${PLACES[(k + 3 * j) % 8]}; the ${QUIRKS[(k + 5 * j) % 8]} matters to me. Version ${j + 2}.${k} noted.`;
const GENUINE = [
  'The widget on my iPad mini shows the next three alarms, which is all I wanted. Sync with the Mac app took a minute the first time.',
  'Crashed twice after the 3.1 update when exporting a PDF with images, otherwise solid. Support answered my email within a day.',
  'I track my running club times with it. Would love an Apple Watch complication, the current one only shows the last lap.',
  'Dark mode is nicely done but the font in the editor is too small on my iPhone SE and there is no setting to change it.',
  'Bought the upgrade for the offline maps. They work in the mountains with no signal, which saved our hike last weekend.',
  'Search finds notes by words inside photos, which surprised me. Tags are clumsy though, you cannot rename one everywhere at once.',
];

for (const kind of kinds()) {
  describe(`integrity groups (${kind})`, () => {
    let t: TestApp;
    let send: Send;
    let dev: TestUser;
    let admin: TestUser;
    let now = Date.now();

    const write = (token: string, appId: string, body: object) => send('PUT', `/apps/${appId}/reviews/mine`, { token, body });
    const status = async (token: string, appId: string) =>
      eventually(async () => {
        const r = ok(await send('GET', `/apps/${appId}/reviews/mine`, { token }));
        return r.status === 'pending' ? null : r;
      }, 15_000);
    /** Users whose accounts were opened `days` ago and who own `apps`. */
    const agedOwners = async (n: number, days: number, apps: string[]) => {
      const users = await Promise.all(Array.from({ length: n }, () => registerUser(t.app)));
      for (const u of users) {
        await t.infra.db.query(`UPDATE users SET created_at = now() - make_interval(days => $2) WHERE id = $1`, [u.user.id, days]);
        for (const app of apps) await grantApp(t.infra.db, u.user.id, app);
      }
      return users;
    };
    const signalsOf = async (reviewId: string) =>
      ok(await send('GET', `/admin/reviews/${reviewId}`, { token: admin.token })).integrity.signals as {
        name: string;
        reason: string;
        decisive?: string;
      }[];

    before(async () => {
      t = await createTestApp(kind, { config: { limits: LIMITS }, modules: (infra) => createModules(infra.config, infra, { clock: () => new Date(now) }) });
      send = sender(t.app);
      dev = await makeDeveloper(t.app, 'Group Labs');
      admin = await makeAdmin(t.infra, t.app);
    });
    after(() => t?.close());

    test("a ring of aged owners paraphrasing one message across a developer's apps is caught; earlier members are revised with the reason", async () => {
      const apps = [];
      for (const name of ['Ring One', 'Ring Two', 'Ring Three']) apps.push(await publishApp(send, dev.token, admin.token, { name }));
      const ring = await agedOwners(
        6,
        400,
        apps.map((a) => a.id),
      );
      const ids: string[] = [];
      for (const [k, u] of ring.entries()) {
        for (const [j, app] of apps.entries()) {
          ids.push(ok(await write(u.token, app.id, { rating: 5, title: 'Must have', body: PARAPHRASES[(k + j) % PARAPHRASES.length] }), 201).id);
          now += 20 * 60_000;
        }
      }
      const decided = [];
      for (const u of ring) for (const app of apps) decided.push((await status(u.token, app.id)).status);
      const caught = decided.filter((s) => s !== 'approved').length;
      assert.ok(caught >= decided.length - 1, `caught ${caught} of ${decided.length}: ${decided.join(',')}`);
      assert.ok(decided.includes('rejected'), 'a ring across apps is high-confidence fraud');
      const last = (await signalsOf(ids.at(-1)!)).find((s) => s.name === 'group')!;
      assert.ok(last.decisive, JSON.stringify(last));
      assert.match(last.reason, /same-gist|lockstep/);
      const { rows: groups } = await t.infra.db.query<{ kind: string; authors: number }>(
        `SELECT kind, authors FROM integrity_groups WHERE found_by = 'incremental'`,
      );
      assert.ok(
        groups.some((g) => g.authors >= 4),
        JSON.stringify(groups),
      );
      // the first reviews looked innocent when scored: they were revised, each with its reason
      const { rows: revised } = await t.infra.db.query<{ reason: string; to_status: string }>(
        'SELECT reason, to_status FROM integrity_revisions WHERE review_id = ANY($1::uuid[])',
        [ids.slice(0, 3)],
      );
      assert.ok(revised.length >= 1, 'the earliest members were revisited');
      for (const r of revised) assert.match(r.reason, /group|burst|copy|re-used/);
    });

    test('genuine owners of one app writing their own reviews are all approved (no group)', async () => {
      const app = await publishApp(send, dev.token, admin.token, { name: 'Genuine Notes' });
      const users = await agedOwners(GENUINE.length, 300, [app.id]);
      for (const [i, u] of users.entries()) {
        ok(await write(u.token, app.id, { rating: 5, title: 'Good', body: GENUINE[i] }), 201);
        now += 3 * 3_600_000;
      }
      for (const u of users) assert.equal((await status(u.token, app.id)).status, 'approved');
    });

    test('a fresh-account farm with templated text on one app is rejected outright', async () => {
      const app = await publishApp(send, dev.token, admin.token, { name: 'Farm Target' });
      const farm = await Promise.all(Array.from({ length: 14 }, () => registerUser(t.app)));
      for (const [i, u] of farm.entries()) {
        ok(await write(u.token, app.id, { rating: 5, title: 'Amazing', body: PARAPHRASES[i % PARAPHRASES.length] }), 201);
        now += 2 * 3_600_000;
      }
      const decided = [];
      for (const u of farm) decided.push((await status(u.token, app.id)).status);
      assert.ok(decided.filter((s) => s === 'rejected').length >= farm.length / 2, decided.join(','));
      assert.equal(decided.filter((s) => s === 'approved').length, 0, decided.join(','));
    });

    test('the periodic pass holds a dense block of accounts × apps spread over weeks, and restores a group moderators found genuine', async () => {
      // 8 aged owners, each reviewing the same 4 apps (of different developers) a week apart, in their own words:
      // no gist, no lockstep within days, no burst; only the block shows
      const devs = [dev, await makeDeveloper(t.app, 'Other A'), await makeDeveloper(t.app, 'Other B'), await makeDeveloper(t.app, 'Other C')];
      const apps = [];
      for (const [i, d] of devs.entries()) apps.push(await publishApp(send, d.token, admin.token, { name: `Block ${i}` }));
      const block = await agedOwners(
        8,
        500,
        apps.map((a) => a.id),
      );
      const start = now;
      const ids: string[] = [];
      for (const [j, app] of apps.entries()) {
        for (const [k, u] of block.entries()) {
          now = start + j * 8 * DAY_MS + k * 3_600_000;
          ids.push(ok(await write(u.token, app.id, { rating: 5, title: `Block ${j}`, body: ownWords(k, j) }), 201).id);
        }
      }
      for (const u of block) for (const app of apps) await status(u.token, app.id);
      const before = await t.infra.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM reviews WHERE id = ANY($1::uuid[]) AND status = 'approved'`, [ids]);
      const report = await t.modules.integrity.revise(new Date(now));
      assert.ok(report.blocks >= 1, JSON.stringify(report));
      const after = await t.infra.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM reviews WHERE id = ANY($1::uuid[]) AND status = 'approved'`, [ids]);
      assert.ok(after.rows[0].n < before.rows[0].n, `approved before ${before.rows[0].n}, after ${after.rows[0].n}`);
      assert.equal(after.rows[0].n, 0, 'every member of the block is held');
      const { rows: revised } = await t.infra.db.query<{ reason: string }>(`SELECT reason FROM integrity_revisions WHERE found_by = 'periodic'`);
      assert.ok(
        revised.some((r) => /dense block: 8 accounts × 4 apps/.test(r.reason)),
        JSON.stringify(revised.slice(0, 2)),
      );

      // moderators look at two members and find them genuine: the rest of the block is restored
      for (const id of ids.slice(0, 2)) ok(await send('POST', `/admin/reviews/${id}/decision`, { token: admin.token, body: { decision: 'approve' } }));
      const again = await t.modules.integrity.revise(new Date(now));
      assert.ok(again.restored >= ids.length - 2 - 1, JSON.stringify(again));
      const restored = await t.infra.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM reviews WHERE id = ANY($1::uuid[]) AND status = 'approved'`, [
        ids,
      ]);
      assert.ok(restored.rows[0].n >= ids.length - 1, `approved after the restore: ${restored.rows[0].n}`);
    });
  });
}
