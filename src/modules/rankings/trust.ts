// Acquisition trust beyond account age (issue 20): the pure parts of the statistics consumer's "thin account"
// and "lockstep cohort" tests, and the trending formula the chart run applies in SQL (compute.ts chartsSql).
//
// A first download counts as a *trusted acquirer* (app_daily_stats.trusted_acquirers, what trending counts)
// only when its account is not fresh, not thin, not flagged by review integrity and not in a lockstep cohort
// of the app's acquirers over the last week. Thin and cohort downloads also weigh less in trusted_downloads (top charts).

/** An account whose whole history, this download included, is at most this many acquisitions is "thin". */
export const THIN_MAX_ACQUISITIONS = 2;
/** What a thin account's download still counts in trusted_downloads, on top of its trust. */
export const THIN_DISCOUNT = 0.2;

/** Accounts are grouped by creation time in buckets this long (the cohort test). */
export const COHORT_BUCKET_MS = 3_600_000;
/** A creation bucket is a lockstep cohort once it holds this many of the app's acquirers over COHORT_WINDOW_DAYS (country)... */
export const COHORT_FLOOR = 10;
/** ...and at least this share of them (organic acquirers' accounts are spread over years). */
export const COHORT_SHARE = 0.2;
/** What a cohort member's download still counts in trusted_downloads, on top of its trust. */
export const COHORT_DISCOUNT = 0.1;

/** The account's history, this acquisition included, is tiny: `otherApps` is what it got before. */
export function isThin(otherApps: number): boolean {
  return otherApps + 1 <= THIN_MAX_ACQUISITIONS;
}

/** The creation bucket of an account (hours since the epoch). */
export function cohortBucket(createdAt: Date): number {
  return Math.floor(createdAt.getTime() / COHORT_BUCKET_MS);
}

/**
 * Whether an acquirer belongs to a lockstep cohort of the app's acquirers over the window (COHORT_WINDOW_DAYS,
 * so a few a day add up): `inBucket` of them so far (this one included) were created in its creation hour, out
 * of `windowTotal` acquirers so far (this one included).
 */
export function inCohort(inBucket: number, windowTotal: number): boolean {
  return inBucket >= COHORT_FLOOR && inBucket >= COHORT_SHARE * windowTotal;
}

// ---------------------------------------------------------------- trending

/** Half-life (days) of the trending baseline: trusted acquirers, a ~4-week smoothed daily rate. */
export const BASELINE_HALF_LIFE_DAYS = 14;
/** Prior (trusted acquirers a day) added to both rates, so tiny baselines don't explode. */
export const TRENDING_PRIOR = 20;
/** Breadth: distinct trusted acquirers in the recent window (the 1-day half-life sum) below which an app never trends. */
export const TRENDING_MIN_ACQUIRERS = 20;

/** The daily rate a decayed sum with this half-life stands for (a steady r a day sums to r / (1 - 2^(-1/h))). */
export const rateFactor = (halfLifeDays: number) => 1 - Math.pow(2, -1 / halfLifeDays);

/**
 * Trending score: log growth of the recent daily rate of trusted acquirers (`recent`: their 1-day half-life
 * sum) over the smoothed baseline (`baseline`: their BASELINE_HALF_LIFE_DAYS sum), both with the prior; 0
 * without TRENDING_MIN_ACQUIRERS of them recently. compute.ts computes the same in SQL.
 */
export function trendingScore(recent: number, baseline: number): number {
  if (recent < TRENDING_MIN_ACQUIRERS) return 0;
  return Math.log((recent * rateFactor(1) + TRENDING_PRIOR) / (baseline * rateFactor(BASELINE_HALF_LIFE_DAYS) + TRENDING_PRIOR));
}

// ---------------------------------------------------------------- activation evidence

// An app that uses the SDK shows how many of its installs open it (activations, per trusted download, over the
// last months). Acquisitions beyond what the recent activations support at that rate (never below the store's:
// activationRate) are not evidence of a real rise: aged accounts that pass every account test but never run the
// app. Apps without that history (no SDK) are charted as before; an SDK app whose activations stop keeps its
// long-run level, never more.

/** Half-life (days) of the app's own activation rate: long (a big campaign still dilutes it: activationRate). */
export const ACTIVATION_RATE_HALF_LIFE_DAYS = 60;
/** Decayed activations (60-day sum) from which an app counts as using the SDK in a country. */
export const ACTIVATION_MIN_EVIDENCE = 5;
/** Installs may activate at this share of the app's usual rate (late openings, lag) before acquisitions are bounded. */
export const ACTIVATION_TOLERANCE = 0.5;
/**
 * The store's activation rate (the run's floor under every app's own rate) is this quantile of the SDK apps' own
 * rates (per app and country with ACTIVATION_MIN_EVIDENCE), at most ACTIVATION_STORE_RATE_MAX.
 */
export const ACTIVATION_STORE_RATE_QUANTILE = 0.5;
export const ACTIVATION_STORE_RATE_MAX = 1;

export interface ActivationEvidence {
  /** Decayed activations over the recent window of `acquisitions` (same half-life). */
  recentActivations: number;
  /** The app's 60-day decayed activations and trusted downloads: its own activation rate. */
  longActivations: number;
  longDownloads: number;
  /** The store's activation rate this run (storeActivationRate; 0: none known). */
  storeRate?: number;
}

/** The store's rate from the quantile of SDK apps' own rates (null without any): capped, never negative. */
export function storeActivationRate(quantile: number | null): number {
  if (quantile === null || !Number.isFinite(quantile)) return 0;
  return Math.min(Math.max(quantile, 0), ACTIVATION_STORE_RATE_MAX);
}

/**
 * The activation rate a surge is judged at: the app's own long-run rate, but never below the store's. The app's
 * own running sums include the surge being judged, so a surge of installs that never open the app lowers its own
 * rate and would loosen its own bound (activations / rate grows with the surge's downloads); the store's rate (the
 * median SDK app's) is what a surge of genuine installs, which mostly open the app, activates at. An app that
 * usually activates below the store's rate keeps its long-run level (the floor) and rises as far as its
 * activations allow at the store's rate (with ACTIVATION_TOLERANCE, half the median's rate is still unbounded).
 */
export function activationRate(e: ActivationEvidence): number {
  return Math.max(e.longActivations / Math.max(e.longDownloads, 1), e.storeRate ?? 0);
}

/**
 * The acquisitions (a decayed sum: trusted downloads or trusted acquirers) that charts count: at most what the
 * recent activations support at activationRate (with ACTIVATION_TOLERANCE), and never less than `floor` (the
 * app's long-run level on the same scale); unchanged without SDK history. compute.ts applies the same in SQL.
 */
export function supportedAcquisitions(acquisitions: number, floor: number, e: ActivationEvidence): number {
  if (e.longActivations < ACTIVATION_MIN_EVIDENCE) return acquisitions;
  const supported = e.recentActivations / activationRate(e) / ACTIVATION_TOLERANCE;
  return Math.min(acquisitions, Math.max(floor, supported));
}

// ---------------------------------------------------------------- cohorts over a window

/** The cohort test counts creation-hour buckets of an app's acquirers over this many days (today included). */
export const COHORT_WINDOW_DAYS = 7;
