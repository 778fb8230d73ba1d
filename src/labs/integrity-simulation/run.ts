// `orchard integrity simulate`: a throwaway Orchard (embedded parts, database in memory) with a catalog of
// apps, through whose API and integrity pipeline a simulated world (world.ts) is sent (simulate.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildApp, createModules, migrationDirs, startEvents } from '../../app.ts';
import { createInfra, loadConfig } from '../../config.ts';
import { migrate } from '../../platform/db/index.ts';
import { seed } from '../../seed/index.ts';
import { simulate, type SimulationReport } from './simulate.ts';
import { plannedAppCount, type SimulationOptions } from './world.ts';

/** Seeded catalogs are about half free apps, and rings need developers with several: seed enough for the world. */
const CATALOG_PER_APP = 3;

export async function runIntegritySimulation(options: SimulationOptions, log: (line: string) => void = () => {}, explain = false): Promise<SimulationReport> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'orchard-simulation-'));
  const config = loadConfig({}, { dataDir, logLevel: 'warn', demo: { apps: 0, users: 0 } });
  const infra = await createInfra(config, { inMemoryDb: true });
  let now = Date.now();
  const clock = { set: (ms: number) => void (now = ms) };
  try {
    await migrate(infra.db, migrationDirs);
    await seed({ infra, apps: Math.max(60, plannedAppCount(options) * CATALOG_PER_APP), users: 0, rngSeed: options.seed });
    const modules = createModules(config, infra, { clock: () => new Date(now) });
    const app = await buildApp(config, infra, modules);
    await startEvents(infra, modules, { relay: true, consume: true });
    try {
      return await simulate(
        {
          app,
          db: infra.db,
          createUser: (u) => modules.identity.service.createUser(u),
          openSession: (userId) => modules.identity.service.openSessionFor(userId),
          clock,
          nudge: () => infra.bus.nudge(),
          log,
        },
        options,
        explain,
      );
    } finally {
      await app.close();
    }
  } finally {
    await infra.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
