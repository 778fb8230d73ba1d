// The integrity signals (the eighth, group, is group.ts), pure: each reads facts the store gathered and returns a score from 0 (suspicious)
// to 1 (legitimate) with a human-readable reason for moderators. Scores are rounded to 4 decimals so that a
// verdict can be recomputed exactly from the signals stored with it.
import { incentivePhrases } from './incentive.ts';
import { textProfile } from './text.ts';

export const SIGNAL_NAMES = [
  'review_velocity',
  'content_quality',
  'account_age',
  'verified_purchase',
  'coordination',
  'originality',
  'incentive',
  'group',
] as const;
export type SignalName = (typeof SIGNAL_NAMES)[number];

export interface Signal {
  name: SignalName;
  /** 0 = suspicious .. 1 = legitimate. */
  score: number;
  reason: string;
  /**
   * A telling signal decides on its own: 'reject' (a copy of another author's review) or 'hold' (incentive
   * language), whatever the others add up to. Stored with the signal, so a verdict can be recomputed from it.
   */
  decisive?: Decisive;
}

export type Decisive = 'reject' | 'hold';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

const clamp01 = (x: number) => (x > 1 ? 1 : x > 0 ? x : 0);
const round4 = (x: number) => Math.round(clamp01(x) * 10_000) / 10_000;
/** A count from the outside world: finite and non-negative, else 0. */
const count = (x: number) => (Number.isFinite(x) && x > 0 ? x : 0);
const pct = (x: number) => `${Math.round(x * 100)}%`;
const signal = (name: SignalName, score: number, reason: string): Signal => ({ name, score: round4(score), reason });
/** 0 below `from`, 1 above `to`, a smooth S between. */
function smoothstep(x: number, from: number, to: number): number {
  const t = clamp01((x - from) / (to - from));
  return t * t * (3 - 2 * t);
}

// ---------------------------------------------------------------------------------------------------------------

/** Reviews the author wrote (any app) in the 24 h before this one: more than 5 → 0.2, more than 2 → 0.6, else 1. */
export function reviewVelocity(authorReviewsInPrior24h: number): Signal {
  const n = count(authorReviewsInPrior24h);
  const score = n > 5 ? 0.2 : n > 2 ? 0.6 : 1;
  return signal('review_velocity', score, `${n} other review${n === 1 ? '' : 's'} by the author in the previous 24 h`);
}

// ---------------------------------------------------------------------------------------------------------------

/**
 * How much the text reads like a real user's experience rather than a template:
 *
 *   base = 0.35 · (1 − genericShare)       share of words inside templated praise/scorn ("best app ever", "5 stars")
 *        + 0.25 · √min(length / 80, 1)     normalised characters; the root keeps short real reviews competitive
 *        + 0.40 · specifics                0 details → 0.5, 1 → 0.85, ≥ 2 → 1 (features, versions, bugs, devices, numbers)
 *
 * times penalties: shouting (≥ 70 % capitals over ≥ 10 letters) × 0.75; runs of "!!!" × 0.85 (or many single
 * exclamation marks, > 0.25 a word, × 0.92); low lexical diversity (≥ 8 words, distinct/words < 0.5) × (0.5 + ratio).
 * A review without text (rating only) is neutral: 0.5.
 */
export function contentQuality(title: string | null | undefined, body: string | null | undefined): Signal {
  const p = textProfile(title, body);
  if (p.words === 0) return signal('content_quality', 0.5, 'no text');

  const generic = 1 - p.genericShare;
  const length = Math.sqrt(Math.min(p.length / 80, 1));
  const details = p.specifics >= 2 ? 1 : p.specifics === 1 ? 0.85 : 0.5;
  let score = 0.35 * generic + 0.25 * length + 0.4 * details;

  const notes: string[] = [];
  if (p.genericShare > 0) notes.push(`${pct(p.genericShare)} templated words`);
  notes.push(p.specifics === 0 ? 'no concrete details' : `${p.specifics} concrete detail${p.specifics === 1 ? '' : 's'}`);
  notes.push(`${p.length} chars`);
  if (p.casedLetters >= 10 && p.uppercaseRatio >= 0.7) {
    score *= 0.75;
    notes.push('shouting');
  }
  if (p.bangRuns > 0) {
    score *= 0.85;
    notes.push('runs of !!!');
  } else if (p.exclamationDensity > 0.25 && p.words >= 2) {
    score *= 0.92;
    notes.push('many exclamation marks');
  }
  if (p.words >= 8 && p.uniqueWordRatio < 0.5) {
    score *= 0.5 + p.uniqueWordRatio;
    notes.push(`repetitive (${pct(p.uniqueWordRatio)} distinct words)`);
  }
  return signal('content_quality', score, notes.join('; '));
}

// ---------------------------------------------------------------------------------------------------------------

/** Account age in days: full trust after 30 days, linear before (min(age / 30, 1)). */
export function accountAge(ageDays: number): Signal {
  const days = count(ageDays);
  return signal(
    'account_age',
    Math.min(days / 30, 1),
    `account ${days < 1 ? 'less than a day' : `${Math.floor(days)} day${Math.floor(days) === 1 ? '' : 's'}`} old`,
  );
}

// ---------------------------------------------------------------------------------------------------------------

/** Whether the author owned the app when writing: 1, else 0.3. */
export function verifiedPurchase(owns: boolean): Signal {
  return owns ? signal('verified_purchase', 1, 'author owns the app') : signal('verified_purchase', 0.3, 'author does not own the app');
}

// ---------------------------------------------------------------------------------------------------------------

export interface CoordinationFacts {
  /** Reviews of the same app written in the 24 h before this one (this one excluded). */
  windowCount: number;
  /** Average reviews per day of the app over the 30 days before that window (0 when none). */
  historyDailyAverage: number;
  /** Days of history the app has in those 30 days (0..30). */
  historyDays: number;
  /** ms epochs of the window's reviews (at most the 500 most recent; the rest are only counted). */
  windowTimestamps: readonly number[];
  /** Ratings of those reviews. */
  windowRatings: readonly number[];
  /** This review's rating. */
  rating: number;
  /** This review's ms epoch. */
  at: number;
}

/** Tuning of the coordination signal (exported for the simulator and the docs). */
export const COORDINATION = {
  /** Expected reviews a day never counts below this: a quiet or new app's first reviews are no spike. */
  expectedFloorPerDay: 2,
  /** Fewer reviews than this in the window (this one included) are never a spike or a cluster. */
  minBurst: 8,
  /** A spike is more than this multiple of the expected daily volume … */
  spikeMultiple: 5,
  /** … scoring 0.3 there, falling (log-linearly) to 0.2 at this multiple and beyond. */
  severeMultiple: 20,
  clusterSpanMs: HOUR_MS,
  /** The cluster share starts to count above this … */
  clusterFrom: 0.5,
  /** … and scores 0.4 at this share and beyond. */
  clusterAt: 0.8,
  /** A burst is skewed when one extreme rating (1 or 5) holds at least this share of it. */
  skewShare: 0.8,
  /** Spike and cluster together multiply the lower of the two by this. */
  bothFactor: 0.85,
} as const;

/**
 * Review bombing: a burst of reviews on one app, tightly timed, with one extreme rating.
 *
 *  1. spike: volume = windowCount + 1 against expected = max(historyDailyAverage, 2 a day). A spike is
 *     volume ≥ 8 and volume > 5 × expected; it scores 0.3 at 5× falling log-linearly to 0.2 at 20× and beyond.
 *  2. time cluster: share = (reviews in the hour ending with this one, itself included) / volume — the densest
 *     hour-long span that contains this review, since no later review is known. Only with volume ≥ 8. The share
 *     of an evenly spread day is ~4 %; 1 up to 50 %, then linearly down to 0.4 at 80 % and beyond. When the
 *     window has more reviews than timestamps were given, the missing ones count as outside the hour (a lower
 *     bound on the share: truncation never makes a busy app look clustered).
 *  3. rating skew, only when 1 or 2 fired: if this review gives the burst's dominant extreme rating (1 or 5) and
 *     that rating holds ≥ 80 % of the window (given ratings plus this one), the result is multiplied by
 *     0.7 at 80 % down to 0.5 at 100 % — a dissenting review in a bombed window is not lowered further.
 *
 * score = min(spike, cluster) × (0.85 when both fired) × skew factor. Organic traffic — below the spike
 * threshold and spread over the day — scores exactly 1.
 */
export function coordination(facts: CoordinationFacts): Signal {
  const c = COORDINATION;
  const at = Number.isFinite(facts.at) ? facts.at : 0;
  const stamps = facts.windowTimestamps.filter((t) => Number.isFinite(t) && t <= at && t > at - DAY_MS);
  const windowCount = Math.max(Math.floor(count(facts.windowCount)), stamps.length);
  const volume = windowCount + 1;
  const history = count(facts.historyDays) > 0 ? count(facts.historyDailyAverage) : 0;
  const expected = Math.max(history, c.expectedFloorPerDay);
  const multiple = volume / expected;

  let spike = 1;
  if (volume >= c.minBurst && multiple > c.spikeMultiple) {
    spike = 0.3 - 0.1 * clamp01(Math.log(multiple / c.spikeMultiple) / Math.log(c.severeMultiple / c.spikeMultiple));
  }

  let inSpan = 1; // this review
  for (const t of stamps) if (t > at - c.clusterSpanMs) inSpan++;
  const share = inSpan / volume;
  let cluster = 1;
  if (volume >= c.minBurst && share > c.clusterFrom) {
    cluster = 1 - 0.6 * clamp01((share - c.clusterFrom) / (c.clusterAt - c.clusterFrom));
  }

  const parts: string[] = [`${volume} reviews of the app in 24 h, expected ≈ ${expected.toFixed(1)}/day (${multiple.toFixed(1)}×)`];
  if (spike < 1) parts.push('volume spike');
  if (volume >= c.minBurst) parts.push(`${pct(share)} of them in the last hour${cluster < 1 ? ' (clustered)' : ''}`);

  let score = Math.min(spike, cluster);
  if (spike < 1 && cluster < 1) score *= c.bothFactor;

  if (score < 1) {
    let ones = facts.rating === 1 ? 1 : 0;
    let fives = facts.rating === 5 ? 1 : 0;
    let rated = Number.isInteger(facts.rating) && facts.rating >= 1 && facts.rating <= 5 ? 1 : 0;
    for (const r of facts.windowRatings) {
      if (!Number.isInteger(r) || r < 1 || r > 5) continue;
      rated++;
      if (r === 1) ones++;
      else if (r === 5) fives++;
    }
    const dominant = fives > ones ? 5 : 1;
    const dominantShare = rated === 0 ? 0 : Math.max(ones, fives) / rated;
    if (facts.rating === dominant && dominantShare >= c.skewShare) {
      score *= 0.7 - 0.2 * clamp01((dominantShare - c.skewShare) / (1 - c.skewShare));
      parts.push(`${pct(dominantShare)} of the burst rated ${dominant}★ like this one`);
    }
  }
  return signal('coordination', score, parts.join('; '));
}

// ---------------------------------------------------------------------------------------------------------------

export interface OriginalityFacts {
  /** Highest estimated Jaccard similarity against other reviews of the same app (0 if none). */
  bestWithinApp: number;
  /** Highest against reviews of other apps (0 if none). */
  bestAcrossApps: number;
  /** How many candidates scored ≥ 0.5. */
  nearDuplicates: number;
  /**
   * The earlier review this one copies (estimated Jaccard ≥ copyThreshold(words), a text of at least COPY_MIN_WORDS words,
   * written by another author or by the same author on another app), if any: the originality signal then
   * decides alone (reject).
   */
  copyOf?: {
    reviewId: string;
    similarity: number;
    sameAuthor: boolean;
    sameApp: boolean;
    /** Words of the copy (normalised). */
    words?: number;
  } | null;
}

/**
 * Estimated Jaccard (word 3-shingles, 64-slot MinHash: ±0.06) from which a text counts as a copy of an earlier
 * review: 0.7 for texts of COPY_LONG_WORDS words or more (a few words added, dropped or changed in a paragraph
 * still leave ≥ 0.7; two people's own paragraphs sit near 0), 0.85 for shorter ones (near-verbatim only: short
 * sentences of ordinary words meet by chance more often).
 */
export const COPY_JACCARD = 0.7;
export const COPY_JACCARD_SHORT = 0.85;
export const COPY_LONG_WORDS = 15;
export function copyThreshold(words: number): number {
  return words >= COPY_LONG_WORDS ? COPY_JACCARD : COPY_JACCARD_SHORT;
}
/**
 * Texts shorter than this (words, normalised) are never decided as copies: everyone writes "Great app!", and
 * people's one-sentence reviews meet word for word by chance (3,000 simulated organic reviews had 2% of such
 * matches at 6-14 words). Their originality still scores as before; only long texts are rejected on a match.
 */
export const COPY_MIN_WORDS = COPY_LONG_WORDS;

/**
 * A copy this close and this long is word for word, not a shared phrasing: rejected whoever wrote it. (Simulated
 * organic reviews of ≥ 15 words met an earlier one of another author at ≥ 0.9 once in 3,400, over seeds 1-3.)
 */
export const VERBATIM = { similarity: 0.9, words: COPY_LONG_WORDS } as const;

/**
 * The same author's text on another app is what rings and farms do: rejected. So is another author's text copied
 * word for word (VERBATIM). A looser copy of another author's text is held for a moderator: synthetic organic
 * reviews (thousands of people drawing on shared phrasings) met each other at 0.7-0.9 often enough (0.3%) that
 * rejecting them outright would cost genuine reviews.
 */
function copyDecision(copy: NonNullable<OriginalityFacts['copyOf']>): Decisive {
  if (copy.sameAuthor) return 'reject';
  return copy.similarity >= VERBATIM.similarity && (copy.words ?? 0) >= VERBATIM.words ? 'reject' : 'hold';
}

/**
 * Copied text. Each similarity becomes a duplicate degree with a smoothstep: within the app from 0 at ≤ 0.3 to 1
 * at ≥ 0.9 (short texts that share a few words overlap a little by chance); across apps from 0 at ≤ 0.2 to 1 at
 * ≥ 0.8 — the same text on several apps is what farms do, so at any similarity a cross-app copy is penalised at
 * least as much as a within-app one.
 *
 *   score = (1 − max(dupWithin, dupAcross)) × crowd,   crowd = exp(−(nearDuplicates − 1) / 4) beyond one copy
 *
 * so original text scores 1, a copy ~0, and many near-duplicates push even a loose copy towards 0
 * (5 of them × 0.37, 10 × 0.11, 20 × 0.009).
 */
export function originality(facts: OriginalityFacts): Signal {
  const within = clamp01(count(facts.bestWithinApp));
  const across = clamp01(count(facts.bestAcrossApps));
  const near = Math.floor(count(facts.nearDuplicates));
  const dupWithin = smoothstep(within, 0.3, 0.9);
  const dupAcross = smoothstep(across, 0.2, 0.8);
  const crowd = near > 1 ? Math.exp(-(near - 1) / 4) : 1;
  const score = (1 - Math.max(dupWithin, dupAcross)) * crowd;
  const reason =
    within === 0 && across === 0 && near === 0
      ? 'no similar review found'
      : `most similar: ${pct(within)} in this app, ${pct(across)} in other apps; ${near} near-duplicate${near === 1 ? '' : 's'}`;
  const copy = facts.copyOf;
  if (copy && Number.isFinite(copy.similarity) && copy.similarity >= COPY_JACCARD) {
    const whose = copy.sameAuthor ? 'the same author' : 'another author';
    const where = copy.sameApp ? 'this app' : 'another app';
    return {
      ...signal('originality', 0, `copy (${pct(copy.similarity)} similar) of review ${copy.reviewId} by ${whose} on ${where}; ${reason}`),
      decisive: copyDecision(copy),
    };
  }
  return signal('originality', score, reason);
}

// ---------------------------------------------------------------------------------------------------------------

/** Score of a review whose text offers or admits a reward for the review (held for a moderator). */
export const INCENTIVE_SCORE = 0.1;

/**
 * Incentive language: a review that says it was paid or rewarded for ("5 stars for the free coins", "got paid",
 * "monedas gratis") scores INCENTIVE_SCORE and is held whatever the other signals say; others score 1.
 * The phrases come from the seed lexicon (incentive.ts); a trained model learns its weight from labels.
 */
export function incentive(title: string | null | undefined, body: string | null | undefined): Signal {
  const found = incentivePhrases(title, body);
  if (!found.length) return signal('incentive', 1, 'no incentive language');
  return { ...signal('incentive', INCENTIVE_SCORE, `incentive language: ${found.map((f) => `"${f}"`).join(', ')}`), decisive: 'hold' };
}
