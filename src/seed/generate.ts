// Row generators: pure functions of (seed, index) that append rows, column-ordered as in COLUMNS,
// to a Rows buffer. No I/O here; index.ts writes the buffers with COPY.
import { Rng, Weighted, uuidv7 } from '../platform/rng.ts';
import { THEMES } from './themes.ts';
import { binaryOfSize } from './binaries.ts';
import { TIER_USD_MILLI, type Storefront } from './prices.ts';
import { plausibleHistogram } from '../modules/reviews/index.ts';
import { appName, companyName, companySlug, description, keywords, personName, releaseNotes, slugify, subtitle, topicOf } from './text.ts';

/** Table -> the columns its rows carry, in order. */
export const COLUMNS = {
  users: ['id', 'email', 'display_name', 'password_hash', 'role', 'country', 'created_at', 'password_changed_at'],
  developers: ['id', 'user_id', 'company_name', 'website', 'verified', 'created_at'],
  apps: [
    'id',
    'developer_id',
    'bundle_id',
    'name',
    'subtitle',
    'description',
    'keywords',
    'category',
    'subcategory',
    'age_rating',
    'is_free',
    'status',
    'review_note',
    'revision',
    'current_version',
    'rating_count',
    'rating_average',
    'download_count',
    'created_at',
    'updated_at',
    'published_at',
  ],
  app_versions: [
    'id',
    'app_id',
    'version',
    'release_notes',
    'min_os_version',
    'permissions',
    'binary_sha256',
    'binary_size',
    'status',
    'review_note',
    'created_at',
    'published_at',
    'submitted_at',
    'reviewed_at',
    'reviewed_by',
  ],
  app_media: ['id', 'app_id', 'kind', 'device_type', 'position', 'sha256', 'size_bytes', 'content_type', 'created_at'],
  app_prices: ['app_id', 'country', 'tier', 'amount_milli', 'currency'],
  in_app_products: ['id', 'app_id', 'product_id', 'reference_name', 'type', 'subscription_period', 'subscription_group', 'created_at'],
  in_app_prices: ['product_id', 'country', 'tier', 'amount_milli', 'currency'],
  app_rating_summaries: ['app_id', 'count', 'sum', 'c1', 'c2', 'c3', 'c4', 'c5', 'updated_at'],
} as const;

export type Table = keyof typeof COLUMNS;
export type Rows = Record<Table, unknown[][]>;
export const TABLES = Object.keys(COLUMNS) as Table[];
export const emptyRows = (): Rows => Object.fromEntries(TABLES.map((t) => [t, []])) as unknown as Rows;

const DAY = 86_400_000;
const YEAR = 365 * DAY;
/** The seed's "now": fixed, so timestamps (and the UUIDv7s built from them) never depend on the wall clock. */
export const DEFAULT_BASE_TIME = Date.UTC(2026, 0, 1);

export const DEMO_PASSWORD = 'orchard-demo';
export const DEMO_ACCOUNTS = [
  { role: 'admin', email: 'admin@orchard.test', password: DEMO_PASSWORD },
  { role: 'developer', email: 'developer@orchard.test', password: DEMO_PASSWORD },
  { role: 'user', email: 'user@orchard.test', password: DEMO_PASSWORD },
] as const;
/** The demo developer owns the first few apps, so its console has something to show. */
const DEMO_DEVELOPER_APPS = 5;

export interface Icon {
  sha256: string;
  size: number;
}

/** Everything generation needs that is fixed for one seed run. */
export interface Plan {
  seed: number;
  baseTime: number;
  apps: number;
  users: number;
  developers: number;
  passwordHash: string;
  storefronts: Storefront[];
  /** [tier-1][storefront index] -> milliunits */
  prices: number[][];
  icons: Icon[];
}

/** Developers in the plan: about one per eight apps (at least one). */
export const developerCount = (apps: number) => Math.max(1, Math.round(apps / 8));

const COUNTRY_SHARE: Record<string, number> = {
  US: 30,
  GB: 7,
  DE: 7,
  FR: 5,
  JP: 7,
  CN: 6,
  KR: 3,
  IN: 5,
  BR: 4,
  CA: 3,
  AU: 3,
  MX: 2,
  IT: 3,
  ES: 3,
  NL: 2,
  SE: 1,
  CH: 1,
  PL: 1.5,
  TR: 1.5,
  NO: 1,
};
const countryTables = new WeakMap<Storefront[], Weighted<string>>();
function country(plan: Plan, rng: Rng): string {
  let table = countryTables.get(plan.storefronts);
  if (!table) {
    table = new Weighted(plan.storefronts.map((s) => [s.country, COUNTRY_SHARE[s.country] ?? 1] as const));
    countryTables.set(plan.storefronts, table);
  }
  return table.pick(rng);
}

const date = (ms: number) => new Date(Math.round(ms));

// ---------------------------------------------------------------- accounts

export interface Demo {
  /** The reviewer of every reviewed version. */
  adminId: string;
  /** Developer #0, owner of the first apps. */
  developer: DeveloperInfo;
}

/** The demo accounts; the developer account also gets a developers row. */
export function demoAccounts(plan: Plan, out: Rows): Demo {
  const rng = new Rng(plan.seed, 'demo');
  const ids: string[] = [];
  const names = ['Ada Admin', 'Dev Eloper', 'Una User'];
  DEMO_ACCOUNTS.forEach((a, i) => {
    const created = plan.baseTime - 3 * YEAR - (3 - i) * DAY;
    const id = uuidv7(rng, created);
    ids.push(id);
    out.users.push([id, a.email, names[i], plan.passwordHash, a.role, 'US', date(created), date(created)]);
  });
  const created = plan.baseTime - 3 * YEAR;
  const developer: DeveloperInfo = { id: uuidv7(rng, created), slug: 'orcharddemo', website: 'https://demo.orchard.test', createdAt: created };
  out.developers.push([developer.id, ids[1], 'Orchard Demo Studio', developer.website, true, date(created)]);
  return { adminId: ids[0], developer };
}

/** Regular user #i: signed up in the last three years, more of them recently (the store grows). */
export function user(plan: Plan, i: number, out: Rows): void {
  const rng = new Rng(plan.seed, 'user', i);
  const created = plan.baseTime - 3 * YEAR * (1 - Math.sqrt(rng.next())) - rng.int(0, DAY);
  const [first, last] = personName(rng);
  const email = `${slugify(first)}.${slugify(last)}${i}@${rng.pick(['example.com', 'example.net', 'example.org', 'mail.test'])}`;
  const id = uuidv7(rng, created);
  out.users.push([id, email, `${first} ${last}`, plan.passwordHash, 'user', country(plan, rng), date(created), date(created)]);
}

/** What apps need to know about their developer. */
export interface DeveloperInfo {
  id: string;
  slug: string;
  website: string | null;
  createdAt: number;
}

/** Synthetic developer #i (1-based; #0 is the demo developer): a user of role developer and its developers row. */
export function developer(plan: Plan, i: number, out: Rows): DeveloperInfo {
  const rng = new Rng(plan.seed, 'developer', i);
  const created = plan.baseTime - 10 * YEAR * Math.pow(rng.next(), 0.8) - 60 * DAY;
  const company = companyName(rng);
  const slug = companySlug(company).slice(0, 30);
  const [first, last] = personName(rng);
  const userId = uuidv7(rng, created);
  const email = `${slugify(first)}.${slugify(last)}${i}@${slug}.test`;
  out.users.push([userId, email, `${first} ${last}`, plan.passwordHash, 'developer', country(plan, rng), date(created), date(created)]);
  const id = uuidv7(rng, created + 1000);
  const website = rng.chance(0.7) ? `https://${slug}.example` : null;
  out.developers.push([id, userId, company, website, rng.chance(0.3), date(created + 1000)]);
  return { id, slug, website, createdAt: created };
}

// ---------------------------------------------------------------- apps

const CATEGORIES = new Weighted(Object.entries(THEMES).map(([slug, t]) => [slug, t.weight] as const));
const SUBCATEGORIES = Object.fromEntries(
  Object.entries(THEMES)
    .filter(([, t]) => t.subcategories)
    .map(([slug, t]) => [slug, new Weighted(Object.entries(t.subcategories!).map(([s, v]) => [s, v.weight] as const))]),
);

const AGE_RATINGS = ['4+', '9+', '13+', '16+', '18+'] as const;
const AGE_DEFAULT = new Weighted(AGE_RATINGS.map((r, i) => [r, [70, 10, 12, 5, 3][i]] as const));
const AGE_GAMES = new Weighted(AGE_RATINGS.map((r, i) => [r, [45, 25, 20, 7, 3][i]] as const));
const AGE_SOCIAL = new Weighted(AGE_RATINGS.map((r, i) => [r, [5, 10, 50, 20, 15][i]] as const));
function ageRating(rng: Rng, category: string, subcategory: string | null): string {
  if (category === 'kids') return '4+';
  if (subcategory === 'games-casino') return '18+';
  if (category === 'games') return AGE_GAMES.pick(rng);
  if (category === 'social-networking' || category === 'entertainment') return AGE_SOCIAL.pick(rng);
  return AGE_DEFAULT.pick(rng);
}

type AppStatus = 'draft' | 'in_review' | 'approved' | 'rejected' | 'published' | 'removed';
const APP_STATUS = new Weighted<AppStatus>([
  ['published', 94.5],
  ['draft', 2.5],
  ['in_review', 1.5],
  ['approved', 0.3],
  ['rejected', 0.8],
  ['removed', 0.4],
]);
const REJECTIONS = [
  'Guideline 2.1 - App Completeness: the app crashed on launch during review.',
  'Guideline 4.3 - Spam: the app duplicates the content and functionality of other apps.',
  'Guideline 5.1.1 - Data Collection: the app asks for location without explaining why.',
  'Guideline 2.3.7 - Accurate Metadata: the keywords mention other apps.',
  'Guideline 3.1.1 - In-App Purchase: digital content is unlocked outside in-app purchase.',
];
const MIN_OS = ['14.0', '15.0', '16.0', '17.0', '18.0'];
const PAID_TIERS = new Weighted(TIER_USD_MILLI.map((_, i) => [i + 1, i === 0 ? 40 : i === 1 ? 20 : i === 2 ? 12 : i < 10 ? 3 : 0.5] as const));

/** Download count: log-normal, so most apps are small and a few have hundreds of millions. */
function popularity(rng: Rng, category: string, isFree: boolean, ageYears: number) {
  const boost = category === 'games' || category === 'social-networking' || category === 'photo-video' ? 0.6 : 0;
  let downloads = Math.floor(rng.logNormal(6 + boost + Math.min(ageYears, 6) * 0.25, 2.6));
  if (rng.chance(0.001)) downloads *= 50; // the rare breakout hit
  if (!isFree) downloads = Math.floor(downloads / 8);
  downloads = Math.min(downloads, 3_000_000_000);
  const ratingCount = Math.floor(downloads * rng.logNormal(Math.log(0.012), 0.7));
  const spread = 0.35 + 1.6 / Math.sqrt(ratingCount + 1);
  const average = ratingCount === 0 ? 0 : Math.round(Math.min(5, Math.max(1, 4.25 + rng.normal() * spread)) * 100) / 100;
  return { downloads, ratingCount, average };
}

/** Version strings 1.0 -> 1.0.1 / 1.1 / 2.0: dotted, strictly increasing. */
function nextVersion(rng: Rng, prev: number[]): number[] {
  const v = prev.slice();
  const r = rng.next();
  if (r < 0.1) return v.map((_, i) => (i === 0 ? v[0] + 1 : 0));
  if (r < 0.4 || v.length < 3) return v.map((x, i) => (i === 1 ? x + 1 : i > 1 ? 0 : x));
  v[2] += rng.int(1, 3);
  return v;
}

function permissions(rng: Rng, category: string): string[] {
  const theme = THEMES[category];
  return [...new Set(rng.sample(theme.permissions, rng.int(0, Math.min(3, theme.permissions.length))))].sort();
}

/** App #i's developer: the demo developer for the first few, otherwise a skewed draw (big publishers have many apps). */
function developerIndexFor(rng: Rng, i: number, developers: Weighted<number>): number {
  return i < DEMO_DEVELOPER_APPS ? 0 : developers.pick(rng);
}

/** Weighted draw over synthetic developers 1..n: a few publish hundreds of apps, most a handful. */
export function developerSkew(n: number): Weighted<number> {
  return new Weighted(Array.from({ length: n }, (_, k) => [k + 1, 1 / Math.pow(k + 1, 0.6)] as const));
}

export interface AppContext {
  plan: Plan;
  demo: Demo;
  developers: DeveloperInfo[];
  developerSkew: Weighted<number>;
  /** Every bundle id generated so far: a clash gets a numeric suffix. */
  bundleIds: Set<string>;
  /** The stored demo builds every version points at, smallest first (see binaries.ts). */
  binaries: Build[];
}

export interface Build {
  sha256: string;
  size: number;
}

/** App #i with its versions, icon, prices and in-app products. */
export function app(ctx: AppContext, i: number, out: Rows): void {
  const { plan } = ctx;
  const rng = new Rng(plan.seed, 'app', i);
  const category = CATEGORIES.pick(rng);
  const subcategory = SUBCATEGORIES[category]?.pick(rng) ?? null;
  const topic = topicOf(category, subcategory);
  const dev = ctx.developers[developerIndexFor(rng, i, ctx.developerSkew)];

  const latest = plan.baseTime - 30 * DAY;
  const created = dev.createdAt + (latest - dev.createdAt) * rng.next();
  const id = uuidv7(rng, created);
  const name = appName(rng, topic, category);
  const bundleId = uniqueBundleId(ctx.bundleIds, `com.${dev.slug}.${slugify(name).slice(0, 40) || 'app'}`);
  const isFree = !rng.chance(0.2);
  const status = APP_STATUS.pick(rng);
  const iaps = inAppProducts(rng, plan, category, isFree, bundleId, id, created, out);
  const hasSubscription = iaps.some((p) => p === 'auto_renewable');

  // Versions: every version but the newest is published; the newest follows the app's status
  // (a published or removed app may have an update pending in review).
  const liveBefore = status === 'published' || status === 'removed';
  const count = liveBefore ? rng.pick([1, 1, 1, 2, 2, 3]) : 1;
  const pendingUpdate = status === 'published' && rng.chance(0.04);
  const versionStatuses: string[] = [];
  for (let v = 0; v < count; v++) versionStatuses.push(liveBefore ? 'published' : status);
  if (pendingUpdate) versionStatuses.push(rng.pick(['draft', 'in_review', 'approved', 'rejected']));

  let parts = rng.chance(0.6) ? [1, 0] : [1, 0, 0];
  let osIndex = rng.int(0, 3);
  let perms = permissions(rng, category);
  let t = created;
  let currentVersion: string | null = null;
  let firstPublished: number | null = null;
  let lastChange = created;
  versionStatuses.forEach((vStatus, v) => {
    if (v > 0) {
      parts = nextVersion(rng, parts);
      t += (latest - t) * rng.next() * 0.7 + DAY;
      if (rng.chance(0.3)) osIndex = Math.min(osIndex + 1, MIN_OS.length - 1);
      if (rng.chance(0.25)) perms = [...new Set([...perms, rng.pick([...THEMES[category].permissions, 'notifications'])])].sort();
    }
    const version = parts.join('.');
    const submitted = vStatus === 'draft' ? null : t + rng.int(1, 72) * 3_600_000;
    const reviewed = vStatus === 'draft' || vStatus === 'in_review' || submitted === null ? null : submitted + rng.int(2, 48) * 3_600_000;
    const published = vStatus === 'published' && reviewed !== null ? reviewed + rng.int(0, 24) * 3_600_000 : null;
    if (published !== null) {
      currentVersion = version;
      firstPublished ??= published;
    }
    lastChange = Math.max(lastChange, published ?? reviewed ?? submitted ?? t);
    const realisticBytes = Math.min(4e9, Math.max(2e6, rng.logNormal(Math.log(category === 'games' ? 250e6 : 45e6), 0.9)));
    const build = binaryOfSize(ctx.binaries, realisticBytes);
    const versionId = uuidv7(rng, t);
    const notes = releaseNotes(rng, name, topic, v === 0);
    // These draws made a random binary hash before versions had real builds. Skipping them keeps every later
    // value of the app, and so the judged search catalog (search-docs.ts) generated from it, as it was.
    rng.skip(32);
    out.app_versions.push([
      versionId,
      id,
      version,
      notes,
      MIN_OS[osIndex],
      perms,
      build.sha256,
      build.size,
      vStatus,
      vStatus === 'rejected' ? rng.pick(REJECTIONS) : null,
      date(t),
      published === null ? null : date(published),
      submitted === null ? null : date(submitted),
      reviewed === null ? null : date(reviewed),
      reviewed === null ? null : ctx.demo.adminId,
    ]);
  });

  const icon = plan.icons[rng.int(0, plan.icons.length - 1)];
  out.app_media.push([uuidv7(rng, created), id, 'icon', null, 0, icon.sha256, icon.size, 'image/png', date(created)]);

  if (!isFree) {
    const tier = PAID_TIERS.pick(rng);
    plan.storefronts.forEach((sf, s) => out.app_prices.push([id, sf.country, tier, plan.prices[tier - 1][s], sf.currency]));
  }

  const live = firstPublished !== null;
  const pop = live ? popularity(rng, category, isFree, (plan.baseTime - firstPublished!) / YEAR) : { downloads: 0, ratingCount: 0, average: 0 };
  out.apps.push([
    id,
    dev.id,
    bundleId,
    name,
    subtitle(rng, topic),
    description(rng, name, topic, { subscription: hasSubscription, website: dev.website }),
    keywords(rng, name, topic),
    category,
    subcategory,
    ageRating(rng, category, subcategory),
    isFree,
    status,
    status === 'rejected' ? rng.pick(REJECTIONS) : null,
    versionStatuses.length,
    currentVersion,
    pop.ratingCount,
    pop.average,
    pop.downloads,
    date(created),
    date(lastChange),
    firstPublished === null ? null : date(firstPublished),
  ]);
  // The synthetic ratings as the reviews module keeps them, so the first real review adds to them. Drawn
  // from no random stream: every later value of the app stays as it was.
  if (pop.ratingCount > 0) {
    const { counts, sum } = plausibleHistogram(pop.ratingCount, pop.average);
    out.app_rating_summaries.push([id, pop.ratingCount, sum, ...counts, date(lastChange)]);
  }
}

function uniqueBundleId(taken: Set<string>, base: string): string {
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}${n}`;
  taken.add(id);
  return id;
}

// ---------------------------------------------------------------- in-app products

type IapType = 'consumable' | 'non_consumable' | 'auto_renewable' | 'non_renewing';

const CONSUMABLES = ['Coins', 'Gems', 'Credits', 'Lives', 'Hints', 'Tokens', 'Energy', 'Boosts'];
/** [how many, tier index]: bigger packs cost more (0.99 ... 99.99 USD). */
const CONSUMABLE_PACKS = [
  [100, 0],
  [250, 1],
  [500, 4],
  [1200, 9],
  [2500, 14],
  [6500, 16],
  [14000, 24],
] as const;
const UNLOCKS = ['Remove Ads', 'Pro Upgrade', 'Unlock All Levels', 'Premium Themes', 'Lifetime Access', 'Full Version', 'Sticker Pack'];
const PERIODS = new Weighted([
  ['P1W', 8],
  ['P1M', 50],
  ['P2M', 2],
  ['P3M', 8],
  ['P6M', 6],
  ['P1Y', 26],
] as const);
const PERIOD_MONTHS: Record<string, number> = { P1W: 0.25, P1M: 1, P2M: 2, P3M: 3, P6M: 6, P1Y: 10 }; // a year costs ~10 months
const PERIOD_NAMES: Record<string, string> = { P1W: 'Weekly', P1M: 'Monthly', P2M: '2 Months', P3M: 'Quarterly', P6M: '6 Months', P1Y: 'Yearly' };

/** Index (tier-1) of the tier whose USD price is nearest to usdMilli. */
const nearestTier = (usdMilli: number) =>
  TIER_USD_MILLI.reduce((best, p, i) => (Math.abs(p - usdMilli) < Math.abs(TIER_USD_MILLI[best] - usdMilli) ? i : best), 0);

/** Appends the app's in-app products and their prices in every storefront; returns their types. */
function inAppProducts(rng: Rng, plan: Plan, category: string, isFree: boolean, bundleId: string, appId: string, created: number, out: Rows): IapType[] {
  const p = isFree ? (category === 'games' ? 0.5 : 0.25) : 0.08;
  if (!rng.chance(p)) return [];
  const games = category === 'games';
  const types: IapType[] = [];
  const productIds = new Set<string>();
  const group = `${bundleId.split('.').pop()}.premium`;
  const add = (type: IapType, reference: string, tierIndex: number, period: string | null = null) => {
    let productId = `${bundleId}.${slugify(reference)}`.slice(0, 100);
    if (productIds.has(productId)) return;
    productIds.add(productId);
    const id = uuidv7(rng, created + types.length * 1000);
    types.push(type);
    out.in_app_products.push([id, appId, productId, reference, type, period, period ? group : null, date(created + types.length * 1000)]);
    plan.storefronts.forEach((sf, s) => out.in_app_prices.push([id, sf.country, tierIndex + 1, plan.prices[tierIndex][s], sf.currency]));
  };

  const n = rng.pick([1, 1, 1, 2, 2, 3, 4, 6]);
  for (let k = 0; k < n; k++) {
    const r = rng.next();
    if (games ? r < 0.65 : r < 0.15) {
      const [amount, tierIndex] = rng.pick(CONSUMABLE_PACKS);
      add('consumable', `${amount} ${rng.pick(CONSUMABLES)}`, tierIndex);
    } else if (games ? r < 0.88 : r < 0.4) {
      add('non_consumable', rng.pick(UNLOCKS), rng.int(0, 9));
    } else if (r < 0.95) {
      const period = PERIODS.pick(rng);
      const monthly = TIER_USD_MILLI[rng.int(0, 9)];
      add('auto_renewable', `Premium ${PERIOD_NAMES[period]}`, nearestTier(monthly * PERIOD_MONTHS[period]), period);
    } else {
      add('non_renewing', rng.pick(['Season Pass', '1 Month Access', 'Event Pass']), rng.int(1, 9));
    }
  }
  return types;
}
