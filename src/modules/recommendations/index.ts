// The recommendations module: the batch job's co-download neighbours, each app's similar apps and active users'
// rows, all computed ahead and read on the request path as stored data. Other modules import only this file.
//
// Owns: app_neighbors, recs_builds, recs_app_owners, recs_live, recs_similar, recs_user_rows. Publishes
// (events.ts): recs.built, recs.rows_changed. Consumes: recs.built and recs.rows_changed (broadcast: caches),
// app.changed (similar lists to compute), purchase.completed and transaction.revoked (a user's rows). Jobs:
// recommendations.build, recommendations.precompute. Reads: library's owned_apps, purchases_transactions, catalog_apps, identity_users,
// identity_active_users.
import path from 'node:path';
import type { Infra } from '../../config.ts';
import { withLock } from '../../platform/cache/index.ts';
import { consumersOf } from '../../platform/bus/index.ts';
import type { CatalogEvents } from '../catalog/index.ts';
import type { Commerce, PurchasesEvents } from '../purchases/index.ts';
import { recommendationsEvents, type RecommendationsEvents } from './events.ts';
import type { Job, Scheduler } from '../../platform/jobs/index.ts';
import type { CatalogService } from '../catalog/index.ts';
import type { RankingsService } from '../rankings/index.ts';
import type { SearchService } from '../search/index.ts';
import { buildNeighbors, type BuildOptions, type BuildResult } from './build.ts';
import { recommendationsRoutes } from './routes.ts';
import { RecommendationsService } from './service.ts';
import { markChanged, refreshSimilar, SIMILAR_CHANGES, type SimilarPass } from './similar.ts';
import { markAcquired, markStale, refreshUserRows, type UserRowsPass } from './users.ts';

export const recommendationsMigrations = path.join(path.dirname(new URL(import.meta.url).pathname), 'migrations');
export { buildNeighbors, FULL_BUILD_EVERY_MS, type BuildOptions, type BuildResult } from './build.ts';
export { likelyApps, neighborsFromLibraries, type Neighbor } from './cf.ts';
/** recs.built { id }: a new set of neighbours is live (every process drops its copies). */
export type { RecommendationsEvents } from './events.ts';
/** How often the worker folds new acquisitions in (a full build daily: FULL_BUILD_EVERY_MS). */
export const BUILD_EVERY_MS = 10 * 60_000;
/** Longer than any build: the lock is not renewed. */
const BUILD_LOCK_MS = 2 * 3_600_000;
/** How often the precompute job looks for similar lists and users' rows to compute (a pass stops after minutes). */
const PRECOMPUTE_EVERY_MS = 60_000;
/** How often a pass also looks for apps and signed-in users that have nothing stored yet. */
const SCAN_EVERY_MS = 10 * 60_000;
const PRECOMPUTE_JOB = 'recommendations.precompute';

export interface RecommendationsModuleDeps extends Infra {
  catalog: CatalogService;
  search: SearchService;
  rankings: RankingsService;
  purchases: Pick<Commerce, 'onAppAcquired'>;
  scheduler: Pick<Scheduler, 'trigger'>;
}

export function createRecommendations(deps: RecommendationsModuleDeps) {
  const service = new RecommendationsService({
    db: deps.db,
    catalog: deps.catalog,
    search: deps.search,
    rankings: deps.rankings,
    logger: deps.logger,
    nudge: () => deps.bus.nudge(),
  });
  deps.catalog.extendDetail((appId) => service.similarMember(appId));
  deps.purchases.onAppAcquired((userId, appId) => service.noteAcquired(userId, appId));

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

  let scannedAt = 0;
  /**
   * One precompute pass: similar lists due (new, stale, old), then users' rows due; with `scan` (every
   * SCAN_EVERY_MS, and at a process's first pass) also apps and signed-in users that have nothing stored yet.
   */
  async function precompute(opts: { scan?: boolean; budgetMs?: number } = {}): Promise<{ similar: SimilarPass; users: UserRowsPass }> {
    // content similarity comes from the search index: waited for (a worker process, with no HTTP to start it, builds its own)
    if (deps.search.state !== 'ready') await deps.search.start();
    const scan = opts.scan ?? Date.now() - scannedAt >= SCAN_EVERY_MS;
    const similar = await refreshSimilar({ db: deps.db, search: deps.search, neighborsOf: service.sources.neighborsOf }, { ...opts, scan });
    if (scan && !similar.skipped) scannedAt = Date.now();
    const users = await refreshUserRows(service.sources, { ...opts, scan: scan && !similar.skipped });
    if (users.computed) deps.bus.nudge(); // their recs.rows_changed
    if (similar.computed || similar.added || similar.deleted || users.computed || users.deleted) {
      deps.logger.info({ similar, users }, 'recommendations precomputed');
    }
    return { similar, users };
  }

  // build() takes its own lock (the CLI calls it too): one build at a time across processes, incremental, full once a day.
  const jobs: Job[] = [
    { name: 'recommendations.build', everyMs: BUILD_EVERY_MS, exclusive: false, runAtStart: true, run: () => build() },
    { name: PRECOMPUTE_JOB, everyMs: PRECOMPUTE_EVERY_MS, runAtStart: true, run: () => precompute() },
  ];
  const catalogEvents = consumersOf<CatalogEvents>();
  const purchaseEvents = consumersOf<PurchasesEvents>();
  const consumers = [
    consumersOf<RecommendationsEvents>().broadcast(['recs.built', 'recs.rows_changed'], async (event) => {
      if (event.type === 'recs.built') service.onBuilt();
      else service.forgetAnswers((event.payload as RecommendationsEvents['recs.rows_changed']).userIds);
    }),
    catalogEvents.durable('recommendations.similar', ['app.changed'], async (event, q) => {
      if (SIMILAR_CHANGES.has(event.payload.change)) await markChanged(q, event.payload.appId);
    }),
    // the purchase's own process has already left the app out (onAppAcquired); this reaches every other path
    purchaseEvents.durable('recommendations.libraries', ['purchase.completed', 'transaction.revoked'], async (event, q) => {
      const { userId, appId, environment } = event.payload;
      if (environment !== 'Production') return;
      if (event.type === 'purchase.completed') {
        if (event.payload.kind !== 'app') return;
        await markAcquired(q, userId, appId);
      } else await markStale(q, userId);
      deps.scheduler.trigger(PRECOMPUTE_JOB);
    }),
  ];
  return {
    name: 'recommendations',
    migrations: recommendationsMigrations,
    routes: recommendationsRoutes(service),
    consumers,
    onEventGap: () => {
      service.onBuilt();
      service.forgetAnswers();
    },
    jobs,
    service,
    build,
    precompute,
  };
}
export type Recommendations = ReturnType<typeof createRecommendations>;
