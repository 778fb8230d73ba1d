// The simulated world: organic reviewers and attack campaigns, as a deterministic plan of accounts,
// ownership and timed review submissions. Pure: the driver (simulate.ts) sends the plan through the API.
import { Rng } from '../../platform/rng.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export type Kind = 'organic' | 'bombing' | 'farm' | 'ring' | 'drip' | 'copy' | 'incentive';
export const ATTACK_KINDS: Exclude<Kind, 'organic'>[] = ['bombing', 'farm', 'ring', 'drip', 'copy', 'incentive'];

export interface SimulationOptions {
  seed: number;
  /** Apps reviewed (free, published). Popularity follows a Zipf law. */
  apps: number;
  /** Days of organic traffic; the attacks run in the last `attackDays` of them (drips start earlier). */
  days: number;
  attackDays: number;
  /** Organic reviews over the whole period. */
  organicReviews: number;
  /** Organic accounts younger than 30 days, and organic reviewers who own the app they review. */
  organicNewAccountShare: number;
  organicOwnerShare: number;
  /** Attack accounts that are old (bought or stolen) rather than fresh, and that own the target. */
  attackerAgedShare: number;
  attackerOwnerShare: number;
  bombing: { campaigns: number; reviews: number; hours: number };
  farm: { campaigns: number; reviews: number; hours: number };
  ring: { rings: number; accounts: number; appsPerAccount: number; texts: number };
  drip: { campaigns: number; days: number; perDay: number };
  /** Reviews copied (lightly edited) from organic reviews of other apps, by patient attackers. */
  copy: { reviews: number };
  /** Incentivised reviews ("5 stars for the free coins") in several languages, mostly from real-looking accounts. */
  incentive: { reviews: number };
}

export const DEFAULT_OPTIONS: SimulationOptions = {
  seed: 42,
  apps: 120,
  days: 35,
  attackDays: 7,
  organicReviews: 3000,
  organicNewAccountShare: 0.08,
  organicOwnerShare: 0.85,
  attackerAgedShare: 0.1,
  attackerOwnerShare: 0.05,
  bombing: { campaigns: 2, reviews: 80, hours: 6 },
  farm: { campaigns: 3, reviews: 40, hours: 36 },
  ring: { rings: 3, accounts: 12, appsPerAccount: 5, texts: 3 },
  drip: { campaigns: 2, days: 14, perDay: 3 },
  copy: { reviews: 40 },
  incentive: { reviews: 40 },
};

/** A small world for tests: every kind present, a few hundred reviews. */
export const SMALL_OPTIONS: SimulationOptions = {
  ...DEFAULT_OPTIONS,
  apps: 24,
  days: 20,
  attackDays: 5,
  organicReviews: 300,
  bombing: { campaigns: 1, reviews: 25, hours: 4 },
  farm: { campaigns: 1, reviews: 15, hours: 24 },
  ring: { rings: 1, accounts: 5, appsPerAccount: 4, texts: 2 },
  drip: { campaigns: 1, days: 8, perDay: 2 },
  copy: { reviews: 15 },
  incentive: { reviews: 15 },
};

export interface PlannedAccount {
  key: number;
  /** Ms before the simulation's start (t = 0) the account was opened; negative = opened during it. */
  createdAt: number;
  owns: number[]; // app indexes
}

export interface PlannedReview {
  kind: Kind;
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
  accounts: PlannedAccount[];
  reviews: PlannedReview[]; // in time order
}

// ---------- text ----------

const FEATURES = [
  'sync',
  'offline mode',
  'widget',
  'dark mode',
  'search',
  'export to PDF',
  'notifications',
  'the editor',
  'sharing',
  'backup',
  'the calendar view',
  'reminders',
  'the timer',
  'playlists',
  'the map',
  'iCloud sync',
  'Apple Watch app',
  'the keyboard shortcuts',
  'tags',
  'the import tool',
  'the charts',
  'multi-device login',
  'the camera',
  'filters',
  'the tutorial',
  'family sharing',
];
const DEVICES = ['iPhone 13', 'iPhone 15 Pro', 'iPad Air', 'iPad mini', 'iPhone SE', 'iPhone 12', 'M2 iPad Pro', 'iPhone 14'];
const PRAISE = [
  'I use {f} every day and it just works.',
  'Switched from a competitor last spring and {f} is far better here.',
  'The {f} saves me about {n} minutes a day.',
  'Since version {v} {f} feels much faster on my {d}.',
  'Took me a while to find {f}, but now I rely on it.',
  'My whole team uses it for {f} and nobody has complained.',
  'The developer answered my email about {f} within a day.',
  'Finally an app where {f} works without an account.',
  'Really like how {f} is laid out, clean and quick.',
  'I paid for the upgrade just for {f} and do not regret it.',
  'Been using it for {n} months, {f} is the reason I stay.',
  'Works well on my {d}, battery use is fine.',
];
const CRITIQUE = [
  'Since the {v} update {f} crashes when I open it on my {d}.',
  'Wish {f} had more options, it is a bit basic.',
  'The {f} stopped syncing after version {v}, please fix.',
  'Too many prompts to rate the app, and {f} is hidden in settings.',
  'It drains my battery when {f} is on.',
  'Subscription is pricey for what {f} offers.',
  'Please add {f} for iPad, it is missing there.',
  'Lost some data after the {v} update, support helped me restore it.',
  'Ads pop up right in the middle of {f}.',
  '{f} is slow with more than {n} items.',
];
const OPENERS = ['', '', '', 'Overall solid. ', 'Honest review: ', 'Update: ', 'Long time user. ', 'Mixed feelings. ', 'So far so good. ', 'Pretty useful. '];
const SHORT_ORGANIC = [
  'Love it',
  'Great app',
  'Works great',
  'Very useful',
  'Does the job',
  'Not bad',
  'Good',
  'Useful app',
  'Meh',
  'Could be better',
  'Nice',
  'Fantastic',
];
const ORGANIC_TITLES = [
  'Solid',
  'Good but',
  'Useful',
  'Needs work',
  'Great for work',
  'My go-to app',
  'Almost perfect',
  'Frustrating',
  'Does what it says',
  'Recommended',
  'Please fix',
  'Handy',
];

const BOMB_TITLES = ['Terrible', 'Do not download', 'Scam', 'Worst app ever', 'Garbage', 'Avoid'];
const BOMB_LINES = [
  'Worst app ever, do not download!',
  'Total scam, waste of money.',
  'Garbage app. Avoid!!',
  'Uninstalled immediately, terrible.',
  'Do not download this app, it is a scam.',
  'Horrible, the developers do not care.',
  'One star is too much.',
  'Absolute trash!!!',
  'Boycott this developer.',
  'Deleted it. Awful.',
];
const FARM_TITLES = ['Best app ever', 'Amazing!!!', 'Must have', '5 stars', 'Awesome app', 'Love it!!'];
const FARM_LINES = [
  'Amazing app, best app ever! 5 stars!',
  'Great app, love it, must download!',
  'Awesome app highly recommend to everyone!',
  'Best app ever!!! Must have!',
  'Love it love it love it. Five stars.',
  'Super great app, highly recommend!',
  'Perfect app, must download now!',
  'This is the best app, amazing, awesome!',
];
const RING_TEXTS = [
  'This is honestly the best app I have tried this year. It is simple, beautiful and fast. Highly recommend it to anyone who wants a great experience, you will not regret downloading it!',
  'I was looking for an app like this for a long time and finally found it. Everything works perfectly and the design is gorgeous. Five stars, must have app, download it now!',
  'Great app with amazing features. My friends and family all use it now. The best in its category by far, highly recommended, definitely worth it!',
  'Absolutely love this app, it changed the way I do things every day. Super easy to use and looks amazing. Best app on the store, must download!',
];

// People write about their own circumstances: most sentences carry a clause of their own, which is what makes
// organic text original (a farm's template sentences come back word for word).
const CLAUSES = [
  'on my {d}',
  'since {m}',
  'for about {n} weeks now',
  'after the {v} update',
  'at work',
  'with my kids',
  'on the train every morning',
  'when I travel',
  'for my small business',
  'in {m}',
  'with {n} projects',
  'since I switched phones',
  'for school',
  'on weekends',
  'for {n} days straight',
  'in the evenings',
  'with my partner',
  'for my running club',
  'while cooking',
  'at the gym',
];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

function fill(rng: Rng, template: string): string {
  const sentence = rng.chance(0.75) ? template.replace(/([.!?])$/, ` ${rng.pick(CLAUSES)}$1`) : template;
  return sentence
    .replaceAll('{m}', rng.pick(MONTHS))
    .replaceAll('{f}', rng.pick(FEATURES))
    .replaceAll('{d}', rng.pick(DEVICES))
    .replaceAll('{v}', `${rng.int(1, 9)}.${rng.int(0, 12)}`)
    .replaceAll('{n}', String(rng.int(2, 40)));
}

function organicText(rng: Rng, rating: number): { title: string; body: string } {
  if (rng.chance(0.15)) {
    const s = rng.pick(SHORT_ORGANIC);
    return { title: s, body: rng.chance(0.5) ? s : `${s}${rng.pick(['', '.', '!', ' :)'])}` };
  }
  const pool = rating >= 4 ? [PRAISE, PRAISE, CRITIQUE] : rating === 3 ? [PRAISE, CRITIQUE] : [CRITIQUE, CRITIQUE, PRAISE];
  const sentences = Array.from({ length: rng.int(1, 3) }, () => fill(rng, rng.pick(rng.pick(pool))));
  return { title: rng.pick(ORGANIC_TITLES), body: rng.pick(OPENERS) + [...new Set(sentences)].join(' ') };
}

/** Light spinning of campaign text: case, punctuation and an occasional extra word, as farms do to dodge exact matching. */
function spin(rng: Rng, text: string): string {
  let t = text;
  if (rng.chance(0.3)) t = t.toLowerCase();
  if (rng.chance(0.3)) t = t.replace(/!+/g, rng.pick(['!', '!!', '!!!', '.']));
  if (rng.chance(0.3)) t = `${rng.pick(['Wow. ', 'Honestly ', 'Guys, ', 'Seriously, ', 'OMG '])}${t}`;
  if (rng.chance(0.2)) t = `${t} ${rng.pick(['Thanks!', 'Cheers', ':)', 'Trust me.', 'Really.'])}`;
  return t;
}

function campaignText(rng: Rng, titles: readonly string[], lines: readonly string[]): { title: string; body: string } {
  const body = Array.from({ length: rng.int(1, 2) }, () => rng.pick(lines)).join(' ');
  return { title: rng.pick(titles), body: spin(rng, body) };
}

/** A copier's small edits: case, punctuation, one word added, dropped or swapped. */
function lightEdit(rng: Rng, text: string): string {
  let t = text;
  if (rng.chance(0.4)) t = t.toLowerCase();
  if (rng.chance(0.4)) t = t.replace(/[.,]/g, rng.pick(['', '!', ' ', '.']));
  const words = t.split(' ');
  const edit = rng.int(0, 3);
  if (edit === 1) words.splice(rng.int(0, words.length), 0, rng.pick(['really', 'honestly', 'so', 'just']));
  else if (edit === 2 && words.length > 12) words.splice(rng.int(0, words.length - 1), 1);
  else if (edit === 3) words[words.length - 1] = `${words[words.length - 1]} ${rng.pick(['Thanks!', ':)', 'Recommended.', '10/10'])}`;
  return words.join(' ');
}

/** An ordinary sentence and an incentive, by language. */
const INCENTIVES: [string, string][] = [
  ['Nice app, works well.', 'Gave 5 stars for the free coins.'],
  ['Good game overall.', 'I got paid to write this review, but it is fine.'],
  ['Decent app.', 'The developer sent me a promo code for a review.'],
  ['Works on my iPhone.', 'Rated it in exchange for 5 stars worth of gems... I mean in exchange for a review bonus.'],
  ['Pretty fun.', 'Rate 5 stars to get 500 coins, that is what the popup says!'],
  ['Schöne App.', 'Fünf Sterne für die gratis Münzen.'],
  ['Gute App, läuft flüssig.', 'Habe als Belohnung 100 Edelsteine bekommen.'],
  ['Application sympa.', '5 étoiles pour les pièces gratuites, merci !'],
  ['Bonne appli.', "J'ai été payé pour laisser cet avis."],
  ['Buena aplicación.', '¡Cinco estrellas por las monedas gratis!'],
  ['Me gusta.', 'Me pagaron por esta reseña.'],
  ['Bella app.', 'Cinque stelle per le monete gratis.'],
  ['Ottimo gioco.', 'Ho scritto questa recensione in cambio di una ricompensa, monete gratuite.'],
  ['Aplicativo bom.', 'Cinco estrelas pelas moedas grátis.'],
  ['Gostei.', 'Dei nota em troca de uma avaliação premiada, moedas gratuitas.'],
  ['楽しいアプリです。', '星5をつけると無料コインがもらえます。'],
];

// ---------- the plan ----------

export function generateWorld(options: SimulationOptions): World {
  const o = options;
  const durationMs = o.days * DAY;
  const attackStart = durationMs - o.attackDays * DAY;
  const accounts: PlannedAccount[] = [];
  const reviews: PlannedReview[] = [];
  const newAccount = (createdAt: number): PlannedAccount => {
    const a = { key: accounts.length, createdAt, owns: [] as number[] };
    accounts.push(a);
    return a;
  };

  // Popularity: Zipf over apps; each app has a quality that tilts its ratings. Apps 0..k are never
  // attack targets' stand-ins for anything; targets are picked below from the middle and the tail.
  const rngApps = new Rng(o.seed, 'apps');
  const weights = Array.from({ length: o.apps }, (_, i) => 1 / Math.pow(i + 1, 0.9));
  const total = weights.reduce((a, b) => a + b, 0);
  const quality = Array.from({ length: o.apps }, () => rngApps.next());

  // Organic: Poisson-ish arrivals spread over the period, a few heavy reviewers, mostly owners.
  const rngOrg = new Rng(o.seed, 'organic');
  const reviewers: PlannedAccount[] = [];
  const reviewed = new Set<string>();
  for (let i = 0; i < o.organicReviews; i++) {
    let app = 0;
    for (let x = rngOrg.next() * total; app < o.apps - 1 && (x -= weights[app]) > 0; ) app++;
    const at = rngOrg.next() * durationMs;
    // a returning reviewer 30% of the time (one review per app each), else a new one
    let account: PlannedAccount | undefined;
    if (reviewers.length && rngOrg.chance(0.3)) {
      const candidate = rngOrg.pick(reviewers);
      if (!reviewed.has(`${candidate.key}:${app}`) && candidate.createdAt < at) account = candidate;
    }
    if (!account) {
      const young = rngOrg.chance(o.organicNewAccountShare);
      const ageAtReview = young ? rngOrg.next() * 30 * DAY : (30 + rngOrg.logNormal(5.5, 1)) * DAY;
      account = newAccount(at - ageAtReview);
      reviewers.push(account);
    }
    reviewed.add(`${account.key}:${app}`);
    if (rngOrg.chance(o.organicOwnerShare)) account.owns.push(app);
    const rating = organicRating(rngOrg, quality[app]);
    reviews.push({ kind: 'organic', campaign: 'organic', account: account.key, app, at, rating, ...organicText(rngOrg, rating) });
  }

  const rngAtk = new Rng(o.seed, 'attacks');
  const attacker = (at: number, app: number[]) => {
    const aged = rngAtk.chance(o.attackerAgedShare);
    const a = newAccount(at - (aged ? (60 + rngAtk.next() * 900) * DAY : rngAtk.next() * 10 * DAY));
    for (const x of app) if (rngAtk.chance(o.attackerOwnerShare)) a.owns.push(x);
    return a;
  };
  // Targets: bombing hits popular apps (ranks 3..12), farms and drips boost tail apps.
  const popular = (i: number) => Math.min(o.apps - 1, 3 + i * 3);
  const tail = (i: number) => Math.max(0, o.apps - 1 - i * 2);

  for (let c = 0; c < o.bombing.campaigns; c++) {
    const app = popular(c);
    const start = attackStart + rngAtk.next() * (o.attackDays - 1) * DAY;
    for (let i = 0; i < o.bombing.reviews; i++) {
      const at = start + rngAtk.next() * o.bombing.hours * HOUR;
      const a = attacker(at, [app]);
      reviews.push({
        kind: 'bombing',
        campaign: `bombing-${c}`,
        account: a.key,
        app,
        at,
        rating: rngAtk.chance(0.9) ? 1 : 2,
        ...campaignText(rngAtk, BOMB_TITLES, BOMB_LINES),
      });
    }
  }
  for (let c = 0; c < o.farm.campaigns; c++) {
    const app = tail(c);
    const start = attackStart + rngAtk.next() * (o.attackDays - 2) * DAY;
    for (let i = 0; i < o.farm.reviews; i++) {
      const at = start + rngAtk.next() * o.farm.hours * HOUR;
      const a = newAccount(at - rngAtk.next() * 3 * DAY); // farms: fresh accounts that own nothing
      reviews.push({ kind: 'farm', campaign: `farm-${c}`, account: a.key, app, at, rating: 5, ...campaignText(rngAtk, FARM_TITLES, FARM_LINES) });
    }
  }
  for (let r = 0; r < o.ring.rings; r++) {
    const texts = Array.from({ length: o.ring.texts }, (_, i) => RING_TEXTS[(r + i) % RING_TEXTS.length]);
    const start = attackStart + rngAtk.next() * (o.attackDays - 1) * DAY;
    const targets = Array.from({ length: o.ring.appsPerAccount * 2 }, () => rngAtk.int(0, o.apps - 1));
    for (let k = 0; k < o.ring.accounts; k++) {
      const apps = rngAtk.sample([...new Set(targets)], Math.min(o.ring.appsPerAccount, new Set(targets).size));
      const first = start + rngAtk.next() * 12 * HOUR;
      const a = attacker(first, apps);
      apps.forEach((app, j) => {
        const at = first + j * rngAtk.next() * 2 * HOUR;
        const body = spin(rngAtk, rngAtk.pick(texts));
        reviews.push({ kind: 'ring', campaign: `ring-${r}`, account: a.key, app, at, rating: 5, title: rngAtk.pick(FARM_TITLES), body });
      });
    }
  }
  for (let c = 0; c < o.drip.campaigns; c++) {
    const app = tail(o.farm.campaigns + c);
    const start = Math.max(0, durationMs - o.drip.days * DAY);
    for (let d = 0; d < o.drip.days; d++) {
      for (let i = 0; i < o.drip.perDay; i++) {
        const at = Math.min(durationMs - 1, start + d * DAY + rngAtk.next() * DAY);
        const a = attacker(at, [app]);
        reviews.push({ kind: 'drip', campaign: `drip-${c}`, account: a.key, app, at, rating: 5, ...campaignText(rngAtk, FARM_TITLES, FARM_LINES) });
      }
    }
  }

  // Copies: an organic review of one app (long enough to be worth copying), re-posted on another app by an attacker
  // with small edits (case, punctuation, a word added or dropped), a while after the original.
  const rngCopy = new Rng(o.seed, 'copy');
  const sources = reviews.filter((r) => r.kind === 'organic' && r.body.split(/\s+/).length >= 10 && r.at < durationMs - DAY);
  for (let i = 0; i < (o.copy?.reviews ?? 0) && sources.length; i++) {
    const src = rngCopy.pick(sources);
    let app = rngCopy.int(0, o.apps - 1);
    if (app === src.app) app = (app + 1) % o.apps;
    const at = Math.min(durationMs - 1, Math.max(src.at + HOUR, attackStart) + rngCopy.next() * o.attackDays * DAY);
    const aged = rngCopy.chance(0.5); // patient: half of them bought old accounts
    const a = newAccount(at - (aged ? (60 + rngCopy.next() * 900) * DAY : rngCopy.next() * 20 * DAY));
    if (rngCopy.chance(0.5)) a.owns.push(app);
    reviews.push({
      kind: 'copy',
      campaign: 'copy',
      account: a.key,
      app,
      at,
      rating: rngCopy.chance(0.8) ? 5 : src.rating,
      title: rngCopy.chance(0.5) ? src.title : rngCopy.pick(ORGANIC_TITLES),
      body: lightEdit(rngCopy, src.body),
    });
  }
  // Incentivised reviews: a plausible sentence plus what the reviewer got for it, in the store's languages.
  const rngInc = new Rng(o.seed, 'incentive');
  for (let i = 0; i < (o.incentive?.reviews ?? 0); i++) {
    const app = rngInc.int(0, o.apps - 1);
    const at = attackStart + rngInc.next() * (o.attackDays * DAY - 1);
    const aged = rngInc.chance(0.7);
    const a = newAccount(at - (aged ? (60 + rngInc.next() * 900) * DAY : rngInc.next() * 20 * DAY));
    if (rngInc.chance(0.7)) a.owns.push(app);
    const [lead, phrase] = rngInc.pick(INCENTIVES);
    const body = rngInc.chance(0.5) ? `${lead} ${phrase}` : `${phrase} ${lead}`;
    reviews.push({
      kind: 'incentive',
      campaign: 'incentive',
      account: a.key,
      app,
      at,
      rating: 5,
      title: rngInc.pick(ORGANIC_TITLES),
      body: spin(rngInc, body),
    });
  }

  reviews.sort((a, b) => a.at - b.at);
  return { options: o, durationMs, accounts, reviews };
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
