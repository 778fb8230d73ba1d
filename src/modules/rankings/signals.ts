// The chart signals' constants and the pure parts: decay of running sums (folded by the statistics consumer),
// account trust and burst detection (applied per download), and the weights. The five scores themselves are
// computed in SQL by the hourly run over millions of rows (compute.ts chartsSql), from these constants.

export const DAY_MS = 86_400_000;

/**
 * Half-lives in days. The seeds' code says "half-life of 1 week" but weighs by exp(-days/7), which halves
 * every 7·ln 2 ≈ 4.85 days. Ours is a true half-life: weight = 2^(-days/7) = exp(-days·ln2/7).
 */
export const HALF_LIFE_DAYS = { downloads: 7, downloadsFast: 1, revenue: 7 } as const;

/** 2^(-days/halfLife): the weight of an amount `days` old. */
export function decay(days: number, halfLifeDays: number): number {
  return Math.pow(2, -days / halfLifeDays);
}

/** A running decayed sum: its value as of `lastDay` (days since the epoch). */
export interface Decayed {
  value: number;
  lastDay: number;
}

/** Folds `amount` of day `day` into a running sum (late amounts for an earlier day are added decayed). */
export function fold(sum: Decayed, day: number, amount: number, halfLifeDays: number): Decayed {
  if (day >= sum.lastDay) return { value: sum.value * decay(day - sum.lastDay, halfLifeDays) + amount, lastDay: day };
  return { value: sum.value + amount * decay(sum.lastDay - day, halfLifeDays), lastDay: sum.lastDay };
}

/** The sum's value on `day`. */
export function valueOn(sum: Decayed, day: number, halfLifeDays: number): number {
  return sum.value * decay(Math.max(0, day - sum.lastDay), halfLifeDays);
}

// ---------------------------------------------------------------- account trust (manipulation resistance)

export interface AccountFacts {
  /** Days between the account's creation and the download. */
  ageDays: number;
  /** Other apps the account got before this one. */
  otherApps: number;
  /** A review of the account was rejected or flagged by review integrity. */
  flagged: boolean;
}

/** Accounts younger than this are "fresh": their downloads are watched for bursts. */
export const FRESH_ACCOUNT_DAYS = 7;

/**
 * How much one first download by this account counts in charts (0–1). Established accounts with other
 * activity count fully; new accounts, accounts that got nothing else, and accounts flagged by review
 * integrity count less, and the discounts multiply (a day-old account with nothing else counts 0.05).
 */
export function accountTrust(a: AccountFacts): number {
  let w = a.ageDays < 1 ? 0.1 : a.ageDays < FRESH_ACCOUNT_DAYS ? 0.3 : a.ageDays < 30 ? 0.7 : 1;
  if (a.otherApps === 0) w *= 0.5;
  if (a.flagged) w *= 0.1;
  return w;
}

/** Fresh-account first downloads of an app in one country and day beyond which a burst is assumed... */
export const BURST_FLOOR = 20;
/** ...when they also outnumber the day's established first downloads this many times. */
export const BURST_RATIO = 2;
/** What a fresh account's download still counts during a burst, on top of its trust. */
export const BURST_DISCOUNT = 0.1;

/**
 * Whether a fresh account's download is part of a burst, given the day's counts so far (this app, country,
 * day): many fresh accounts at once, outnumbering the established ones, is what bought installs look like.
 */
export function inBurst(freshSoFar: number, establishedSoFar: number): boolean {
  return freshSoFar >= BURST_FLOOR && freshSoFar > BURST_RATIO * establishedSoFar;
}

// ---------------------------------------------------------------- the five signals

export interface Weights {
  downloads: number;
  rating: number;
  engagement: number;
  revenue: number;
  freshness: number;
}
/** The seeds' weights, for top free and top paid (configurable: ORCHARD_CHART_WEIGHTS). */
export const DEFAULT_WEIGHTS: Weights = { downloads: 0.3, rating: 0.25, engagement: 0.2, revenue: 0.15, freshness: 0.1 };

/** Top grossing leads with revenue: the download and revenue weights are exchanged. */
export function grossingWeights(w: Weights): Weights {
  return { ...w, downloads: w.revenue, revenue: w.downloads };
}

export const RATING_PRIOR_WEIGHT = 100;
export const RATING_FULL_COUNT = 50;

/** New apps (first published) and updated apps get a bonus that halves every 14 days; an update counts half. */
export const FRESHNESS_HALF_LIFE_DAYS = 14;

// Trending (growth of trusted acquirers over a smoothed baseline, with a minimum breadth) and the thin-account
// and lockstep-cohort tests: trust.ts.
