import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ACTIVATION_MIN_EVIDENCE,
  ACTIVATION_TOLERANCE,
  COHORT_FLOOR,
  cohortBucket,
  inCohort,
  isThin,
  rateFactor,
  TRENDING_MIN_ACQUIRERS,
  TRENDING_PRIOR,
  trendingScore,
  BASELINE_HALF_LIFE_DAYS,
  supportedAcquisitions,
  activationRate,
  storeActivationRate,
  ACTIVATION_STORE_RATE_MAX,
} from './trust.ts';

/** A steady `perDay` for `days` days, then `today`: the 1-day and baseline decayed sums as of today. */
function sums(perDay: number, days: number, today: number) {
  let recent = today;
  let baseline = today;
  for (let d = 1; d <= days; d++) {
    recent += perDay * Math.pow(2, -d);
    baseline += perDay * Math.pow(2, -d / BASELINE_HALF_LIFE_DAYS);
  }
  return { recent, baseline };
}

test('thin: a whole history of at most two acquisitions', () => {
  assert.equal(isThin(0), true);
  assert.equal(isThin(1), true, 'one other app first, then the campaign app');
  assert.equal(isThin(2), false);
});

test('cohort: many of the day acquirers created in the same hour, and a large share of them', () => {
  const t = new Date('2026-06-01T10:20:00Z');
  assert.equal(cohortBucket(t), cohortBucket(new Date('2026-06-01T10:59:59Z')));
  assert.notEqual(cohortBucket(t), cohortBucket(new Date('2026-06-01T11:00:00Z')));
  assert.equal(inCohort(COHORT_FLOOR - 1, COHORT_FLOOR - 1), false, 'too few to tell');
  assert.equal(inCohort(COHORT_FLOOR, COHORT_FLOOR), true, 'all of them from one hour');
  assert.equal(inCohort(300, 400), true);
  assert.equal(inCohort(12, 5000), false, 'a big app has a dozen acquirers from any hour');
});

test('trending: growth over a smoothed baseline, with a prior and a minimum breadth', () => {
  assert.equal(rateFactor(1), 0.5);
  const steady = sums(100, 300, 100);
  assert.ok(Math.abs(trendingScore(steady.recent, steady.baseline)) < 0.02, 'a steady app does not trend');
  const riser = sums(5, 60, 120);
  assert.ok(trendingScore(riser.recent, riser.baseline) > 0.5);
  // a tiny baseline does not explode: 0 → 25 is less growth than 5 → 120
  const tiny = sums(0, 60, 25);
  assert.ok(trendingScore(tiny.recent, tiny.baseline) < trendingScore(riser.recent, riser.baseline));
  assert.ok(trendingScore(tiny.recent, tiny.baseline) <= Math.log((25 * 0.5 + TRENDING_PRIOR) / TRENDING_PRIOR) + 1e-9);
  // below the breadth, nothing trends, whatever the growth
  assert.equal(trendingScore(TRENDING_MIN_ACQUIRERS - 1, 0), 0);
  // a falling app scores below zero (the run lists only positive scores)
  const falling = sums(200, 60, 20);
  assert.ok(trendingScore(falling.recent, falling.baseline) < 0);
});

test('without SDK history (too few activations), acquisitions count as they are', () => {
  assert.equal(supportedAcquisitions(500, 10, { recentActivations: 0, longActivations: ACTIVATION_MIN_EVIDENCE - 1, longDownloads: 1000 }), 500);
});

test("acquisitions count as far as recent activations support them at the app's own rate, with tolerance", () => {
  // the app activates half its downloads: 30 recent activations support 30 / 0.5 / ACTIVATION_TOLERANCE
  const evidence = { recentActivations: 30, longActivations: 500, longDownloads: 1000 };
  assert.equal(supportedAcquisitions(1000, 10, evidence), (30 * 2) / ACTIVATION_TOLERANCE);
  // a genuine rise activates like the app always did: nothing is taken away
  assert.equal(supportedAcquisitions(60, 10, evidence), 60);
});

test('an SDK app whose activations stop keeps its long-run level (the floor), never more', () => {
  const stopped = { recentActivations: 0, longActivations: 500, longDownloads: 1000 };
  assert.equal(supportedAcquisitions(400, 120, stopped), 120);
  assert.equal(supportedAcquisitions(100, 120, stopped), 100);
});

test("a surge of installs that never open the app cannot loosen its own bound: the store's rate is the floor", () => {
  // long-run: 65 activations per 100 trusted downloads; a campaign adds 300 trusted downloads and no activation
  const before = { recentActivations: 14, longActivations: 65, longDownloads: 100 };
  const diluted = { ...before, longDownloads: 400 };
  // on its own rate alone, the campaign would loosen its bound fourfold
  assert.ok(supportedAcquisitions(1000, 0, diluted) > 3.9 * supportedAcquisitions(1000, 0, before));
  // at the store's rate, the bound stays what the activations support at a genuine rate
  assert.equal(activationRate({ ...diluted, storeRate: 0.6 }), 0.6);
  assert.equal(supportedAcquisitions(1000, 0, { ...diluted, storeRate: 0.6 }), 14 / 0.6 / ACTIVATION_TOLERANCE);
  // an app activating above the store's rate is judged at its own
  assert.equal(activationRate({ ...before, storeRate: 0.5 }), 0.65);
  // a genuine rise (its installs activate) is not bounded
  assert.equal(supportedAcquisitions(120, 10, { recentActivations: 80, longActivations: 200, longDownloads: 300, storeRate: 0.65 }), 120);
});

test("the store's rate: a capped, non-negative quantile; 0 without SDK apps", () => {
  assert.equal(storeActivationRate(null), 0);
  assert.equal(storeActivationRate(Number.NaN), 0);
  assert.equal(storeActivationRate(0.62), 0.62);
  assert.equal(storeActivationRate(3), ACTIVATION_STORE_RATE_MAX);
  assert.equal(storeActivationRate(-1), 0);
});
