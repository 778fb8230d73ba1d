// `orchard integrity simulate-charts`: a throwaway Orchard (embedded parts, database in memory) with a seeded
// catalog, through whose API, statistics consumer and chart run a chart world (world.ts) is sent (simulate.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildApp, createModules, migrationDirs, startEvents } from '../../app.ts';
import { createInfra, loadConfig } from '../../config.ts';
import { migrate } from '../../platform/db/index.ts';
import { seed } from '../../seed/index.ts';
import { simulateCharts, type ChartSimulationReport } from './simulate.ts';

/** Seeded catalogs are about half free apps; a world needs at most 40 incumbents, 12 tails and 4 decoys. */
export const CATALOG_APPS = 160;

export async function runChartSimulation(worldSeed: number, log: (line: string) => void = () => {}): Promise<ChartSimulationReport> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'orchard-chart-simulation-'));
  const config = loadConfig({}, { dataDir, logLevel: 'warn', demo: { apps: 0, users: 0 } });
  const infra = await createInfra(config, { inMemoryDb: true });
  try {
    await migrate(infra.db, migrationDirs);
    await seed({ infra, apps: CATALOG_APPS, users: 0, rngSeed: worldSeed });
    const modules = createModules(config, infra);
    const app = await buildApp(config, infra, modules);
    await startEvents(infra, modules, { relay: true, consume: true });
    try {
      return await simulateCharts(
        {
          app,
          db: infra.db,
          openSession: (userId) => modules.identity.service.openSessionFor(userId),
          installToken: async (appId, issuedAtMs) => (await modules.library.service.installTokens.issue(appId, issuedAtMs)).token,
          rankings: modules.rankings,
          nudge: () => infra.bus.nudge(),
          log,
        },
        worldSeed,
      );
    } finally {
      await app.close();
    }
  } finally {
    await infra.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
