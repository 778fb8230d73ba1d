// Store-wide near-duplicates: shingles -> MinHash -> LSH bands find a copied text; the originality signal then
// decides alone (reject), and short stock phrases never count as copies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReviewSubmitted } from '../reviews/index.ts';
import { toFacts } from './consumer.ts';
import { analyze } from './model.ts';
import type { RawFacts } from './store.ts';
import { copyThreshold, originality } from './signals.ts';
import { decodeSignature, encodeSignature, exactJaccard, lshBands, minhash, reviewText, similarity } from './text.ts';

const ORIGINAL =
  'Since the 4.2 update the calendar view finally syncs with Outlook on my iPad Air, and the reminders arrive on time even offline. Export to PDF still needs work.';

function submitted(over: Partial<ReviewSubmitted>): ReviewSubmitted {
  return {
    reviewId: 'r-new',
    appId: 'app-b',
    userId: 'user-b',
    rating: 5,
    revision: 1,
    title: 'Great',
    body: ORIGINAL,
    verified: true,
    createdAt: '2026-01-15T12:00:00.000Z',
    writtenAt: '2026-01-15T12:00:00.000Z',
    accountCreatedAt: '2020-01-01T00:00:00.000Z',
    ...over,
  } as ReviewSubmitted;
}

const raw = (candidates: RawFacts['candidates']): RawFacts => ({
  authorReviewsInPrior24h: 0,
  windowCount: 0,
  window: [],
  historyReviews: 0,
  historyDays: 0,
  candidates,
  sentencesSeen: 0,
  sentenceSharers: [],
});

const candidate = (text: string, appId: string, userId: string) => ({ reviewId: 'r-old', appId, userId, signature: encodeSignature(minhash(text)) });

test('near-verbatim copies (case, punctuation, a small edit) estimate above the copy threshold and share LSH bands', () => {
  const edits = [ORIGINAL.toLowerCase(), ORIGINAL.replaceAll(',', '').replaceAll('.', '!!'), `Honestly, ${ORIGINAL}`, ORIGINAL.replace('finally', 'now')];
  const a = minhash(reviewText('Great', ORIGINAL));
  for (const e of edits) {
    const b = minhash(reviewText('Love it', e));
    assert.ok(similarity(a, b) >= copyThreshold(30), `${similarity(a, b)} ${e}`);
    const bands = new Set(lshBands(a));
    assert.ok(
      lshBands(b).some((k) => bands.has(k)),
      'a candidate',
    );
  }
  const other = 'Crashes every time I open the map on my iPhone 12 since version 3.1, support never answered my two emails.';
  assert.ok(similarity(a, minhash(other)) < 0.2);
  assert.ok(exactJaccard(ORIGINAL, other) < 0.1);
});

test('a copy of another author’s review on another app is held with the reason; word for word, or the same author’s, rejected', () => {
  const verbatim = submitted({ body: ORIGINAL.toLowerCase() });
  const verbatimFacts = toFacts(
    raw([candidate(reviewText('Solid', ORIGINAL), 'app-a', 'user-a')]),
    verbatim,
    minhash(reviewText(verbatim.title, verbatim.body)),
    2,
  );
  const exact = analyze(verbatimFacts.facts, { rating: 5, title: verbatim.title, body: verbatim.body }, null);
  assert.equal(exact.action, 'reject', String(exact.score));
  assert.equal(exact.signals.find((s) => s.name === 'originality')!.decisive, 'reject');
  // a clause changed: a looser copy (0.7-0.9), held for a moderator
  const p = submitted({ body: ORIGINAL.replace('still needs work', 'could be better') });
  const sig = minhash(reviewText(p.title, p.body));
  const { facts } = toFacts(raw([candidate(reviewText('Solid', ORIGINAL), 'app-a', 'user-a')]), p, sig, 2);
  assert.equal(facts.originality.copyOf?.reviewId, 'r-old');
  const result = analyze(facts, { rating: 5, title: p.title, body: p.body }, null);
  assert.equal(result.action, 'manual_review', String(result.score));
  const o = result.signals.find((s) => s.name === 'originality')!;
  assert.equal(o.decisive, 'hold');
  assert.match(o.reason, /copy .* of review r-old by another author on another app/);
  // the same author's text on another app: a ring's or a farm's, rejected outright
  const own = toFacts(raw([candidate(reviewText('Solid', ORIGINAL), 'app-a', p.userId)]), p, sig, 2).facts;
  const ownResult = analyze(own, { rating: 5, title: p.title, body: p.body }, null);
  assert.equal(ownResult.action, 'reject', String(ownResult.score));
  assert.equal(ownResult.signals.find((s) => s.name === 'originality')!.decisive, 'reject');
});

test('the same author on another app is a copy too; a revision of one’s own review is not', () => {
  const p = submitted({});
  const sig = minhash(reviewText(p.title, p.body));
  const own = toFacts(raw([candidate(reviewText(p.title, p.body), 'app-a', 'user-b')]), p, sig, 2).facts;
  assert.equal(own.originality.copyOf?.sameAuthor, true);
  const sameAppSameAuthor = toFacts(raw([candidate(reviewText(p.title, p.body), 'app-b', 'user-b')]), p, sig, 2).facts;
  assert.equal(sameAppSameAuthor.originality.copyOf, null);
});

test('short stock phrases are never copies', () => {
  for (const body of ['Great app!', 'ok', 'Love it, works great', 'Very useful app for me']) {
    const p = submitted({ title: '', body });
    const sig = minhash(reviewText(p.title, p.body));
    const { facts } = toFacts(raw([candidate(body, 'app-a', 'user-a')]), p, sig, 1);
    assert.equal(facts.originality.copyOf ?? null, null, body);
    assert.notEqual(analyze(facts, { rating: 5, title: '', body }, null).action, 'reject', body);
  }
});

test('originality without a copy keeps its graded score and decides nothing', () => {
  const s = originality({ bestWithinApp: 0.4, bestAcrossApps: 0, nearDuplicates: 1 });
  assert.equal(s.decisive, undefined);
  assert.ok(s.score > 0.5);
  assert.equal(
    originality({ bestWithinApp: 0, bestAcrossApps: 0, nearDuplicates: 0, copyOf: { reviewId: 'x', similarity: 0.5, sameAuthor: false, sameApp: false } })
      .decisive,
    undefined,
  );
});

test('copy thresholds: looser for a paragraph, near-verbatim for a short text', () => {
  assert.equal(copyThreshold(30), 0.7);
  assert.equal(copyThreshold(8), 0.85);
  // a short sentence that two people could write alike is not a copy at 0.8
  const p = submitted({ title: '', body: 'I use the widget every day and it just works' });
  const { facts } = toFacts(
    raw([{ reviewId: 'r-old', appId: 'app-a', userId: 'user-a', signature: encodeSignature(minhash('I use the widget every day and it just works at work')) }]),
    p,
    minhash(reviewText(p.title, p.body)),
    1,
  );
  assert.equal(facts.originality.copyOf, null);
});

test('a copy under another title: decided on the bodies when both are known', () => {
  const body = 'Took me a while to find the camera but now I rely on it for school. Subscription is pricey for what search offers in June.';
  const p = submitted({ title: 'Does what it says on the tin', body: `${body} 10/10` });
  const sig = minhash(reviewText(p.title, p.body));
  const old = { reviewId: 'r-old', appId: 'app-a', userId: 'user-a', signature: encodeSignature(minhash(reviewText('Handy', body))) };
  const titled = similarity(sig, decodeSignature(old.signature));
  const withBodies = toFacts(raw([{ ...old, bodySignature: encodeSignature(minhash(body)) }]), p, sig, 2, minhash(p.body)).facts;
  assert.equal(withBodies.originality.copyOf?.reviewId, 'r-old', `title + body similarity ${titled}`);
  assert.ok(withBodies.originality.copyOf!.similarity >= titled);
});
