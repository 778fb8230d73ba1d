// The simulated world: organic reviewers (with control groups the pipeline must leave alone) and a red team of
// attack families, as a deterministic plan of apps, accounts, backdated ownership and timed review submissions.
// Pure: the driver (simulate.ts) sends the plan through the API. Every parameter is drawn from ranges by the
// seed (randomOptions), so each seed is a different world.
//
// Seeds: TUNING seeds are 1–5; REPORTING seeds are 101–110. Tune the pipeline on the former only and quote
// the latter, so the figures reported are not the ones the thresholds were fitted to.
import { Rng } from '../../platform/rng.ts';
import {
  BRIEFS,
  bombingText,
  farmText,
  incentiveText,
  lightEdit,
  longOrganicText,
  nonEnglishText,
  organicTitle,
  paraphrase,
  type ReviewText,
  ringText,
  shortOrganicText,
  viralDayText,
  withTypos,
} from './texts.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const TUNING_SEEDS = [1, 2, 3, 4, 5];
export const REPORTING_SEEDS = [101, 102, 103, 104, 105, 106, 107, 108, 109, 110];

export type AttackKind = 'sleeper' | 'ring' | 'copy' | 'incentive' | 'bombing' | 'farm';
export type Kind = 'organic' | AttackKind;
export const ATTACK_KINDS: AttackKind[] = ['sleeper', 'ring', 'copy', 'incentive', 'bombing', 'farm'];
/** Organic control groups, reported on their own rows ('organic:short', ...). */
export type OrganicControl = 'short' | 'non-english' | 'typos' | 'viral-day';
export const ORGANIC_CONTROLS: OrganicControl[] = ['short', 'non-english', 'typos', 'viral-day'];

export interface SimulationOptions {
  seed: number;
  /** Free apps of the organic world (popularity follows a Zipf law); attack targets are added to them. */
  apps: number;
  /** Days of organic traffic; most attacks run in the last `attackDays` of them (sleepers start earlier). */
  days: number;
  attackDays: number;
  /** Organic reviews over the whole period, besides the viral day. */
  organicReviews: number;
  /** Organic accounts younger than 30 days, and organic reviewers who own the app they review. */
  organicNewAccountShare: number;
  organicOwnerShare: number;
  /** Shares of organic reviews that are very short, not in English, or full of typos. */
  organicShortShare: number;
  organicNonEnglishShare: number;
  organicTypoShare: number;
  /** A genuine viral day: this many reviews of one popular app within 24 h from its long-standing owners. */
  viralDay: { reviews: number };
  /** Aged accounts that acquired a (cheap paid) target weeks before, posting paraphrases of a brief over `days`. */
  sleeper: { campaigns: number; reviews: number; days: number; swapRate: number; dropRate: number };
  /** Rings posting one spun message across several apps of one developer, at a pace of hours to days. */
  ring: {
    rings: number;
    accounts: number;
    appsPerAccount: number;
    developerApps: number;
    swapRate: number;
    paceHours: number;
    agedShare: number;
    ownerShare: number;
  };
  /** Reviews copied from other apps' organic reviews by patient aged accounts; `editRate` 0 copies word for word. */
  copy: { reviews: number; ownerShare: number; editRate: number };
  /** Incentivised reviews ("5 stars for the free coins") in several languages, mostly from real-looking accounts. */
  incentive: { reviews: number; agedShare: number; ownerShare: number };
  /** Competitors' one-star bombing from aged accounts that do not own the app, over `hours` (one evening or days). */
  bombing: { campaigns: number; reviews: number; hours: number };
  /** Fresh-account farms with templated text, in a burst or over a few days (`hours`). */
  farm: { campaigns: number; reviews: number; hours: number; ownerShare: number };
}

/** Uniform in [min, max]. */
const between = (rng: Rng, min: number, max: number) => min + rng.next() * (max - min);
const round2 = (x: number) => Math.round(x * 100) / 100;

/** The default world of a seed: every volume, pace, age, share and spin strength drawn from a range. */
export function randomOptions(seed: number): SimulationOptions {
  const rng = new Rng(seed, 'options');
  const days = rng.int(28, 35);
  const ringAppsPerAccount = rng.int(2, 4);
  const rings = rng.int(1, 2);
  const sleeperCampaigns = rng.int(2, 3);
  const bombingCampaigns = rng.int(1, 2);
  const farmCampaigns = rng.int(1, 3);
  return {
    seed,
    apps: rng.int(80, 110),
    days,
    attackDays: rng.int(5, 9),
    organicReviews: rng.int(1300, 1380),
    organicNewAccountShare: round2(between(rng, 0.04, 0.12)),
    organicOwnerShare: round2(between(rng, 0.75, 0.92)),
    organicShortShare: round2(between(rng, 0.1, 0.2)),
    organicNonEnglishShare: round2(between(rng, 0.06, 0.14)),
    organicTypoShare: round2(between(rng, 0.05, 0.12)),
    viralDay: { reviews: rng.int(200, 260) },
    sleeper: {
      campaigns: sleeperCampaigns,
      reviews: Math.ceil(rng.int(45, 80) / sleeperCampaigns),
      days: rng.int(7, 21),
      swapRate: round2(between(rng, 0.2, 0.7)),
      dropRate: round2(between(rng, 0.1, 0.4)),
    },
    ring: {
      rings,
      accounts: Math.ceil(rng.int(40, 70) / (rings * ringAppsPerAccount)),
      appsPerAccount: ringAppsPerAccount,
      developerApps: ringAppsPerAccount + rng.int(0, 2),
      swapRate: round2(between(rng, 0.1, 0.6)),
      paceHours: round2(between(rng, 2, 60)),
      agedShare: round2(between(rng, 0, 0.7)),
      ownerShare: round2(between(rng, 0, 0.6)),
    },
    copy: { reviews: rng.int(40, 70), ownerShare: round2(between(rng, 0.3, 0.7)), editRate: round2(between(rng, 0, 0.5)) },
    incentive: { reviews: rng.int(40, 70), agedShare: round2(between(rng, 0.4, 0.9)), ownerShare: round2(between(rng, 0.4, 0.9)) },
    bombing: {
      campaigns: bombingCampaigns,
      reviews: Math.ceil(rng.int(45, 100) / bombingCampaigns),
      hours: rng.chance(0.35) ? rng.int(3, 6) : rng.int(48, 168),
    },
    farm: {
      campaigns: farmCampaigns,
      reviews: Math.ceil(rng.int(40, 90) / farmCampaigns),
      hours: rng.chance(0.5) ? rng.int(4, 24) : rng.int(48, 96),
      ownerShare: round2(between(rng, 0, 0.5)),
    },
  };
}

export const DEFAULT_OPTIONS: SimulationOptions = randomOptions(1);

/** A small world for tests: every family and control present, a few hundred reviews, fixed parameters. */
export const SMALL_OPTIONS: SimulationOptions = {
  seed: 42,
  apps: 24,
  days: 20,
  attackDays: 5,
  organicReviews: 260,
  organicNewAccountShare: 0.08,
  organicOwnerShare: 0.85,
  organicShortShare: 0.15,
  organicNonEnglishShare: 0.1,
  organicTypoShare: 0.08,
  viralDay: { reviews: 40 },
  sleeper: { campaigns: 1, reviews: 12, days: 8, swapRate: 0.4, dropRate: 0.25 },
  ring: { rings: 1, accounts: 5, appsPerAccount: 3, developerApps: 3, swapRate: 0.3, paceHours: 12, agedShare: 0.3, ownerShare: 0.3 },
  copy: { reviews: 12, ownerShare: 0.5, editRate: 0.3 },
  incentive: { reviews: 12, agedShare: 0.7, ownerShare: 0.7 },
  bombing: { campaigns: 1, reviews: 20, hours: 48 },
  farm: { campaigns: 1, reviews: 15, hours: 24, ownerShare: 0.2 },
};

/** How many catalog apps the world reviews. */
export function plannedAppCount(o: SimulationOptions): number {
  return o.apps + o.sleeper.campaigns + o.ring.rings * o.ring.developerApps;
}

/** An app the world needs; the driver maps it onto a catalog app with these properties. */
export interface PlannedApp {
  key: number;
  /** A cheap paid app (a sleeper campaign's target); otherwise free unless it is a developer group's. */
  paid: boolean;
  /** Apps with the same group belong to one developer (a ring's targets). */
  developerGroup: number | null;
}

export interface Ownership {
  app: number;
  /** Ms since the simulation's start when the app was acquired (negative: before the start). */
  at: number;
}

export interface PlannedAccount {
  key: number;
  /** Ms since the simulation's start when the account was opened (negative: before the start). */
  createdAt: number;
  owns: Ownership[];
}

export interface PlannedReview {
  kind: Kind;
  /** Organic control group, if any. */
  control?: OrganicControl;
  campaign: string;
  account: number;
  app: number;
  /** Ms since the simulation's start. */
  at: number;
  rating: number;
  title: string;
  body: string;
}

export interface World {
  options: SimulationOptions;
  durationMs: number;
  apps: PlannedApp[];
  accounts: PlannedAccount[];
  reviews: PlannedReview[]; // in time order
}

/** Builds the plan: apps, accounts with their ownership history, reviews. */
class Planner {
  readonly accounts: PlannedAccount[] = [];
  readonly reviews: PlannedReview[] = [];
  readonly apps: PlannedApp[] = [];

  addApp(paid: boolean, developerGroup: number | null): number {
    this.apps.push({ key: this.apps.length, paid, developerGroup });
    return this.apps.length - 1;
  }

  account(createdAt: number): PlannedAccount {
    const a: PlannedAccount = { key: this.accounts.length, createdAt, owns: [] };
    this.accounts.push(a);
    return a;
  }

  /** Acquires `app` at `at` (kept no earlier than the account's opening), once. */
  acquire(a: PlannedAccount, app: number, at: number): void {
    if (!a.owns.some((o) => o.app === app)) a.owns.push({ app, at: Math.max(a.createdAt + HOUR, at) });
  }

  owns(a: PlannedAccount, app: number): boolean {
    return a.owns.some((o) => o.app === app);
  }

  review(r: PlannedReview): void {
    this.reviews.push(r);
  }
}

export function generateWorld(options: SimulationOptions): World {
  const o = options;
  const durationMs = o.days * DAY;
  const attackStart = durationMs - o.attackDays * DAY;
  const plan = new Planner();

  // Apps: the organic world's free apps first (popular first), then the sleepers' paid targets and the rings'
  // developer groups, which sit in the popularity tail like most apps that buy reviews.
  for (let i = 0; i < o.apps; i++) plan.addApp(false, null);
  const sleeperTargets = Array.from({ length: o.sleeper.campaigns }, () => plan.addApp(true, null));
  const ringTargets = Array.from({ length: o.ring.rings }, (_, r) => Array.from({ length: o.ring.developerApps }, () => plan.addApp(false, r)));
  const appCount = plan.apps.length;
  const rngApps = new Rng(o.seed, 'apps');
  const weights = Array.from({ length: appCount }, (_, i) => 1 / Math.pow(i + 1, 0.9));
  const quality = Array.from({ length: appCount }, () => rngApps.next());
  const popular = zipfPicker(weights);

  planOrganic(plan, o, durationMs, popular, quality);
  const viralApp = new Rng(o.seed, 'viral').int(0, 2);
  planViralDay(plan, o, durationMs, viralApp, popular, quality);
  planSleepers(plan, o, durationMs, sleeperTargets, popular);
  planRings(plan, o, attackStart, durationMs, ringTargets, popular);
  planCopies(plan, o, attackStart, durationMs, appCount, popular);
  planIncentives(plan, o, attackStart, durationMs, appCount, popular);
  planBombing(plan, o, attackStart, durationMs, viralApp, popular);
  planFarms(plan, o, attackStart, durationMs);

  const reviews = plan.reviews.sort((a, b) => a.at - b.at);
  return { options: o, durationMs, apps: plan.apps, accounts: plan.accounts, reviews };
}

/** Draws an app index by popularity. */
function zipfPicker(weights: number[]): (rng: Rng) => number {
  const total = weights.reduce((a, b) => a + b, 0);
  return (rng) => {
    let app = 0;
    for (let x = rng.next() * total; app < weights.length - 1 && (x -= weights[app]) > 0; ) app++;
    return app;
  };
}

type Picker = (rng: Rng) => number;

/** A history: `count` popular apps acquired at random times between `from` and `to`. */
function acquireHistory(plan: Planner, rng: Rng, a: PlannedAccount, popular: Picker, count: number, from: number, to: number): void {
  for (let i = 0; i < count; i++) plan.acquire(a, popular(rng), between(rng, from, Math.max(from, to)));
}

/** An account opened `ageDays` before `at` that owns a few apps acquired since, as old accounts do. */
function agedAccount(plan: Planner, rng: Rng, at: number, ageDays: number, popular: Picker, apps: number): PlannedAccount {
  const a = plan.account(at - ageDays * DAY);
  acquireHistory(plan, rng, a, popular, apps, a.createdAt, at - DAY);
  return a;
}

const agedDays = (rng: Rng) => between(rng, 60, 1200);

// ---------- organic ----------

function organicText(rng: Rng, o: SimulationOptions, rating: number): ReviewText & { rating: number; control?: OrganicControl } {
  const x = rng.next();
  if (x < o.organicShortShare) return { ...shortOrganicText(rng), control: 'short' };
  if (x < o.organicShortShare + o.organicNonEnglishShare) return { ...nonEnglishText(rng, rating), rating, control: 'non-english' };
  const text = longOrganicText(rng, rating);
  if (x < o.organicShortShare + o.organicNonEnglishShare + o.organicTypoShare) {
    return { title: text.title, body: withTypos(rng, text.body, 0.12), rating, control: 'typos' };
  }
  return { ...text, rating };
}

/** Arrivals spread over the period, a few heavy reviewers, mostly owners with histories of several apps. */
function planOrganic(plan: Planner, o: SimulationOptions, durationMs: number, popular: Picker, quality: number[]): void {
  const rng = new Rng(o.seed, 'organic');
  const reviewers: PlannedAccount[] = [];
  const reviewed = new Set<string>();
  for (let i = 0; i < o.organicReviews; i++) {
    const app = popular(rng);
    const at = rng.next() * durationMs;
    // a returning reviewer 30% of the time (one review per app each), else a new one
    let account: PlannedAccount | undefined;
    if (reviewers.length && rng.chance(0.3)) {
      const candidate = rng.pick(reviewers);
      if (!reviewed.has(`${candidate.key}:${app}`) && candidate.createdAt < at - DAY) account = candidate;
    }
    if (!account) {
      const young = rng.chance(o.organicNewAccountShare);
      const ageDays = young ? between(rng, 0.5, 30) : 30 + rng.logNormal(5.5, 1);
      account = plan.account(at - ageDays * DAY);
      const apps = young ? rng.int(0, 2) : Math.min(15, 1 + Math.floor(rng.logNormal(1.2, 0.6)));
      acquireHistory(plan, rng, account, popular, apps, account.createdAt, at - HOUR);
      reviewers.push(account);
    }
    reviewed.add(`${account.key}:${app}`);
    if (rng.chance(o.organicOwnerShare)) plan.acquire(account, app, between(rng, account.createdAt, at - HOUR));
    const { control, ...text } = organicText(rng, o, organicRating(rng, quality[app]));
    plan.review({ kind: 'organic', control, campaign: 'organic', account: account.key, app, at, ...text });
  }
}

/** A big update lands: long-standing owners review the app within a day, with varied texts, mostly five stars. */
function planViralDay(plan: Planner, o: SimulationOptions, durationMs: number, app: number, popular: Picker, quality: number[]): void {
  const rng = new Rng(o.seed, 'viral-day');
  const start = between(rng, 2 * DAY, durationMs - 2 * DAY);
  for (let i = 0; i < o.viralDay.reviews; i++) {
    // arrivals bunch in the first hours after the update, then tail off
    const at = start + Math.min(24 * HOUR - 1, rng.logNormal(1.5, 0.9) * HOUR);
    const a = agedAccount(plan, rng, at, between(rng, 90, 1500), popular, rng.int(1, 8));
    plan.acquire(a, app, at - between(rng, 60, 700) * DAY);
    const rating = rng.chance(0.8) ? 5 : organicRating(rng, quality[app]);
    const text = rng.chance(0.08) ? nonEnglishText(rng, rating) : viralDayText(rng, rating);
    plan.review({ kind: 'organic', control: 'viral-day', campaign: 'viral-day', account: a.key, app, at, rating, ...text });
  }
}

// ---------- attacks ----------

/** Aged accounts that acquired the (paid) target days to weeks before, paraphrasing one brief a few times a day. */
function planSleepers(plan: Planner, o: SimulationOptions, durationMs: number, targets: number[], popular: Picker): void {
  const rng = new Rng(o.seed, 'sleeper');
  const briefs = rng.sample(BRIEFS, targets.length);
  targets.forEach((app, c) => {
    const days = Math.min(o.sleeper.days, o.days - 1);
    const start = durationMs - days * DAY - rng.next() * DAY;
    const dropRate = o.sleeper.dropRate;
    for (let i = 0; i < o.sleeper.reviews; i++) {
      const at = Math.min(durationMs - 1, start + rng.next() * days * DAY);
      const a = agedAccount(plan, rng, at, between(rng, 90, 1100), popular, rng.chance(0.6) ? rng.int(1, 4) : 0);
      plan.acquire(a, app, at - between(rng, 3, 40) * DAY);
      const text = paraphrase(rng, briefs[c % briefs.length], { swapRate: o.sleeper.swapRate, dropRate, addRate: 0.4 });
      plan.review({ kind: 'sleeper', campaign: `sleeper-${c}`, account: a.key, app, at, rating: 5, ...text });
    }
  });
}

/** Each ring account reviews several apps of one developer with the ring's message, spun, hours to days apart. */
function planRings(plan: Planner, o: SimulationOptions, attackStart: number, durationMs: number, groups: number[][], popular: Picker): void {
  const rng = new Rng(o.seed, 'ring');
  const messages = rng.sample(BRIEFS, groups.length);
  groups.forEach((apps, r) => {
    // a slow ring starts earlier, so that its accounts get through their apps before the period ends
    const span = (o.ring.appsPerAccount * o.ring.paceHours * 1.5 + 24) * HOUR;
    const start = Math.max(0, Math.min(attackStart, durationMs - span - o.attackDays * DAY * 0.5)) + rng.next() * DAY;
    for (let k = 0; k < o.ring.accounts; k++) {
      let at = start + rng.next() * (o.attackDays - 1) * DAY * 0.5;
      const aged = rng.chance(o.ring.agedShare);
      const a = aged ? agedAccount(plan, rng, at, agedDays(rng), popular, rng.int(0, 3)) : plan.account(at - between(rng, 0.5, 14) * DAY);
      for (const app of rng.sample(apps, o.ring.appsPerAccount)) {
        if (at >= durationMs) break;
        if (rng.chance(o.ring.ownerShare)) plan.acquire(a, app, at - between(rng, 0.1, 10) * DAY);
        plan.review({ kind: 'ring', campaign: `ring-${r}`, account: a.key, app, at, rating: 5, ...ringText(rng, messages[r], o.ring.swapRate) });
        at += -Math.log(1 - rng.next()) * o.ring.paceHours * HOUR + 0.5 * HOUR;
      }
    }
  });
}

/** Organic reviews of one app re-posted on another (word for word or nearly) by patient aged accounts. */
function planCopies(plan: Planner, o: SimulationOptions, attackStart: number, durationMs: number, appCount: number, popular: Picker): void {
  const rng = new Rng(o.seed, 'copy');
  const sources = plan.reviews.filter((r) => r.kind === 'organic' && r.body.split(/\s+/).length >= 10 && r.at < durationMs - DAY);
  for (let i = 0; i < o.copy.reviews && sources.length; i++) {
    const src = rng.pick(sources);
    let app = rng.int(0, appCount - 1);
    if (app === src.app) app = (app + 1) % appCount;
    const at = Math.min(durationMs - 1, Math.max(src.at + HOUR, attackStart) + rng.next() * o.attackDays * DAY);
    const a = agedAccount(plan, rng, at, agedDays(rng), popular, rng.int(0, 4));
    if (rng.chance(o.copy.ownerShare)) plan.acquire(a, app, at - between(rng, 1, 60) * DAY);
    plan.review({
      kind: 'copy',
      campaign: 'copy',
      account: a.key,
      app,
      at,
      rating: rng.chance(0.8) ? 5 : src.rating,
      title: rng.chance(0.5) ? src.title : organicTitle(rng),
      body: lightEdit(rng, src.body, o.copy.editRate),
    });
  }
}

/** A plausible sentence plus what the reviewer got for it, in the store's languages. */
function planIncentives(plan: Planner, o: SimulationOptions, attackStart: number, durationMs: number, appCount: number, popular: Picker): void {
  const rng = new Rng(o.seed, 'incentive');
  const apps = Array.from({ length: rng.int(2, 5) }, () => rng.int(0, appCount - 1));
  for (let i = 0; i < o.incentive.reviews; i++) {
    const app = rng.pick(apps);
    const at = attackStart + rng.next() * (durationMs - attackStart - 1);
    const aged = rng.chance(o.incentive.agedShare);
    const a = aged ? agedAccount(plan, rng, at, agedDays(rng), popular, rng.int(1, 5)) : plan.account(at - between(rng, 1, 20) * DAY);
    if (plan.owns(a, app) || rng.chance(o.incentive.ownerShare)) plan.acquire(a, app, at - between(rng, 0.2, 20) * DAY);
    plan.review({ kind: 'incentive', campaign: 'incentive', account: a.key, app, at, rating: 5, ...incentiveText(rng) });
  }
}

/** A competitor's one-star bombing of a popular app from aged accounts that never acquired it. */
function planBombing(plan: Planner, o: SimulationOptions, attackStart: number, durationMs: number, viralApp: number, popular: Picker): void {
  const rng = new Rng(o.seed, 'bombing');
  for (let c = 0; c < o.bombing.campaigns; c++) {
    const app = 3 + c * 2 === viralApp ? 4 + c * 2 : 3 + c * 2;
    const hours = Math.min(o.bombing.hours, (durationMs - attackStart) / HOUR - 1);
    // one evening: starts at about 18:00 of some day; spread: starts any time
    const day = Math.floor(between(rng, attackStart, durationMs - hours * HOUR) / DAY);
    const start = hours <= 12 ? Math.min(durationMs - hours * HOUR, day * DAY + 18 * HOUR) : between(rng, attackStart, durationMs - hours * HOUR);
    for (let i = 0; i < o.bombing.reviews; i++) {
      const at = Math.min(durationMs - 1, start + rng.next() * hours * HOUR);
      const a = plan.account(at - agedDays(rng) * DAY);
      // their histories must not include the target
      for (let k = rng.int(0, 5); k > 0; k--) {
        const other = popular(rng);
        if (other !== app) plan.acquire(a, other, between(rng, a.createdAt, at - DAY));
      }
      plan.review({ kind: 'bombing', campaign: `bombing-${c}`, account: a.key, app, at, rating: rng.chance(0.9) ? 1 : 2, ...bombingText(rng) });
    }
  }
}

/** Fresh accounts posting templated five-star text on tail apps, in a burst or over a few days. */
function planFarms(plan: Planner, o: SimulationOptions, attackStart: number, durationMs: number): void {
  const rng = new Rng(o.seed, 'farm');
  for (let c = 0; c < o.farm.campaigns; c++) {
    const app = Math.max(0, o.apps - 1 - c * 2);
    const hours = Math.min(o.farm.hours, (durationMs - attackStart) / HOUR - 1);
    const start = between(rng, attackStart, durationMs - hours * HOUR);
    for (let i = 0; i < o.farm.reviews; i++) {
      const at = start + rng.next() * hours * HOUR;
      const a = plan.account(at - between(rng, 0.1, 6) * DAY);
      if (rng.chance(o.farm.ownerShare)) plan.acquire(a, app, at - between(rng, 0.05, 1) * DAY);
      plan.review({ kind: 'farm', campaign: `farm-${c}`, account: a.key, app, at, rating: 5, ...farmText(rng) });
    }
  }
}

/** J-shaped, as app store ratings are: mostly fives, a bump of ones, tilted by the app's quality. */
function organicRating(rng: Rng, quality: number): number {
  const x = rng.next();
  const five = 0.3 + 0.35 * quality;
  const one = 0.2 - 0.12 * quality;
  if (x < five) return 5;
  if (x < five + one) return 1;
  const rest = (x - five - one) / (1 - five - one);
  return rest < 0.45 ? 4 : rest < 0.75 ? 3 : 2;
}
