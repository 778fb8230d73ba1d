import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accountAge, contentQuality, coordination, originality, reviewVelocity, verifiedPurchase, type CoordinationFacts } from './signals.ts';
import { minhash, similarity } from './text.ts';

const HOUR = 3_600_000;
const AT = Date.UTC(2026, 0, 15, 12);

test('review_velocity: more than 5 → 0.2, more than 2 → 0.6, else 1', () => {
  const score = (n: number) => reviewVelocity(n).score;
  assert.equal(score(0), 1);
  assert.equal(score(2), 1);
  assert.equal(score(3), 0.6);
  assert.equal(score(5), 0.6);
  assert.equal(score(6), 0.2);
  assert.equal(score(60), 0.2);
  assert.equal(score(NaN), 1);
  assert.equal(reviewVelocity(3).name, 'review_velocity');
  assert.match(reviewVelocity(3).reason, /3 other reviews/);
});

test('content_quality: specific organic reviews score well, templated farm text poorly', () => {
  const organic = [
    ['', 'Syncs my calendar with Outlook reliably since the 3.2 update'],
    ['Crashes', 'Crashes on launch on my iPhone 12 since iOS 17.4, lost 3 days of notes.'],
    ['Too many ads', 'An ad every 30 seconds makes it unusable. Would pay to remove them.'],
    ['', 'Works offline on the subway, and the widget shows my next train.'],
  ];
  for (const [title, body] of organic) assert.ok(contentQuality(title, body).score >= 0.85, `${body}: ${contentQuality(title, body).score}`);

  const farm = [
    ['', 'Amazing app!!! Best app ever, 5 stars, must download!'],
    ['Love it', 'Great app, love it, highly recommend'],
    ['WORST APP EVER', "DON'T DOWNLOAD!!! Total scam, waste of money."],
    ['', 'BEST APP EVER!!!!!!'],
    ['', 'good good good good good good good good good'],
  ];
  for (const [title, body] of farm) assert.ok(contentQuality(title, body).score < 0.45, `${body}: ${contentQuality(title, body).score}`);

  // A plain short review without templates or details sits in between.
  const plain = contentQuality('', 'My kids use it every night before bed').score;
  assert.ok(plain > 0.6 && plain < 0.85, String(plain));
  // Shouting and !!! runs each cost something on the same words.
  const calm = contentQuality('', 'The export to PDF keeps the page layout').score;
  assert.ok(contentQuality('', 'THE EXPORT TO PDF KEEPS THE PAGE LAYOUT').score < calm);
  assert.ok(contentQuality('', 'The export to PDF keeps the page layout!!!').score < calm);
  // No text at all is neutral.
  assert.deepEqual(contentQuality('', '  '), { name: 'content_quality', score: 0.5, reason: 'no text' });
  assert.match(contentQuality('', 'Amazing app!!! Best app ever, 5 stars, must download!').reason, /100% templated words; no concrete details/);
});

test('account_age: linear to full trust at 30 days', () => {
  assert.equal(accountAge(0).score, 0);
  assert.equal(accountAge(15).score, 0.5);
  assert.equal(accountAge(30).score, 1);
  assert.equal(accountAge(400).score, 1);
  assert.equal(accountAge(-3).score, 0);
  assert.match(accountAge(0.2).reason, /less than a day/);
});

test('verified_purchase: owners 1, others 0.3', () => {
  assert.equal(verifiedPurchase(true).score, 1);
  assert.equal(verifiedPurchase(false).score, 0.3);
});

/** `n` window reviews spread evenly over `spanMs` before AT, rated by `rate(i)`. */
function windowOf(n: number, spanMs: number, rate: (i: number) => number, extra: Partial<CoordinationFacts> = {}): CoordinationFacts {
  const windowTimestamps = Array.from({ length: n }, (_, i) => AT - Math.round(((i + 1) * spanMs) / (n + 1)));
  return {
    windowCount: n,
    historyDailyAverage: 2,
    historyDays: 30,
    windowTimestamps,
    windowRatings: windowTimestamps.map((_, i) => rate(i)),
    rating: 4,
    at: AT,
    ...extra,
  };
}
const mixed = (i: number) => [5, 4, 2, 5, 3, 1, 4][i % 7];

test('coordination: a new or quiet app’s first reviews and a steady busy app score 1', () => {
  // Brand-new app, three earlier reviews minutes apart: no history, but far too few to be a burst.
  const fresh = coordination(windowOf(3, 0.5 * HOUR, () => 5, { historyDailyAverage: 0, historyDays: 0, rating: 5 }));
  assert.equal(fresh.score, 1);
  // A quiet app (0.1 a day) with a handful of reviews the same day: the 2-a-day floor keeps it no spike.
  assert.equal(coordination(windowOf(6, 20 * HOUR, mixed, { historyDailyAverage: 0.1 })).score, 1);
  // A busy app: 200 a day, 190 in the last 24 h spread out.
  assert.equal(coordination(windowOf(190, 24 * HOUR, mixed, { historyDailyAverage: 200 })).score, 1);
  // Busy enough that the store only passes the 500 most recent timestamps (all inside the last hour):
  // the share is counted against the full window, so it is not mistaken for a cluster.
  const truncated = windowOf(500, 0.9 * HOUR, mixed, { historyDailyAverage: 12_000, windowCount: 12_000 });
  assert.equal(coordination(truncated).score, 1);
});

test('coordination: 40 reviews in an hour on an app averaging 2 a day scores low, lower when skewed', () => {
  const burst = coordination(windowOf(39, HOUR * 0.95, mixed));
  assert.ok(burst.score <= 0.2, `${burst.score}: ${burst.reason}`);
  assert.match(burst.reason, /volume spike/);
  assert.match(burst.reason, /clustered/);

  const skewed = coordination(windowOf(39, HOUR * 0.95, (i) => (i % 20 === 0 ? 3 : 1), { rating: 1 }));
  assert.ok(skewed.score < burst.score, `${skewed.score} vs ${burst.score}`);
  assert.match(skewed.reason, /rated 1★ like this one/);
  // A dissenting rating inside the same bombed window is not lowered for the skew.
  const dissent = coordination(windowOf(39, HOUR * 0.95, (i) => (i % 20 === 0 ? 3 : 1), { rating: 4 }));
  assert.equal(dissent.score, burst.score);
});

test('coordination: spike alone, cluster alone', () => {
  // 30 in a day spread evenly on a 2-a-day app: a spike (15×) but no cluster.
  const spike = coordination(windowOf(29, 23 * HOUR, mixed));
  assert.ok(spike.score > 0.2 && spike.score < 0.3, String(spike.score));
  // Exactly 5× expected is not yet a spike (the rule is "more than").
  assert.equal(coordination(windowOf(9, 23 * HOUR, mixed)).score, 1);
  // 10 reviews within the hour on an app of 4 a day: 2.5×, no spike, but all of them clustered → 0.4.
  const cluster = coordination(windowOf(9, 0.5 * HOUR, mixed, { historyDailyAverage: 4 }));
  assert.equal(cluster.score, 0.4);
  // Timestamps outside the 24 h window are ignored.
  const stale = windowOf(9, 0.5 * HOUR, mixed, { historyDailyAverage: 4 });
  assert.equal(coordination({ ...stale, windowCount: 0, windowTimestamps: stale.windowTimestamps.map((t) => t - 48 * HOUR) }).score, 1);
});

test('originality: original text 1, copies ~0, cross-app copies at least as bad as within-app', () => {
  assert.equal(originality({ bestWithinApp: 0, bestAcrossApps: 0, nearDuplicates: 0 }).score, 1);
  assert.equal(originality({ bestWithinApp: 0.25, bestAcrossApps: 0.15, nearDuplicates: 0 }).score, 1);

  const identical = similarity(minhash('Amazing app, best app ever'), minhash('Amazing app, best app ever'));
  assert.equal(originality({ bestWithinApp: identical, bestAcrossApps: 0, nearDuplicates: 1 }).score, 0);

  const lightEdit = similarity(minhash('Great app!!'), minhash('great app'));
  assert.ok(originality({ bestWithinApp: lightEdit, bestAcrossApps: 0, nearDuplicates: 1 }).score < 0.05);

  const unrelated = similarity(
    minhash('Syncs my calendar with Outlook reliably since the 3.2 update'),
    minhash('The timer resets when the phone locks, please fix'),
  );
  assert.equal(originality({ bestWithinApp: unrelated, bestAcrossApps: 0, nearDuplicates: 0 }).score, 1);

  const crossCopy = originality({ bestWithinApp: 0.1, bestAcrossApps: 0.95, nearDuplicates: 1 });
  assert.equal(crossCopy.score, 0);
  assert.match(crossCopy.reason, /95% in other apps/);
  for (const s of [0.3, 0.4, 0.5, 0.6, 0.7, 0.8]) {
    const within = originality({ bestWithinApp: s, bestAcrossApps: 0, nearDuplicates: 0 }).score;
    const across = originality({ bestWithinApp: 0, bestAcrossApps: s, nearDuplicates: 0 }).score;
    assert.ok(across <= within, `at ${s}: across ${across} > within ${within}`);
  }
  // Falls smoothly: monotone in the similarity.
  let previous = 1;
  for (let s = 0; s <= 1; s += 0.05) {
    const v = originality({ bestWithinApp: s, bestAcrossApps: 0, nearDuplicates: 0 }).score;
    assert.ok(v <= previous);
    previous = v;
  }
  // A loose copy with many near-duplicates goes to ~0.
  const loose = originality({ bestWithinApp: 0.55, bestAcrossApps: 0, nearDuplicates: 1 }).score;
  const crowd = originality({ bestWithinApp: 0.55, bestAcrossApps: 0, nearDuplicates: 20 }).score;
  assert.ok(loose > 0.5 && crowd < 0.01, `${loose} ${crowd}`);
});
