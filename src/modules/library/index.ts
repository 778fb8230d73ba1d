// The library module: what users own (apps and in-app purchases), signed downloads of builds, update checks
// and download statistics. Other modules import only this file.
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { Guards } from '../../platform/http/auth.ts';
import { DownloadLinks, signingKey } from './links.ts';
import { libraryRoutes } from './routes.ts';
import { LibraryService, type LibraryDeps } from './service.ts';
import { applyDownload, DOWNLOAD_STATS_CONSUMER } from './stats.ts';

export const libraryMigrations = path.join(path.dirname(new URL(import.meta.url).pathname), 'migrations');

export { LibraryService, type LibraryDeps } from './service.ts';
export { DownloadLinks, type DownloadGrant } from './links.ts';
export { DOWNLOAD_KINDS, type AppDownloadedEvent, type AppDownloadedPayload, type DownloadKind } from './stats.ts';
export type { LibraryEvents } from './events.ts';

export const DEFAULT_LINK_TTL_MS = 5 * 60_000;

export interface LibraryOptions {
  /** How long a download URL works (default 5 minutes). */
  linkTtlMs?: number;
}

export function createLibrary(deps: LibraryDeps, options: LibraryOptions = {}) {
  const key = signingKey(deps.config.downloadUrlSecret, path.join(deps.config.dataDir, 'keys', 'download-url.key'));
  const service = new LibraryService(deps, new DownloadLinks(key, options.linkTtlMs ?? DEFAULT_LINK_TTL_MS));
  deps.bus.subscribe(DOWNLOAD_STATS_CONSUMER, ['app.downloaded'], applyDownload);
  const routes: FastifyPluginAsync<{ guards: Guards }> = libraryRoutes(service);
  return { name: 'library', migrations: libraryMigrations, routes, service };
}
export type Library = ReturnType<typeof createLibrary>;
