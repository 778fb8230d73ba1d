// The catalog module: categories, storefronts, apps, versions, media, prices, in-app products and the
// review workflow. Other modules import only this file.
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { Guards } from '../../platform/http/auth.ts';
import { catalogRoutes } from './routes.ts';
import { CatalogService, type CatalogDeps } from './service.ts';

export const catalogMigrations = path.join(path.dirname(new URL(import.meta.url).pathname), 'migrations');

export { CatalogService, type Actor } from './service.ts';
export { announceCounterChange, countFirstDownloads, setRatings, type RatingTotals } from './counters.ts';
export type { AppStatus, VersionStatus } from './workflow.ts';
export { VERSION_RULE, compareVersions, parseVersion } from './versioning.ts';

export type { AppChange, AppChangedPayload, CatalogEvents } from './events.ts';

export function createCatalog(deps: CatalogDeps) {
  const service = new CatalogService(deps);
  // Every process drops its copies when any process changes an app. The writer has already done so right
  // after its commit; this also reaches other API processes, and covers app.changed from other modules
  // (which may send only appId: then category browse pages just expire by their short TTL).
  deps.bus.broadcast(['app.changed'], async (event) => {
    const { appId, bundleId, categories } = event.payload;
    if (typeof appId !== 'string') return;
    await service.cache.invalidate({ appId, bundleId, categories: categories ?? [] });
  });
  // Broadcasts missed while the broker link was down could leave stale copies here: drop them all.
  deps.bus.onBroadcastGap(() => service.cache.clearLocal());
  const routes: FastifyPluginAsync<{ guards: Guards }> = catalogRoutes(service, deps.config);
  return { name: 'catalog', migrations: catalogMigrations, routes, service };
}
export type Catalog = ReturnType<typeof createCatalog>;
