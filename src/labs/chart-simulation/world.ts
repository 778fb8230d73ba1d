// The chart red-team world: a pure, deterministic plan from a seed (no I/O). One target category of incumbents
// with organic history (Zipf-like volumes, some growing) and quiet tail apps; campaigns that each push one tail
// app with the category #5 app's weekly volume (its 7-day half-life sum, ±30%) over a week; a control
// ('genuine-rise') that gains the same volume from trusted long-standing accounts; fabricated SDK sessions.
import { HALF_LIFE_DAYS } from '../../modules/rankings/index.ts';
import { mulberry32 } from '../../platform/rng.ts';

export const FAMILIES = ['fresh', 'aged-thin', 'aged-lockstep', 'aged-varied', 'genuine-rise'] as const;
export type Family = (typeof FAMILIES)[number];
export const ATTACK_FAMILIES = FAMILIES.filter((f) => f !== 'genuine-rise');

/** Seeds the defences are tuned on, and seeds reported (never tuned on). */
export const TUNING_SEEDS = [1, 2, 3, 4, 5];
export const REPORTING_SEEDS = [101, 102, 103, 104, 105, 106, 107, 108, 109, 110];

/** Days over which each campaign delivers (today is day 0). */
export const CAMPAIGN_DAYS = 7;

export interface AppPlan {
  role: 'incumbent' | 'tail';
  /** Organic first downloads per day, index = days ago (0: today). */
  daily: number[];
  ratingCount: number;
  ratingAverage: number;
}

/** How a fabricated session names its install: no token, a made-up one, a real one altered, a real one of another app. */
export type FabricatedToken = 'missing' | 'forged' | 'tampered' | 'other-app';

export interface FabricatedSession {
  token: FabricatedToken;
  /** Start, in minutes before the simulation's now (within the ingestion's 30-day window). */
  minutesAgo: number;
  seconds: number;
}

export interface AccountPlan {
  /** Creation: this many whole hours before the current hour, plus `minute` minutes. */
  createdHoursAgo: number;
  minute: number;
  /** Apps the account got before the simulated period (its chart history). */
  priorApps: number;
  /** The account gets a decoy free app just before the target (the "one other app acquired first"). */
  decoyFirst: boolean;
  /** The day it gets the target. */
  acquireDaysAgo: number;
  /** Genuine installs whose SDK sessions the simulation reports: the days (ago) they open the app. Empty: none reported. */
  activeDaysAgo: number[];
}

export interface CampaignPlan {
  family: Family;
  /** Index into the world's tail apps. */
  target: number;
  volume: number;
  accounts: AccountPlan[];
  /** Attacks: SDK sessions for installs that never downloaded the target. */
  fabricated: FabricatedSession[];
}

/** Share of the genuine rise's earlier installs whose sessions are reported (most installs open the app they got). */
export const REPORTED_EARLIER_INSTALLS = 0.8;

export interface ChartWorld {
  seed: number;
  historyDays: number;
  /** Index of the target category among the store's top-level categories (sorted by slug). */
  categoryIndex: number;
  incumbents: AppPlan[];
  tails: AppPlan[];
  /** The #5 incumbent's weekly volume (7-day half-life sum of its downloads as of today). */
  fifthVolume: number;
  campaigns: CampaignPlan[];
}

type Rand = () => number;
const uniform = (r: Rand, lo: number, hi: number) => lo + (hi - lo) * r();
const int = (r: Rand, lo: number, hi: number) => Math.floor(uniform(r, lo, hi + 1));

/** The 7-day half-life sum of a daily series (index = days ago) as of today: what charts call download velocity. */
export function weeklyVolume(daily: readonly number[]): number {
  return daily.reduce((sum, n, daysAgo) => sum + n * 2 ** (-daysAgo / HALF_LIFE_DAYS.downloads), 0);
}

function incumbent(r: Rand, rank: number, top: number, exponent: number, days: number): AppPlan {
  const base = top / rank ** exponent;
  const growth = r() < 0.25 ? uniform(r, 0.3, 1.2) : 0;
  const daily = Array.from({ length: days }, (_, d) => Math.max(0, Math.round(base * (1 + growth * (1 - d / days)) * uniform(r, 0.85, 1.15))));
  return { role: 'incumbent', daily, ratingCount: int(r, 200, 20_000), ratingAverage: uniform(r, 3.9, 4.7) };
}

function tail(r: Rand, days: number): AppPlan {
  const rate = uniform(r, 0.5, 4);
  const daily = Array.from({ length: days }, () => Math.round(rate * uniform(r, 0, 2)));
  return { role: 'tail', daily, ratingCount: int(r, 60, 800), ratingAverage: uniform(r, 3.9, 4.7) };
}

/** Day of each acquisition, by the family's delivery shape over the campaign's week. */
function deliveryDays(r: Rand, family: Family, volume: number): number[] {
  const weights = Array.from({ length: CAMPAIGN_DAYS }, (_, daysAgo) => {
    if (family === 'genuine-rise') return 1 + (1.5 * (CAMPAIGN_DAYS - 1 - daysAgo)) / (CAMPAIGN_DAYS - 1); // a rise accelerates
    if (family === 'aged-varied') return uniform(r, 0.4, 1.6); // patient and irregular
    return 1;
  });
  const total = weights.reduce((a, b) => a + b, 0);
  const days: number[] = [];
  weights.forEach((w, daysAgo) => {
    const n = daysAgo === CAMPAIGN_DAYS - 1 ? volume - days.length : Math.round((volume * w) / total);
    for (let i = 0; i < n && days.length < volume; i++) days.push(daysAgo);
  });
  return days;
}

function account(r: Rand, family: Family, acquireDaysAgo: number, lockstepHour: number): AccountPlan {
  const hoursAgo = (days: number) => Math.floor(days * 24);
  switch (family) {
    case 'fresh':
      return {
        createdHoursAgo: hoursAgo(acquireDaysAgo + uniform(r, 0.2, 6)),
        minute: uniform(r, 0, 60),
        priorApps: r() < 0.7 ? 0 : int(r, 1, 2),
        decoyFirst: false,
        acquireDaysAgo,
        activeDaysAgo: [],
      };
    case 'aged-thin':
      return { createdHoursAgo: hoursAgo(uniform(r, 60, 1000)), minute: uniform(r, 0, 60), priorApps: 0, decoyFirst: true, acquireDaysAgo, activeDaysAgo: [] };
    case 'aged-lockstep':
      return { createdHoursAgo: lockstepHour, minute: uniform(r, 0, 59), priorApps: int(r, 3, 6), decoyFirst: false, acquireDaysAgo, activeDaysAgo: [] };
    case 'aged-varied':
      return {
        createdHoursAgo: hoursAgo(uniform(r, 30, 1500)),
        minute: uniform(r, 0, 60),
        priorApps: int(r, 1, 3),
        decoyFirst: false,
        acquireDaysAgo,
        activeDaysAgo: [],
      };
    case 'genuine-rise': {
      const reported = acquireDaysAgo === 0 || r() < REPORTED_EARLIER_INSTALLS;
      // opened the day it was installed, then on about half the days since
      const activeDaysAgo = reported
        ? Array.from({ length: acquireDaysAgo + 1 }, (_, k) => acquireDaysAgo - k).filter((d) => d === acquireDaysAgo || r() < 0.5)
        : [];
      return {
        createdHoursAgo: hoursAgo(uniform(r, 200, 2500)),
        minute: uniform(r, 0, 60),
        priorApps: int(r, 4, 40),
        decoyFirst: false,
        acquireDaysAgo,
        activeDaysAgo,
      };
    }
  }
}

const TOKENS: FabricatedToken[] = ['missing', 'forged', 'tampered', 'other-app'];

function fabricatedSessions(r: Rand, volume: number): FabricatedSession[] {
  return Array.from({ length: Math.round(volume * uniform(r, 1, 2)) }, () => ({
    token: TOKENS[int(r, 0, TOKENS.length - 1)],
    minutesAgo: Math.round(uniform(r, 1, CAMPAIGN_DAYS * 24 * 60)),
    seconds: int(r, 120, 1800),
  }));
}

export function generateWorld(seed: number): ChartWorld {
  const r = mulberry32(seed);
  const historyDays = int(r, 30, 60);
  const incumbentCount = int(r, 20, 40);
  const top = uniform(r, 120, 260);
  const exponent = uniform(r, 0.8, 1.1);
  const incumbents = Array.from({ length: incumbentCount }, (_, k) => incumbent(r, k + 1, top, exponent, historyDays));
  const tails = Array.from({ length: FAMILIES.length + int(r, 3, 7) }, () => tail(r, historyDays));
  const fifthVolume = incumbents.map((a) => weeklyVolume(a.daily)).sort((a, b) => b - a)[4];
  const lockstepHour = int(r, 24 * 90, 24 * 700);
  const campaigns = FAMILIES.map((family, target): CampaignPlan => {
    const volume = Math.round(fifthVolume * uniform(r, 0.7, 1.3));
    const accounts = deliveryDays(r, family, volume).map((d) => account(r, family, d, lockstepHour));
    return { family, target, volume, accounts, fabricated: family === 'genuine-rise' ? [] : fabricatedSessions(r, volume) };
  });
  return { seed, historyDays, categoryIndex: int(r, 0, 1000), incumbents, tails, fifthVolume, campaigns };
}

/** "1-3,7" -> [1, 2, 3, 7]. */
export function parseSeeds(text: string): number[] {
  const seeds: number[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new Error(`bad seed list '${text}': use e.g. 1-3 or 101,105`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new Error(`bad seed range '${part}'`);
    for (let s = from; s <= to; s++) seeds.push(s);
  }
  return seeds;
}
