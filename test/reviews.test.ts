// Reviews: writing and editing one's review, validation, visibility (pending for the author only), sorts and
// cursors, the verified badge, helpful votes and reports under concurrency, developer responses, and the
// rating summary kept exact through verdicts. The integrity module does not run here: tests decide with
// applyVerdict inside a transaction, as integrity and moderators do.
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { seed } from '../src/seed/index.ts';
import { PRIOR_MEAN, PRIOR_WEIGHT, REPORT_HOLD_THRESHOLD, type Verdict } from '../src/modules/reviews/index.ts';
import { createModules } from '../src/app.ts';
import { createTestApp, makeAdmin, makeDeveloper, registerUser, type TestApp, type TestUser } from './support/app.ts';
import { LIMITS, createDraft, expectError, ok, publishApp, sender, type Send } from './support/catalog.ts';
import { grantApp } from './support/library.ts';
import { eventually, kinds } from './support/infra.ts';

const review = (over: Record<string, unknown> = {}) => ({ rating: 4, title: 'Does the job', body: 'Simple, quick, and it has not crashed once.', ...over });
const round2 = (x: number) => Math.round(x * 100) / 100;

for (const kind of kinds()) {
  describe(`reviews (${kind})`, () => {
    let t: TestApp;
    let send: Send;
    let dev: TestUser;
    let otherDev: TestUser;
    let admin: TestUser;
    let app: { id: string; bundleId: string };

    const db = () => t.infra.db;
    const user = (displayName = 'Reviewer') => registerUser(t.app, { displayName });
    const write = (token: string, appId: string, body: unknown) => send('PUT', `/apps/${appId}/reviews/mine`, { token, body });
    const list = (appId: string, query = '', token?: string) => send('GET', `/apps/${appId}/reviews${query}`, { token });
    const ratings = async (appId: string) => ok(await send('GET', `/apps/${appId}/ratings`));
    const verdict = (v: Partial<Verdict> & { reviewId: string }) =>
      db().tx((q) => t.modules.reviews.applyVerdict(q, { revision: null, status: 'approved', by: 'moderator', ...v }));
    /** A new user's review of the app, approved; returns the review and its author. */
    const approvedReview = async (appId: string, over: Record<string, unknown> = {}, name = 'Reviewer') => {
      const author = await user(name);
      const r = ok(await write(author.token, appId, review(over)), 201);
      assert.equal(await verdict({ reviewId: r.id }), true);
      return { author, review: r };
    };
    /** A user whose account is `days` old (created_at backdated) and who got the app in Production: a trusted voter or reporter. */
    const agedOwner = async (appId: string, days: number, name = 'Owner') => {
      const u = await user(name);
      await db().query(`UPDATE users SET created_at = now() - make_interval(days => $2) WHERE id = $1`, [u.user.id, days]);
      await grantApp(db(), u.user.id, appId);
      return u;
    };
    const events = async (aggregateId: string, type?: string) =>
      (
        await db().query<{ type: string; payload: any }>(
          `SELECT type, payload FROM outbox WHERE aggregate_id = $1 ${type ? 'AND type = $2' : ''} ORDER BY id`,
          type ? [aggregateId, type] : [aggregateId],
        )
      ).rows;
    /** The summary table checked against a recount of the approved reviews, and apps' mirror of it (once the mirror job ran). */
    const assertSummaryExact = async (appId: string) => {
      await t.modules.reviews.mirrorRatings();
      const { rows } = await db().query<{ ok: boolean; count: number; average: number; rating_count: number; rating_average: number }>(
        `SELECT coalesce(s.count, 0) = x.n AND coalesce(s.sum, 0) = x.total
                AND coalesce(s.c1, 0) = x.c1 AND coalesce(s.c2, 0) = x.c2 AND coalesce(s.c3, 0) = x.c3 AND coalesce(s.c4, 0) = x.c4 AND coalesce(s.c5, 0) = x.c5 AS ok,
                x.n::int AS count, a.rating_count, a.rating_average
           FROM apps a
           LEFT JOIN app_rating_summaries s ON s.app_id = a.id
           CROSS JOIN LATERAL (
             SELECT count(*) AS n, coalesce(sum(rating), 0) AS total,
                    count(*) FILTER (WHERE rating = 1) AS c1, count(*) FILTER (WHERE rating = 2) AS c2, count(*) FILTER (WHERE rating = 3) AS c3,
                    count(*) FILTER (WHERE rating = 4) AS c4, count(*) FILTER (WHERE rating = 5) AS c5
               FROM reviews WHERE app_id = a.id AND status = 'approved') x
          WHERE a.id = $1`,
        [appId],
      );
      assert.ok(rows[0].ok, 'app_rating_summaries matches a recount of the approved reviews');
      const summary = await ratings(appId);
      assert.equal(rows[0].rating_count, summary.count);
      assert.equal(round2(rows[0].rating_average), summary.average);
      return summary;
    };

    before(async () => {
      // integrity is tested on its own (test/integrity.test.ts): here statuses change only through applyVerdict
      t = await createTestApp(kind, { config: { limits: LIMITS }, modules: (infra) => createModules(infra.config, infra, { scoreReviews: false }) });
      send = sender(t.app);
      dev = await makeDeveloper(t.app, 'Review Labs');
      otherDev = await makeDeveloper(t.app, 'Rival Labs');
      admin = await makeAdmin(t.infra, t.app);
      app = await publishApp(send, dev.token, admin.token, { name: 'Reviewed Notes' });
    });
    after(async () => {
      await t?.close();
    });

    // ---------------------------------------------------------------- writing one's review

    test('the first PUT creates (201, pending), a change edits (200, new revision), the same text changes nothing', async () => {
      const alice = await user('Alice');
      const created = ok(await write(alice.token, app.id, review()), 201);
      assert.equal(created.status, 'pending');
      assert.equal(created.revision, 1);
      assert.equal(created.edited, false);
      assert.equal(created.appId, app.id);
      assert.equal(created.appVersion, '1.0');
      assert.equal(created.verified, false);
      assert.equal(created.developerResponse, null);
      assert.deepEqual(ok(await send('GET', `/apps/${app.id}/reviews/mine`, { token: alice.token })), created);

      const [submitted] = await events(created.id, 'review.created');
      assert.equal(submitted.payload.reviewId, created.id);
      assert.equal(submitted.payload.userId, alice.user.id);
      assert.equal(submitted.payload.developerId, dev.user.developer!.id);
      assert.equal(submitted.payload.revision, 1);
      assert.equal(submitted.payload.appVersion, '1.0');
      assert.equal(submitted.payload.createdAt, created.createdAt);
      assert.equal(submitted.payload.writtenAt, created.createdAt);
      assert.equal(submitted.payload.accountCreatedAt, new Date(alice.user.createdAt).toISOString());

      const same = ok(await write(alice.token, app.id, review({ title: '  Does the job  ' })), 200); // trimmed: the same text
      assert.equal(same.revision, 1);
      assert.equal((await events(created.id, 'review.updated')).length, 0);

      const edited = ok(await write(alice.token, app.id, review({ rating: 2, body: 'It crashed twice since the update.' })), 200);
      assert.equal(edited.id, created.id);
      assert.equal(edited.revision, 2);
      assert.equal(edited.edited, true);
      assert.equal(edited.rating, 2);
      assert.equal(edited.status, 'pending');
      assert.equal(edited.createdAt, created.createdAt);
      const [updated] = await events(created.id, 'review.updated');
      assert.equal(updated.payload.revision, 2);
      assert.equal(updated.payload.rating, 2);
      assert.equal(updated.payload.body, 'It crashed twice since the update.');
      assert.equal(updated.payload.createdAt, created.createdAt);
    });

    test('two concurrent first writes of one user make one review', async () => {
      const bob = await user('Bob');
      const answers = await Promise.all([
        write(bob.token, app.id, review({ rating: 5 })),
        write(bob.token, app.id, review({ rating: 3 })),
        write(bob.token, app.id, review({ rating: 1 })),
      ]);
      assert.deepEqual(answers.map((a) => a.statusCode).sort(), [200, 200, 201]);
      const { rows } = await db().query<{ n: number }>('SELECT count(*)::int AS n FROM reviews WHERE user_id = $1', [bob.user.id]);
      assert.equal(rows[0].n, 1);
      assert.equal(new Set(answers.map((a) => a.json().id)).size, 1);
    });

    test('bad input is refused with 4xx and the error shape', async () => {
      const carol = await user('Carol');
      for (const bad of [
        review({ rating: 0 }),
        review({ rating: 6 }),
        review({ rating: 3.5 }),
        review({ rating: 'abc' }),
        review({ rating: '4' }),
        review({ rating: null }),
        { title: 'No rating', body: 'Missing the stars.' },
        { rating: 3, body: 'No title' },
        { rating: 3, title: 'No body' },
        review({ title: '' }),
        review({ title: '   ' }),
        review({ title: 'x'.repeat(101) }),
        review({ title: 'two\nlines' }),
        review({ title: 'nul\u0000here' }),
        review({ body: '' }),
        review({ body: ' \n\t ' }),
        review({ body: 'x'.repeat(4001) }),
        review({ body: 'bell\u0007' }),
        review({ stars: 5 }),
      ]) {
        expectError(await write(carol.token, app.id, bad), 400);
      }
      expectError(await write(carol.token, app.id, review({ body: 'x'.repeat(70_000) })), 413);
      expectError(await send('PUT', `/apps/${app.id}/reviews/mine`, { token: carol.token, body: '[1]', headers: { 'content-type': 'application/json' } }), 400);
      expectError(await send('PUT', `/apps/${app.id}/reviews/mine`, { token: carol.token, body: 'hello', headers: { 'content-type': 'text/plain' } }), 415);
      expectError(await write(carol.token, 'not-a-uuid', review()), 400, 'VALIDATION_FAILED');
      expectError(await write(carol.token, randomUUID(), review()), 404, 'NOT_FOUND');
      expectError(await send('PUT', `/apps/${app.id}/reviews/mine`, { body: review() }), 401, 'UNAUTHENTICATED');
      expectError(await send('GET', `/apps/${app.id}/reviews/mine`, { token: carol.token }), 404, 'NOT_FOUND'); // nothing was stored

      expectError(await write(carol.token, app.id, review({ body: ` ${'x'.repeat(4001)} ` })), 400);
      expectError(await write(carol.token, app.id, review({ title: 'x'.repeat(201) })), 400);

      // limits count characters after trimming; line breaks and tabs are fine in a body
      const body = `Line one\n\tLine two ${'é'.repeat(3960)}😀`;
      assert.equal([...body].length, 3980);
      const okText = ok(await write(carol.token, app.id, review({ title: `  ${'t'.repeat(100)}  `, body: `\n  ${body}  \n` })), 201);
      assert.equal(okText.title, 't'.repeat(100));
      assert.equal(okText.body, body);
    });

    test('only published apps can be reviewed and listed; developers cannot review their own apps', async () => {
      const dave = await user('Dave');
      const draft = await createDraft(send, dev.token);
      expectError(await write(dave.token, draft.id, review()), 404, 'NOT_FOUND');
      expectError(await list(draft.id), 404, 'NOT_FOUND');
      expectError(await send('GET', `/apps/${draft.id}/ratings`), 404, 'NOT_FOUND');
      expectError(await list('nope'), 400);
      expectError(await list(randomUUID()), 404, 'NOT_FOUND');

      const removed = await publishApp(send, dev.token, admin.token, { name: 'Soon Gone' });
      ok(await write(dave.token, removed.id, review()), 201);
      ok(await send('POST', `/developer/apps/${removed.id}/remove`, { token: dev.token }));
      expectError(await write(dave.token, removed.id, review({ rating: 1 })), 404, 'NOT_FOUND');
      expectError(await list(removed.id), 404, 'NOT_FOUND');

      expectError(await write(dev.token, app.id, review()), 403, 'OWN_APP');
      ok(await write(otherDev.token, app.id, review()), 201); // another developer is just a user here
    });

    test('a pending review is visible only to its author, first on their first page, with its status', async () => {
      const solo = await publishApp(send, dev.token, admin.token, { name: 'Quiet App' });
      const erin = await user('Erin');
      const mine = ok(await write(erin.token, solo.id, review({ rating: 5 })), 201);
      assert.deepEqual(ok(await list(solo.id)).items, []);
      const frank = await user('Frank');
      assert.deepEqual(ok(await list(solo.id, '', frank.token)).items, []);
      const own = ok(await list(solo.id, '', erin.token)).items;
      assert.equal(own.length, 1);
      assert.equal(own[0].id, mine.id);
      assert.equal(own[0].mine, true);
      assert.equal(own[0].status, 'pending');
      assert.deepEqual((await ratings(solo.id)).count, 0);

      await verdict({ reviewId: mine.id });
      const pub = ok(await list(solo.id)).items;
      assert.equal(pub.length, 1);
      assert.deepEqual(pub[0].author, { displayName: 'Erin' });
      assert.equal(pub[0].mine, undefined);
      assert.equal(pub[0].status, undefined);
      assert.ok(!('email' in pub[0].author) && !JSON.stringify(pub).includes('@'), 'no emails in public lists');
      const seen = ok(await list(solo.id, '', erin.token)).items;
      assert.equal(seen.length, 1, 'once, not twice');
      assert.equal(seen[0].mine, true);
      assert.equal(seen[0].status, 'approved');
      assert.equal(ok(await list(solo.id, '', frank.token)).items[0].helpfulByMe, false);
    });

    test('sorts: helpful (default), recent, rating high and low, with cursors through every page', async () => {
      const shop = await publishApp(send, dev.token, admin.token, { name: 'Sorted Shop' });
      const made: { author: TestUser; review: any }[] = [];
      for (const [i, rating] of [5, 1, 4, 2, 3, 5, 4].entries()) made.push(await approvedReview(shop.id, { rating, title: `Review ${i}` }, `Sorter ${i}`));
      const voters = await Promise.all([0, 1, 2].map(() => user('Voter')));
      // helpful counts 3, 2, 1 on reviews 3, 0, 6
      for (const [n, idx] of [
        [3, 3],
        [2, 0],
        [1, 6],
      ] as const) {
        for (const v of voters.slice(0, n)) ok(await send('PUT', `/reviews/${made[idx].review.id}/helpful`, { token: v.token }));
      }
      const pending = await user('Pending');
      ok(await write(pending.token, shop.id, review({ rating: 5 })), 201); // never public

      const everything = async (sort: string | null) => {
        const items: any[] = [];
        let cursor: string | null = null;
        do {
          const page: any = ok(await list(shop.id, `?limit=2${sort ? `&sort=${sort}` : ''}${cursor ? `&cursor=${cursor}` : ''}`));
          assert.ok(page.items.length <= 2);
          items.push(...page.items);
          cursor = page.nextCursor;
        } while (cursor);
        return items;
      };
      const byRecency = (a: any, b: any) => (a.updatedAt === b.updatedAt ? (a.id < b.id ? 1 : -1) : a.updatedAt < b.updatedAt ? 1 : -1);
      const expect = (key: (r: any) => number) => [...made.map((m) => m.review)].map((r) => ({ ...r, k: key(r) }));
      const helpful = new Map([
        [made[3].review.id, 3],
        [made[0].review.id, 2],
        [made[6].review.id, 1],
      ]);
      const cases: [string | null, (r: any) => number][] = [
        [null, (r) => helpful.get(r.id) ?? 0],
        ['recent', () => 0],
        ['rating_high', (r) => r.rating],
        ['rating_low', (r) => -r.rating],
      ];
      for (const [sort, key] of cases) {
        const got = await everything(sort);
        const want = expect(key).sort((a, b) => (a.k === b.k ? byRecency(a, b) : b.k - a.k));
        assert.deepEqual(
          got.map((r) => r.id),
          want.map((r) => r.id),
          `sort ${sort ?? 'default'}`,
        );
      }
      const top = (await everything(null))[0];
      assert.equal(top.helpfulCount, 3);

      const first = ok(await list(shop.id, '?limit=2&sort=recent'));
      expectError(await list(shop.id, `?limit=2&sort=helpful&cursor=${first.nextCursor}`), 400, 'BAD_CURSOR');
      expectError(await list(shop.id, '?cursor=garbage'), 400, 'BAD_CURSOR');
      const forged = Buffer.from(JSON.stringify(['helpful', 1e15, 0, randomUUID()])).toString('base64url');
      expectError(await list(shop.id, `?cursor=${forged}`), 400, 'BAD_CURSOR');
      expectError(await list(shop.id, '?sort=sideways'), 400);
      expectError(await list(shop.id, '?limit=0'), 400);
      expectError(await list(shop.id, '?limit=51'), 400);
      expectError(await list(shop.id, '?surprise=1'), 400);
    });

    test('verified: the author had got the app (Production) when writing', async () => {
      const gina = await user('Gina');
      const hank = await user('Hank');
      await grantApp(db(), gina.user.id, app.id);
      await grantApp(db(), hank.user.id, app.id, { environment: 'Sandbox' });
      assert.equal(ok(await write(gina.token, app.id, review()), 201).verified, true);
      assert.equal(ok(await write(hank.token, app.id, review()), 201).verified, false);
      const [event] = await events(ok(await send('GET', `/apps/${app.id}/reviews/mine`, { token: gina.token })).id, 'review.created');
      assert.equal(event.payload.verified, true);
    });

    // ---------------------------------------------------------------- votes

    test('helpful votes: one per user, idempotent, never on one’s own or unapproved reviews', async () => {
      const { author, review: r } = await approvedReview(app.id, {}, 'Voted');
      const ivan = await user('Ivan');
      const vote = (token: string, method: 'PUT' | 'DELETE' = 'PUT', id = r.id) => send(method, `/reviews/${id}/helpful`, { token });
      assert.deepEqual(ok(await vote(ivan.token)), { reviewId: r.id, helpfulCount: 1, voted: true });
      assert.deepEqual(ok(await vote(ivan.token)), { reviewId: r.id, helpfulCount: 1, voted: true });
      assert.equal(ok(await list(app.id, '?sort=recent', ivan.token)).items.find((i: any) => i.id === r.id).helpfulByMe, true);
      assert.deepEqual(ok(await vote(ivan.token, 'DELETE')), { reviewId: r.id, helpfulCount: 0, voted: false });
      assert.deepEqual(ok(await vote(ivan.token, 'DELETE')), { reviewId: r.id, helpfulCount: 0, voted: false });

      expectError(await vote(author.token), 403, 'OWN_REVIEW');
      expectError(await vote(ivan.token, 'PUT', randomUUID()), 404, 'NOT_FOUND');
      expectError(await vote(ivan.token, 'PUT', 'nope'), 400);
      expectError(await send('PUT', `/reviews/${r.id}/helpful`), 401);
      const judy = await user('Judy');
      const pendingReview = ok(await write(judy.token, app.id, review()), 201);
      expectError(await vote(ivan.token, 'PUT', pendingReview.id), 404, 'NOT_FOUND');
    });

    test('helpful_count stays exact under concurrent votes: 20 users at once and one user 10 times at once', async () => {
      const { review: r } = await approvedReview(app.id, {}, 'Popular');
      const voters = await Promise.all(Array.from({ length: 20 }, (_, i) => user(`Fan ${i}`)));
      const eager = await user('Eager');
      const answers = await Promise.all([
        ...voters.map((v) => send('PUT', `/reviews/${r.id}/helpful`, { token: v.token })),
        ...Array.from({ length: 10 }, () => send('PUT', `/reviews/${r.id}/helpful`, { token: eager.token })),
      ]);
      for (const a of answers) assert.equal(a.statusCode, 200, a.body);
      const { rows } = await db().query<{ helpful_count: number; votes: number }>(
        'SELECT helpful_count, (SELECT count(*)::int FROM review_votes WHERE review_id = $1) AS votes FROM reviews WHERE id = $1',
        [r.id],
      );
      assert.deepEqual(rows[0], { helpful_count: 21, votes: 21 });
      const weighted = await db().query<{ ok: boolean }>(
        'SELECT helpful_score = (SELECT sum(weight) FROM review_votes WHERE review_id = $1) AS ok FROM reviews WHERE id = $1',
        [r.id],
      );
      assert.ok(weighted.rows[0].ok, 'helpful_score is the sum of the votes’ weights');
      assert.ok(answers.every((a) => a.json().helpfulCount <= 21));
      await Promise.all(voters.slice(0, 5).flatMap((v) => [0, 1].map(() => send('DELETE', `/reviews/${r.id}/helpful`, { token: v.token }))));
      assert.equal(ok(await send('PUT', `/reviews/${r.id}/helpful`, { token: eager.token })).helpfulCount, 16);
    });

    // ---------------------------------------------------------------- reports

    test(`reports: once per user; ${REPORT_HOLD_THRESHOLD} trusted reports hold an approved review and take it out of the summary`, async () => {
      const target = await publishApp(send, dev.token, admin.token, { name: 'Reported App' });
      const { author, review: r } = await approvedReview(target.id, { rating: 1, title: 'Buy followers at example.test' }, 'Spammer');
      assert.equal((await ratings(target.id)).count, 1);
      // trusted reporters (each weighs 1): accounts months old, made days apart, that own the app
      const reporters: TestUser[] = [];
      for (let i = 0; i < REPORT_HOLD_THRESHOLD; i++) reporters.push(await agedOwner(target.id, 100 + 40 * i, `Reporter ${i}`));
      const report = (token: string, body: unknown = { reason: 'spam' }, id = r.id) => send('POST', `/reviews/${id}/reports`, { token, body });

      const first = ok(await report(reporters[0].token, { reason: 'spam', note: '  links to a shop ' }), 201);
      assert.equal(first.reason, 'spam');
      assert.equal(first.note, 'links to a shop');
      assert.equal(first.alreadyReported, false);
      const again = ok(await report(reporters[0].token, { reason: 'offensive' }), 200);
      assert.equal(again.alreadyReported, true);
      assert.equal(again.reason, 'spam', 'the first report stands');
      expectError(await report(author.token), 403, 'OWN_REVIEW');
      for (const bad of [
        {},
        { reason: 'boring' },
        { reason: 'spam', note: 'x'.repeat(501) },
        { reason: 'spam', extra: 1 },
        { reason: 'spam', note: 'a\u0000' },
      ]) {
        expectError(await report(reporters[1].token, bad), 400);
      }
      expectError(await report(reporters[1].token, { reason: 'spam' }, randomUUID()), 404);
      let row = (await db().query<{ report_count: number; status: string }>('SELECT report_count, status FROM reviews WHERE id = $1', [r.id])).rows[0];
      assert.deepEqual(row, { report_count: 1, status: 'approved' });

      await Promise.all(reporters.slice(1).map((u) => report(u.token, { reason: 'fake' })));
      row = (await db().query<{ report_count: number; status: string }>('SELECT report_count, status FROM reviews WHERE id = $1', [r.id])).rows[0];
      assert.deepEqual(row, { report_count: REPORT_HOLD_THRESHOLD, status: 'held' });
      assert.equal((await ratings(target.id)).count, 0);
      await assertSummaryExact(target.id);
      assert.deepEqual(ok(await list(target.id)).items, []);
      const moderated = (await events(r.id, 'review.moderated')).map((e) => e.payload);
      assert.deepEqual(moderated.at(-1), { reviewId: r.id, appId: target.id, status: 'held', previousStatus: 'approved', by: 'reports' });
      const late = await user('Late');
      expectError(await report(late.token), 404, 'NOT_FOUND'); // no longer public

      const view = await t.modules.reviews.service.getForModeration(r.id);
      assert.equal(view?.reportCount, REPORT_HOLD_THRESHOLD);
      assert.equal(view?.reportScore, REPORT_HOLD_THRESHOLD);
      assert.deepEqual(view?.reports, { spam: 1, fake: REPORT_HOLD_THRESHOLD - 1 });
    });

    // ---------------------------------------------------------------- votes and reports weighted by trust

    describe('votes and reports weighted by trust', () => {
      const vote = (token: string, reviewId: string) => send('PUT', `/reviews/${reviewId}/helpful`, { token });
      const report = (token: string, reviewId: string, reason = 'fake') => send('POST', `/reviews/${reviewId}/reports`, { token, body: { reason } });
      const scores = async (reviewId: string) =>
        (
          await db().query<{ helpful_count: number; helpful_score: number; report_count: number; report_score: number; status: string; sum: number }>(
            `SELECT helpful_count, helpful_score::float8 AS helpful_score, report_count, report_score::float8 AS report_score, status,
                    (SELECT coalesce(sum(weight), 0)::float8 FROM review_votes WHERE review_id = $1) AS sum
               FROM reviews WHERE id = $1`,
            [reviewId],
          )
        ).rows[0];

      test('a vote ring of 25 accounts made the same minute does not change the top three "most helpful"', async () => {
        const shop = await publishApp(send, dev.token, admin.token, { name: 'Ringed App' });
        const genuine: string[] = [];
        for (let i = 0; i < 3; i++) genuine.push((await approvedReview(shop.id, { rating: 4 - i, title: `Genuine ${i}` }, `Genuine ${i}`)).review.id);
        const fake = (await approvedReview(shop.id, { rating: 5, title: 'Best app ever, five stars' }, 'Planted')).review.id;
        // three aged owners, made months apart: 3, 2 and 1 votes on the genuine reviews
        const owners: TestUser[] = [];
        for (const days of [120, 250, 400]) owners.push(await agedOwner(shop.id, days, `Owner ${days}`));
        for (const [idx, n] of [
          [0, 3],
          [1, 2],
          [2, 1],
        ] as const) {
          for (const o of owners.slice(0, n)) ok(await vote(o.token, genuine[idx]));
        }
        const helpful = async () => ok(await list(shop.id, '?sort=helpful&limit=10')).items as any[];
        assert.deepEqual(
          (await helpful()).slice(0, 3).map((i) => i.id),
          genuine,
        );
        assert.deepEqual(
          [(await scores(genuine[0])).helpful_score, (await scores(genuine[1])).helpful_score, (await scores(genuine[2])).helpful_score],
          [3, 2, 1],
        );

        // 25 accounts, all created the same minute three days ago, vote for the planted review at once
        const ring = await Promise.all(Array.from({ length: 25 }, (_, i) => user(`Ring ${i}`)));
        await db().query(
          `UPDATE users u SET created_at = date_trunc('minute', now() - interval '3 days') + make_interval(secs => x.i)
             FROM unnest($1::uuid[]) WITH ORDINALITY AS x(id, i) WHERE u.id = x.id`,
          [ring.map((r) => r.user.id)],
        );
        const answers = await Promise.all(ring.map((r) => vote(r.token, fake)));
        for (const a of answers) assert.equal(a.statusCode, 200, a.body);

        const after = await helpful();
        assert.deepEqual(
          after.slice(0, 3).map((i) => i.id),
          genuine,
          'the top three are unchanged',
        );
        assert.equal(after[3].id, fake);
        assert.equal(after[3].helpfulCount, 25, 'the raw count is still shown');
        const planted = await scores(fake);
        assert.equal(planted.helpful_count, 25);
        assert.ok(planted.helpful_score > 0 && planted.helpful_score < 0.5, `ring score ${planted.helpful_score}`);
        assert.ok(Math.abs(planted.helpful_score - planted.sum) < 1e-9, 'helpful_score is the sum of the votes’ weights');
        const view = await t.modules.reviews.service.getForModeration(fake);
        assert.equal(view?.helpfulCount, 25);
        assert.equal(view?.helpfulScore, planted.helpful_score);

        // the cursor of the weighted order pages through the same list
        const paged: string[] = [];
        let cursor: string | null = null;
        do {
          const page: any = ok(await list(shop.id, `?sort=helpful&limit=1${cursor ? `&cursor=${cursor}` : ''}`));
          paged.push(...page.items.map((i: any) => i.id));
          cursor = page.nextCursor;
        } while (cursor);
        assert.deepEqual(
          paged,
          after.map((i) => i.id),
        );

        // taking votes back takes their weight back, exactly
        for (const r of ring) ok(await send('DELETE', `/reviews/${fake}/helpful`, { token: r.token }));
        assert.deepEqual([(await scores(fake)).helpful_count, (await scores(fake)).helpful_score], [0, 0]);
      });

      test('a report brigade of new accounts that do not own the app does not hide a genuine review; three aged owners do', async () => {
        const target = await publishApp(send, dev.token, admin.token, { name: 'Brigaded App' });
        const { review: r } = await approvedReview(target.id, { rating: 5, title: 'Genuinely good' }, 'Genuine');
        const brigade = await Promise.all(Array.from({ length: 5 }, (_, i) => user(`Brigade ${i}`)));
        const answers = await Promise.all(brigade.map((b) => report(b.token, r.id)));
        for (const a of answers) assert.equal(a.statusCode, 201, a.body);
        let row = await scores(r.id);
        assert.equal(row.status, 'approved');
        assert.equal(row.report_count, 5, 'the raw count is kept');
        assert.ok(row.report_score < 0.2, `brigade weight ${row.report_score}`);
        assert.deepEqual(
          ok(await list(target.id)).items.map((i: any) => i.id),
          [r.id],
        );
        assert.equal((await ratings(target.id)).count, 1);
        const view = await t.modules.reviews.service.getForModeration(r.id);
        assert.equal(view?.reportCount, 5);
        assert.equal(view?.reportScore, row.report_score);

        const owners: TestUser[] = [];
        for (const days of [150, 300, 500]) owners.push(await agedOwner(target.id, days, `Careful ${days}`));
        ok(await report(owners[0].token, r.id, 'spam'), 201);
        ok(await report(owners[1].token, r.id, 'spam'), 201);
        assert.equal((await scores(r.id)).status, 'approved', 'two trusted reports are not enough');
        ok(await report(owners[2].token, r.id, 'spam'), 201);
        row = await scores(r.id);
        assert.equal(row.status, 'held');
        assert.equal(row.report_count, 8);
        assert.ok(row.report_score >= REPORT_HOLD_THRESHOLD);
        assert.deepEqual(ok(await list(target.id)).items, []);
        assert.equal((await assertSummaryExact(target.id)).count, 0);
        const moderated = (await events(r.id, 'review.moderated')).map((e) => e.payload);
        assert.deepEqual(moderated.at(-1), { reviewId: r.id, appId: target.id, status: 'held', previousStatus: 'approved', by: 'reports' });
      });
    });

    // ---------------------------------------------------------------- developer responses

    test('developer responses: the owner only, one per review, editable and removable', async () => {
      const { author, review: r } = await approvedReview(app.id, { rating: 2 }, 'Unhappy');
      const url = `/developer/apps/${app.id}/reviews/${r.id}/response`;
      const first = ok(await send('PUT', url, { token: dev.token, body: { body: '  Thanks: fixed in 1.1.  ' } }));
      assert.equal(first.developerResponse.body, 'Thanks: fixed in 1.1.');
      assert.equal(first.developerResponse.updatedAt, null);
      assert.equal(first.status, 'approved');
      const second = ok(await send('PUT', url, { token: dev.token, body: { body: 'Fixed in 1.1: please update.' } }));
      assert.equal(second.developerResponse.createdAt, first.developerResponse.createdAt);
      assert.ok(second.developerResponse.updatedAt);
      const shown = ok(await list(app.id, '?sort=recent')).items.find((i: any) => i.id === r.id);
      assert.equal(shown.developerResponse.body, 'Fixed in 1.1: please update.');
      assert.equal(ok(await send('GET', `/apps/${app.id}/reviews/mine`, { token: author.token })).developerResponse.body, 'Fixed in 1.1: please update.');

      expectError(await send('PUT', url, { token: otherDev.token, body: { body: 'Try our app instead' } }), 404, 'NOT_FOUND');
      expectError(await send('PUT', url, { token: author.token, body: { body: 'me too' } }), 403);
      expectError(await send('PUT', url, { token: admin.token, body: { body: 'admin' } }), 404);
      const elsewhere = await publishApp(send, dev.token, admin.token, { name: 'Other Of Mine' });
      expectError(await send('PUT', `/developer/apps/${elsewhere.id}/reviews/${r.id}/response`, { token: dev.token, body: { body: 'wrong app' } }), 404);
      for (const bad of [{}, { body: '' }, { body: '   ' }, { body: 'x'.repeat(2001) }, { body: 'ok', extra: true }]) {
        expectError(await send('PUT', url, { token: dev.token, body: bad }), 400);
      }

      expectError(await send('DELETE', url, { token: otherDev.token }), 404);
      assert.equal((await send('DELETE', url, { token: dev.token })).statusCode, 204);
      expectError(await send('DELETE', url, { token: dev.token }), 404);
      assert.equal(ok(await send('GET', `/apps/${app.id}/reviews/mine`, { token: author.token })).developerResponse, null);
      assert.deepEqual(
        (await events(r.id, 'review.responded')).map((e) => e.payload.action),
        ['created', 'updated', 'deleted'],
      );
      const again = ok(await send('PUT', url, { token: dev.token, body: { body: 'Back again.' } }));
      assert.equal(again.developerResponse.updatedAt, null, 'after a removal the next response is a first one');
    });

    test("the developer's list: every review of their own app, any status, filterable; nobody else's", async () => {
      const mine = await publishApp(send, dev.token, admin.token, { name: 'Console App' });
      const { review: approved } = await approvedReview(mine.id, { rating: 5 }, 'Fan');
      const kim = await user('Kim');
      const pending = ok(await write(kim.token, mine.id, review({ rating: 3 })), 201);
      const page = ok(await send('GET', `/developer/apps/${mine.id}/reviews`, { token: dev.token }));
      assert.deepEqual(
        page.items.map((i: any) => [i.id, i.status]).sort(),
        [
          [approved.id, 'approved'],
          [pending.id, 'pending'],
        ].sort(),
      );
      const onlyPending = ok(await send('GET', `/developer/apps/${mine.id}/reviews?status=pending`, { token: dev.token }));
      assert.deepEqual(
        onlyPending.items.map((i: any) => i.id),
        [pending.id],
      );
      expectError(await send('GET', `/developer/apps/${mine.id}/reviews`, { token: otherDev.token }), 404);
      expectError(await send('GET', `/developer/apps/${mine.id}/reviews`, { token: kim.token }), 403);
      expectError(await send('GET', `/developer/apps/${mine.id}/reviews?status=odd`, { token: dev.token }), 400);
    });

    // ---------------------------------------------------------------- verdicts and the summary

    test('applyVerdict keeps the summary exact: approve, edit, stale score, re-approve with a new rating, reject, delete', async () => {
      const rated = await publishApp(send, dev.token, admin.token, { name: 'Rated App' });
      const liz = await user('Liz');
      const max = await user('Max');
      const r1 = ok(await write(liz.token, rated.id, review({ rating: 4 })), 201);
      const r2 = ok(await write(max.token, rated.id, review({ rating: 5 })), 201);
      assert.deepEqual(await ratings(rated.id), {
        appId: rated.id,
        count: 0,
        average: 0,
        histogram: { 1: 0, 2: 0, 3: 0, 4: 0, 5: 0 },
        bayesianAverage: PRIOR_MEAN,
      });

      const integrity = { score: 0.91, signals: [{ name: 'velocity', score: 1 }], action: 'approve' as const, model: 'seed-v1' };
      assert.equal(await verdict({ reviewId: r1.id, revision: 1, by: 'integrity', integrity }), true);
      let s = await assertSummaryExact(rated.id);
      assert.deepEqual(s, {
        appId: rated.id,
        count: 1,
        average: 4,
        histogram: { 1: 0, 2: 0, 3: 0, 4: 1, 5: 0 },
        bayesianAverage: round2((PRIOR_WEIGHT * PRIOR_MEAN + 4) / (PRIOR_WEIGHT + 1)),
      });
      assert.equal(await verdict({ reviewId: r1.id, revision: 1, by: 'integrity', integrity }), true); // again: no change
      assert.equal((await ratings(rated.id)).count, 1);

      // the edit takes the approved rating out until the new revision is approved
      ok(await write(liz.token, rated.id, review({ rating: 2, body: 'Worse since the update.' })), 200);
      s = await assertSummaryExact(rated.id);
      assert.equal(s.count, 0);
      const fields = (await db().query('SELECT status, integrity_score, integrity_action FROM reviews WHERE id = $1', [r1.id])).rows[0];
      assert.deepEqual(fields, { status: 'pending', integrity_score: null, integrity_action: null });
      assert.equal(await verdict({ reviewId: r1.id, revision: 1, by: 'integrity', integrity }), false, 'a score of revision 1 is stale');
      assert.equal((await db().query('SELECT status FROM reviews WHERE id = $1', [r1.id])).rows[0].status, 'pending');
      assert.equal(await verdict({ reviewId: r1.id, revision: 2, by: 'integrity', integrity }), true);
      s = await assertSummaryExact(rated.id);
      assert.deepEqual(s.histogram, { 1: 0, 2: 1, 3: 0, 4: 0, 5: 0 });

      assert.equal(await verdict({ reviewId: r2.id }), true);
      s = await assertSummaryExact(rated.id);
      assert.deepEqual([s.count, s.average], [2, 3.5]);

      const moderatorId = admin.user.id;
      assert.equal(await verdict({ reviewId: r1.id, status: 'rejected', moderatorId }), true);
      s = await assertSummaryExact(rated.id);
      assert.deepEqual([s.count, s.average, s.histogram], [1, 5, { 1: 0, 2: 0, 3: 0, 4: 0, 5: 1 }]);
      const view = await t.modules.reviews.service.getForModeration(r1.id);
      assert.equal(view?.status, 'rejected');
      assert.equal(view?.moderatedBy, moderatorId);
      assert.deepEqual(view?.integrity && { ...view.integrity, scoredAt: 'x' }, { ...integrity, scoredAt: 'x' });
      assert.equal(await verdict({ reviewId: r1.id, status: 'held' }), true); // rejected -> held: nothing to move
      assert.equal((await assertSummaryExact(rated.id)).count, 1);

      assert.equal((await send('DELETE', `/apps/${rated.id}/reviews/mine`, { token: max.token })).statusCode, 204);
      s = await assertSummaryExact(rated.id);
      assert.deepEqual([s.count, s.average, s.bayesianAverage], [0, 0, PRIOR_MEAN]);
      expectError(await send('DELETE', `/apps/${rated.id}/reviews/mine`, { token: max.token }), 404);
      expectError(await send('GET', `/apps/${rated.id}/reviews/mine`, { token: max.token }), 404);
      assert.equal(await verdict({ reviewId: r2.id }), false, 'a deleted review takes no verdict');
      assert.deepEqual(
        (await events(r2.id, 'review.deleted')).map((e) => e.payload),
        [{ reviewId: r2.id, appId: rated.id, userId: max.user.id, previousStatus: 'approved' }],
      );

      const moderated = (await events(r1.id, 'review.moderated')).map((e) => [e.payload.previousStatus, e.payload.status, e.payload.by]);
      // integrity's first verdicts on pending revisions are not events of their own; later changes are
      assert.deepEqual(moderated, [
        ['approved', 'rejected', 'moderator'],
        ['rejected', 'held', 'moderator'],
      ]);
      // the mirror job recorded app.changed for the summary's changes (coalesced: at most one per run)
      const changes = (await events(rated.id, 'app.changed')).filter((e) => e.payload.change === 'ratings');
      assert.ok(changes.length >= 1 && changes.length <= 6, `${changes.length} app.changed`);
      // the catalog hears app.changed and shows the new numbers
      const again = await approvedReview(rated.id, { rating: 3 }, 'Third');
      assert.ok(again);
      await t.modules.reviews.mirrorRatings();
      await eventually(async () => {
        const detail = ok(await send('GET', `/apps/${rated.id}`));
        return detail.rating.count === 1 && detail.rating.average === 3;
      });
    });

    test('the moderation queue: one status, oldest first, in pages', async () => {
      const queued = await publishApp(send, dev.token, admin.token, { name: 'Queued App' });
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const u = await user(`Held ${i}`);
        const r = ok(await write(u.token, queued.id, review({ title: `Held ${i}` })), 201);
        await verdict({
          reviewId: r.id,
          revision: 1,
          status: 'held',
          by: 'integrity',
          integrity: { score: 0.4, signals: {}, action: 'manual_review', model: 'm' },
        });
        ids.push(r.id);
      }
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await t.modules.reviews.service.moderationQueue({ status: 'held', limit: 2, cursor });
        seen.push(...page.items.filter((i) => i.appId === queued.id).map((i) => i.reviewId));
        for (const item of page.items) assert.equal(item.status, 'held');
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      assert.deepEqual(seen, ids);
      const item = await t.modules.reviews.service.getForModeration(ids[0]);
      assert.equal(item?.integrity?.action, 'manual_review');
      assert.equal(item?.developerId, dev.user.developer!.id);
      assert.equal(await t.modules.reviews.service.getForModeration(randomUUID()), null);
      assert.equal(await t.modules.reviews.service.getForModeration('nope'), null);
      await assert.rejects(t.modules.reviews.service.moderationQueue({ status: 'pending', cursor: 'garbage' }), /cursor/);
    });

    test('review writes are rate limited per user', async () => {
      const busy = await user('Busy');
      let refused;
      for (let i = 0; i < 40 && !refused; i++) {
        const res = await write(busy.token, app.id, review({ rating: (i % 5) + 1 }));
        if (res.statusCode === 429) refused = res;
        else assert.ok(res.statusCode === 200 || res.statusCode === 201, res.body);
      }
      assert.ok(refused, 'refused before 40 writes');
      expectError(refused, 429, 'RATE_LIMITED');
      assert.ok(Number(refused.headers['retry-after']) >= 1);
    });
  });
}

describe('reviews over the demo seed (embedded)', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp('embedded', { modules: (infra) => createModules(infra.config, infra, { scoreReviews: false }) });
    await seed({ infra: t.infra, apps: 60, users: 5 });
  });
  after(async () => t?.close());

  test('seeded ratings have a summary of the same count and average, and the first real review adds to it', async () => {
    const { rows } = await t.infra.db.query<{ id: string; rating_count: number; rating_average: number; count: number | null; sum: string | null }>(
      `SELECT a.id, a.rating_count, a.rating_average, s.count, s.sum FROM apps a LEFT JOIN app_rating_summaries s ON s.app_id = a.id`,
    );
    assert.ok(rows.some((r) => r.rating_count > 0));
    for (const r of rows) {
      if (r.rating_count === 0) {
        assert.equal(r.count, null);
        continue;
      }
      assert.equal(r.count, r.rating_count);
      assert.ok(
        Math.abs(Number(r.sum) / r.rating_count - r.rating_average) <= 0.5 / r.rating_count + 1e-9,
        `${r.id}: ${r.sum}/${r.count} vs ${r.rating_average}`,
      );
    }
    const send = sender(t.app);
    const target = (
      await t.infra.db.query<{ id: string; rating_count: number; sum: string }>(
        `SELECT a.id, a.rating_count, s.sum FROM apps a JOIN app_rating_summaries s ON s.app_id = a.id WHERE a.status = 'published' ORDER BY a.rating_count DESC LIMIT 1`,
      )
    ).rows[0];
    const before = ok(await send('GET', `/apps/${target.id}/ratings`));
    assert.equal(before.count, target.rating_count);
    const u = await registerUser(t.app);
    const r = ok(await send('PUT', `/apps/${target.id}/reviews/mine`, { token: u.token, body: review({ rating: 1 }) }), 201);
    await t.infra.db.tx((q) => t.modules.reviews.applyVerdict(q, { reviewId: r.id, revision: 1, status: 'approved', by: 'moderator' }));
    const afterwards = ok(await send('GET', `/apps/${target.id}/ratings`));
    await t.modules.reviews.mirrorRatings();
    assert.equal(afterwards.count, before.count + 1);
    assert.equal(afterwards.histogram['1'], before.histogram['1'] + 1);
    const app = (
      await t.infra.db.query<{ rating_count: number; rating_average: number }>('SELECT rating_count, rating_average FROM apps WHERE id = $1', [target.id])
    ).rows[0];
    assert.equal(app.rating_count, target.rating_count + 1);
    assert.equal(round2(app.rating_average), round2((Number(target.sum) + 1) / (target.rating_count + 1)));
  });
});
