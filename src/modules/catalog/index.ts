// The catalog module: categories, storefronts, apps, versions, media, prices, in-app products and the
// review workflow. Other modules import only this file.
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { Guards } from '../../platform/http/auth.ts';
import type { OrchardEvent } from '../../platform/bus/index.ts';
import { catalogRoutes } from './routes.ts';
import { CatalogService, type CatalogDeps } from './service.ts';
import type { AppStatus } from './workflow.ts';

export const catalogMigrations = path.join(path.dirname(new URL(import.meta.url).pathname), 'migrations');

export { CatalogService, type Actor } from './service.ts';
export { announceCounterChange, countFirstDownloads, setRatings, type RatingTotals } from './counters.ts';
export type { AppStatus, VersionStatus } from './workflow.ts';
export { VERSION_RULE, compareVersions, parseVersion } from './versioning.ts';

/** Emitted (through the outbox) by every change to an app; consumers re-read what they need. */
export interface AppChangedPayload extends Record<string, unknown> {
  appId: string;
  bundleId: string;
  status: AppStatus;
  /** created | metadata | icon | screenshots | version | binary | prices | products | submitted | approved | rejected | published | removed */
  change: string;
  /** Categories whose listings may show the app, before and after the change. */
  categories: string[];
}
export type AppChangedEvent = OrchardEvent<AppChangedPayload>;
/** Also emitted: app.submitted { appId, versionId, version } and app.reviewed { appId, versionId, version, decision, reason }. */
export const CATALOG_EVENTS = ['app.changed', 'app.submitted', 'app.reviewed'] as const;

export function createCatalog(deps: CatalogDeps) {
  const service = new CatalogService(deps);
  // Every process drops its copies when any process changes an app. The writer has already done so right
  // after its commit; this also reaches other API processes, and covers app.changed from other modules
  // (which may send only appId: then category browse pages just expire by their short TTL).
  deps.bus.broadcast(['app.changed'], async (event: OrchardEvent<Partial<AppChangedPayload>>) => {
    const { appId, bundleId, categories } = event.payload;
    if (typeof appId !== 'string') return;
    await service.cache.invalidate({ appId, bundleId, categories: Array.isArray(categories) ? categories : [] });
  });
  // Broadcasts missed while the broker link was down could leave stale copies here: drop them all.
  deps.bus.onBroadcastGap(() => service.cache.clearLocal());
  const routes: FastifyPluginAsync<{ guards: Guards }> = catalogRoutes(service, deps.config);
  return { name: 'catalog', migrations: catalogMigrations, routes, service };
}
export type Catalog = ReturnType<typeof createCatalog>;
