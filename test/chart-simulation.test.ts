// The chart red-team simulation (issue 20, item 7) on one tuning seed: campaigns of fresh, aged-thin, aged-lockstep
// and aged-varied accounts (aged, 2-3 other apps, spread creation times: their installs never run the app) stay out
// of their category's top 10 and out of every trending top 10; every fabricated SDK session (no token, forged,
// tampered or another app's) is refused; a genuine rise of the same volume, whose installs open the app, enters
// the category top 10.
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { seed } from '../src/seed/index.ts';
import { CATALOG_APPS } from '../src/labs/chart-simulation/run.ts';
import { simulateCharts, type ChartSimulationReport, type FamilyOutcome } from '../src/labs/chart-simulation/simulate.ts';
import type { Family } from '../src/labs/chart-simulation/world.ts';
import { kinds } from './support/infra.ts';
import { createTestApp, type TestApp } from './support/app.ts';

const SEED = 2;
const outOfTop10 = (rank: number | null) => rank === null || rank > 10;
const charted = (f: FamilyOutcome) => ({ topFree: f.topFree, trendingCategory: f.trendingCategory, trendingOverall: f.trendingOverall });

for (const kind of kinds()) {
  describe(`chart red-team simulation, seed ${SEED} (${kind})`, () => {
    let t: TestApp;
    let report: ChartSimulationReport;
    const family = (name: Family) => report.families.find((f) => f.family === name)!;

    // a seeded store and a week of campaigns: ~30-60 s alone, more beside other suites
    before(
      async () => {
        t = await createTestApp(kind);
        await seed({ infra: t.infra, apps: CATALOG_APPS, users: 0, rngSeed: SEED });
        report = await simulateCharts(
          {
            app: t.app,
            db: t.infra.db,
            openSession: (userId) => t.modules.identity.service.openSessionFor(userId),
            installToken: async (appId, issuedAtMs) => (await t.modules.library.service.installTokens.issue(appId, issuedAtMs)).token,
            rankings: t.modules.rankings,
            nudge: () => t.infra.bus.nudge(),
          },
          SEED,
        );
      },
      { timeout: 300_000 },
    );
    after(() => t?.close());

    for (const name of ['fresh', 'aged-thin', 'aged-lockstep', 'aged-varied'] as const) {
      test(`a ${name} campaign at the #5 app's weekly volume stays out of the category top 10 and every trending top 10`, () => {
        const f = family(name);
        assert.ok(f.volume > 100, `volume ${f.volume}`);
        assert.ok(outOfTop10(f.topFree) && outOfTop10(f.trendingCategory) && outOfTop10(f.trendingOverall), JSON.stringify(charted(f)));
      });
    }

    test('every fabricated SDK session is refused, for each reason', () => {
      for (const name of ['fresh', 'aged-thin', 'aged-lockstep', 'aged-varied'] as const) {
        const { sessions } = family(name);
        assert.ok(sessions.sent > 0);
        assert.equal(sessions.accepted, 0, name);
        assert.equal(sessions.refused, sessions.sent, name);
        assert.deepEqual(Object.keys(sessions.byReason).sort(), ['invalid_token', 'missing', 'wrong_app'], name);
      }
      assert.ok(report.doneWhen.find((d) => d.name.includes('fabricated'))!.pass);
    });

    test('a genuine rise of the same volume, with real downloads, enters the category top 10 and its sessions count', () => {
      const f = family('genuine-rise');
      assert.ok(!outOfTop10(f.topFree), JSON.stringify(charted(f)));
      assert.ok(f.sessions.sent > 0);
      assert.equal(f.sessions.accepted, f.sessions.sent);
      assert.ok(report.doneWhen.find((d) => d.name.includes('genuine-rise'))!.pass);
    });

    test('every done-when line of the run passes', () => {
      for (const d of report.doneWhen) assert.ok(d.pass, d.name);
    });
  });
}
