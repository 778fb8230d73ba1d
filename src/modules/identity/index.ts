// STUB — replaced by the identity implementation.
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { Authenticator, Guards } from '../../platform/http/auth.ts';
import type { Infra, Config } from '../../config.ts';

export const identityMigrations = path.join(path.dirname(new URL(import.meta.url).pathname), 'migrations');

export function createIdentity(_deps: Infra & { config: Config }) {
  const authenticator: Authenticator = { authenticate: async () => null };
  const routes: FastifyPluginAsync<{ guards: Guards }> = async () => {};
  return { authenticator, routes };
}
