// Review integrity: scores every review revision on eight signals (asynchronously, through the bus), holds
// or rejects the suspicious ones, lets admins moderate, and learns from their decisions.
// Two signals decide alone (score.ts, DECISIVE_CAPS): a copy of another author's review anywhere in the store
// (MinHash/LSH over integrity_bands, originality) is rejected, incentive language (incentive.ts lexicon) is held.
// Other modules import only this file.
//
// Groups (group.ts, groups.ts, revise.ts): each review is tied to others by the same gist (gist.ts), lockstep on a
// developer's apps, or a burst of suspect profiles, and decided with its group; a periodic pass (integrity.groups)
// holds dense blocks of accounts × apps and restores groups moderators found genuine, recording every revision.
//
// Owns: integrity_reviews, integrity_bands, integrity_labels, integrity_models, integrity_groups,
// integrity_group_members, integrity_revisions. Offers: the service (admin queue), revise (the group pass).
// Publishes (events.ts): integrity.model_trained. Consumes: review.created / updated / deleted (batch,
// scoring), integrity.model_trained (broadcast: reload the model). Reads no other module's tables: a review's
// facts come in its event.
import path from 'node:path';
import type { Infra } from '../../config.ts';
import { consumersOf } from '../../platform/bus/index.ts';
import type { Reviews, ReviewsEvents } from '../reviews/index.ts';
import type { IntegrityEvents } from './events.ts';
import { INTEGRITY_CONSUMER, integrityHandler, SCORING_BATCH } from './consumer.ts';
import { createModelHolder } from './models.ts';
import { integrityRoutes } from './routes.ts';
import { reviseGroups } from './revise.ts';
import { createIntegrityService } from './service.ts';
import type { Job } from '../../platform/jobs/index.ts';

export const integrityMigrations = path.join(path.dirname(new URL(import.meta.url).pathname), 'migrations');
export type { IntegrityEvents } from './events.ts';
export { SEED_WEIGHTS, THRESHOLDS } from './score.ts';

export interface IntegrityDeps extends Infra {
  reviews: Pick<Reviews, 'service' | 'applyVerdict' | 'applyVerdicts'>;
  /** false: no consumer scores reviews (moderation only). Default true. */
  scoring?: boolean;
}

export function createIntegrity(deps: IntegrityDeps) {
  const models = createModelHolder();
  const on = consumersOf<ReviewsEvents & IntegrityEvents>();
  const consumers = [on.broadcast(['integrity.model_trained'], async () => models.invalidate())];
  if (deps.scoring !== false) {
    const handler = integrityHandler({ applyVerdicts: deps.reviews.applyVerdicts, models, metrics: deps.metrics });
    consumers.push(on.batch(INTEGRITY_CONSUMER, ['review.created', 'review.updated', 'review.deleted'], handler, { maxBatch: SCORING_BATCH }));
  }
  const service = createIntegrityService({ db: deps.db, bus: deps.bus, reviews: deps.reviews, models });
  /** The periodic group pass (revise.ts): dense blocks held, groups moderators found genuine restored. */
  const revise = (now?: Date) => reviseGroups({ db: deps.db, applyVerdicts: deps.reviews.applyVerdicts, models }, now);
  const jobs: Job[] = deps.scoring === false ? [] : [{ name: 'integrity.groups', everyMs: 15 * 60_000, run: () => revise() }];
  return { name: 'integrity', migrations: integrityMigrations, routes: integrityRoutes(service), consumers, jobs, service, revise };
}
export type Integrity = ReturnType<typeof createIntegrity>;
