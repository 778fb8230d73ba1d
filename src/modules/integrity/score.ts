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
  // Decides through its `decisive` flag (hold), not through the mean: 0 keeps every other review's score as it was.
  // A trained model gives it a weight of its own.
  incentive: 0,
  // Likewise: a detected group (group.ts) holds or rejects through `decisive`.
  group: 0,
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

/**
 * Telling signals decide alone: a score is capped below the reject threshold when a signal says 'reject' (a copy
 * of another author's review), below the approve threshold when one says 'hold' (incentive language), so
 * cheap signals (a purchase, an old account) can never outvote them.
 */
export const DECISIVE_CAPS = Object.freeze({ reject: 0.2, hold: 0.5 });

/** The score after the decisive signals' caps. */
export function applyDecisive(score: number, signals: readonly Signal[]): number {
  let out = score;
  for (const s of signals) {
    if (s.decisive === 'reject') out = Math.min(out, DECISIVE_CAPS.reject);
    else if (s.decisive === 'hold') out = Math.min(out, DECISIVE_CAPS.hold);
  }
  return out;
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
 * Decisive signals then cap it (applyDecisive). Signals come back in the canonical order with their weights. Throws when no signal has a positive weight.
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
  const score = applyDecisive(Math.min(1, Math.max(0, sum / total)), weighted);
  return { score, action: actionFor(score), signals: weighted };
}
