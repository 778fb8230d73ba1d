// Acquisition trust beyond account age (issue 20): a patient campaign of aged accounts, each with one other app,
// created in lockstep, brought an app the #5 app's volume and made it #1 trending. Thin accounts and lockstep
// cohorts now count for little in top charts and not at all in trending (growth of trusted acquirers over a
// smoothed baseline, with a minimum breadth); a genuine spread of trusted acquirers of the same volume rises.
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { recordEvents } from '../src/platform/bus/index.ts';
import type { Queryable } from '../src/platform/db/index.ts';
import { computeCharts, rebuildSignals } from '../src/modules/rankings/index.ts';
import { recordActivations } from '../src/modules/rankings/ingest.ts';
import { COHORT_FLOOR } from '../src/modules/rankings/trust.ts';
import { eventually, kinds } from './support/infra.ts';
import { createTestApp, makeDeveloper, type TestApp } from './support/app.ts';
import { dayAgo, firstDownload, insertAccounts, insertApps, writeHistory } from './support/rankings.ts';

for (const kind of kinds()) {
  describe(`chart trust beyond account age (${kind})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(kind);
    });
    after(() => t?.close());

    test('an aged lockstep campaign at the #5 app volume stays out of the top 10 and trending; a genuine spread rises', async () => {
      const db = t.infra.db;
      const dev = await makeDeveloper(t.app);
      const { rows: developer } = await db.query<{ id: string }>('SELECT id FROM developers WHERE user_id = $1', [dev.user.id]);
      const category = 'weather';
      const incumbents = Array.from({ length: 15 }, () => ({ id: randomUUID(), category }));
      const campaign = { id: randomUUID(), category }; // the issue's: aged, one other app each, created in lockstep
      const cohortOnly = { id: randomUUID(), category }; // aged, with several other apps, created in lockstep
      const genuine = { id: randomUUID(), category }; // aged, several other apps, created over months
      await insertApps(db, developer[0].id, [...incumbents, campaign, cohortOnly, genuine]);
      await writeHistory(
        db,
        incumbents.flatMap((app, k) => Array.from({ length: 30 }, (_, d) => ({ appId: app.id, daysAgo: d + 1, downloads: Math.round(200 / (k + 1)) }))),
      );
      await rebuildSignals(db);
      const { rows: fifth } = await db.query<{ v: number }>(`SELECT downloads_week AS v FROM app_chart_signals WHERE app_id = $1 AND country = 'US'`, [
        incumbents[4].id,
      ]);
      const volume = Math.round(fifth[0].v); // the #5 app's velocity, delivered by each group
      assert.ok(volume > 20 * COHORT_FLOOR, `volume ${volume}`);

      const aged = await insertAccounts(db, volume, 200, 1, 0);
      const lockstep = await insertAccounts(db, volume, 300, 6, 0);
      const spread = await insertAccounts(db, volume, 300, 4, 37);
      const events = [
        ...aged.map((u) => firstDownload(campaign.id, u)),
        ...lockstep.map((u) => firstDownload(cohortOnly.id, u)),
        ...spread.map((u) => firstDownload(genuine.id, u)),
      ];
      for (let i = 0; i < events.length; i += 500) await db.tx((q) => recordEvents(q, events.slice(i, i + 500)));
      t.infra.bus.nudge();
      const ids = [campaign.id, cohortOnly.id, genuine.id];
      await eventually(async () => {
        const { rows } = await db.query<{ n: number }>(
          'SELECT coalesce(sum(first_downloads), 0)::int AS n FROM app_daily_stats WHERE app_id = ANY($1) AND day = $2',
          [ids, dayAgo(0)],
        );
        return rows[0].n === 3 * volume;
      }, 60_000);
      const { rows: stats } = await db.query<{ app_id: string; trusted: number; acquirers: number }>(
        `SELECT app_id, trusted_downloads AS trusted, trusted_acquirers AS acquirers FROM app_daily_stats WHERE app_id = ANY($1) AND day = $2 AND country = 'US'`,
        [ids, dayAgo(0)],
      );
      const of = (id: string) => stats.find((s) => s.app_id === id)!;
      assert.equal(of(campaign.id).acquirers, 0, 'thin accounts are never trusted acquirers');
      assert.ok(of(campaign.id).trusted < volume * 0.05, `campaign counted ${of(campaign.id).trusted} of ${volume}`);
      assert.equal(of(cohortOnly.id).acquirers, COHORT_FLOOR - 1, 'a cohort is untrusted once it is seen');
      assert.ok(of(cohortOnly.id).trusted < volume * 0.15, `cohort counted ${of(cohortOnly.id).trusted} of ${volume}`);
      assert.equal(of(genuine.id).acquirers, volume);
      assert.ok(Math.abs(of(genuine.id).trusted - volume) < 1e-3);

      const run = await computeCharts(db);
      assert.equal(run.status, 'done');
      const { rankOf, outOfTop10, expectRise } = chartChecks(db, run.runId, category);
      for (const app of [campaign, cohortOnly]) await outOfTop10(app.id);
      await expectRise(genuine.id);
      // steady incumbents are not trending
      assert.equal(await rankOf(incumbents[0].id, 'trending', category), null);
    });

    test('SDK apps: a campaign of aged, varied accounts whose installs never open the app cannot loosen its own activation bound', async () => {
      const db = t.infra.db;
      const dev = await makeDeveloper(t.app);
      const { rows: developer } = await db.query<{ id: string }>('SELECT id FROM developers WHERE user_id = $1', [dev.user.id]);
      const category = 'navigation';
      const incumbents = Array.from({ length: 15 }, () => ({ id: randomUUID(), category }));
      const campaign = { id: randomUUID(), category }; // aged accounts, 4 other apps each, created over months: trusted acquirers
      const genuine = { id: randomUUID(), category }; // the same, and its installs open the app
      await insertApps(db, developer[0].id, [...incumbents, campaign, genuine]);
      // every app uses the SDK: about two thirds of its installs open it
      await writeHistory(db, [
        ...incumbents.flatMap((app, k) =>
          Array.from({ length: 30 }, (_, d) => {
            const downloads = Math.round(200 / (k + 1));
            return { appId: app.id, daysAgo: d + 1, downloads, activations: Math.round(downloads * 0.65) };
          }),
        ),
        ...[campaign, genuine].flatMap((app) => Array.from({ length: 30 }, (_, d) => ({ appId: app.id, daysAgo: d + 1, downloads: 3, activations: 2 }))),
      ]);
      await rebuildSignals(db);
      const { rows: fifth } = await db.query<{ v: number }>(`SELECT downloads_week AS v FROM app_chart_signals WHERE app_id = $1 AND country = 'US'`, [
        incumbents[4].id,
      ]);
      const volume = Math.round(fifth[0].v);
      const varied = await insertAccounts(db, volume, 300, 4, 37);
      const spread = await insertAccounts(db, volume, 300, 4, 41);
      const events = [...varied.map((u) => firstDownload(campaign.id, u)), ...spread.map((u) => firstDownload(genuine.id, u))];
      for (let i = 0; i < events.length; i += 500) await db.tx((q) => recordEvents(q, events.slice(i, i + 500)));
      t.infra.bus.nudge();
      const ids = [campaign.id, genuine.id];
      await eventually(async () => {
        const { rows } = await db.query<{ n: number }>(
          'SELECT coalesce(sum(first_downloads), 0)::int AS n FROM app_daily_stats WHERE app_id = ANY($1) AND day = $2',
          [ids, dayAgo(0)],
        );
        return rows[0].n === 2 * volume;
      }, 60_000);
      // the genuine installs open the app (activations of today); the campaign's never do
      await db.tx((q) => recordActivations(q, genuine.id, [{ country: 'US', day: dayAgo(0), n: Math.round(volume * 0.8) }]));
      // the campaign's acquirers are all trusted: only the activation bound stands in its way
      const { rows: own } = await db.query<{ rate: number }>(
        `SELECT activations_long / downloads_long AS rate FROM app_chart_signals WHERE app_id = $1 AND country = 'US'`,
        [campaign.id],
      );
      assert.ok(own[0].rate < 0.2, `the campaign diluted its own rate to ${own[0].rate}`);

      const run = await computeCharts(db);
      assert.equal(run.status, 'done');
      const { rows: stats } = await db.query<{ stats: { storeRate: number } }>('SELECT stats FROM chart_runs WHERE id = $1', [run.runId]);
      assert.ok(stats[0].stats.storeRate > 0.5 && stats[0].stats.storeRate < 0.8, `store rate ${stats[0].stats.storeRate}`);
      const { outOfTop10, expectRise } = chartChecks(db, run.runId, category);
      await outOfTop10(campaign.id);
      await expectRise(genuine.id, false);
    });
  });
}

/** The checks of a chart run: an app out of its category's top free and of both trending top 10s; a genuine rise in the top 10 and #1 trending. */
function chartChecks(db: Queryable, runId: string, category: string) {
  const rankOf = async (appId: string, chart: string, cat: string) => {
    const { rows } = await db.query<{ rank: number }>(
      `SELECT rank FROM chart_entries WHERE run_id = $1 AND chart = $2 AND country = 'US' AND category = $3 AND app_id = $4`,
      [runId, chart, cat, appId],
    );
    return rows[0]?.rank ?? null;
  };
  const out = (r: number | null) => r === null || r > 10;
  return {
    rankOf,
    async outOfTop10(appId: string) {
      const ranks = {
        topFree: await rankOf(appId, 'top-free', category),
        trending: await rankOf(appId, 'trending', category),
        trendingOverall: await rankOf(appId, 'trending', ''),
      };
      assert.ok(out(ranks.topFree) && out(ranks.trending) && out(ranks.trendingOverall), JSON.stringify(ranks));
    },
    async expectRise(appId: string, overallToo = true) {
      const top = await rankOf(appId, 'top-free', category);
      assert.ok(top !== null && top <= 10, `genuine rise ranked ${top}`);
      assert.equal(await rankOf(appId, 'trending', category), 1);
      if (overallToo) assert.equal(await rankOf(appId, 'trending', ''), 1);
    },
  };
}
