// Review integrity: scores every review revision on six signals (asynchronously, through the bus), holds
// or rejects the suspicious ones, lets admins moderate, and learns from their decisions.
// Other modules import only this file.
import path from 'node:path';
import type { Infra, Config } from '../../config.ts';
import type { Reviews } from '../reviews/index.ts';
import { INTEGRITY_CONSUMER, integrityHandler, SCORING_BATCH } from './consumer.ts';
import { createModelHolder } from './models.ts';
import { integrityRoutes } from './routes.ts';
import { createIntegrityService } from './service.ts';

export const integrityMigrations = path.join(path.dirname(new URL(import.meta.url).pathname), 'migrations');
export type { IntegrityEvents } from './events.ts';
export { SEED_WEIGHTS, THRESHOLDS } from './score.ts';

export interface IntegrityDeps extends Infra {
  config: Config;
  reviews: Pick<Reviews, 'service' | 'applyVerdict' | 'applyVerdicts'>;
  /** false: no consumer scores reviews (moderation only). Default true. */
  scoring?: boolean;
}

export function createIntegrity(deps: IntegrityDeps) {
  const models = createModelHolder();
  if (deps.scoring !== false) {
    const handler = integrityHandler({ applyVerdicts: deps.reviews.applyVerdicts, models, metrics: deps.metrics });
    deps.bus.subscribeBatch(INTEGRITY_CONSUMER, ['review.created', 'review.updated', 'review.deleted'], handler, { maxBatch: SCORING_BATCH });
  }
  deps.bus.broadcast(['integrity.model_trained'], async () => models.invalidate());
  const service = createIntegrityService({ db: deps.db, bus: deps.bus, reviews: deps.reviews, models });
  return { name: 'integrity', migrations: integrityMigrations, routes: integrityRoutes(service), service };
}
export type Integrity = ReturnType<typeof createIntegrity>;
