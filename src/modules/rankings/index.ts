// The rankings module: daily statistics and running signals from downloads, sales, refunds and SDK
// engagement; the hourly chart run (top free, top paid, top grossing, trending, new; per storefront country,
// overall and per category); chart reads, app positions and developers' rank history.
// Other modules import only this file.
//
// Owns: app_daily_stats, app_chart_signals (partitioned per storefront), app_engagement, chart_accounts, chart_cohort_buckets,
// chart_runs, chart_entries, chart_rank_history, sdk_keys, engagement_sessions, engagement_installs,
// engagement_aggregation. Publishes (events.ts): ranking.compute, ranking.computed. Consumes: app.downloaded,
// purchase.completed, subscription.renewed, transaction.revoked (batch: signals), ranking.compute (durable:
// the run), ranking.computed (broadcast: caches). Jobs: rankings.schedule.
// Reads: catalog_apps, catalog_app_versions, catalog_storefronts. Uses the library's install-token verifier
// (deps.installTokens): SDK sessions count only for installs a real download issued, from its download on, within
// a daily cap per install; an install's first session is an activation, and SDK apps' acquisitions count in charts
// only as far as activations support them (trust.ts supportedAcquisitions).
import path from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import type { FastifyPluginAsync } from 'fastify';
import type { Config, Infra } from '../../config.ts';
import { consumersOf } from '../../platform/bus/index.ts';
import type { InstallTokenVerifier, LibraryEvents } from '../library/index.ts';
import type { PurchasesEvents } from '../purchases/index.ts';
import { rankingsEvents, type RankingsEvents } from './events.ts';
import type { Guards } from '../../platform/http/auth.ts';
import type { Job } from '../../platform/jobs/index.ts';
import type { CatalogService } from '../catalog/index.ts';
import type { SearchService } from '../search/index.ts';
import { computeCharts, type RunResult } from './compute.ts';
import { createEngagement } from './engagement.ts';
import { applySignals, CONSUMER_BATCH, SIGNAL_EVENTS, SIGNALS_CONSUMER } from './ingest.ts';
import { rankingsRoutes } from './routes.ts';
import { RankingsService } from './service.ts';

export const rankingsMigrations = path.join(path.dirname(new URL(import.meta.url).pathname), 'migrations');
export { computeCharts, rebuildSignals, CHARTS, CHART_SIZE, type Chart, type RunResult } from './compute.ts';
export { DEFAULT_WEIGHTS, HALF_LIFE_DAYS, type Weights } from './signals.ts';
export { RankingsService } from './service.ts';

export type { RankingsEvents } from './events.ts';
const COMPUTE_CONSUMER = 'rankings.compute';
/** How often the scheduler looks whether this hour's run has been scheduled. */
const SCHEDULE_CHECK_MS = 60_000;
const HOUR_MS = 3_600_000;

export interface RankingsDeps extends Infra {
  /** The configuration rankings reads. */
  config: Pick<Config, 'chartWeights'>;
  catalog: CatalogService;
  search: SearchService;
  /** The library's install-token verifier (createLibrary(...).installTokens). */
  installTokens: InstallTokenVerifier;
}

export function createRankings(deps: RankingsDeps) {
  // read-only: charts, positions and rank history tolerate a replica's lag
  const service = new RankingsService({ db: deps.readDb, cache: deps.cache, catalog: deps.catalog, search: deps.search });
  const engagement = createEngagement({
    db: deps.db,
    cache: deps.cache,
    logger: deps.logger,
    metrics: deps.metrics,
    installTokens: deps.installTokens,
  });
  // App detail shows the app's chart positions (spliced into the catalog's cached detail).
  deps.catalog.extendDetail((appId) => service.positionsMember(appId));

  let running: Promise<unknown> = Promise.resolve();
  /** Aggregates engagement, computes every chart, announces the run. One at a time per process; the lock makes it one across processes. */
  const compute = (options: { runId?: string; slot?: Date } = {}): Promise<RunResult> => {
    const run = running.then(async () => {
      await engagement.aggregate();
      const result = await computeCharts(deps.db, { ...options, weights: deps.config.chartWeights });
      if (result.status === 'done') {
        await rankingsEvents.record(deps.db, 'ranking.computed', { runId: result.runId }, result.runId);
        deps.bus.nudge();
      }
      deps.logger.info({ ...result }, 'chart run');
      return result;
    });
    running = run.catch(() => {});
    return run;
  };
  // At most once (the seeds' ranking.compute semantics): the message only starts the run, after its delivery
  // is recorded; a run that fails or dies is not retried, the next hour's slot computes again.
  const on = consumersOf<RankingsEvents & LibraryEvents & PurchasesEvents>();
  const consumers = [
    on.batch(SIGNALS_CONSUMER, SIGNAL_EVENTS, applySignals, { maxBatch: CONSUMER_BATCH }),
    on.broadcast(['ranking.computed'], async () => service.onComputed()),
    on.durable(COMPUTE_CONSUMER, ['ranking.compute'], async (event) => {
      const { runId, slot } = event.payload;
      if (typeof runId !== 'string' || typeof slot !== 'string') return;
      setImmediate(() => void compute({ runId, slot: new Date(slot) }).catch((err) => deps.logger.error({ err, runId }, 'chart run failed')));
    }),
  ];

  /** Records this hour's ranking.compute once, whatever the number of workers checking (chart_runs.slot is unique). */
  async function scheduleThisHour(now = new Date()): Promise<boolean> {
    const slot = new Date(Math.floor(now.getTime() / HOUR_MS) * HOUR_MS);
    const scheduled = await deps.db.tx(async (q) => {
      const runId = uuidv7();
      const { rowCount } = await q.query(`INSERT INTO chart_runs (id, slot) VALUES ($1, $2) ON CONFLICT (slot) DO NOTHING`, [runId, slot]);
      if (rowCount) await rankingsEvents.record(q, 'ranking.compute', { runId, slot: slot.toISOString() }, runId);
      return !!rowCount;
    });
    if (scheduled) deps.bus.nudge();
    return scheduled;
  }

  // Every process may check: the slot's unique row lets one of them record the hour's run.
  const jobs: Job[] = [{ name: 'rankings.schedule', everyMs: SCHEDULE_CHECK_MS, exclusive: false, runAtStart: true, run: () => scheduleThisHour() }];

  const routes: FastifyPluginAsync<{ guards: Guards }> = async (app, { guards }) => {
    await app.register(rankingsRoutes(service), { guards });
    await app.register(engagement.routes, { guards });
  };
  return {
    name: 'rankings',
    migrations: rankingsMigrations,
    routes,
    consumers,
    onEventGap: () => service.onComputed(),
    jobs,
    drain: async () => void (await running),
    service,
    compute,
    scheduleThisHour,
    aggregateEngagement: engagement.aggregate,
  };
}
export type Rankings = ReturnType<typeof createRankings>;
