// App Store Server API: developers' API keys and Apple's server-to-server endpoints over Orchard's
// transactions, compatible with Apple's own App Store Server Library. Other modules import only this file.
//
// Owns: api_issuers, api_keys. Publishes and consumes nothing. Reads: catalog_apps, catalog_in_app_products,
// catalog_in_app_prices, purchases_transactions, purchases_subscriptions.
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { Infra } from '../../config.ts';
import type { Guards } from '../../platform/http/auth.ts';
import type { Commerce, Environment } from '../purchases/index.ts';
import { createApiAuth } from './auth.ts';
import { rateLimited } from './errors.ts';
import { createApiKeys } from './keys.ts';
import { apiKeyRoutes, inAppsRoutes } from './routes.ts';
import { createServerApiService } from './service.ts';
import { createSubscriptionStatuses } from './subscriptions.ts';

export const serverapiMigrations = path.join(path.dirname(new URL(import.meta.url).pathname), 'migrations');
export type { ApiKey } from './keys.ts';
export type { ApiClient } from './auth.ts';
export { APPLE_ERRORS, appleErrorFormat, appleErrorFormats, installAppleErrorHandling } from './errors.ts';
export { inAppsPlugin, type InAppsAuthenticate } from './routes.ts';

/** Requests per client address per minute on the /inApps paths (Apple answers 429 with RATE_LIMIT_EXCEEDED too). */
export const IN_APPS_LIMIT = { max: 1200, windowMs: 60_000 };

export interface ServerApiDeps extends Pick<Infra, 'db' | 'cache'> {
  purchases: Pick<Commerce, 'findTransaction' | 'signTransaction' | 'signPayload'>;
  /** Apple's numeric id of an app (the notifications module allocates it): in history and status responses. */
  appAppleId: (appId: string) => Promise<number>;
}

export function createServerApi(deps: ServerApiDeps) {
  const keys = createApiKeys(deps.db);
  const verify = createApiAuth(deps.db, keys);
  /**
   * Counts the request against its address's limit, then checks its token: every /inApps request goes through here.
   * `environment` is the one of the base URL called (Production at the root, Sandbox under /sandbox), as Apple's hosts.
   */
  const authenticate = async (authorization: string | undefined, ip: string, environment: Environment) => {
    const { count, resetInMs } = await deps.cache.incr(`rl:inapps:${ip}`, IN_APPS_LIMIT.windowMs);
    if (count > IN_APPS_LIMIT.max) throw rateLimited(Math.max(1, Math.ceil(resetInMs / 1000)));
    return verify(authorization, environment);
  };
  const service = createServerApiService(deps.db, deps.purchases, deps.appAppleId);
  const subscriptions = createSubscriptionStatuses(deps.db, deps.purchases, deps.appAppleId);
  /** Session-authenticated key management: register under /api/v1. */
  const routes: FastifyPluginAsync<{ guards: Guards }> = apiKeyRoutes(keys);
  /** Apple's endpoints: register without a prefix (clients call <baseUrl>/inApps/... and <baseUrl>/sandbox/inApps/...). */
  const inApps: FastifyPluginAsync = inAppsRoutes(authenticate, service, subscriptions);
  return { name: 'serverapi', migrations: serverapiMigrations, routes, rootRoutes: inApps, keys, authenticate, service, subscriptions };
}
export type ServerApi = ReturnType<typeof createServerApi>;
