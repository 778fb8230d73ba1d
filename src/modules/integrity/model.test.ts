import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  analyze,
  computeSignals,
  FEATURE_NAMES,
  featureVector,
  hasEnoughLabels,
  MIN_LABELS,
  modelIsUsable,
  predictGenuine,
  trainLogistic,
  type IntegrityFacts,
  type ReviewInput,
  type StoredModel,
  type TrainingExample,
} from './model.ts';
import { SEED_WEIGHTS } from './score.ts';
import { SIGNAL_NAMES } from './signals.ts';
import { seededRandom } from '../../platform/rng.ts';

const HOUR = 3_600_000;
const AT = Date.UTC(2026, 0, 15, 12);

const organicFacts: IntegrityFacts = {
  authorReviewsInPrior24h: 0,
  accountAgeDays: 400,
  verified: true,
  coordination: {
    windowCount: 3,
    historyDailyAverage: 4,
    historyDays: 30,
    windowTimestamps: [AT - 2 * HOUR, AT - 9 * HOUR, AT - 20 * HOUR],
    windowRatings: [4, 5, 2],
    rating: 4,
    at: AT,
  },
  originality: { bestWithinApp: 0.05, bestAcrossApps: 0, nearDuplicates: 0 },
};
const organicReview: ReviewInput = { rating: 4, title: '', body: 'Syncs my calendar with Outlook reliably since the 3.2 update' };

const burst = Array.from({ length: 39 }, (_, i) => AT - (i + 1) * 80_000);
const farmFacts: IntegrityFacts = {
  authorReviewsInPrior24h: 7,
  accountAgeDays: 0.5,
  verified: false,
  coordination: { windowCount: 39, historyDailyAverage: 2, historyDays: 30, windowTimestamps: burst, windowRatings: burst.map(() => 5), rating: 5, at: AT },
  originality: { bestWithinApp: 0.9, bestAcrossApps: 1, nearDuplicates: 25 },
};
const farmReview: ReviewInput = { rating: 5, title: 'Amazing app!!!', body: 'Best app ever, 5 stars, must download!' };

/** A synthetic, linearly separable labelled set in the model's feature space. */
function syntheticExamples(n: number, seed: number): TrainingExample[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => {
    const genuine = i % 3 !== 0;
    const features = FEATURE_NAMES.map(() => random());
    // Genuine reviews: high content quality and account age; fake ones low, with a margin.
    features[1] = genuine ? 0.55 + 0.45 * random() : 0.4 * random();
    features[2] = genuine ? 0.5 + 0.5 * random() : 0.45 * random();
    return { features, genuine };
  });
}

test('FEATURE_NAMES: eight signals, eight text features, rating extremeness', () => {
  assert.equal(FEATURE_NAMES.length, 17);
  assert.deepEqual(FEATURE_NAMES.slice(0, 8), [...SIGNAL_NAMES]);
  assert.equal(FEATURE_NAMES[16], 'rating_extremeness');
});

test('featureVector: from computed signals, stored jsonb arrays or objects; refuses a missing signal', () => {
  const signals = computeSignals(organicFacts, organicReview);
  const v = featureVector(signals, organicReview);
  assert.equal(v.length, FEATURE_NAMES.length);
  assert.ok(v.every(Number.isFinite));
  assert.deepEqual(
    v.slice(0, 8),
    signals.map((s) => s.score),
  );
  assert.deepEqual(featureVector(JSON.parse(JSON.stringify(signals.map((s) => ({ ...s, weight: 0.1 })))), organicReview), v);
  assert.deepEqual(featureVector(Object.fromEntries(signals.map((s) => [s.name, s.score])), organicReview), v);
  assert.equal(featureVector(signals, { ...organicReview, rating: 1 })[16], 1);
  assert.equal(featureVector(signals, { ...organicReview, rating: 3 })[16], 0);
  // a verdict stored before the incentive and group signals existed: incentive is recomputed from the text, no group assumed
  assert.deepEqual(featureVector(signals.slice(0, 6), organicReview), v);
  assert.throws(() => featureVector(signals.slice(1), organicReview), /review_velocity is missing/);
  assert.throws(() => featureVector(null, organicReview));
});

test('hasEnoughLabels: 200 in all with at least 50 of each class', () => {
  assert.deepEqual(MIN_LABELS, { total: 200, perClass: 50 });
  assert.ok(hasEnoughLabels({ genuine: 150, fake: 50 }));
  assert.ok(!hasEnoughLabels({ genuine: 151, fake: 49 }));
  assert.ok(!hasEnoughLabels({ genuine: 100, fake: 99 }));
  assert.ok(hasEnoughLabels({ genuine: 1000, fake: 1000 }));
});

test('trainLogistic learns a separable set, deterministically, into plain JSON', () => {
  const examples = syntheticExamples(300, 3);
  const model = trainLogistic(examples);
  assert.equal(model.kind, 'logistic');
  assert.deepEqual(model.featureNames, [...FEATURE_NAMES]);
  assert.equal(model.trainedOn, 300);
  assert.equal(model.genuine, 200);
  assert.equal(model.metrics.heldOut, 60);
  assert.ok(model.metrics.accuracy > 0.9, JSON.stringify(model.metrics));
  assert.ok(model.metrics.auc > 0.95, JSON.stringify(model.metrics));
  assert.ok(model.metrics.logLoss < 0.3, JSON.stringify(model.metrics));
  // The informative features carry the weight.
  const top = model.weights
    .map((w, i) => [Math.abs(w), i])
    .sort((a, b) => b[0] - a[0])
    .slice(0, 2)
    .map(([, i]) => i)
    .sort();
  assert.deepEqual(top, [1, 2]);

  assert.deepEqual(trainLogistic(examples), model);
  const roundTrip = JSON.parse(JSON.stringify(model));
  assert.deepEqual(roundTrip, model);

  // Fresh examples from the same distribution are classified as well.
  let right = 0;
  const fresh = syntheticExamples(200, 99);
  for (const e of fresh) if (predictGenuine(roundTrip, e.features) >= 0.5 === e.genuine) right++;
  assert.ok(right / fresh.length > 0.9, String(right));

  // A different split seed measures on other examples but fits the same final model on all of them.
  const other = trainLogistic(examples, { seed: 2 });
  assert.deepEqual(other.weights, model.weights);
  assert.equal(trainLogistic(examples, { refit: false }).trainedOn, 240);
});

test('trainLogistic: probabilities stay inside (0, 1); bad input is refused', () => {
  const model = trainLogistic(syntheticExamples(200, 5), { l2: 1e-4 });
  for (const x of [FEATURE_NAMES.map(() => 1e6), FEATURE_NAMES.map(() => -1e6)]) {
    const p = predictGenuine(model, x);
    assert.ok(p > 0 && p < 1, String(p));
  }
  assert.throws(() => predictGenuine(model, [1, 2, 3]), RangeError);
  const oneClass = syntheticExamples(100, 1).map((e) => ({ ...e, genuine: true }));
  assert.throws(() => trainLogistic(oneClass), /both|each class/);
  assert.throws(() => trainLogistic([{ features: [1], genuine: true }]), RangeError);
  assert.throws(() => trainLogistic(syntheticExamples(50, 1), { l2: 0 }), RangeError);
});

test('analyze without a model: seed weights; organic approved, farm rejected', () => {
  const organic = analyze(organicFacts, organicReview, null);
  assert.equal(organic.model, 'seed-weights');
  assert.equal(organic.action, 'approve');
  assert.deepEqual(
    organic.signals.map((s) => s.name),
    [...SIGNAL_NAMES],
  );
  assert.deepEqual(
    organic.signals.map((s) => s.weight),
    SIGNAL_NAMES.map((n) => SEED_WEIGHTS[n]),
  );
  const sum = organic.signals.reduce((a, s) => a + s.weight * s.score, 0);
  assert.ok(Math.abs(organic.score - sum) < 1e-12);
  assert.ok(organic.signals.every((s) => typeof s.reason === 'string' && s.reason.length > 0));

  const farm = analyze(farmFacts, farmReview, null);
  assert.equal(farm.action, 'reject', JSON.stringify(farm, null, 1));
  assert.ok(farm.score < 0.2);

  // Somewhere between: a new unverified account writing a decent review is held for a moderator.
  const unsure = analyze({ ...organicFacts, accountAgeDays: 0, verified: false, authorReviewsInPrior24h: 6 }, { rating: 5, title: '', body: 'Nice app' }, null);
  assert.equal(unsure.action, 'manual_review', String(unsure.score));
});

test('analyze with a model: its probability, its coefficients, its version', () => {
  // Train on labelled reviews built from the two archetypes with some variation.
  const random = seededRandom(11);
  const examples: TrainingExample[] = [];
  for (let i = 0; i < 240; i++) {
    const genuine = i % 2 === 0;
    const facts = genuine ? organicFacts : farmFacts;
    const review = genuine ? organicReview : farmReview;
    const varied: IntegrityFacts = {
      ...facts,
      accountAgeDays: facts.accountAgeDays * (0.2 + random()),
      authorReviewsInPrior24h: Math.floor(random() * (genuine ? 3 : 9)),
      verified: genuine ? random() < 0.8 : random() < 0.2,
    };
    examples.push({ features: featureVector(computeSignals(varied, review), review), genuine });
  }
  const model: StoredModel = { ...trainLogistic(examples), version: 3 };
  assert.ok(modelIsUsable(model));

  const organic = analyze(organicFacts, organicReview, model);
  assert.equal(organic.model, 'logistic-v3');
  assert.equal(organic.score, predictGenuine(model, featureVector(computeSignals(organicFacts, organicReview), organicReview)));
  assert.equal(organic.action, 'approve');
  assert.deepEqual(
    organic.signals.map((s) => s.name),
    [...SIGNAL_NAMES],
  );
  assert.ok(organic.signals.every((s) => Number.isFinite(s.weight)));
  const farm = analyze(farmFacts, farmReview, model);
  assert.equal(farm.action, 'reject');
  assert.ok(farm.score > 0 && organic.score < 1);

  // A stored model naming a feature this code no longer computes is not guessed at: seed weights instead.
  const stale: StoredModel = { ...model, featureNames: model.featureNames.map((f, i) => (i === 0 ? 'retired_feature' : f)) };
  assert.ok(!modelIsUsable(stale));
  assert.equal(analyze(organicFacts, organicReview, stale).model, 'seed-weights');
  // A model over a subset of the features, in another order, is used by name.
  const subsetExamples = examples.map((e) => ({ features: [e.features[3], e.features[1]], genuine: e.genuine }));
  const subset: StoredModel = { ...trainLogistic(subsetExamples, { featureNames: ['verified_purchase', 'content_quality'] }), version: 4 };
  const bySubset = analyze(organicFacts, organicReview, subset);
  assert.equal(bySubset.model, 'logistic-v4');
  assert.equal(bySubset.signals.find((s) => s.name === 'account_age')!.weight, 0);
});
