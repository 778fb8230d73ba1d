import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gistSignature, gistWords } from './gist.ts';
import { GROUP, groupSignal, judgeGroup, NO_GROUP, polarityOf, type GistPeer, type GroupFacts, type Profile } from './group.ts';
import { similarity } from './text.ts';

const OWNER: Profile = { fresh: false, nonOwner: false, dormant: false };
const FRESH: Profile = { fresh: true, nonOwner: true, dormant: false };
const peer = (i: number, profile: Profile, appId = 'a', userId = `u${i}`): GistPeer => ({
  reviewId: `r${i}-${appId}`,
  userId,
  appId,
  similarity: 0.8,
  ...profile,
});
const facts = (over: Partial<GroupFacts>): GroupFacts => ({ ...NO_GROUP, self: { ...OWNER, appId: 'a' }, ...over });

test('gist: paraphrases of one brief (synonyms swapped, sentences shuffled) meet; different experiences do not; short texts have none', () => {
  const a = gistSignature('', 'Honestly the best app I have tried this year. It is simple, beautiful and fast. Highly recommend it to anyone!')!;
  const b = gistSignature('', 'I highly suggest it to everybody. Quick, easy and gorgeous. The greatest application I tried this year.')!;
  const c = gistSignature('', 'Since the 4.2 update sync crashes when I open the calendar on my iPad Air. Please fix, it worked before.')!;
  assert.ok(similarity(a, b) >= GROUP.gistSimilar, String(similarity(a, b)));
  assert.ok(similarity(a, c) < 0.2, String(similarity(a, c)));
  assert.equal(gistSignature('Great', 'Great app!'), null);
  assert.deepEqual(gistWords('', 'Syncing is QUICK; syncs fast'), ['fast', 'sync']);
});

test('polarity: 4-5 praise, 1-2 attack, 3 neither', () => {
  assert.deepEqual([1, 2, 3, 4, 5].map(polarityOf), ['negative', 'negative', null, 'positive', 'positive']);
});

test('no evidence, no group: the signal scores 1 and decides nothing', () => {
  assert.deepEqual(groupSignal(undefined), { name: 'group', score: 1, reason: 'no group found' });
  assert.equal(judgeGroup(facts({ gistPeers: [peer(1, OWNER)] })).decision, null); // two authors are no group
});

test('same gist: long-standing owners on a busy app (a viral day that shares phrasing) are no group; the same on a quiet app is held', () => {
  const gistPeers = Array.from({ length: 6 }, (_, i) => peer(i, OWNER));
  assert.equal(judgeGroup(facts({ gistPeers, appReviews: 250 })).decision, null);
  const quiet = judgeGroup(facts({ gistPeers, appReviews: 20 }));
  assert.equal(quiet.decision, 'hold');
  assert.equal(quiet.kind, 'same-gist');
  assert.equal(quiet.members.length, 6);
});

test('same gist: fresh accounts are rejected (a farm); the same authors met on several apps are rejected (a ring)', () => {
  const farm = judgeGroup(facts({ self: { ...FRESH, appId: 'a' }, gistPeers: Array.from({ length: 4 }, (_, i) => peer(i, FRESH)), appReviews: 500 }));
  assert.equal(farm.decision, 'reject');
  const ring = judgeGroup(facts({ gistPeers: [0, 1, 2].flatMap((i) => [peer(i, OWNER, 'a'), peer(i, OWNER, 'b')]), appReviews: 500 }));
  assert.equal(ring.decision, 'reject');
  assert.match(ring.reason, /3 met on several apps/);
  const signal = groupSignal(facts({ gistPeers: [0, 1, 2].flatMap((i) => [peer(i, OWNER, 'a'), peer(i, OWNER, 'b')]), appReviews: 500 }));
  assert.equal(signal.decisive, 'reject');
  assert.equal(signal.score, 0);
});

test('lockstep: two others hold, four reject', () => {
  assert.equal(judgeGroup(facts({ lockstep: { authors: 1, apps: 1, reviewIds: ['x'] } })).decision, null);
  assert.equal(judgeGroup(facts({ lockstep: { authors: 2, apps: 1, reviewIds: ['x', 'y'] } })).decision, 'hold');
  assert.equal(judgeGroup(facts({ lockstep: { authors: 4, apps: 2, reviewIds: [] } })).decision, 'reject');
});

test('profile burst: suspect profiles far above the app rate and most of its week are held; fresh ones in numbers are rejected', () => {
  const burst = (kind: 'fresh' | 'non-owner', week: number, before: number, weekAll: number) =>
    judgeGroup(facts({ burst: { kind, week, before, weekAll, reviewIds: ['x'] } })).decision;
  assert.equal(burst('non-owner', 8, 0, 10), 'hold');
  assert.equal(burst('non-owner', 8, 0, 40), null); // a busy week: its usual non-owners
  assert.equal(burst('non-owner', 8, 30, 10), null); // the app's usual rate
  assert.equal(burst('non-owner', 5, 0, 5), null);
  assert.equal(burst('fresh', 12, 0, 14), 'reject');
});
