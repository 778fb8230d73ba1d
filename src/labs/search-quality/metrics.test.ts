import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate, dcgAtK, idealDcgAtK, ndcgAtK, recallAtK } from './metrics.ts';

const close = (actual: number, expected: number, eps = 1e-9) => assert.ok(Math.abs(actual - expected) < eps, `expected ${expected}, got ${actual}`);

test('DCG uses gain 2^rel − 1 and a log2(rank + 1) discount', () => {
  // grades 3, 0, 2 at ranks 1..3: 7/1 + 0/log2(3) + 3/log2(4) = 7 + 1.5 = 8.5
  close(dcgAtK(['a', 'x', 'b'], { a: 3, b: 2 }, 10), 8.5);
  // k cuts the list: only rank 1 counts
  close(dcgAtK(['a', 'x', 'b'], { a: 3, b: 2 }, 1), 7);
  close(dcgAtK(['x', 'a'], { a: 1 }, 10), 1 / Math.log2(3));
});

test('NDCG of a hand-computed example', () => {
  const grades = { a: 3, b: 2, c: 1 };
  // ideal: 7/1 + 3/log2(3) + 1/log2(4) = 7 + 1.8927892607 + 0.5
  const ideal = 7 + 3 / Math.log2(3) + 0.5;
  close(idealDcgAtK(grades, 10), ideal);
  // ranking c, a, x, b: 1/1 + 7/log2(3) + 0 + 3/log2(5)
  const dcg = 1 + 7 / Math.log2(3) + 3 / Math.log2(5);
  close(ndcgAtK(['c', 'a', 'x', 'b'], grades, 10), dcg / ideal);
  // = (1 + 4.41650 + 1.29203) / (7 + 1.89279 + 0.5) = 6.70853 / 9.39279
  close(ndcgAtK(['c', 'a', 'x', 'b'], grades, 10), 0.71422, 1e-5);
});

test('NDCG@k: the ideal is cut at k too, so a perfect top-k scores 1', () => {
  const grades = { a: 3, b: 3, c: 3, d: 3 };
  close(ndcgAtK(['b', 'a'], grades, 2), 1);
  // ideal@2 = 7 + 7/log2(3); ranking x, a: 7/log2(3)
  close(ndcgAtK(['x', 'a'], grades, 2), 7 / Math.log2(3) / (7 + 7 / Math.log2(3)));
});

test('perfect ranking scores 1; ties among equal grades do not matter', () => {
  const grades = { a: 3, b: 2, c: 2, d: 1 };
  close(ndcgAtK(['a', 'b', 'c', 'd'], grades, 10), 1);
  close(ndcgAtK(['a', 'c', 'b', 'd', 'x', 'y'], grades, 10), 1);
  close(recallAtK(['a', 'c', 'b', 'd'], grades, 50), 1);
});

test('reversed ranking scores below 1, unjudged results score 0', () => {
  const grades = { a: 3, b: 2, c: 1 };
  assert.ok(ndcgAtK(['c', 'b', 'a'], grades, 10) < 1);
  assert.equal(ndcgAtK(['x', 'y', 'z'], grades, 10), 0);
  assert.equal(recallAtK(['x', 'y', 'z'], grades, 50), 0);
});

test('duplicated ids count once, at their first position', () => {
  const grades = { a: 3, b: 2 };
  close(dcgAtK(['a', 'a', 'b'], grades, 10), 7 + 3 / Math.log2(3));
  close(ndcgAtK(['a', 'a', 'b'], grades, 10), 1);
  close(recallAtK(['a', 'a'], grades, 2), 0.5);
});

test('recall@k counts grade ≥ 1 as relevant and only looks at the first k', () => {
  const grades = { a: 3, b: 1, c: 2, d: 1 };
  close(recallAtK(['a', 'x', 'b'], grades, 50), 2 / 4);
  close(recallAtK(['x', 'y', 'a', 'b', 'c'], grades, 3), 1 / 4);
  close(recallAtK(['a', 'b', 'c', 'd'], grades, 4), 1);
  // grade 0 entries are not relevant
  close(recallAtK(['a'], { a: 2, z: 0 }, 10), 1);
});

test('empty cases', () => {
  assert.equal(ndcgAtK([], { a: 3 }, 10), 0);
  assert.equal(recallAtK([], { a: 3 }, 10), 0);
  assert.equal(ndcgAtK(['a', 'b'], {}, 10), 0);
  assert.equal(recallAtK(['a', 'b'], {}, 10), 0);
  assert.equal(dcgAtK([], {}, 10), 0);
  assert.equal(idealDcgAtK({}, 10), 0);
  assert.equal(ndcgAtK(['a'], { a: 3 }, 0), 0);
  const none = aggregate([]);
  assert.equal(none.overall.n, 0);
  assert.deepEqual(none.overall.mean, {});
  assert.deepEqual(none.byClass, {});
});

test('aggregate: overall mean and per-class means', () => {
  const agg = aggregate([
    { id: 'q1', class: 'exact', metrics: { ndcg10: 1, recall50: 1 } },
    { id: 'q2', class: 'exact', metrics: { ndcg10: 0.5, recall50: 0 } },
    { id: 'q3', class: 'typo', metrics: { ndcg10: 0, recall50: 0.5 } },
  ]);
  assert.equal(agg.overall.n, 3);
  close(agg.overall.mean.ndcg10, 0.5);
  close(agg.overall.mean.recall50, 0.5);
  assert.deepEqual(Object.keys(agg.byClass), ['exact', 'typo']);
  assert.equal(agg.byClass.exact.n, 2);
  close(agg.byClass.exact.mean.ndcg10, 0.75);
  close(agg.byClass.exact.mean.recall50, 0.5);
  close(agg.byClass.typo.mean.ndcg10, 0);
  close(agg.byClass.typo.mean.recall50, 0.5);
});
