// The library module: what users own (apps and in-app purchases), signed downloads of builds, update checks
// and download statistics. Other modules import only this file.
//
// Owns: app_user_downloads, app_download_days, app_download_signals, and the owned_apps view (the ownership
// rule, over purchases_transactions; recommendations reads it too).
// Publishes (events.ts): app.downloaded. Consumes: app.downloaded (durable: daily counts, and the catalog's
// download counter through countFirstDownloads). Reads: catalog_apps, catalog_app_versions, catalog_app_media,
// purchases_transactions, purchases_subscriptions.
// Exports `installTokens` (createLibrary's result): the verifier of the install tokens downloads hand out, for
// engagement ingestion (install-tokens.ts).
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { consumersOf } from '../../platform/bus/index.ts';
import type { Guards } from '../../platform/http/auth.ts';
import type { LibraryEvents } from './events.ts';
import { InstallTokens, type InstallTokenVerifier } from './install-tokens.ts';
import { DownloadLinks, signingKey } from './links.ts';
import { libraryRoutes } from './routes.ts';
import { LibraryService, type LibraryDeps } from './service.ts';
import { applyDownload, DOWNLOAD_STATS_CONSUMER } from './stats.ts';

export const libraryMigrations = path.join(path.dirname(new URL(import.meta.url).pathname), 'migrations');

export { LibraryService, type LibraryDeps } from './service.ts';
export { DownloadLinks, type DownloadGrant } from './links.ts';
export { INSTALL_TOKEN_LENGTH, INSTALL_TOKEN_MAX_AGE_DAYS, type InstallGrant, type InstallTokenCheck, type InstallTokenVerifier } from './install-tokens.ts';
export { DOWNLOAD_KINDS, type AppDownloadedEvent, type AppDownloadedPayload, type DownloadKind } from './stats.ts';
export type { LibraryEvents } from './events.ts';

export const DEFAULT_LINK_TTL_MS = 5 * 60_000;

export interface LibraryOptions {
  /** How long a download URL works (default 5 minutes). */
  linkTtlMs?: number;
}

export function createLibrary(deps: LibraryDeps, options: LibraryOptions = {}) {
  const key = signingKey(deps.config.downloadUrlSecret, path.join(deps.config.dataDir, 'keys', 'download-url.key'));
  const tokens = new InstallTokens(key);
  const service = new LibraryService(deps, new DownloadLinks(key, options.linkTtlMs ?? DEFAULT_LINK_TTL_MS), tokens);
  /** Checks install tokens (never issues them): what engagement ingestion is given. */
  const installTokens: InstallTokenVerifier = { verify: tokens.verify };
  const consumers = [consumersOf<LibraryEvents>().durable(DOWNLOAD_STATS_CONSUMER, ['app.downloaded'], applyDownload)];
  const routes: FastifyPluginAsync<{ guards: Guards }> = libraryRoutes(service);
  return { name: 'library', migrations: libraryMigrations, routes, consumers, service, installTokens };
}
export type Library = ReturnType<typeof createLibrary>;
