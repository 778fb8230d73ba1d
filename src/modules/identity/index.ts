// Identity: accounts, sessions, developer enrollment. Other modules import only this file.
//
// Owns: users, sessions, developers. Offers: read views identity_users, identity_developers (0101: never
// emails, password hashes or sessions); the Authenticator for the HTTP guards; accountFacts.
// Publishes (events.ts): user.registered, developer.enrolled. Consumes nothing. Jobs: identity.sessions-purge.
import path from 'node:path';
import type { Authenticator } from '../../platform/http/auth.ts';
import type { Limit } from '../../platform/http/rate-limit.ts';
import type { Infra, Config } from '../../config.ts';
import { createIdentityService } from './service.ts';
import { DEFAULT_LIMITS, identityRoutes, type IdentityLimits } from './routes.ts';
import { purgeEndedSessions } from './sessions-purge.ts';
import type { Job } from '../../platform/jobs/index.ts';

export { hashPassword } from './passwords.ts';
export { accountFacts, type AccountFacts } from './accounts.ts';
export {
  STOREFRONT_COUNTRIES,
  IdentityError,
  type Country,
  type Developer,
  type IdentityService,
  type NewUser,
  type Session,
  type User,
} from './service.ts';
export { DEFAULT_LIMITS, type IdentityLimits } from './routes.ts';
export { purgeEndedSessions } from './sessions-purge.ts';
export type { DeveloperEnrolled, IdentityEvents, UserRegistered } from './events.ts';

export const identityMigrations = path.join(path.dirname(new URL(import.meta.url).pathname), 'migrations');

export interface IdentityDeps extends Infra {
  /** The configuration identity reads. */
  config: Pick<Config, 'sessionTtlMs'>;
  /** Overrides of the default rate limits (tests use small numbers). */
  limits?: { [K in keyof IdentityLimits]?: Pick<Limit, 'max' | 'windowMs'> };
}

export function createIdentity(deps: IdentityDeps) {
  const service = createIdentityService({ db: deps.db, cache: deps.cache, bus: deps.bus, metrics: deps.metrics, sessionTtlMs: deps.config.sessionTtlMs });
  const limits = Object.fromEntries(
    Object.entries(DEFAULT_LIMITS).map(([k, d]) => [k, { ...d, ...deps.limits?.[k as keyof IdentityLimits] }]),
  ) as unknown as IdentityLimits;
  const authenticator: Authenticator = { authenticate: (token) => service.authenticate(token) };
  const jobs: Job[] = [{ name: 'identity.sessions-purge', everyMs: 3_600_000, run: () => purgeEndedSessions(deps.db) }];
  return { name: 'identity', migrations: identityMigrations, routes: identityRoutes(service, deps.cache, limits), jobs, service, authenticator };
}
export type Identity = ReturnType<typeof createIdentity>;
