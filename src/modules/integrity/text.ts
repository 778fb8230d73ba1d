// Review text, pure and synchronous: normalisation, shingling, MinHash signatures and LSH band keys for
// near-duplicate detection, plus the handful of numeric text features the content signal and the model read.
//
// Pipeline: normalize -> shingles (32-bit hashes) -> minhash (k mins of k seeded hash functions) -> band keys.
// Two reviews are near-duplicates when their shingle sets overlap a lot (Jaccard similarity); the share of equal
// signature slots estimates that Jaccard, and equal band keys make a pair a candidate without comparing all pairs.
//
// Everything here is deterministic across processes and releases: the seeds are fixed constants. Changing a
// constant of this file (seeds, shingle sizes, k, bands) makes stored signatures and band keys incomparable with
// new ones; bump SIGNATURE_SCHEME then, so stored rows can be recomputed.
import { Buffer } from 'node:buffer';

/** Names the signature and band-key scheme of this file; store it beside signatures. */
export const SIGNATURE_SCHEME = 'minhash64-w3c5-b21r3-v1';

/** Signature length (hash functions) by default. */
export const MINHASH_K = 64;
/** Texts of at least this many words are shingled by words (3 at a time); shorter ones by 5 characters. */
export const WORD_SHINGLE_MIN_WORDS = 6;
export const WORD_SHINGLE_SIZE = 3;
export const CHAR_SHINGLE_SIZE = 5;

/**
 * LSH banding of a 64-slot signature: 21 bands of 3 rows (63 slots; the last slot is only used by `similarity`).
 * A pair whose Jaccard similarity is s shares at least one band key with probability 1 - (1 - s^3)^21:
 *
 *     s      0.05    0.1     0.2     0.3     0.4     0.5     0.6     0.7     0.8
 *     P      0.003   0.021   0.155   0.437   0.751   0.939   0.994   0.9999  1.0000
 *
 * (threshold ≈ (1/21)^(1/3) ≈ 0.36). The band keys are a pre-filter: every candidate is then compared with
 * `similarity`, so a missed near-duplicate costs more than a false candidate (one 256-byte comparison). The
 * textbook 16 × 4 split finds a pair at s = 0.5 only 64 % of the time (0.2: 2.5 %, 0.7: 98.8 %), too few for
 * the originality signal, which starts to count at 0.3. Unrelated long reviews sit near s ≈ 0..0.05
 * (< 0.3 % candidates); short texts that share words ("great app" / "great game", s ≈ 0.2) are candidates
 * more often, and identical short texts share every key, so the store must cap the rows it reads per key.
 */
export const LSH_BANDS = 21;
export const LSH_ROWS = 3;
/** Band keys are `band * 2^48 + (48-bit hash of the band's rows)`, so at most 32 bands fit below 2^53. */
export const MAX_BANDS = 32;

const EMPTY_SLOT = 0xffffffff;
const TWO_32 = 0x1_0000_0000;
const TWO_48 = 0x1_0000_0000_0000;

// ---------------------------------------------------------------------------------------------------------------
// Normalisation

const MARKS = /\p{M}+/gu;
const INNER_APOSTROPHE = /(?<=\p{L})['\u2018\u2019\u02bc`](?=\p{L})/gu;
const NOT_WORD = /[^\p{L}\p{N}]+/gu;

/**
 * Compatibility-normalised (NFKC: full-width and ligature forms folded), lower-cased, accents stripped (é -> e),
 * apostrophes inside words dropped (don't -> dont), every run of other non-letter, non-digit characters
 * (punctuation, symbols, emoji, whitespace) turned into one space, trimmed.
 */
export function normalize(text: string): string {
  return text.normalize('NFKC').toLowerCase().normalize('NFD').replace(MARKS, '').replace(INNER_APOSTROPHE, '').replace(NOT_WORD, ' ').trim();
}

/** The text of a review as one string (what `minhash` should be given for a review). */
export function reviewText(title: string | null | undefined, body: string | null | undefined): string {
  const t = (title ?? '').trim();
  const b = (body ?? '').trim();
  return t && b ? `${t}\n${b}` : t || b;
}

// ---------------------------------------------------------------------------------------------------------------
// Hashing

/** murmur3's 32-bit finaliser: a bijection on uint32 with full avalanche. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** FNV-1a over the UTF-16 code units [from, to) of s, finalised by fmix32 (FNV alone mixes low bits poorly). */
export function hashRange(s: string, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return fmix32(h);
}

// ---------------------------------------------------------------------------------------------------------------
// Shingles

/**
 * 32-bit hashes of the shingles of an already normalised text (repeats possible; order irrelevant):
 * word 3-shingles when it has ≥ 6 words, else character 5-grams (spaces included), so that short texts with a
 * changed word or two still overlap. A normalised text shorter than 5 characters is one shingle; '' has none.
 */
function shingleHashes(norm: string): Uint32Array {
  const len = norm.length;
  if (len === 0) return new Uint32Array(0);
  let words = 1;
  for (let i = 0; i < len; i++) if (norm.charCodeAt(i) === 32) words++;

  if (words >= WORD_SHINGLE_MIN_WORDS) {
    // starts[j] is where word j begins; word j ends one before starts[j + 1] (or at len).
    const starts = new Uint32Array(words + 1);
    let w = 1;
    for (let i = 0; i < len; i++) if (norm.charCodeAt(i) === 32) starts[w++] = i + 1;
    starts[words] = len + 1;
    const n = words - WORD_SHINGLE_SIZE + 1;
    const out = new Uint32Array(n);
    for (let j = 0; j < n; j++) out[j] = hashRange(norm, starts[j], starts[j + WORD_SHINGLE_SIZE] - 1);
    return out;
  }
  if (len <= CHAR_SHINGLE_SIZE) return Uint32Array.of(hashRange(norm, 0, len));
  const n = len - CHAR_SHINGLE_SIZE + 1;
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = hashRange(norm, i, i + CHAR_SHINGLE_SIZE);
  return out;
}

/** The shingle hashes of a raw text (normalised first). Exposed for exact-Jaccard checks and tests. */
export function shingles(text: string): Uint32Array {
  return shingleHashes(normalize(text));
}

/** Exact Jaccard similarity of two texts' shingle sets (slow path; for verification, not for the hot loop). */
export function exactJaccard(a: string, b: string): number {
  const sa = new Set(shingles(a));
  const sb = new Set(shingles(b));
  if (sa.size === 0 || sb.size === 0) return 0;
  let inter = 0;
  for (const x of sa) if (sb.has(x)) inter++;
  return inter / (sa.size + sb.size - inter);
}

// ---------------------------------------------------------------------------------------------------------------
// MinHash

const seedCache = new Map<number, Uint32Array>();

/** k fixed pseudo-random 32-bit seeds (a splitmix-style sequence from a constant), cached per k. */
function seedsFor(k: number): Uint32Array {
  let seeds = seedCache.get(k);
  if (!seeds) {
    seeds = new Uint32Array(k);
    let state = 0x6f726368; // "orch"
    for (let i = 0; i < k; i++) {
      state = (state + 0x9e3779b9) | 0;
      seeds[i] = fmix32(state);
    }
    seedCache.set(k, seeds);
  }
  return seeds;
}

/**
 * MinHash signature of a text: slot i holds min over its shingles x of h_i(x), with h_i(x) = fmix32(x xor seed_i).
 * Each h_i is a bijection of uint32 with full avalanche, so the k functions behave as independent random
 * permutations for min-wise hashing (a linear (a·x + b) mod p family would need 64-bit products, i.e. BigInt or
 * limb splitting, for no better estimates). About 7 integer operations per (shingle, slot); no allocation but
 * the result. A text without shingles ('' after normalisation) gets the empty signature (every slot 0xffffffff),
 * which resembles nothing and has no band keys.
 */
export function minhash(text: string, k = MINHASH_K): Uint32Array {
  return minhashOfShingles(shingles(text), k);
}

/** MinHash of precomputed shingle hashes (see `shingles`). */
export function minhashOfShingles(hashes: Uint32Array, k = MINHASH_K): Uint32Array {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`minhash: k must be a positive integer, got ${k}`);
  const seeds = seedsFor(k);
  const sig = new Uint32Array(k).fill(EMPTY_SLOT);
  const n = hashes.length;
  for (let s = 0; s < n; s++) {
    const x = hashes[s];
    for (let i = 0; i < k; i++) {
      let h = x ^ seeds[i];
      h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
      h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
      h = (h ^ (h >>> 16)) >>> 0;
      if (h < sig[i]) sig[i] = h;
    }
  }
  return sig;
}

/** True for the signature of a text without shingles. */
export function isEmptySignature(sig: Uint32Array): boolean {
  for (let i = 0; i < sig.length; i++) if (sig[i] !== EMPTY_SLOT) return false;
  return true;
}

/**
 * Estimated Jaccard similarity: the share of equal slots (standard error √(s(1−s)/k), ≤ 0.0625 for k = 64).
 * 0 when either text had no shingles. Signatures of different lengths come from different schemes: an error.
 */
export function similarity(a: Uint32Array, b: Uint32Array): number {
  if (a.length !== b.length) throw new RangeError(`similarity: signatures of ${a.length} and ${b.length} slots`);
  const k = a.length;
  if (k === 0) return 0;
  let equal = 0;
  let aEmpty = true;
  let bEmpty = true;
  for (let i = 0; i < k; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) equal++;
    if (x !== EMPTY_SLOT) aEmpty = false;
    if (y !== EMPTY_SLOT) bEmpty = false;
  }
  return aEmpty || bEmpty ? 0 : equal / k;
}

// ---------------------------------------------------------------------------------------------------------------
// LSH band keys

/**
 * One key per band: an integer in [0, 2^53) (exact as a JS number and as a PostgreSQL bigint) equal to
 * `band * 2^48 + h`, where h is a 48-bit hash of the band's `rowsPerBand` slots. Keys of different bands differ
 * in their top bits, so they never collide by construction; two signatures get the same key for a band exactly
 * when that band's slots are equal, up to a 2^-48 chance of a hash collision. The empty signature has no keys.
 */
export function lshBands(signature: Uint32Array, bands = LSH_BANDS, rowsPerBand = LSH_ROWS): number[] {
  if (!Number.isInteger(bands) || bands < 1 || bands > MAX_BANDS) throw new RangeError(`lshBands: bands must be 1..${MAX_BANDS}`);
  if (!Number.isInteger(rowsPerBand) || rowsPerBand < 1) throw new RangeError('lshBands: rowsPerBand must be a positive integer');
  if (bands * rowsPerBand > signature.length) {
    throw new RangeError(`lshBands: ${bands} × ${rowsPerBand} rows need ${bands * rowsPerBand} slots, the signature has ${signature.length}`);
  }
  if (isEmptySignature(signature)) return [];
  const keys = new Array<number>(bands);
  for (let b = 0; b < bands; b++) {
    // Two independently seeded lanes over the band's rows: 32 + 16 bits of the key.
    let lo = 0x2545f491 ^ b;
    let hi = 0x9e3779b9 ^ Math.imul(b, 0x85ebca6b);
    const base = b * rowsPerBand;
    for (let r = 0; r < rowsPerBand; r++) {
      const v = signature[base + r];
      lo = fmix32(Math.imul(lo ^ v, 0xcc9e2d51) + r);
      hi = fmix32(Math.imul(hi ^ v, 0x1b873593) ^ (r << 24));
    }
    keys[b] = b * TWO_48 + (hi & 0xffff) * TWO_32 + lo;
  }
  return keys;
}

// ---------------------------------------------------------------------------------------------------------------
// Storage

/** A signature as little-endian uint32s (for a bytea column). */
export function encodeSignature(sig: Uint32Array): Buffer {
  const buf = Buffer.allocUnsafe(sig.length * 4);
  for (let i = 0; i < sig.length; i++) buf.writeUInt32LE(sig[i], i * 4);
  return buf;
}

/** The inverse of `encodeSignature`; throws on a length that is not a multiple of 4. */
export function decodeSignature(bytes: Uint8Array): Uint32Array {
  if (bytes.byteLength % 4 !== 0) throw new RangeError(`decodeSignature: ${bytes.byteLength} bytes is not a whole number of uint32s`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Uint32Array(bytes.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint32(i * 4, true);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Generic phrases and concrete details

// Templated praise and scorn, written in normalised form (lower case, no punctuation, "dont" for "don't").
// Tried in order at each word boundary, so longer templates come before the single words they contain.
const GENERIC_TEMPLATES = [
  // praise
  '(?:this is )?(?:the |a |an )?(?:very |so |really |truly |super |such an? )?(?:best|greatest|great|good|nice|amazing|awesome|excellent|fantastic|perfect|wonderful|cool|brilliant|superb|outstanding|incredible|fabulous|lovely|beautiful|fun|useful|helpful) (?:app|apps|game|games|application|one|product|tool)(?: ever| of all time| in the world| ever made| on the (?:app )?store)?',
  '(?:i |we )?(?:really |just |absolutely |totally |truly )?(?:love|loved|loving|like|adore) (?:it|this|this app|this game|the app|the game|this application|everything)(?: so much| a lot)?',
  '(?:highly |strongly |definitely |totally |100 )?recommend(?:ed)?(?: it| this(?: app| game)?)?(?: to (?:everyone|everybody|all))?',
  'works? (?:great|perfectly|perfect|fine|well|flawlessly|like a charm|as expected)',
  '(?:a )?must (?:have|download|try|get|buy|install)(?: app| game| it)?',
  '(?:download|get|install|try) (?:it |this(?: app)? )?(?:now|today)',
  '(?:you )?(?:wont|will not) regret(?: it)?',
  '(?:5|five|10|ten) stars?',
  '10 (?:10|out of 10)',
  '(?:thank you|thanks)(?: so much| a lot)?(?: developers?| devs?| team)?',
  '(?:good|great|nice|awesome) (?:job|work)',
  'well done',
  'keep (?:it up|up the good work)',
  'easy to use',
  'user friendly',
  'very (?:good|nice|useful|helpful)',
  'so (?:good|nice|cool|fun)',
  'the best',
  'a must',
  // promotion: what paid reviews say instead of what the app does
  '(?:it is |its )?(?:definitely |totally |so |well |really )?worth (?:it|the money|every penny|the price|downloading|a try)',
  '(?:my )?(?:friends|family|friends and family|whole family|everyone i know)(?: all)? (?:use|uses|love|loves) it(?: now)?',
  '(?:the )?best (?:in (?:its|the) (?:category|class|market)|on the (?:app )?store|i have (?:ever )?(?:tried|used|seen)(?: this year)?)',
  '(?:by far|hands down|no doubt)',
  '(?:great|amazing|awesome|cool|nice|fantastic|incredible) (?:features?|experience|design|interface)',
  '(?:the )?design is (?:gorgeous|beautiful|amazing|great|stunning|perfect)',
  '(?:everything )?works perfectly',
  '(?:simple|beautiful|fast|gorgeous|clean|sleek|easy)(?: (?:and )?(?:simple|beautiful|fast|gorgeous|clean|sleek|easy))+',
  'changed (?:my life|the way i do (?:things|everything))',
  '(?:i was |i have been )?looking for (?:an app|something) like this',
  '(?:finally )?found (?:it|this|this app)',
  // scorn
  '(?:the )?(?:worst|terrible|horrible|awful|useless|bad|garbage|trash|stupid|pathetic) (?:app|apps|game|application|product)(?: ever)?',
  '(?:do not|dont|never|wont|will not) (?:download|install|buy|waste)(?: it| this(?: app| game)?)?',
  '(?:a |total |complete )?waste of (?:money|time)',
  '(?:1|one|0|zero|no) stars?',
  'rip ?off',
  'stay away',
  'doesnt work',
  'does not work',
  'not working',
  'total (?:scam|garbage|trash)',
  // single words
  'scam(?:mers?|s)?',
  'fraud',
  'fake',
  'garbage',
  'trash',
  'rubbish',
  'useless',
  'terrible',
  'horrible',
  'awful',
  'pathetic',
  'worst',
  'avoid',
  'uninstall(?:ed)?',
  'amazing',
  'awesome',
  'excellent',
  'fantastic',
  'perfect',
  'wonderful',
  'superb',
  'brilliant',
  'incredible',
  'outstanding',
  'wow',
  'great',
  'good',
  'nice',
  'cool',
  'best',
  'love',
  'super',
  'ok',
  'okay',
];
// Whole words only: no non-space before, no non-space after (the text is normalised: words and single spaces).
const GENERIC = new RegExp(`(?<![^ ])(?:${GENERIC_TEMPLATES.join('|')})(?![^ ])`, 'g');

// Concrete details a real user mentions: features, versions, bugs, devices, services, numbers with units.
// Matched on the NFKC-lower-cased text with punctuation kept (so "3.2", "$4.99" and "wi-fi" survive).
const SPECIFIC_TERMS = [
  // features and parts of an app
  'features?',
  'updat(?:e|es|ed|ing)',
  'versions?',
  'releases?',
  'settings?',
  'options?',
  'menus?',
  'buttons?',
  'tabs?',
  'screens?',
  'screenshots?',
  'widgets?',
  'notifications?',
  'alerts?',
  'reminders?',
  'dark mode',
  'light mode',
  'offline',
  'sync(?:s|ed|ing)?',
  'backups?',
  'back up',
  'restore[ds]?',
  'export(?:s|ed|ing)?',
  'import(?:s|ed|ing)?',
  'log ?in',
  'log ?out',
  'sign(?:ed)? ?(?:in|up|out)',
  'accounts?',
  'passwords?',
  'search(?:es|ing)?',
  'filters?',
  'sort(?:s|ing)?',
  'shortcuts?',
  'keyboard',
  'layout',
  'interface',
  'ui',
  'ux',
  'fonts?',
  'themes?',
  'icons?',
  'accessibility',
  'voiceover',
  'languages?',
  'translations?',
  'subscriptions?',
  'trial',
  'pric(?:e|es|ed|ing)',
  'paywall',
  'in-app',
  'purchas(?:e|es|ed|ing)',
  'refund(?:s|ed)?',
  'ads',
  'adverts?',
  'advertisements?',
  'support',
  'customer service',
  'developers?',
  'devs?',
  'feedback',
  'uploads?',
  'uploading',
  'attachments?',
  'files?',
  'pdfs?',
  'folders?',
  'documents?',
  'templates?',
  'calendars?',
  'contacts?',
  'emails?',
  'e-mails?',
  'inbox',
  'messages?',
  'chats?',
  'camera',
  'photos?',
  'videos?',
  'audio',
  'sound',
  'microphone',
  'playback',
  'playlists?',
  'podcasts?',
  'maps?',
  'gps',
  'location',
  'navigation',
  'bluetooth',
  'wi-?fi',
  'cellular',
  'data usage',
  'storage',
  'memory',
  'battery',
  'cloud',
  'icloud',
  'face ?id',
  'touch ?id',
  'apple pay',
  'airdrop',
  'carplay',
  'homekit',
  'healthkit',
  'siri',
  'levels?',
  'characters?',
  'multiplayer',
  'servers?',
  'connection',
  'integrations?',
  'api',
  'workflows?',
  'editor',
  'tracking',
  'workouts?',
  'steps',
  'recipes?',
  'budget',
  'transactions?',
  'invoices?',
  'charts?',
  'graphs?',
  'reports?',
  // problems
  'bugs?',
  'buggy',
  'crash(?:es|ed|ing)?',
  'freez(?:e|es|ing)',
  'froze(?:n)?',
  'hang(?:s|ing)?',
  'lag(?:s|gy|ging)?',
  'glitch(?:es|y)?',
  'errors?',
  'slow(?:er|ly|ness)?',
  'faster',
  'loading',
  'load times?',
  'drains?',
  'performance',
  'latency',
  'broken',
  'fix(?:es|ed)?',
  'workaround',
  'regression',
  // devices and platforms
  'iphones?(?: ?(?:\\d{1,2}|se|pro|max|mini|plus|x[rs]?))?',
  'ipads?(?: ?(?:pro|air|mini))?',
  'ipod',
  'imac',
  'macbook(?: ?(?:pro|air))?',
  'mac',
  'macos',
  'ipados',
  'ios ?\\d*',
  'watch ?os',
  'apple watch',
  'apple tv',
  'android',
  'pixel',
  'samsung',
  'galaxy',
  'tablet',
  'desktop',
  'laptop',
  'chromebook',
  'windows',
  // services people connect apps to
  'outlook',
  'gmail',
  'google',
  'dropbox',
  'onedrive',
  'slack',
  'excel',
  'spotify',
  'zoom',
  'teams',
  'notion',
  'trello',
  'jira',
  'github',
  'whatsapp',
  'instagram',
  'facebook',
  'youtube',
  'netflix',
  'strava',
  'garmin',
  'fitbit',
  'paypal',
];
const SPECIFICS = new RegExp(
  [
    `(?<![\\p{L}\\p{N}])(?:${SPECIFIC_TERMS.join('|')})(?![\\p{L}\\p{N}])`,
    // version numbers (3.2, 17.4.1, v2) that are not ratings ("5.0 stars")
    '(?<![\\p{L}\\p{N}.])v?\\d+(?:\\.\\d+)+(?![\\p{N}.]|\\s*(?:stars?|/))',
    '(?<![\\p{L}\\p{N}])v\\d+(?![\\p{L}\\p{N}])',
    // quantities with a unit
    '(?<![\\p{L}\\p{N}.])\\d+(?:[.,]\\d+)?\\s?(?:%|percent|secs?|seconds?|mins?|minutes?|hrs?|hours?|days?|weeks?|months?|years?|yrs?|times|kb|mb|gb|tb|fps|hz|mp|km|miles?|kg|lbs?|kcal|calories|pages?|songs?|users?|devices?|people|euros?|dollars?|usd|eur|gbp|bucks)(?![\\p{L}\\p{N}])',
    // money and years
    '[$€£¥]\\s?\\d+(?:[.,]\\d+)?',
    '\\d+(?:[.,]\\d+)?\\s?[$€£¥]',
    '(?<![\\p{L}\\p{N}])(?:19|20)\\d\\d(?![\\p{L}\\p{N}])',
  ].join('|'),
  'gu',
);

const BANG_RUN = /[!?¡¿]{3,}/g;

// ---------------------------------------------------------------------------------------------------------------
// Text features

/** Simple numeric features of a review's text (title and body together), each documented below. */
export interface TextFeatures {
  /** Characters of the normalised text (letters, digits, single spaces): punctuation and emoji padding don't count. */
  length: number;
  /** Words of the normalised text. */
  words: number;
  /** Lexical diversity: distinct words / words (0 without words). Low for "good good good good …". */
  uniqueWordRatio: number;
  /** Exclamation marks per word ('!' count / max(1, words)). */
  exclamationDensity: number;
  /** Upper-case letters / cased letters (0 without letters). Shouting is near 1. */
  uppercaseRatio: number;
  /** Share of words inside templated praise or scorn ("best app ever", "5 stars", "waste of money" …), 0..1. */
  genericShare: number;
  /** Distinct concrete details: features, versions, bugs, devices, services, numbers with units, prices, years. */
  specifics: number;
  /** Digits / non-space characters of the normalised text. */
  digitRatio: number;
}

/** The features plus what the content signal also needs to know. */
export interface TextProfile extends TextFeatures {
  /** Runs of three or more ! or ? ("!!!", "?!?"). */
  bangRuns: number;
  /** Cased letters seen (for judging `uppercaseRatio` only on enough letters). */
  casedLetters: number;
}

export function textProfile(title: string | null | undefined, body: string | null | undefined): TextProfile {
  const raw = reviewText(title, body).normalize('NFKC');
  const norm = normalize(raw);

  let upper = 0;
  let lower = 0;
  let bangs = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c < 128) {
      if (c >= 65 && c <= 90) upper++;
      else if (c >= 97 && c <= 122) lower++;
      else if (c === 33) bangs++;
    } else {
      const ch = raw[i];
      if (ch !== ch.toLowerCase()) upper++;
      else if (ch !== ch.toUpperCase()) lower++;
    }
  }

  const wordList = norm === '' ? [] : norm.split(' ');
  const words = wordList.length;
  let digits = 0;
  for (let i = 0; i < norm.length; i++) {
    const c = norm.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
  }
  const nonSpace = norm.length - Math.max(0, words - 1);

  let genericWords = 0;
  const templated: string[] = [];
  if (words > 0) {
    GENERIC.lastIndex = 0;
    for (let m = GENERIC.exec(norm); m !== null; m = GENERIC.exec(norm)) {
      let w = 1;
      for (let i = 0; i < m[0].length; i++) if (m[0].charCodeAt(i) === 32) w++;
      genericWords += w;
      templated.push(m[0]);
    }
  }

  const found = new Set<string>();
  const lowered = raw.toLowerCase();
  SPECIFICS.lastIndex = 0;
  for (let m = SPECIFICS.exec(lowered); m !== null; m = SPECIFICS.exec(lowered)) found.add(m[0].replace(/[\s-]+/g, ''));
  // A detail inside a template ("amazing features") is part of the template, not a detail.
  if (templated.length && found.size) {
    const inTemplates = templated.join(' | ');
    SPECIFICS.lastIndex = 0;
    for (let m = SPECIFICS.exec(inTemplates); m !== null; m = SPECIFICS.exec(inTemplates)) found.delete(m[0].replace(/[\s-]+/g, ''));
  }

  BANG_RUN.lastIndex = 0;
  const bangRuns = raw.match(BANG_RUN)?.length ?? 0;

  return {
    length: norm.length,
    words,
    uniqueWordRatio: words === 0 ? 0 : new Set(wordList).size / words,
    exclamationDensity: bangs / Math.max(1, words),
    uppercaseRatio: upper + lower === 0 ? 0 : upper / (upper + lower),
    genericShare: words === 0 ? 0 : Math.min(1, genericWords / words),
    specifics: found.size,
    digitRatio: nonSpace <= 0 ? 0 : digits / nonSpace,
    bangRuns,
    casedLetters: upper + lower,
  };
}

/** The eight text features of a review (see `TextFeatures`). */
export function textFeatures(title: string | null | undefined, body: string | null | undefined): TextFeatures {
  const p = textProfile(title, body);
  return {
    length: p.length,
    words: p.words,
    uniqueWordRatio: p.uniqueWordRatio,
    exclamationDensity: p.exclamationDensity,
    uppercaseRatio: p.uppercaseRatio,
    genericShare: p.genericShare,
    specifics: p.specifics,
    digitRatio: p.digitRatio,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Sentence fingerprints

/** The band number of sentence fingerprints: above the LSH bands, so their keys never meet. */
export const SENTENCE_BAND = MAX_BANDS - 1;
/** Shorter sentences ("Love it.") are everybody's words, not a template's. */
export const SENTENCE_MIN_WORDS = 3;
const SENTENCE_END = /[.!?;\n\r]+/;

/**
 * Keys of the body's sentences of at least SENTENCE_MIN_WORDS words, normalised. Template campaigns re-use
 * whole sentences in new combinations, which whole-text similarity dilutes; an exact sentence seen before
 * in another review is a sharper clue. Titles are left out: short titles are formulaic everywhere.
 */
export function sentenceKeys(body: string | null | undefined): number[] {
  const keys = new Set<number>();
  for (const raw of (body ?? '').split(SENTENCE_END)) {
    const s = normalize(raw);
    if (!s || s.split(' ').length < SENTENCE_MIN_WORDS) continue;
    let lo = 0x811c9dc5;
    let hi = 0x01000193;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      lo = Math.imul(lo ^ c, 0x01000193);
      hi = fmix32(hi ^ Math.imul(c, 0x9e3779b1));
    }
    keys.add(SENTENCE_BAND * TWO_48 + (fmix32(hi) & 0xffff) * TWO_32 + (fmix32(lo) >>> 0));
  }
  return [...keys];
}
