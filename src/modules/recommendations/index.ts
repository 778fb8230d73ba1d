// The recommendations module: the batch job's co-download neighbours, a user's rows and similar apps.
// Other modules import only this file.
//
// Owns: app_neighbors, recs_builds, recs_app_owners, recs_live. Publishes (events.ts): recs.built. Consumes:
// recs.built (broadcast: caches). Jobs: recommendations.build. Reads: library's owned_apps,
// purchases_transactions, catalog_apps, identity_users.
import path from 'node:path';
import type { Infra } from '../../config.ts';
import { withLock } from '../../platform/cache/index.ts';
import { consumersOf } from '../../platform/bus/index.ts';
import { recommendationsEvents, type RecommendationsEvents } from './events.ts';
import type { Job } from '../../platform/jobs/index.ts';
import type { CatalogService } from '../catalog/index.ts';
import type { RankingsService } from '../rankings/index.ts';
import type { SearchService } from '../search/index.ts';
import { buildNeighbors, type BuildOptions, type BuildResult } from './build.ts';
import { recommendationsRoutes } from './routes.ts';
import { RecommendationsService } from './service.ts';

export const recommendationsMigrations = path.join(path.dirname(new URL(import.meta.url).pathname), 'migrations');
export { buildNeighbors, FULL_BUILD_EVERY_MS, type BuildOptions, type BuildResult } from './build.ts';
export { likelyApps, neighborsFromLibraries, type Neighbor } from './cf.ts';
/** recs.built { id }: a new set of neighbours is live (every process drops its copies). */
export type { RecommendationsEvents } from './events.ts';
/** How often the worker folds new acquisitions in (a full build daily: FULL_BUILD_EVERY_MS). */
export const BUILD_EVERY_MS = 10 * 60_000;
/** Longer than any build: the lock is not renewed. */
const BUILD_LOCK_MS = 2 * 3_600_000;

export interface RecommendationsModuleDeps extends Infra {
  catalog: CatalogService;
  search: SearchService;
  rankings: RankingsService;
}

export function createRecommendations(deps: RecommendationsModuleDeps) {
  const service = new RecommendationsService({
    db: deps.db,
    cache: deps.cache,
    catalog: deps.catalog,
    search: deps.search,
    rankings: deps.rankings,
    logger: deps.logger,
  });
  deps.catalog.extendDetail((appId) => service.similarMember(appId));

  /**
   * A build now (incremental when it can be, see build.ts), announced when it changed anything. Null when another
   * process is building.
   */
  async function build(opts: BuildOptions = {}): Promise<BuildResult | null> {
    const result = await withLock(deps.cache, 'recs-build', BUILD_LOCK_MS, () => buildNeighbors(deps.db, { readDb: deps.readDb, ...opts }));
    if (!result) return null;
    if (result.kind === 'full' || result.acquisitions) {
      await recommendationsEvents.record(deps.db, 'recs.built', { id: result.id }, result.id);
      deps.bus.nudge();
      deps.logger.info({ ...result }, 'recommendations built');
    }
    return result;
  }

  // build() takes its own lock (the CLI calls it too): one build at a time across processes, incremental, full once a day.
  const jobs: Job[] = [{ name: 'recommendations.build', everyMs: BUILD_EVERY_MS, exclusive: false, runAtStart: true, run: () => build() }];
  const consumers = [consumersOf<RecommendationsEvents>().broadcast(['recs.built'], async () => service.onBuilt())];
  return {
    name: 'recommendations',
    migrations: recommendationsMigrations,
    routes: recommendationsRoutes(service),
    consumers,
    onEventGap: () => service.onBuilt(),
    jobs,
    service,
    build,
  };
}
export type Recommendations = ReturnType<typeof createRecommendations>;
