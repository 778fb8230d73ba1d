// From signals to a verdict: the seed weighting and the action thresholds, pure.
import { SIGNAL_NAMES, type Signal, type SignalName } from './signals.ts';

export type Action = 'approve' | 'manual_review' | 'reject';
export type Weights = Readonly<Record<SignalName, number>>;

/** The hand-set weights used until moderators have labelled enough reviews to train a model (they sum to 1). */
export const SEED_WEIGHTS: Weights = Object.freeze({
  review_velocity: 0.15,
  content_quality: 0.25,
  account_age: 0.1,
  verified_purchase: 0.2,
  coordination: 0.2,
  originality: 0.1,
});

/** score < reject → reject; reject ≤ score < approve → manual_review; score ≥ approve → approve. */
export const THRESHOLDS = Object.freeze({ reject: 0.3, approve: 0.6 });

/** The action for an integrity score. A score that is not a number is never approved nor rejected unseen. */
export function actionFor(score: number): Action {
  if (!Number.isFinite(score)) return 'manual_review';
  if (score < THRESHOLDS.reject) return 'reject';
  if (score < THRESHOLDS.approve) return 'manual_review';
  return 'approve';
}

export interface WeightedSignal extends Signal {
  weight: number;
}

export interface Scored {
  score: number;
  action: Action;
  signals: WeightedSignal[];
}

/**
 * The weighted mean of the signals' scores: Σ wᵢ·sᵢ / Σ wᵢ over the signals given (a signal without a weight
 * weighs 0), clamped to 0..1. With all six signals and SEED_WEIGHTS that is the seeds' weighted sum (up to
 * rounding: they sum to 1); signals that all score x give x (up to rounding).
 * Signals come back in the canonical order with their weights. Throws when no signal has a positive weight.
 */
export function scoreWithWeights(signals: readonly Signal[], weights: Weights = SEED_WEIGHTS): Scored {
  const order = (s: Signal) => SIGNAL_NAMES.indexOf(s.name);
  const weighted = [...signals]
    .sort((a, b) => order(a) - order(b))
    .map((s) => {
      const w = weights[s.name];
      return { ...s, weight: Number.isFinite(w) && w > 0 ? w : 0 };
    });
  let sum = 0;
  let total = 0;
  for (const s of weighted) {
    sum += s.weight * s.score;
    total += s.weight;
  }
  if (!(total > 0)) throw new Error('scoreWithWeights: no signal has a positive weight');
  const score = Math.min(1, Math.max(0, sum / total));
  return { score, action: actionFor(score), signals: weighted };
}
