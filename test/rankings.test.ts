// Charts: statistics from real events (library downloads, sales, refunds), the defences against bought
// installs, the chart run (SQL) against the reference formulas, the charts API, app positions, developer
// analytics, hourly scheduling, and a simulation: a bot campaign does not chart where an organic rise does.
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { recordEvents } from '../src/platform/bus/index.ts';
import type { Queryable } from '../src/platform/db/index.ts';
import { computeCharts, rebuildSignals } from '../src/modules/rankings/index.ts';
import { accountTrust, BURST_FLOOR, decay, fold, valueOn } from '../src/modules/rankings/signals.ts';
import { THIN_DISCOUNT } from '../src/modules/rankings/trust.ts';
import { eventually, kinds } from './support/infra.ts';
import { createTestApp, makeAdmin, makeDeveloper, registerUser, type TestApp, type TestUser } from './support/app.ts';
import { expectError, ok, publishApp, sender, type Send } from './support/catalog.ts';
import { grantApp } from './support/library.ts';
import { firstDownload, insertAccounts } from './support/rankings.ts';

const DAY_MS = 86_400_000;
const dayAgo = (n: number) => new Date(Date.now() - n * DAY_MS).toISOString().slice(0, 10);
const today = () => dayAgo(0);

/** Rows of app_daily_stats written straight (organic history the simulation starts from). */
async function writeHistory(db: Queryable, rows: { appId: string; country?: string; daysAgo: number; downloads: number; revenue?: number }[]) {
  await db.query(
    `INSERT INTO app_daily_stats (app_id, country, day, first_downloads, unique_downloaders, trusted_downloads, revenue_milli)
     SELECT app_id, country, day, n, n, n, revenue FROM unnest($1::uuid[], $2::text[], $3::date[], $4::int[], $5::bigint[]) AS r (app_id, country, day, n, revenue)
     ON CONFLICT (app_id, country, day) DO UPDATE SET first_downloads = app_daily_stats.first_downloads + EXCLUDED.first_downloads,
       unique_downloaders = app_daily_stats.unique_downloaders + EXCLUDED.unique_downloaders,
       trusted_downloads = app_daily_stats.trusted_downloads + EXCLUDED.trusted_downloads, revenue_milli = app_daily_stats.revenue_milli + EXCLUDED.revenue_milli`,
    [
      rows.map((r) => r.appId),
      rows.map((r) => r.country ?? 'US'),
      rows.map((r) => dayAgo(r.daysAgo)),
      rows.map((r) => r.downloads),
      rows.map((r) => r.revenue ?? 0),
    ],
  );
}

/** Published apps written straight into the catalog's tables (the simulation needs dozens; the API path is tested above). */
async function insertApps(
  db: Queryable,
  developerId: string,
  apps: { id: string; category: string; isFree?: boolean; publishedDaysAgo?: number; ratings?: number }[],
) {
  await db.query(
    `INSERT INTO apps (id, developer_id, bundle_id, name, category, is_free, status, current_version, rating_count, rating_average, published_at)
     SELECT id, $1, 'sim.' || id, 'Sim ' || left(id::text, 8), category, free, 'published', '1.0', ratings, 4.2, now() - make_interval(days => age)
       FROM unnest($2::uuid[], $3::text[], $4::bool[], $5::int[], $6::int[]) AS a (id, category, free, age, ratings)`,
    [
      developerId,
      apps.map((a) => a.id),
      apps.map((a) => a.category),
      apps.map((a) => a.isFree ?? true),
      apps.map((a) => a.publishedDaysAgo ?? 400),
      apps.map((a) => a.ratings ?? 200),
    ],
  );
  await db.query(`INSERT INTO app_engagement (app_id, dau, mau, day7_retention, avg_session_minutes) SELECT unnest($1::uuid[]), 100, 400, 0.3, 6`, [
    apps.map((a) => a.id),
  ]);
}

describe('chart signals (pure)', () => {
  test('a true half-life: a download a week old weighs half; folding late amounts equals folding in order', () => {
    assert.equal(decay(7, 7), 0.5);
    const inOrder = fold(fold({ value: 0, lastDay: 0 }, 0, 10, 7), 7, 4, 7);
    const late = fold(fold({ value: 0, lastDay: 0 }, 7, 4, 7), 0, 10, 7);
    assert.ok(Math.abs(inOrder.value - 9) < 1e-9 && Math.abs(late.value - 9) < 1e-9);
    assert.ok(Math.abs(valueOn(inOrder, 14, 7) - 4.5) < 1e-9);
  });

  test('trust: established accounts count fully; new, inactive and flagged accounts count less', () => {
    assert.equal(accountTrust({ ageDays: 400, otherApps: 3, flagged: false }), 1);
    assert.ok(accountTrust({ ageDays: 0.5, otherApps: 3, flagged: false }) <= 0.1);
    assert.ok(accountTrust({ ageDays: 3, otherApps: 3, flagged: false }) <= 0.3);
    assert.equal(accountTrust({ ageDays: 400, otherApps: 0, flagged: false }), 0.5);
    assert.ok(Math.abs(accountTrust({ ageDays: 400, otherApps: 3, flagged: true }) - 0.1) < 1e-9);
    assert.ok(Math.abs(accountTrust({ ageDays: 0.5, otherApps: 0, flagged: false }) - 0.05) < 1e-9);
  });
});

for (const kind of kinds()) {
  describe(`charts (${kind})`, () => {
    let t: TestApp;
    let send: Send;
    let dev: TestUser;
    let otherDev: TestUser;
    let admin: TestUser;
    let big: { id: string };
    let small: { id: string };
    let paid: { id: string };
    const db = () => t.infra.db;
    const stats = (appId: string, country = 'US') =>
      db()
        .query<{
          first_downloads: number;
          redownloads: number;
          unique_downloaders: number;
          trusted_downloads: number;
          fresh_downloads: number;
          revenue_milli: string;
        }>(
          'SELECT first_downloads, redownloads, unique_downloaders, trusted_downloads, fresh_downloads, revenue_milli FROM app_daily_stats WHERE app_id = $1 AND country = $2 AND day = $3',
          [appId, country, today()],
        )
        .then((r) => r.rows[0]);

    before(async () => {
      t = await createTestApp(kind);
      send = sender(t.app);
      dev = await makeDeveloper(t.app);
      otherDev = await makeDeveloper(t.app, 'Other Studio');
      admin = await makeAdmin(t.infra, t.app);
      big = await publishApp(send, dev.token, admin.token, { name: 'Big Puzzle', category: 'games', subcategory: 'games-puzzle' });
      small = await publishApp(send, dev.token, admin.token, { name: 'Small Puzzle', category: 'games', subcategory: 'games-puzzle' });
      paid = await publishApp(send, dev.token, admin.token, { name: 'Paid Puzzle', category: 'games', subcategory: 'games-puzzle', isFree: false });
    });
    after(() => t?.close());

    test('a download counts once per account: re-downloads are counted apart and a new, thin, inactive account weighs 0.01', async () => {
      const alice = await registerUser(t.app);
      await grantApp(db(), alice.user.id, small.id);
      ok(await send('POST', `/apps/${small.id}/download`, { token: alice.token }));
      ok(await send('POST', `/apps/${small.id}/download`, { token: alice.token }));
      const row = await eventually(async () => {
        const r = await stats(small.id);
        return r && r.first_downloads + r.redownloads === 2 && r;
      });
      assert.equal(row.first_downloads, 1);
      assert.equal(row.redownloads, 1);
      assert.equal(row.unique_downloaders, 1, 'the same account twice in a day is one downloader');
      assert.equal(row.fresh_downloads, 1);
      assert.ok(Math.abs(row.trusted_downloads - 0.05 * THIN_DISCOUNT) < 1e-6, `trusted ${row.trusted_downloads}`);
      // her second app: she has other activity now (0.1), but a history of two apps is still thin
      await grantApp(db(), alice.user.id, big.id);
      ok(await send('POST', `/apps/${big.id}/download`, { token: alice.token }));
      const second = await eventually(async () => (await stats(big.id)) ?? null);
      assert.ok(Math.abs(second.trusted_downloads - 0.1 * THIN_DISCOUNT) < 1e-6, `trusted ${second.trusted_downloads}`);
    });

    test('an account flagged by review integrity weighs a tenth', async () => {
      const [old] = await insertAccounts(db(), 1, 400, 5);
      const [flagged] = await insertAccounts(db(), 1, 400, 5);
      await db().query(
        `INSERT INTO reviews (id, app_id, user_id, rating, title, body, status, integrity_action, created_at, updated_at)
         VALUES ($1, $2, $3, 5, 'Best', 'Best app ever', 'rejected', 'reject', now(), now())`,
        [randomUUID(), small.id, flagged],
      );
      const appId = paid.id;
      await t.infra.db.tx((q) => recordEvents(q, [firstDownload(appId, old), firstDownload(appId, flagged)]));
      t.infra.bus.nudge();
      const row = await eventually(async () => {
        const r = await stats(appId);
        return r && r.first_downloads === 2 && r;
      });
      assert.ok(Math.abs(row.trusted_downloads - 1.1) < 1e-6, `trusted ${row.trusted_downloads}`);
    });

    test('sales add revenue in the storefront, refunds take it back, Sandbox never counts', async () => {
      const [buyer] = await insertAccounts(db(), 1, 100, 2);
      const sale = (type: string, price: number, environment = 'Production') => ({
        type,
        aggregateId: paid.id,
        payload: { userId: buyer, appId: paid.id, transactionId: '1', priceMilli: price, currency: 'EUR', environment, storefront: 'DE' },
      });
      await t.infra.db.tx((q) =>
        recordEvents(q, [
          sale('purchase.completed', 990),
          sale('purchase.completed', 5000, 'Sandbox'),
          sale('subscription.renewed', 2990),
          sale('transaction.revoked', 990),
        ]),
      );
      t.infra.bus.nudge();
      const row = await eventually(async () => {
        const r = await stats(paid.id, 'DE');
        return r && Number(r.revenue_milli) === 2990 && r;
      });
      assert.equal(row.first_downloads, 0);
    });

    test('the chart run matches the reference formulas; the API serves pages, positions and analytics', async () => {
      await writeHistory(db(), [
        ...Array.from({ length: 14 }, (_, d) => ({ appId: big.id, daysAgo: d, downloads: 300 })),
        ...Array.from({ length: 14 }, (_, d) => ({ appId: small.id, daysAgo: d, downloads: 40 })),
        ...Array.from({ length: 14 }, (_, d) => ({ appId: paid.id, daysAgo: d, downloads: 20, revenue: 20 * 990 })),
      ]);
      await rebuildSignals(db());
      const { rows: sig } = await db().query<{ downloads_week: number }>(`SELECT downloads_week FROM app_chart_signals WHERE app_id = $1 AND country = 'US'`, [
        small.id,
      ]);
      const expected = Array.from({ length: 14 }, (_, d) => 40 * decay(d, 7)).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sig[0].downloads_week - expected) < 0.05, `${sig[0].downloads_week} vs ${expected}`);

      const run = await t.modules.rankings.compute();
      assert.equal(run.status, 'done');
      t.modules.rankings.service.onComputed();

      const page = ok(await send('GET', '/charts?chart=top-free&category=games&country=US'));
      assert.deepEqual(
        page.items.map((i: any) => i.app.id),
        [big.id, small.id],
      );
      assert.deepEqual(
        page.items.map((i: any) => i.rank),
        [1, 2],
      );
      assert.equal(page.items[0].app.name, 'Big Puzzle');
      assert.ok(page.computedAt);
      const overall = ok(await send('GET', '/charts?chart=top-free'));
      assert.equal(overall.category, null);
      assert.equal(overall.items[0].app.id, big.id);
      const paidChart = ok(await send('GET', '/charts?chart=top-paid&category=games'));
      assert.deepEqual(
        paidChart.items.map((i: any) => i.app.id),
        [paid.id],
      );
      const grossing = ok(await send('GET', '/charts?chart=top-grossing&country=US'));
      assert.equal(grossing.items[0].app.id, paid.id);

      const first = ok(await send('GET', '/charts?chart=top-free&category=games&limit=1'));
      assert.equal(first.items.length, 1);
      const second = ok(await send('GET', `/charts?chart=top-free&category=games&limit=1&cursor=${first.nextCursor}`));
      assert.deepEqual(
        second.items.map((i: any) => i.rank),
        [2],
      );
      assert.equal(second.nextCursor, null);

      const positions = ok(await send('GET', `/apps/${big.id}/charts`));
      assert.ok(positions.positions.some((p: any) => p.chart === 'top-free' && p.country === 'US' && p.category === 'games' && p.rank === 1));
      const detail = await eventually(async () => {
        const d = ok(await send('GET', `/apps/${big.id}`));
        return d.chartPositions && d;
      });
      assert.ok(detail.chartPositions.some((p: any) => p.chart === 'top-free' && p.category === null && p.rank === 1));

      const mine = ok(await send('GET', `/developer/apps/${big.id}/charts?chart=top-free&country=US`, { token: dev.token }));
      const cat = mine.current.find((c: any) => c.category === 'games');
      assert.equal(cat.rank, 1);
      assert.ok(cat.signals.downloads > 0 && cat.signals.rating === 0 && cat.signals.freshness > 0.9, JSON.stringify(cat.signals));
      assert.ok(mine.history.some((h: any) => h.day === today() && h.rank === 1));
      expectError(await send('GET', `/developer/apps/${big.id}/charts`, { token: otherDev.token }), 404, 'NOT_FOUND');
      expectError(await send('GET', `/developer/apps/${randomUUID()}/charts`, { token: dev.token }), 404, 'NOT_FOUND');
      const user = await registerUser(t.app);
      expectError(await send('GET', `/developer/apps/${big.id}/charts`, { token: user.token }), 403);
      expectError(await send('GET', `/developer/apps/${big.id}/charts?from=2026-02-01&to=2026-01-01`, { token: dev.token }), 400, 'BAD_RANGE');
    });

    test('bad chart queries get a clear 400', async () => {
      const bad: [string, string][] = [
        ['/charts', 'VALIDATION_FAILED'],
        ['/charts?chart=top-everything', 'VALIDATION_FAILED'],
        ['/charts?chart=top-free&country=ZZ', 'UNKNOWN_COUNTRY'],
        ['/charts?chart=top-free&country=us', 'VALIDATION_FAILED'],
        ['/charts?chart=top-free&category=nope', 'UNKNOWN_CATEGORY'],
        ['/charts?chart=top-free&category=games-puzzle', 'UNKNOWN_CATEGORY'],
        ['/charts?chart=top-free&limit=0', 'VALIDATION_FAILED'],
        ['/charts?chart=top-free&limit=201', 'VALIDATION_FAILED'],
        ['/charts?chart=top-free&limit=ten', 'VALIDATION_FAILED'],
        ['/charts?chart=top-free&cursor=garbage', 'BAD_CURSOR'],
        ['/charts?chart=top-free&sort=desc', 'VALIDATION_FAILED'],
        [`/charts?chart=top-free&cursor=${Buffer.from(JSON.stringify({ r: randomUUID(), o: 25 })).toString('base64url')}`, 'CURSOR_EXPIRED'],
        ['/apps/not-a-uuid/charts', 'VALIDATION_FAILED'],
      ];
      for (const [url, code] of bad) expectError(await send('GET', url), 400, code);
    });

    test('the hourly job: one ranking.compute per slot whatever the number of schedulers, and the run follows', async () => {
      const slot = new Date(Date.UTC(2030, 0, 1, 5));
      const firstTry = await t.modules.rankings.scheduleThisHour(new Date(slot.getTime() + 60_000));
      const secondTry = await t.modules.rankings.scheduleThisHour(new Date(slot.getTime() + 120_000));
      assert.deepEqual([firstTry, secondTry], [true, false]);
      const { rows } = await db().query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox WHERE type = 'ranking.compute' AND payload->>'slot' = $1`, [
        slot.toISOString(),
      ]);
      assert.equal(rows[0].n, 1);
      await eventually(async () => {
        const r = await db().query<{ status: string }>('SELECT status FROM chart_runs WHERE slot = $1', [slot]);
        return r.rows[0]?.status === 'done';
      }, 20_000);
    });

    if (kind === 'production') {
      test('one run at a time across processes: a concurrent run is skipped', async () => {
        const results = await Promise.all([computeCharts(db()), computeCharts(db())]);
        assert.deepEqual(results.map((r) => r.status).sort(), ['done', 'skipped']);
      });
    }

    test('simulation: a bot campaign as big as the #5 app stays out of the top 10; the same organic rise enters it', async () => {
      const category = 'weather';
      const incumbents = Array.from({ length: 15 }, () => ({ id: randomUUID(), category }));
      const botTarget = { id: randomUUID(), category };
      const organicTarget = { id: randomUUID(), category };
      const riser = { id: randomUUID(), category };
      const newcomer = { id: randomUUID(), category, publishedDaysAgo: 5 };
      const { rows: owner } = await db().query<{ developer_id: string }>('SELECT developer_id FROM apps WHERE id = $1', [big.id]);
      await insertApps(db(), owner[0].developer_id, [...incumbents, botTarget, organicTarget, riser, newcomer]);
      // 30 days of organic history: the k-th incumbent gets 600/k downloads a day; the riser 5 a day, then 80 and 120
      await writeHistory(db(), [
        ...incumbents.flatMap((app, k) => Array.from({ length: 30 }, (_, d) => ({ appId: app.id, daysAgo: d + 1, downloads: Math.round(600 / (k + 1)) }))),
        ...Array.from({ length: 30 }, (_, d) => ({ appId: riser.id, daysAgo: d + 2, downloads: 5 })),
        { appId: riser.id, daysAgo: 1, downloads: 80 },
        { appId: riser.id, daysAgo: 0, downloads: 120 },
        { appId: newcomer.id, daysAgo: 1, downloads: 30 },
      ]);
      await rebuildSignals(db());
      const { rows: fifth } = await db().query<{ v: number }>(`SELECT downloads_week AS v FROM app_chart_signals WHERE app_id = $1 AND country = 'US'`, [
        incumbents[4].id,
      ]);
      const volume = Math.round(fifth[0].v); // the #5 app's velocity, delivered today by each campaign
      assert.ok(volume > 10 * BURST_FLOOR);

      const bots = await insertAccounts(db(), volume, 0); // created today, nothing else on the account
      const fans = await insertAccounts(db(), volume, 365, 4, 37); // a year old, with other apps, created over months
      const events = [...bots.map((u) => firstDownload(botTarget.id, u)), ...fans.map((u) => firstDownload(organicTarget.id, u))];
      for (let i = 0; i < events.length; i += 500) await t.infra.db.tx((q) => recordEvents(q, events.slice(i, i + 500)));
      t.infra.bus.nudge();
      await eventually(async () => {
        const { rows } = await db().query<{ n: number }>(
          'SELECT coalesce(sum(first_downloads), 0)::int AS n FROM app_daily_stats WHERE app_id = ANY($1) AND day = $2',
          [[botTarget.id, organicTarget.id], today()],
        );
        return rows[0].n === 2 * volume;
      }, 60_000);
      const bot = await stats(botTarget.id);
      assert.ok(bot.trusted_downloads < volume * 0.01, `bot campaign counted ${bot.trusted_downloads} of ${volume}`);
      assert.ok(bot.trusted_downloads > 0);

      const run = await computeCharts(db());
      assert.equal(run.status, 'done');
      const rankOf = async (appId: string, chart: string) => {
        const { rows } = await db().query<{ rank: number }>(
          `SELECT rank FROM chart_entries WHERE run_id = $1 AND chart = $2 AND country = 'US' AND category = $3 AND app_id = $4`,
          [run.runId, chart, category, appId],
        );
        return rows[0]?.rank ?? null;
      };
      const organicRank = await rankOf(organicTarget.id, 'top-free');
      const botRank = await rankOf(botTarget.id, 'top-free');
      assert.ok(organicRank !== null && organicRank <= 10, `organic rise ranked ${organicRank}`);
      assert.ok(botRank === null || botRank > 10, `bot campaign ranked ${botRank}`);
      // trending is growth, not volume: the small riser leads it, the steady #1 is not trending at all
      assert.equal((await rankOf(riser.id, 'trending')) !== null && (await rankOf(riser.id, 'trending'))! <= 2, true);
      assert.equal(await rankOf(incumbents[0].id, 'trending'), null);
      // "new" is new apps only: the newcomer is there, apps published long ago are not
      assert.equal(await rankOf(newcomer.id, 'new'), 1);
      assert.equal(await rankOf(incumbents[0].id, 'new'), null);
    });
  });
}
