// STUB — replaced by the catalog implementation.
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { Guards } from '../../platform/http/auth.ts';
import type { Infra, Config } from '../../config.ts';

export const catalogMigrations = path.join(path.dirname(new URL(import.meta.url).pathname), 'migrations');

export function createCatalog(_deps: Infra & { config: Config }) {
  const routes: FastifyPluginAsync<{ guards: Guards }> = async () => {};
  return { routes };
}
