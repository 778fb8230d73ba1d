// The search module: the in-memory engine (engine/) kept in step with the catalog, the PostgreSQL
// full-text fallback, and the search API. Other modules import only this file.
//
// Owns no table: the full-text column its fallback reads (apps.search_document) is the catalog's, since a
// generated column lives in its table. Consumes: app.changed (broadcast: the in-memory index).
// Reads: catalog_apps, catalog_app_prices, catalog_storefronts, identity_developers.
import path from 'node:path';
import { consumersOf } from '../../platform/bus/index.ts';
import type { CatalogEvents } from '../catalog/index.ts';
import { defaultEngineFactory, type EngineFactory } from './engine-factory.ts';
import { searchRoutes } from './routes.ts';
import { SearchService, type SearchDeps } from './service.ts';

export { SearchService, type SearchDeps, type IndexState } from './service.ts';
export { defaultEngineFactory, type EngineFactory } from './engine-factory.ts';
export type { SearchDoc, SearchEngine, SearchFilters, SearchResult } from './engine/types.ts';
export { AppSummary } from './schemas.ts';

export interface SearchOptions {
  /** How the index is made: the real engine, built in a worker thread, unless told otherwise. */
  engine?: EngineFactory;
}

/**
 * Every process keeps its own index: app.changed is a broadcast, and a broker gap triggers a catch-up.
 * The index is built by service.start(), which the routes call once the server listens.
 */
export function createSearch(deps: SearchDeps, options: SearchOptions = {}) {
  const service = new SearchService(deps, options.engine ?? defaultEngineFactory(path.join(deps.config.dataDir, 'search')));
  const consumers = [consumersOf<CatalogEvents>().broadcast(['app.changed'], (event) => service.onAppChanged(event))];
  return { name: 'search', routes: searchRoutes(service), consumers, onEventGap: () => service.onBroadcastGap(), service };
}
export type Search = ReturnType<typeof createSearch>;
