// The recommendations module: the batch job's co-download neighbours, a user's rows and similar apps.
// Other modules import only this file.
import path from 'node:path';
import type { Config, Infra } from '../../config.ts';
import { withLock } from '../../platform/cache/index.ts';
import { recordEvent } from '../../platform/bus/index.ts';
import type { CatalogService } from '../catalog/index.ts';
import type { RankingsService } from '../rankings/index.ts';
import type { SearchService } from '../search/index.ts';
import { buildNeighbors, type BuildResult } from './build.ts';
import { recommendationsRoutes } from './routes.ts';
import { RecommendationsService } from './service.ts';

export const recommendationsMigrations = path.join(path.dirname(new URL(import.meta.url).pathname), 'migrations');
export { buildNeighbors, type BuildResult } from './build.ts';
export { evaluateRecommendations, formatEvaluation } from './evaluate.ts';
/** recs.built { id }: a new set of neighbours is live (every process drops its copies). */
export const RECOMMENDATION_EVENTS = ['recs.built'] as const;
/** How often the worker rebuilds the neighbours. */
export const BUILD_INTERVAL_MS = 6 * 3_600_000;
const CHECK_MS = 10 * 60_000;

export interface RecommendationsModuleDeps extends Infra {
  config: Config;
  catalog: CatalogService;
  search: SearchService;
  rankings: RankingsService;
}

export function createRecommendations(deps: RecommendationsModuleDeps) {
  const service = new RecommendationsService({ db: deps.db, cache: deps.cache, catalog: deps.catalog, search: deps.search, rankings: deps.rankings });
  deps.bus.broadcast(['recs.built'], async () => service.onBuilt());
  deps.bus.onBroadcastGap(() => service.onBuilt());

  /** Rebuilds the neighbours now (null when another build is running) and announces it. */
  async function build(): Promise<BuildResult | null> {
    const result = await buildNeighbors(deps.db);
    if (result) {
      await recordEvent(deps.db, 'recs.built', { id: result.id }, result.id);
      deps.bus.nudge();
      deps.logger.info({ ...result }, 'recommendations built');
    }
    return result;
  }

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  /** Worker job: a build when the last one is BUILD_INTERVAL_MS old (checked every 10 minutes, one process at a time). */
  function startJobs() {
    if (timer) return;
    const tick = () => {
      running = withLock(deps.cache, 'recs-build', 30 * 60_000, async () => {
        const { rows } = await deps.db.query<{ at: Date | null }>('SELECT max(built_at) AS at FROM recs_builds');
        if (rows[0].at && Date.now() - new Date(rows[0].at).getTime() < BUILD_INTERVAL_MS) return;
        await build();
      }).catch((err) => deps.logger.error({ err }, 'recommendations build failed'));
    };
    timer = setInterval(tick, CHECK_MS);
    timer.unref();
    tick();
  }
  async function stopJobs() {
    if (timer) clearInterval(timer);
    timer = undefined;
    await running;
  }
  return { service, routes: recommendationsRoutes(service), build, startJobs, stopJobs };
}
export type Recommendations = ReturnType<typeof createRecommendations>;
