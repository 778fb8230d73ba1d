import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INCENTIVE_LEXICON, incentiveMatcher, incentivePhrases } from './incentive.ts';
import { analyze, computeSignals, type IntegrityFacts } from './model.ts';
import { incentive, INCENTIVE_SCORE } from './signals.ts';

test('the lexicon covers the store languages', () => {
  for (const lang of ['en', 'de', 'fr', 'es', 'it', 'pt', 'ja']) assert.ok(INCENTIVE_LEXICON[lang]?.length >= 5, lang);
});

test('incentivePhrases: found in any case, accents, punctuation, language', () => {
  const paid = [
    ['', 'Gave 5 stars for the FREE coins!!'],
    ['Great', 'honestly I got paid to write this'],
    ['', 'They sent me a promo code for a review, so here it is'],
    ['Super', 'Fünf Sterne, dafür gibt es GRATIS Münzen.'],
    ['', 'Je mets 5 étoiles pour les pièces gratuites'],
    ['', '¡Cinco estrellas por las monedas gratis!'],
    ['', 'Ho ricevuto monete gratis in cambio di una recensione'],
    ['', 'Dei 5 estrelas em troca de moedas grátis'],
    ['', '星5をつけると無料コインがもらえると言われました'],
    ['', 'Use my referral code ABC123 for a bonus'],
  ];
  for (const [title, body] of paid) assert.ok(incentivePhrases(title, body).length > 0, body);
  assert.deepEqual(incentivePhrases('', 'gave 5 stars for the free coins'), ['for the free coins']);
});

test('incentivePhrases: genuine reviews, short or in other languages, have none', () => {
  const genuine = [
    'Great app!',
    'ok',
    'I paid for the pro version and it was worth it',
    'The daily free coins in the game are too few, please add more levels',
    'Sehr gute App, die Synchronisierung funktioniert endlich',
    "L'application est rapide et l'interface très claire",
    'La app funciona bien pero consume batería',
    'Ottima app, la uso ogni giorno',
    'Aplicativo muito bom, recomendo',
    'とても使いやすいアプリです',
    'Exchange rates update every minute, great for travel',
  ];
  for (const body of genuine) assert.deepEqual(incentivePhrases('', body), [], body);
});

test('incentive signal: held whatever the cheap signals say; clean text is neutral', () => {
  assert.deepEqual(incentive('', 'Nice calendar app'), { name: 'incentive', score: 1, reason: 'no incentive language' });
  const s = incentive('', 'gave 5 stars for the free coins');
  assert.equal(s.score, INCENTIVE_SCORE);
  assert.equal(s.decisive, 'hold');
  assert.match(s.reason, /free coins/);

  const facts: IntegrityFacts = {
    authorReviewsInPrior24h: 0,
    accountAgeDays: 900,
    verified: true,
    coordination: { windowCount: 0, historyDailyAverage: 0, historyDays: 0, windowTimestamps: [], windowRatings: [], rating: 5, at: Date.UTC(2026, 0, 1) },
    originality: { bestWithinApp: 0, bestAcrossApps: 0, nearDuplicates: 0 },
  };
  const review = { rating: 5, title: 'Love it', body: 'Gave it 5 stars for the free coins, the reminders sync with my iPhone 15 since 2.1' };
  assert.equal(computeSignals(facts, review).find((s) => s.name === 'incentive')!.decisive, 'hold');
  const result = analyze(facts, review, null);
  assert.equal(result.action, 'manual_review', String(result.score));
  assert.equal(analyze(facts, { ...review, body: 'The reminders sync with my iPhone 15 since 2.1, no complaints' }, null).action, 'approve');
});

test('incentiveMatcher: another lexicon', () => {
  const match = incentiveMatcher({ en: ['free lunch'] });
  assert.deepEqual(match('', 'There is no free lunch!'), ['free lunch']);
  assert.deepEqual(match('', 'gave 5 stars for the free coins'), []);
});

test('a sentence naming a review, a reward and an exchange is incentive language in words the lexicon has not met; game talk is not', () => {
  for (const text of [
    'Got 200 free gems for leaving this review.',
    'They offered a free month of premium if I rated it 5 stars.',
    'Writing this for the review reward, 5 stars as asked.',
    'Für diese Bewertung gab es einen Gutschein.',
    'Ganhei gemas grátis por esta avaliação.',
  ]) {
    assert.notDeepEqual(incentivePhrases('', text), [], text);
  }
  for (const text of [
    'Great game, 5 stars. The coins are a bit expensive though.',
    'I rate it 4 stars for the graphics, premium is worth it.',
    'Love the daily bonus, 5 stars for the levels',
  ]) {
    assert.deepEqual(incentivePhrases('', text), [], text);
  }
});
