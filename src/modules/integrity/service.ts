// Moderation and learning: admins decide held reviews (each decision is a label), and `orchard integrity
// train` fits a model on those labels that then replaces the seed weights.
import { v7 as uuidv7 } from 'uuid';
import type { Bus } from '../../platform/bus/index.ts';
import { integrityEvents } from './events.ts';
import type { Db } from '../../platform/db/index.ts';
import { conflict, notFound } from '../../platform/errors.ts';
import type { Reviews } from '../reviews/index.ts';
import { FEATURE_NAMES, featureVector, hasEnoughLabels, MIN_LABELS, trainLogistic, type Model } from './model.ts';
import type { ModelHolder } from './models.ts';
import { SEED_WEIGHTS, THRESHOLDS } from './score.ts';
import { insertLabel, labelCounts, latestModel, saveModel, trainingLabels } from './store.ts';

export interface IntegrityServiceDeps {
  db: Db;
  bus: Bus;
  reviews: Pick<Reviews, 'service' | 'applyVerdict' | 'applyVerdicts'>;
  models: ModelHolder;
}

export type Decision = 'approve' | 'reject';

export function createIntegrityService({ db, bus, reviews, models }: IntegrityServiceDeps) {
  async function reviewOrThrow(reviewId: string) {
    const review = await reviews.service.getForModeration(reviewId);
    if (!review) throw notFound('Review');
    return review;
  }

  return {
    queue: reviews.service.moderationQueue.bind(reviews.service),
    review: reviewOrThrow,

    /** Approves or rejects the revision the moderator saw; the decision becomes a training label. */
    async decide(moderatorId: string, reviewId: string, input: { decision: Decision; revision?: number; note?: string }) {
      const review = await reviewOrThrow(reviewId);
      if (input.revision !== undefined && input.revision !== review.revision) {
        throw conflict('REVIEW_EDITED', `The review was edited since (revision ${review.revision}); look at it again before deciding.`);
      }
      if (!review.integrity) throw conflict('NOT_SCORED', 'The review has not been scored yet; decide once its integrity signals are in.');
      await db.tx(async (q) => {
        const applied = await reviews.applyVerdict(q, {
          reviewId,
          revision: review.revision,
          status: input.decision === 'approve' ? 'approved' : 'rejected',
          by: 'moderator',
          moderatorId,
        });
        if (!applied) throw conflict('REVIEW_EDITED', 'The review changed while you decided; look at it again.');
        await insertLabel(q, uuidv7(), {
          reviewId,
          revision: review.revision,
          genuine: input.decision === 'approve',
          moderatorId,
          features: featureVector(review.integrity!.signals, { rating: review.rating, title: review.title, body: review.body }),
          featureNames: FEATURE_NAMES,
          note: input.note,
        });
      });
      bus.nudge();
      return reviewOrThrow(reviewId);
    },

    async status() {
      const [model, labels] = await Promise.all([latestModel<Model>(db), labelCounts(db)]);
      return {
        scoring: model ? `logistic-v${model.version}` : 'seed-weights',
        model: model && { version: model.version, trainedAt: model.trainedAt, labels: model.labels, metrics: model.metrics },
        labels: { ...labels, needed: MIN_LABELS },
        weights: SEED_WEIGHTS,
        thresholds: THRESHOLDS,
      };
    },

    /** Fits a model on the latest label of every review revision; refuses while there are too few. */
    async train() {
      const labels = (await trainingLabels(db)).filter((l) => l.featureNames.join() === FEATURE_NAMES.join());
      const genuine = labels.filter((l) => l.genuine).length;
      const counts = { genuine, fake: labels.length - genuine };
      if (!hasEnoughLabels(counts)) return { trained: false as const, labels: counts, needed: MIN_LABELS };
      const model = trainLogistic(labels.map((l) => ({ features: l.features, genuine: l.genuine })));
      const version = await db.tx(async (q) => {
        const v = await saveModel(q, model, labels.length, model.metrics);
        await integrityEvents.record(q, 'integrity.model_trained', { version: v }, null);
        return v;
      });
      models.invalidate();
      bus.nudge();
      return { trained: true as const, version, labels: counts, metrics: model.metrics };
    },
  };
}
export type IntegrityService = ReturnType<typeof createIntegrityService>;
