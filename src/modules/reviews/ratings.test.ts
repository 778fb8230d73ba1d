import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bayesianAverage, plausibleHistogram, PRIOR_MEAN, PRIOR_WEIGHT } from './ratings.ts';

test('the Bayesian average is the prior with no ratings and tends to the mean with many', () => {
  assert.equal(bayesianAverage(0, 0), PRIOR_MEAN);
  assert.equal(bayesianAverage(3, 15), (PRIOR_WEIGHT * PRIOR_MEAN + 15) / (PRIOR_WEIGHT + 3));
  assert.ok(bayesianAverage(3, 15) < 3.6, 'three 5-star ratings barely move it');
  assert.ok(Math.abs(bayesianAverage(1_000_000, 4_700_000) - 4.7) < 0.001);
});

test('a plausible histogram has the count, the nearest whole sum, and more 5s than 1s for a high mean', () => {
  for (const [count, average] of [
    [1, 4.37],
    [2, 1.01],
    [3, 2.5],
    [10, 4.25],
    [57, 4.61],
    [1000, 3.12],
    [12_345_678, 4.44],
    [5, 5],
    [5, 1],
    [40, 1.8],
  ] as const) {
    const { counts, sum } = plausibleHistogram(count, average);
    assert.equal(
      counts.reduce((s, x) => s + x, 0),
      count,
      `${count} ${average}`,
    );
    assert.equal(
      counts.reduce((s, x, i) => s + x * (i + 1), 0),
      sum,
    );
    assert.equal(sum, Math.min(5 * count, Math.max(count, Math.round(average * count))));
    assert.ok(counts.every((x) => Number.isInteger(x) && x >= 0));
    if (count >= 100) assert.equal(Math.round((sum / count) * 100) / 100, average, 'the 2-decimal average agrees once there are enough ratings');
  }
  const high = plausibleHistogram(1000, 4.5).counts;
  assert.ok(high[4] > high[3] && high[3] > high[0]);
  assert.deepEqual(plausibleHistogram(0, 0), { counts: [0, 0, 0, 0, 0], sum: 0 });
});
