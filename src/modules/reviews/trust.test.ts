import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ageWeight, trustWeight, type TrustFacts } from './trust.ts';

const facts = (over: Partial<TrustFacts> = {}): TrustFacts => ({
  accountAgeDays: 0,
  ownsApp: false,
  approvedReviewsElsewhere: 0,
  agedVotes: 0,
  cohortPeers: 0,
  ...over,
});

test('age: little under a week, full at 90 days, never decreasing', () => {
  assert.equal(ageWeight(0), 0.05);
  assert.equal(ageWeight(-3), 0.05, 'a clock skew reads as new');
  assert.equal(ageWeight(Number.NaN), 0.05);
  assert.ok(Math.abs(ageWeight(7) - 0.1) < 1e-12);
  assert.ok(ageWeight(30) > 0.3 && ageWeight(30) < 0.4);
  assert.equal(ageWeight(90), 1);
  assert.equal(ageWeight(3650), 1);
  let last = 0;
  for (let d = 0; d <= 120; d += 0.5) {
    assert.ok(ageWeight(d) >= last, `monotone at ${d}`);
    last = ageWeight(d);
  }
});

test('weights stay in [0, 1] with 3 decimals', () => {
  for (const accountAgeDays of [0, 3, 7, 40, 90, 400]) {
    for (const ownsApp of [false, true]) {
      for (const approvedReviewsElsewhere of [0, 1, 10]) {
        for (const agedVotes of [0, 3, 100]) {
          for (const cohortPeers of [0, 1, 24, 5000]) {
            const w = trustWeight({ accountAgeDays, ownsApp, approvedReviewsElsewhere, agedVotes, cohortPeers });
            assert.ok(w >= 0 && w <= 1, `${w}`);
            assert.equal(Number(w.toFixed(3)), w);
          }
        }
      }
    }
  }
});

test('an aged owner counts fully; a new stranger hardly', () => {
  assert.equal(trustWeight(facts({ accountAgeDays: 120, ownsApp: true })), 1);
  assert.equal(trustWeight(facts({ accountAgeDays: 90 })), 1);
  assert.equal(trustWeight(facts()), 0.05);
  // owning a free app is cheap: a new owner gains little, an aged one the full 0.3
  assert.equal(trustWeight(facts({ ownsApp: true })), 0.125);
  assert.equal(trustWeight(facts({ accountAgeDays: 30, ownsApp: true })), Math.round((ageWeight(30) + 0.3 * (0.2 + ageWeight(30))) * 1000) / 1000);
  // history adds, capped; fresh votes are not history (agedVotes counts only votes a week old)
  assert.equal(trustWeight(facts({ approvedReviewsElsewhere: 1 })), 0.15);
  assert.equal(trustWeight(facts({ approvedReviewsElsewhere: 9, agedVotes: 50 })), 0.45);
  assert.equal(trustWeight(facts({ accountAgeDays: 60, ownsApp: true, approvedReviewsElsewhere: 2 })), 1);
});

test('a same-minute cohort shrinks: 25 fresh accounts weigh less than one aged owner, 5 reporters far less than the hold threshold', () => {
  const ring = Array.from({ length: 25 }, (_, k) => trustWeight(facts({ accountAgeDays: 0.01, cohortPeers: k })));
  assert.equal(ring[0], 0.05);
  assert.equal(ring[1], 0.025);
  const total = ring.reduce((a, b) => a + b, 0);
  assert.ok(total < 0.25, `ring total ${total}`);
  assert.ok(
    ring.every((w) => w > 0),
    'each vote still counts a little (keeps orders of small counts)',
  );
  // the same ring, each account having "bought" the free app first: still less than one trusted vote
  const owners = Array.from({ length: 25 }, (_, k) => trustWeight(facts({ accountAgeDays: 0.01, ownsApp: true, cohortPeers: k }))).reduce((a, b) => a + b, 0);
  assert.ok(owners < 0.5, `owning ring ${owners}`);
  const brigade = Array.from({ length: 5 }, (_, k) => trustWeight(facts({ cohortPeers: k }))).reduce((a, b) => a + b, 0);
  assert.ok(brigade < 0.15, `brigade ${brigade}`);
  // an aged ring made the same minute long ago is still a cohort
  const sleepers = Array.from({ length: 25 }, (_, k) => trustWeight(facts({ accountAgeDays: 400, cohortPeers: k }))).reduce((a, b) => a + b, 0);
  assert.ok(sleepers < 4, `sleepers ${sleepers}`);
});

test('an account review integrity found in a group (or rejected) counts a tenth: an aged ring cannot vote or report its way', () => {
  assert.equal(trustWeight(facts({ accountAgeDays: 400, ownsApp: true, flagged: true })), 0.1);
  assert.equal(trustWeight(facts({ accountAgeDays: 400, ownsApp: true, flagged: false })), 1);
});
