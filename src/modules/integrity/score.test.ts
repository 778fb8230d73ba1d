import { test } from 'node:test';
import assert from 'node:assert/strict';
import { actionFor, applyDecisive, DECISIVE_CAPS, scoreWithWeights, SEED_WEIGHTS, THRESHOLDS } from './score.ts';
import { SIGNAL_NAMES, type Signal } from './signals.ts';

const all = (score: number): Signal[] => SIGNAL_NAMES.map((name) => ({ name, score, reason: '' }));

test('seed weights cover the eight signals and sum to 1', () => {
  assert.deepEqual(Object.keys(SEED_WEIGHTS).sort(), [...SIGNAL_NAMES].sort());
  const total = Object.values(SEED_WEIGHTS).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(total - 1) < 1e-12);
  assert.deepEqual(THRESHOLDS, { reject: 0.3, approve: 0.6 });
});

test('actionFor: reject below 0.3, manual review below 0.6, approve from 0.6', () => {
  assert.equal(actionFor(0), 'reject');
  assert.equal(actionFor(0.2999), 'reject');
  assert.equal(actionFor(0.3), 'manual_review');
  assert.equal(actionFor(0.5999), 'manual_review');
  assert.equal(actionFor(0.6), 'approve');
  assert.equal(actionFor(1), 'approve');
  assert.equal(actionFor(NaN), 'manual_review');
  assert.equal(actionFor(Infinity), 'manual_review');
});

test('scoreWithWeights: the seeds’ weighted sum, signals in canonical order with their weights', () => {
  assert.equal(scoreWithWeights(all(1)).score, 1);
  assert.equal(scoreWithWeights(all(0)).action, 'reject');

  const signals: Signal[] = [
    { name: 'originality', score: 0, reason: 'copy' },
    { name: 'review_velocity', score: 0.2, reason: '' },
    { name: 'content_quality', score: 0.4, reason: '' },
    { name: 'account_age', score: 0, reason: '' },
    { name: 'verified_purchase', score: 0.3, reason: '' },
    { name: 'coordination', score: 1, reason: '' },
  ];
  const scored = scoreWithWeights(signals);
  const expected = 0.15 * 0.2 + 0.25 * 0.4 + 0.1 * 0 + 0.2 * 0.3 + 0.2 * 1 + 0.1 * 0;
  assert.ok(Math.abs(scored.score - expected) < 1e-12);
  assert.equal(scored.action, 'manual_review');
  assert.deepEqual(
    scored.signals.map((s) => [s.name, s.weight]),
    SIGNAL_NAMES.slice(0, 6).map((n) => [n, SEED_WEIGHTS[n]]),
  );
  assert.equal(scored.signals[5].reason, 'copy');
});

test('scoreWithWeights: other weights are normalised; a signal without weight does not count', () => {
  const weights = { review_velocity: 2, content_quality: 2, account_age: 0, verified_purchase: 0, coordination: 0, originality: 0, incentive: 0, group: 0 };
  const signals = all(1).map((s) => (s.name === 'content_quality' ? { ...s, score: 0.5 } : s));
  assert.equal(scoreWithWeights(signals, weights).score, 0.75);
  assert.equal(scoreWithWeights(signals.slice(0, 2), SEED_WEIGHTS).score, (0.15 + 0.25 * 0.5) / 0.4);
  assert.throws(() => scoreWithWeights([], SEED_WEIGHTS));
});

test('decisive signals: a copy rejects and incentive language holds, whatever the cheap signals add up to', () => {
  const clean = all(1);
  assert.equal(scoreWithWeights(clean).action, 'approve');
  const copy = clean.map((s) => (s.name === 'originality' ? { ...s, score: 0, decisive: 'reject' as const } : s));
  const copied = scoreWithWeights(copy);
  assert.equal(copied.action, 'reject');
  assert.ok(copied.score <= DECISIVE_CAPS.reject);
  assert.equal(copied.signals.find((s) => s.name === 'originality')!.decisive, 'reject');
  const paid = clean.map((s) => (s.name === 'incentive' ? { ...s, score: 0.1, decisive: 'hold' as const } : s));
  assert.equal(scoreWithWeights(paid).action, 'manual_review');
  // hold never lifts a reject
  assert.equal(scoreWithWeights(all(0).map((s) => (s.name === 'incentive' ? { ...s, decisive: 'hold' as const } : s))).action, 'reject');
  assert.equal(applyDecisive(0.9, [{ name: 'incentive', score: 0.1, reason: '', decisive: 'hold' }]), DECISIVE_CAPS.hold);
  assert.equal(applyDecisive(0.9, []), 0.9);
});
