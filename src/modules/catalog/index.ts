// The catalog module: categories, storefronts, apps, versions, media, prices, in-app products and the
// review workflow. Other modules import only this file.
//
// Owns: storefronts, categories, apps, app_versions, app_media, app_prices, in_app_products, in_app_prices.
// Offers: read views catalog_apps, catalog_app_versions, catalog_app_media, catalog_app_prices,
//   catalog_in_app_products, catalog_in_app_prices, catalog_storefronts (migration 0202); CatalogService for
//   request paths; the only writes from outside, counters.ts (setRatings for reviews, countFirstDownloads and
//   announceCounterChange for library).
// Publishes (events.ts): app.changed, app.submitted, app.reviewed. Consumes: app.changed (broadcast: caches).
// Reads: identity_developers.
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { consumersOf } from '../../platform/bus/index.ts';
import type { Guards } from '../../platform/http/auth.ts';
import type { CatalogEvents } from './events.ts';
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
  const on = consumersOf<CatalogEvents>();
  const consumers = [
    // Every process drops its copies when any process changes an app. The writer has already done so right
    // after its commit; this also reaches other API processes, and covers counter changes (ratings, downloads:
    // only appId, so category browse pages just expire by their short TTL).
    on.broadcast(['app.changed'], async (event) => {
      const { appId, bundleId, categories } = event.payload;
      if (typeof appId !== 'string') return;
      service.noteChanged(appId);
      await service.cache.invalidate({ appId, bundleId, categories: categories ?? [] });
    }),
  ];
  const routes: FastifyPluginAsync<{ guards: Guards }> = catalogRoutes(service, deps.config);
  return {
    name: 'catalog',
    migrations: catalogMigrations,
    routes,
    consumers,
    service,
    // Broadcasts missed while the broker link was down could leave stale copies here: drop them all.
    onEventGap: () => service.cache.clearLocal(),
  };
}
export type Catalog = ReturnType<typeof createCatalog>;
