import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../platform/rng.ts';
import {
  decodeSignature,
  encodeSignature,
  exactJaccard,
  isEmptySignature,
  LSH_BANDS,
  lshBands,
  minhash,
  normalize,
  reviewText,
  shingles,
  similarity,
  textFeatures,
} from './text.ts';

/** mulberry32, for reproducible synthetic texts. */
const VOCAB = (
  'the a my it app sync calendar widget update version crash login screen battery photo upload search note ' +
  'folder export share reminder offline subscription price support fast slow works fails after before since ' +
  'every day week phone tablet watch dark mode font button menu tab list item task project team invite ' +
  'email password reset backup restore cloud storage file pdf scan print map route walk run track sleep ' +
  'recipe budget bill invoice chart report game level player score music song playlist podcast video'
).split(' ');
function randomText(random: () => number, chars: number): string {
  const words: string[] = [];
  let length = 0;
  while (length < chars) {
    const w = VOCAB[Math.floor(random() * VOCAB.length)];
    words.push(w);
    length += w.length + 1;
  }
  return words.join(' ');
}

test('normalize: NFKC, lower case, no accents or punctuation, single spaces', () => {
  assert.equal(normalize('  Great   APP!!! '), 'great app');
  assert.equal(normalize('Café crème, naïve…'), 'cafe creme naive');
  assert.equal(normalize('Ｆｕｌｌ－ｗｉｄｔｈ ﬁne'), 'full width fine');
  assert.equal(normalize("Don't download — it’s a scam 🙄"), 'dont download its a scam');
  assert.equal(normalize('v3.2\tworks\n\nfine'), 'v3 2 works fine');
  assert.equal(normalize('!!! ??? ...'), '');
  assert.equal(normalize('Ünïcödé ÀÉÎÕÜ'), 'unicode aeiou');
});

test('reviewText joins title and body, skipping empty parts', () => {
  assert.equal(reviewText('Title', 'Body'), 'Title\nBody');
  assert.equal(reviewText('', ' Body '), 'Body');
  assert.equal(reviewText(null, undefined), '');
});

test('shingles: word 3-shingles from 6 words, character 5-grams below, nothing for no text', () => {
  assert.equal(shingles('one two three four five six seven').length, 5);
  assert.equal(shingles('one two three four five six').length, 4);
  assert.equal(shingles('Great app!!').length, 'great app'.length - 4);
  assert.equal(shingles('wow').length, 1);
  assert.equal(shingles('?!').length, 0);
  // Punctuation and case never change a shingle.
  assert.deepEqual([...shingles('Great app!!')], [...shingles('great app')]);
  assert.deepEqual([...shingles('One, two; THREE four five six')], [...shingles('one two three four five six')]);
});

test('minhash: k slots, deterministic, the empty signature for a text without shingles', () => {
  const a = minhash('Syncs my calendar with Outlook reliably since the 3.2 update');
  assert.ok(a instanceof Uint32Array);
  assert.equal(a.length, 64);
  assert.deepEqual(a, minhash('Syncs my calendar with Outlook reliably since the 3.2 update'));
  assert.equal(minhash('short', 128).length, 128);
  const empty = minhash('!!!');
  assert.ok(isEmptySignature(empty));
  assert.ok(!isEmptySignature(a));
  assert.equal(similarity(empty, empty), 0);
  assert.equal(similarity(empty, a), 0);
  assert.throws(() => minhash('x', 0), RangeError);
});

test('similarity: identical and lightly edited texts are near-duplicates, unrelated ones are not', () => {
  const a = minhash('Great app!!');
  assert.equal(similarity(a, minhash('great app')), 1);
  assert.equal(similarity(a, a), 1);
  const long = 'I use this every morning to plan my day and the widget on the lock screen is what sold me on it';
  assert.ok(similarity(minhash(long), minhash(long.replace('every morning', 'each morning'))) >= 0.5);
  assert.ok(similarity(minhash(long), minhash('Crashes whenever I try to export a PDF from the shared folder, please fix')) < 0.1);
  assert.throws(() => similarity(minhash('a', 64), minhash('a', 32)), RangeError);
});

test('minhash estimates the exact Jaccard similarity within ±0.15', () => {
  const random = seededRandom(7);
  const base = randomText(random, 300);
  const words = base.split(' ');
  const pairs: [string, string][] = [
    [base, words.map((w, i) => (i % 25 === 3 ? 'changed' : w)).join(' ')],
    [base, words.map((w, i) => (i % 4 === 1 ? 'other' : w)).join(' ')],
    [base, words.slice(0, Math.floor(words.length / 2)).join(' ')],
    [base, randomText(random, 300)],
    ['Amazing app! Best app ever', 'Amazing app, best game ever'],
    ['love the dark mode', 'love the dark theme'],
  ];
  for (const [x, y] of pairs) {
    const exact = exactJaccard(x, y);
    const estimate = similarity(minhash(x), minhash(y));
    assert.ok(Math.abs(estimate - exact) <= 0.15, `estimate ${estimate} vs exact ${exact} for ${JSON.stringify([x.slice(0, 30), y.slice(0, 30)])}`);
  }
  // And the exact values span the range, so the check means something.
  const exacts = pairs.map(([x, y]) => exactJaccard(x, y));
  assert.ok(Math.max(...exacts) > 0.6 && Math.min(...exacts) < 0.1);
});

test('lshBands: 21 keys in [0, 2^53), each band in its own range, deterministic', () => {
  const sig = minhash('Syncs my calendar with Outlook reliably since the 3.2 update');
  const keys = lshBands(sig);
  assert.equal(keys.length, LSH_BANDS);
  keys.forEach((k, band) => {
    assert.ok(Number.isSafeInteger(k) && k >= 0 && k < 2 ** 53, String(k));
    assert.equal(Math.floor(k / 2 ** 48), band);
  });
  assert.deepEqual(lshBands(sig), keys);
  assert.equal(lshBands(sig, 16, 4).length, 16);
  assert.deepEqual(lshBands(minhash('')), []);
  assert.throws(() => lshBands(sig, 22, 3), RangeError); // 66 slots > 64
  assert.throws(() => lshBands(minhash('x', 128), 33, 2), RangeError); // more bands than the key layout holds
  assert.throws(() => lshBands(sig, 0, 3), RangeError);
});

test('lshBands: a light edit shares a band, unrelated texts almost never do', () => {
  const shared = (a: string, b: string) => {
    const ka = new Set(lshBands(minhash(a)));
    return lshBands(minhash(b)).some((k) => ka.has(k));
  };
  assert.ok(shared('Great app!!', 'great app'));
  assert.ok(shared('Amazing app!!! Best app ever, 5 stars, must download!', 'Amazing app! Best app ever, 5 stars!! Must download'));
  const long = 'I use this every morning to plan my day and the widget on the lock screen is what sold me on it';
  assert.ok(shared(long, long.replace('lock screen', 'home screen')));

  const random = seededRandom(42);
  const texts = Array.from({ length: 300 }, () => randomText(random, 300));
  const keys = texts.map((t) => new Set(lshBands(minhash(t))));
  let pairs = 0;
  let candidates = 0;
  for (let i = 0; i < keys.length; i++) {
    for (let j = i + 1; j < keys.length; j++) {
      pairs++;
      for (const k of keys[j]) {
        if (keys[i].has(k)) {
          candidates++;
          break;
        }
      }
    }
  }
  assert.ok(candidates / pairs < 0.01, `${candidates} of ${pairs} unrelated pairs are candidates`);
});

test('signatures survive the bytea round trip as little-endian uint32s', () => {
  const sig = minhash('round trip');
  const bytes = encodeSignature(sig);
  assert.equal(bytes.length, 256);
  assert.equal(bytes.readUInt32LE(4), sig[1]);
  assert.deepEqual(decodeSignature(bytes), sig);
  // A view into a larger (pooled) buffer decodes from its own offset.
  const framed = Buffer.concat([Buffer.from([1, 2, 3]), bytes]).subarray(3);
  assert.deepEqual(decodeSignature(framed), sig);
  assert.deepEqual(decodeSignature(encodeSignature(new Uint32Array(0))), new Uint32Array(0));
  assert.throws(() => decodeSignature(Buffer.alloc(7)), RangeError);
});

test('textFeatures: templated farm text against a specific organic review', () => {
  const farm = textFeatures('', 'Amazing app!!! Best app ever, 5 stars, must download!');
  assert.equal(farm.genericShare, 1);
  assert.equal(farm.specifics, 0);
  assert.equal(farm.words, 9);
  assert.ok(farm.exclamationDensity > 0.4);

  const organic = textFeatures('', 'Syncs my calendar with Outlook reliably since the 3.2 update');
  assert.equal(organic.genericShare, 0);
  assert.ok(organic.specifics >= 3, String(organic.specifics));
  assert.equal(organic.uniqueWordRatio, 1);
  assert.equal(organic.exclamationDensity, 0);
  assert.ok(organic.digitRatio > 0);

  const shouting = textFeatures('WORST APP EVER', "DON'T DOWNLOAD, TOTAL SCAM");
  assert.equal(shouting.uppercaseRatio, 1);
  assert.equal(shouting.genericShare, 1);

  const repetitive = textFeatures('', 'good good good good good good good good');
  assert.equal(repetitive.uniqueWordRatio, 1 / 8);

  // "5 stars" is a rating, not a detail; a version, a price, a duration and a device are.
  assert.equal(textFeatures('', '5 stars').specifics, 0);
  assert.equal(textFeatures('', 'Since v4.1 on my iPad it takes 10 seconds and costs $4.99').specifics, 4);

  assert.deepEqual(textFeatures('', ''), {
    length: 0,
    words: 0,
    uniqueWordRatio: 0,
    exclamationDensity: 0,
    uppercaseRatio: 0,
    genericShare: 0,
    specifics: 0,
    digitRatio: 0,
  });
});

test('minhash of 1,000 texts of 300 characters completes', () => {
  const random = seededRandom(1);
  const texts = Array.from({ length: 1000 }, () => randomText(random, 300).slice(0, 300));
  let slots = 0;
  for (const t of texts) slots += minhash(t).length;
  assert.equal(slots, 64_000);
});
