// Learning from moderators, pure: the feature vector of a review, an L2-regularised logistic regression fitted
// by Newton's method (exact, deterministic, no dependency), and `analyze`, the single entry point the consumer
// calls: eight signals, then the trained model when there is one, else the seed weights.
import { actionFor, applyDecisive, scoreWithWeights, SEED_WEIGHTS, type Action, type WeightedSignal } from './score.ts';
import {
  accountAge,
  contentQuality,
  coordination,
  incentive,
  originality,
  reviewVelocity,
  SIGNAL_NAMES,
  verifiedPurchase,
  type CoordinationFacts,
  type OriginalityFacts,
  type Signal,
} from './signals.ts';
import { groupSignal, type GroupFacts } from './group.ts';
import { textFeatures, type TextFeatures } from './text.ts';
import { seededRandom } from '../../platform/rng.ts';

// ---------------------------------------------------------------------------------------------------------------
// Facts and signals

/** What the store gathers about a review before it is scored. */
export interface IntegrityFacts {
  /** Reviews the author wrote (any app) in the 24 h before this one. */
  authorReviewsInPrior24h: number;
  /** Days since the author's account was created, at writing time. */
  accountAgeDays: number;
  /** The author owned the app when writing. */
  verified: boolean;
  coordination: CoordinationFacts;
  originality: OriginalityFacts;
  /** What ties the review to other accounts' (groups.ts); absent: no group. */
  group?: GroupFacts;
}

export interface ReviewInput {
  rating: number;
  title: string | null;
  body: string | null;
}

/** The eight signals of a review, in canonical order. The coordination signal takes the rating from `review`. */
export function computeSignals(facts: IntegrityFacts, review: ReviewInput): Signal[] {
  return [
    reviewVelocity(facts.authorReviewsInPrior24h),
    contentQuality(review.title, review.body),
    accountAge(facts.accountAgeDays),
    verifiedPurchase(facts.verified),
    coordination({ ...facts.coordination, rating: review.rating }),
    originality(facts.originality),
    incentive(review.title, review.body),
    groupSignal(facts.group),
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Features

/**
 * The model's inputs, in this order: the seven signal scores (0..1); the text features, counts log-scaled
 * (log1p) and densities capped; how extreme the rating is (|rating − 3| / 2: 0 for 3★, 1 for 1★ or 5★).
 * The model standardises them itself (mean and scale are stored in it).
 */
export const FEATURE_NAMES = [
  ...SIGNAL_NAMES,
  'log_length',
  'log_words',
  'unique_word_ratio',
  'exclamation_density',
  'uppercase_ratio',
  'generic_share',
  'log_specifics',
  'digit_ratio',
  'rating_extremeness',
] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];

/**
 * The feature vector (FEATURE_NAMES order) of a review from its signals — computed now, or read back from a
 * stored verdict's jsonb (an array of { name, score, … }, or an object of name → score) — and its text.
 * Throws when a signal is missing or not a number, so that rows scored before a signal existed are refused
 * rather than learnt from made-up values.
 */
export function featureVector(signals: unknown, review: ReviewInput, text: TextFeatures = textFeatures(review.title, review.body)): number[] {
  const scores = new Map<string, unknown>();
  if (Array.isArray(signals)) {
    for (const s of signals) if (s && typeof s === 'object' && 'name' in s) scores.set(String(s.name), (s as { score?: unknown }).score);
  } else if (signals && typeof signals === 'object') {
    for (const [name, score] of Object.entries(signals)) scores.set(name, score);
  }
  const out: number[] = [];
  // the incentive signal is a function of the text alone: a verdict stored before it existed gets it recomputed
  if (!scores.has('incentive')) scores.set('incentive', incentive(review.title, review.body).score);
  // and one stored before group detection found no group
  if (!scores.has('group')) scores.set('group', 1);
  for (const name of SIGNAL_NAMES) {
    const v = scores.get(name);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`featureVector: signal ${name} is missing`);
    out.push(v);
  }
  const rating = Number.isFinite(review.rating) ? Math.min(5, Math.max(1, review.rating)) : 3;
  out.push(
    Math.log1p(text.length),
    Math.log1p(text.words),
    text.uniqueWordRatio,
    Math.min(text.exclamationDensity, 2),
    text.uppercaseRatio,
    text.genericShare,
    Math.log1p(text.specifics),
    text.digitRatio,
    Math.abs(rating - 3) / 2,
  );
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Logistic regression

export type ModelMetrics = {
  /** Share of held-out examples on the right side of 0.5. */
  accuracy: number;
  /** Area under the ROC curve on the held-out examples (ties count half; 0.5 when a class is absent). */
  auc: number;
  /** Mean negative log-likelihood on the held-out examples (probabilities clamped to [1e-12, 1 − 1e-12]). */
  logLoss: number;
  /** Held-out examples the metrics were measured on (0: measured on the training examples). */
  heldOut: number;
};

/** A trained model: plain JSON (numbers, strings, arrays). */
export interface LogisticModel {
  kind: 'logistic';
  featureNames: string[];
  /** Standardisation: x' = (x − mean) / scale, per feature. */
  mean: number[];
  scale: number[];
  /** Coefficients on the standardised features, and the intercept. */
  weights: number[];
  bias: number;
  /** The L2 penalty it was fitted with (on the mean log loss, standardised weights, intercept free). */
  l2: number;
  trainedOn: number;
  /** Genuine examples among `trainedOn`. */
  genuine: number;
  metrics: ModelMetrics;
}

/** The trained model type (only one kind so far). */
export type Model = LogisticModel;

/** A model as stored by the store: versioned. */
export interface StoredModel extends LogisticModel {
  version: number;
}

export interface TrainingExample {
  features: number[];
  genuine: boolean;
}

export interface TrainOptions {
  /** L2 penalty λ in mean-log-loss + λ/2·‖w‖² (default 0.01). */
  l2?: number;
  /** Share of each class held out for the metrics (default 0.2; 0 measures on the training set). */
  holdout?: number;
  /** Seed of the held-out split's shuffle (default 1). */
  seed?: number;
  /** Refit on every example after measuring on the held-out split (default true). */
  refit?: boolean;
  /** Feature names (default FEATURE_NAMES); their count must match the examples'. */
  featureNames?: readonly string[];
  /** Newton iterations at most (default 100; it typically converges in under 15). */
  maxIterations?: number;
}

/** Enough moderator labels to train: 200 in all, at least 50 of each class. */
export const MIN_LABELS = Object.freeze({ total: 200, perClass: 50 });

export function hasEnoughLabels(counts: { genuine: number; fake: number }): boolean {
  return counts.genuine + counts.fake >= MIN_LABELS.total && counts.genuine >= MIN_LABELS.perClass && counts.fake >= MIN_LABELS.perClass;
}

const P_MIN = 1e-12;
const clampP = (p: number) => Math.min(1 - P_MIN, Math.max(P_MIN, p));
function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}
/** log(1 + e^z) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

function shuffled(items: number[], random: () => number): number[] {
  const a = items.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Solves A·x = b for a symmetric positive definite A (d × d, row-major) by Cholesky. */
function solveSpd(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * d + j];
      for (let k = 0; k < j; k++) sum -= l[i * d + k] * l[j * d + k];
      if (i === j) l[i * d + i] = Math.sqrt(Math.max(sum, 1e-300));
      else l[i * d + j] = sum / l[j * d + j];
    }
  }
  const y = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let sum = b[i];
    for (let k = 0; k < i; k++) sum -= l[i * d + k] * y[k];
    y[i] = sum / l[i * d + i];
  }
  const x = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) {
    let sum = y[i];
    for (let k = i + 1; k < d; k++) sum -= l[k * d + i] * x[k];
    x[i] = sum / l[i * d + i];
  }
  return x;
}

interface Fit {
  mean: number[];
  scale: number[];
  weights: number[];
  bias: number;
}

/**
 * Minimises (1/n)·Σ [log(1 + e^zᵢ) − yᵢ·zᵢ] + λ/2·‖w‖², zᵢ = w·x̃ᵢ + b on standardised features, by Newton's
 * method with a backtracking line search: strictly convex for λ > 0, so it converges — also on separable data,
 * where plain maximum likelihood would diverge.
 */
function fit(rows: readonly number[][], labels: readonly boolean[], l2: number, maxIterations: number): Fit {
  const n = rows.length;
  const d = rows[0].length;
  const mean = new Array<number>(d).fill(0);
  const scale = new Array<number>(d).fill(0);
  for (const r of rows) for (let j = 0; j < d; j++) mean[j] += r[j] / n;
  for (const r of rows) for (let j = 0; j < d; j++) scale[j] += (r[j] - mean[j]) ** 2 / n;
  for (let j = 0; j < d; j++) scale[j] = Math.sqrt(scale[j]) > 1e-12 ? Math.sqrt(scale[j]) : 1;

  // Standardised design matrix with a trailing 1 for the intercept.
  const m = d + 1;
  const x = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) x[i * m + j] = (rows[i][j] - mean[j]) / scale[j];
    x[i * m + d] = 1;
  }
  const y = Float64Array.from(labels, (g) => (g ? 1 : 0));
  const theta = new Float64Array(m);

  const objective = (t: Float64Array): number => {
    let loss = 0;
    for (let i = 0; i < n; i++) {
      let z = 0;
      for (let j = 0; j < m; j++) z += x[i * m + j] * t[j];
      loss += softplus(z) - y[i] * z;
    }
    let penalty = 0;
    for (let j = 0; j < d; j++) penalty += t[j] * t[j];
    return loss / n + (l2 / 2) * penalty;
  };

  let current = objective(theta);
  for (let iter = 0; iter < maxIterations; iter++) {
    const grad = new Float64Array(m);
    const hess = new Float64Array(m * m);
    for (let i = 0; i < n; i++) {
      let z = 0;
      for (let j = 0; j < m; j++) z += x[i * m + j] * theta[j];
      const p = sigmoid(z);
      const r = (p - y[i]) / n;
      const w = (p * (1 - p)) / n;
      for (let j = 0; j < m; j++) {
        const xij = x[i * m + j];
        grad[j] += r * xij;
        if (w > 0) for (let k = 0; k <= j; k++) hess[j * m + k] += w * xij * x[i * m + k];
      }
    }
    for (let j = 0; j < m; j++) for (let k = 0; k < j; k++) hess[k * m + j] = hess[j * m + k];
    for (let j = 0; j < d; j++) {
      grad[j] += l2 * theta[j];
      hess[j * m + j] += l2;
    }
    hess[d * m + d] += 1e-10; // keeps the intercept's pivot positive when every prediction saturates

    const step = solveSpd(hess, grad, m);
    let decrement = 0;
    for (let j = 0; j < m; j++) decrement += grad[j] * step[j];
    if (!(decrement > 1e-14)) break;

    let t = 1;
    let next = theta;
    let value = current;
    for (let tries = 0; tries < 40; tries++) {
      const candidate = new Float64Array(m);
      for (let j = 0; j < m; j++) candidate[j] = theta[j] - t * step[j];
      const v = objective(candidate);
      if (v <= current - 1e-4 * t * decrement) {
        next = candidate;
        value = v;
        break;
      }
      t /= 2;
    }
    if (next === theta) break; // no further descent possible in floating point
    theta.set(next);
    const improved = current - value;
    current = value;
    if (improved < 1e-15) break;
  }
  return { mean, scale, weights: Array.from(theta.subarray(0, d)), bias: theta[d] };
}

function probability(f: Fit, features: readonly number[]): number {
  let z = f.bias;
  for (let j = 0; j < f.weights.length; j++) z += f.weights[j] * ((features[j] - f.mean[j]) / f.scale[j]);
  return clampP(sigmoid(z));
}

function measure(f: Fit, examples: readonly TrainingExample[]): Omit<ModelMetrics, 'heldOut'> {
  const scored = examples.map((e) => ({ p: probability(f, e.features), y: e.genuine }));
  let right = 0;
  let loss = 0;
  for (const s of scored) {
    if (s.p >= 0.5 === s.y) right++;
    loss -= s.y ? Math.log(s.p) : Math.log(1 - s.p);
  }
  // AUC by Mann–Whitney: average ranks over ties.
  const sorted = scored.slice().sort((a, b) => a.p - b.p);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1].p === sorted[i].p) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++)
      if (sorted[k].y) {
        positives++;
        rankSum += rank;
      }
    i = j + 1;
  }
  const negatives = sorted.length - positives;
  const auc = positives === 0 || negatives === 0 ? 0.5 : (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
  return { accuracy: right / scored.length, auc, logLoss: loss / scored.length };
}

/**
 * Trains P(genuine | features). The metrics come from a stratified held-out split (a seeded shuffle of each
 * class, so the same examples in the same order always give the same model); then, by default, the model is
 * refitted on every example. Throws on fewer than 2 examples of either class or on ragged/non-finite features.
 */
export function trainLogistic(examples: readonly TrainingExample[], opts: TrainOptions = {}): LogisticModel {
  const l2 = opts.l2 ?? 0.01;
  const holdout = opts.holdout ?? 0.2;
  const featureNames = [...(opts.featureNames ?? FEATURE_NAMES)];
  const maxIterations = opts.maxIterations ?? 100;
  if (!(l2 > 0)) throw new RangeError('trainLogistic: l2 must be positive');
  if (!(holdout >= 0 && holdout < 1)) throw new RangeError('trainLogistic: holdout must be in [0, 1)');
  const d = featureNames.length;
  for (const e of examples) {
    if (e.features.length !== d) throw new RangeError(`trainLogistic: an example has ${e.features.length} features, expected ${d}`);
    if (!e.features.every(Number.isFinite)) throw new RangeError('trainLogistic: non-finite feature');
  }
  const genuineIdx: number[] = [];
  const fakeIdx: number[] = [];
  examples.forEach((e, i) => (e.genuine ? genuineIdx : fakeIdx).push(i));
  if (genuineIdx.length < 2 || fakeIdx.length < 2) throw new RangeError('trainLogistic: needs at least 2 examples of each class');

  const random = seededRandom(opts.seed ?? 1);
  const test = new Set<number>();
  if (holdout > 0) {
    for (const idx of [genuineIdx, fakeIdx]) {
      const take = Math.min(idx.length - 1, Math.max(1, Math.round(idx.length * holdout)));
      for (const i of shuffled(idx, random).slice(0, take)) test.add(i);
    }
  }
  const trainSet = examples.filter((_, i) => !test.has(i));
  const testSet = test.size > 0 ? examples.filter((_, i) => test.has(i)) : trainSet;

  const train = (set: readonly TrainingExample[]) =>
    fit(
      set.map((e) => e.features),
      set.map((e) => e.genuine),
      l2,
      maxIterations,
    );
  const measured = train(trainSet);
  const metrics: ModelMetrics = { ...measure(measured, testSet), heldOut: test.size };
  const refit = (opts.refit ?? true) && test.size > 0;
  const final = refit ? train(examples) : measured;
  const fittedOn = refit ? examples : trainSet;
  return {
    kind: 'logistic',
    featureNames,
    mean: final.mean,
    scale: final.scale,
    weights: final.weights,
    bias: final.bias,
    l2,
    trainedOn: fittedOn.length,
    genuine: fittedOn.filter((e) => e.genuine).length,
    metrics,
  };
}

/** P(genuine) in (0, 1) — the integrity score under a trained model (same thresholds as the seed score). */
export function predictGenuine(model: LogisticModel, features: readonly number[]): number {
  if (features.length !== model.weights.length) {
    throw new RangeError(`predictGenuine: ${features.length} features for a model of ${model.weights.length}`);
  }
  return probability(model, features);
}

/** Whether `analyze` can use this (possibly older) model: well-formed, and every feature one we compute. */
export function modelIsUsable(model: LogisticModel | null | undefined): boolean {
  if (!model || model.kind !== 'logistic') return false;
  const d = model.featureNames?.length ?? -1;
  const known = new Set<string>(FEATURE_NAMES);
  return (
    d > 0 &&
    model.weights?.length === d &&
    model.mean?.length === d &&
    model.scale?.length === d &&
    model.featureNames.every((f) => known.has(f)) &&
    [...model.weights, ...model.mean, model.bias].every(Number.isFinite) &&
    model.scale.every((s) => Number.isFinite(s) && s > 0)
  );
}

// ---------------------------------------------------------------------------------------------------------------
// The entry point

export interface IntegrityResult {
  score: number;
  action: Action;
  /**
   * The eight signals with a weight each: under the seed weights, the weight in the weighted mean; under a
   * model, its coefficient in log-odds per unit of the signal's score (what moving that signal from 0 to 1
   * adds to the log-odds of "genuine"; it can be negative).
   */
  signals: WeightedSignal[];
  /** 'seed-weights' or `logistic-v${version}`. */
  model: string;
}

/**
 * Scores a review: the eight signals from the facts, then P(genuine) under `model` when one is given and usable
 * (see `modelIsUsable`: a model naming a feature this code no longer computes is skipped, not guessed at),
 * else the seed weights. Actions follow THRESHOLDS either way.
 */
export function analyze(facts: IntegrityFacts, review: ReviewInput, model: StoredModel | null): IntegrityResult {
  return rescore(computeSignals(facts, review), review, model);
}

/**
 * Scores a review again from signals already computed (stored with an earlier verdict, some since lowered
 * by what later reviews revealed), under `model` when usable, else the seed weights.
 */
export function rescore(
  signals: readonly Signal[],
  review: ReviewInput,
  model: StoredModel | null,
): Omit<IntegrityResult, 'signals'> & { signals: WeightedSignal[] } {
  if (!model || !modelIsUsable(model)) {
    const seeded = scoreWithWeights(signals, SEED_WEIGHTS);
    return { score: seeded.score, action: seeded.action, signals: seeded.signals, model: 'seed-weights' };
  }
  const values = featureVector(signals, review);
  const byName = new Map<string, number>(FEATURE_NAMES.map((name, i) => [name, values[i]]));
  const score = applyDecisive(
    predictGenuine(
      model,
      model.featureNames.map((name) => byName.get(name) as number),
    ),
    signals,
  );
  const coefficient = new Map<string, number>(model.featureNames.map((name, j) => [name, model.weights[j] / model.scale[j]]));
  return {
    score,
    action: actionFor(score),
    signals: signals.map((s) => ({ ...s, weight: Math.round((coefficient.get(s.name) ?? 0) * 10_000) / 10_000 })),
    model: `logistic-v${model.version}`,
  };
}
