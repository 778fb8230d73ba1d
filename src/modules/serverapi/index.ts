// App Store Server API: developers' API keys and Apple's server-to-server endpoints over Orchard's
// transactions, compatible with Apple's own App Store Server Library. Other modules import only this file.
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { Infra } from '../../config.ts';
import type { Guards } from '../../platform/http/auth.ts';
import type { Commerce } from '../purchases/index.ts';
import { createApiAuth } from './auth.ts';
import { createApiKeys } from './keys.ts';
import { apiKeyRoutes, inAppsRoutes } from './routes.ts';
import { createServerApiService } from './service.ts';
import { createSubscriptionStatuses } from './subscriptions.ts';

export const serverapiMigrations = path.join(path.dirname(new URL(import.meta.url).pathname), 'migrations');
export type { ApiKey } from './keys.ts';
export type { ApiClient } from './auth.ts';
export { AppleApiError, APPLE_ERRORS, installAppleErrorHandling } from './errors.ts';

export interface ServerApiDeps extends Pick<Infra, 'db'> {
  purchases: Pick<Commerce, 'findTransaction' | 'signTransaction' | 'signPayload'>;
}

export function createServerApi(deps: ServerApiDeps) {
  const keys = createApiKeys(deps.db);
  const authenticate = createApiAuth(deps.db, keys);
  const service = createServerApiService(deps.db, deps.purchases);
  const subscriptions = createSubscriptionStatuses(deps.db, deps.purchases);
  /** Session-authenticated key management: register under /api/v1. */
  const routes: FastifyPluginAsync<{ guards: Guards }> = apiKeyRoutes(keys);
  /** Apple's endpoints: register without a prefix (clients call <baseUrl>/inApps/...). */
  const inApps: FastifyPluginAsync = inAppsRoutes(authenticate, service, subscriptions);
  return { keys, authenticate, service, subscriptions, routes, inApps };
}
export type ServerApi = ReturnType<typeof createServerApi>;
