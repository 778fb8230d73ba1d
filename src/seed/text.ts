// Synthetic text: a vocabulary of several thousand words sampled with a Zipf distribution (the search
// engine is benchmarked on it), app and company names, subtitles, descriptions, keywords, release notes.
import { Rng, Weighted, zipf } from '../platform/rng.ts';
import { ACCENTED_WORDS, APP_WORDS, COMMON_WORDS, FIRST_NAMES, LAST_NAMES, THEMES, WORD_PARTS, type Theme } from './themes.ts';

/** Topic words of one (sub)category: the theme merged with its subcategory's flavour. */
export interface Topic {
  nouns: string[];
  verbs: string[];
  names: string[];
}

export function topicOf(category: string, subcategory: string | null): Topic {
  const theme: Theme = THEMES[category];
  const sub = subcategory ? theme.subcategories?.[subcategory] : undefined;
  if (!sub) return theme;
  return { nouns: [...sub.nouns, ...theme.nouns], verbs: theme.verbs, names: [...sub.names, ...sub.names, ...theme.names] };
}

const VOWELS = new Set('aeiouy');

/** Glues word parts with a little English spelling: share + ing = sharing, spark + kit = sparkit. */
function join(a: string, b: string): string {
  if (a.endsWith('e') && VOWELS.has(b[0])) return a.slice(0, -1) + b;
  if (a.endsWith(b[0]) && a.length > 2) return a + b.slice(1);
  return a + b;
}

const CONSONANTS = [...'bcdfghjklmnprstvwz'];
const SYLLABLE_VOWELS = [...'aeiou'];

/** A pronounceable made-up word: "kivaro", "zumel". */
function syllableWord(rng: Rng): string {
  let s = '';
  for (let i = rng.int(2, 3); i > 0; i--) s += rng.pick(CONSONANTS) + rng.pick(SYLLABLE_VOWELS);
  return rng.chance(0.4) ? s + rng.pick(['n', 'r', 'x', 'l', 's']) : s;
}

/** Where the words grown from parts start in VOCABULARY. */
let GROWN_FROM = 0;

/**
 * The vocabulary, most frequent first: everyday words, app-store words, topic words of every
 * category, then ~7,500 words grown from word parts (fixed: the same whatever the seed).
 */
export const VOCABULARY: string[] = (() => {
  const seen = new Set<string>();
  const words: string[] = [];
  const add = (word: string) => {
    const lower = word.toLowerCase();
    if (!seen.has(lower)) {
      seen.add(lower);
      words.push(lower);
    }
  };
  COMMON_WORDS.forEach(add);
  APP_WORDS.forEach(add);
  for (const theme of Object.values(THEMES)) {
    theme.nouns.forEach(add);
    theme.verbs.forEach(add);
    for (const sub of Object.values(theme.subcategories ?? {})) sub.nouns.forEach(add);
  }
  const rng = new Rng(0x5eed, 'vocabulary');
  const { prefixes, roots, suffixes } = WORD_PARTS;
  const grown: string[] = [];
  const grow = (word: string) => {
    if (!seen.has(word)) {
      seen.add(word);
      grown.push(word);
    }
  };
  roots.forEach(grow);
  for (const r of roots) for (const s of rng.sample(suffixes, 12)) grow(join(r, s));
  for (const r of roots) for (const p of rng.sample(prefixes, 10)) grow(join(p, r));
  for (let i = 0; i < 2000; i++) grow(join(join(rng.pick(prefixes), rng.pick(roots)), rng.pick(suffixes)));
  for (let i = 0; i < 800; i++) grow(syllableWord(rng));
  GROWN_FROM = words.length;
  words.push(...rng.sample(grown, grown.length));
  return words;
})();

const WORDS = zipf(VOCABULARY, 1.0);
const COMMON = new Set(COMMON_WORDS);

const title = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const ascii = (s: string) =>
  s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/ı/g, 'i');

/** Lower-case letters and digits only: for bundle ids, domains and emails. */
export const slugify = (s: string) =>
  ascii(s)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '');

const ADJECTIVES = `simple fast beautiful smart easy powerful friendly private clean modern handy
  reliable elegant playful relaxing accurate personal quick complete`
  .trim()
  .split(/\s+/);
const NAME_WORDS = `Pixel Budget Smart Happy Daily Super Tiny Bright Quick Zen Pocket Magic Easy Simple
  Little Golden Blue Red Green Silver Swift Clever Lucky Cosmic Epic Mega Ultra Neo Nova Hyper Wild
  Cozy Sunny Fresh Pure Bold Prime True My Go Total Instant Royal Brave Mighty Happy Open Free`
  .trim()
  .split(/\s+/);
const NAME_SUFFIXES = new Weighted([
  ['Pro', 30],
  ['Lite', 10],
  ['HD', 6],
  ['Plus', 10],
  ['Studio', 5],
  ['2', 6],
  ['X', 4],
  ['Go', 5],
  ['Max', 4],
  ['Classic', 5],
  ['Deluxe', 3],
  ['Premium', 3],
  ['Free', 4],
  ['Edition', 1],
  ['Mobile', 2],
] as const);

function brand(rng: Rng): string {
  const style = rng.int(0, 4);
  if (style === 0) {
    // reduplication with a vowel change: TikTak, ZigZag, BipBop
    const c1 = rng.pick(['T', 'Z', 'B', 'P', 'K', 'D', 'F', 'M', 'W']);
    const c2 = rng.pick(['k', 'g', 'p', 'm', 'n', 't', 'z']);
    const [v1, v2] = rng.pick([
      ['i', 'a'],
      ['i', 'o'],
      ['e', 'o'],
      ['u', 'a'],
    ]);
    return c1 + v1 + c2 + c1 + v2 + c2;
  }
  if (style === 1) return title(syllableWord(rng)) + rng.pick(['ly', 'io', 'ify', 'a', 'o', 'oo', 'eo', '']);
  if (style === 2) return title(rng.pick(WORD_PARTS.roots)) + title(rng.pick(['hub', 'ly', 'box', 'kit', 'lab', 'app', 'ify', 'max', 'up']));
  if (style === 3) return title(rng.pick(WORD_PARTS.roots)).replace(/e?r?$/, '') + 'r';
  return title(syllableWord(rng));
}

/** An app name: "Pixel Forge", "Budget Buddy Pro", "TikTak", "2048 Classic", "Q&A Hub", "Lumo: Sleep Sounds". */
export function appName(rng: Rng, topic: Topic, category: string): string {
  const noun = () => rng.pick(topic.names);
  const plain = () => title(rng.pick(topic.nouns));
  const two = () => {
    const r = rng.next();
    const a = r < 0.25 ? rng.pick(NAME_WORDS) : r < 0.5 ? noun() : title(VOCABULARY[rng.int(GROWN_FROM, VOCABULARY.length - 1)]);
    let b = noun();
    if (b === a) b = plain();
    return `${a} ${b}`;
  };
  const r = rng.next();
  if (r < 0.3) return two();
  if (r < 0.42) return `${two()} ${NAME_SUFFIXES.pick(rng)}`;
  if (r < 0.52) return brand(rng);
  if (r < 0.61) return `${brand(rng)}: ${title(rng.pick(topic.verbs))} ${plain()}`;
  if (r < 0.68) return noun() + rng.pick([noun(), 'Max', 'Hub', 'Pal', 'ly', 'Kit', 'Box', 'Mate']);
  if (r < 0.75) {
    return rng.pick([
      () => `${rng.pick(['2048', '1010', '99', '360', '24/7', '3D'])} ${noun()}`,
      () => `${noun()} ${rng.pick(['360', '3D', '2', '3', '365', '101', '2048', 'X2'])}`,
      () => `Top ${rng.pick([10, 50, 100])} ${title(rng.pick(topic.nouns))}`,
      () => `${rng.int(2, 9)}x${rng.int(2, 9)} ${noun()}`,
      () => `1${noun()}`,
      () => `${rng.pick(['2048', '4096', '1024'])} ${rng.pick(['Classic', 'Deluxe', 'Merge', noun()])}`,
    ])();
  }
  if (r < 0.82) {
    return rng.pick([
      () => `Q&A ${rng.chance(0.1) ? 'Hub' : noun()}`,
      () => `${noun()} & ${noun()}`,
      () => `${rng.pick(['Mr.', 'Dr.', 'Ms.'])} ${noun()}`,
      () => `${rng.pick(FIRST_NAMES)}'s ${noun()}`,
      () => `${noun()}+`,
      () => `${rng.pick(['my', 'i', 'e'])}${noun()}`,
      () => `${noun().toLowerCase()}.io`,
    ])();
  }
  if (r < 0.87 && category === 'games') return `${rng.pick(['Clash', 'Rise', 'Age', 'Legends', 'Tales', 'Heroes'])} of ${noun().replace(/s?$/, 's')}`;
  if (r < 0.9)
    return (
      rng.pick(['Zeta', 'Kivo', 'Drop', 'Loop', 'Vibe', 'Orbit', 'Nimbus', 'Echo', 'Halo', 'Axis', 'Pulse', 'Tiki']) + (rng.chance(0.1) ? '' : ' ' + noun())
    );
  if (r < 0.92) return `${rng.pick(ACCENTED_WORDS)} ${noun()}`;
  return `${noun()} ${rng.pick(['Tracker', 'Planner', 'Master', 'Buddy', 'Guide', 'Maker', 'Manager', 'Finder', 'Quest', 'Simulator'])}`;
}

/** A short line under the name (null for ~15% of apps, as on real stores). */
export function subtitle(rng: Rng, topic: Topic): string | null {
  if (rng.chance(0.15)) return null;
  const [n1, n2] = rng.sample(topic.nouns, 2);
  const [v1, v2, v3] = rng.sample(topic.verbs, 3);
  return title(
    rng.pick([
      () => `${v1} your ${n1}`,
      () => `the ${rng.pick(ADJECTIVES)} ${n1} app`,
      () => `${n1}, ${n2} & more`,
      () => `${rng.pick(ADJECTIVES)} ${n1} for everyone`,
      () => (v3 ? `${v1}, ${v2} & ${v3}` : `${v1} & ${v2 ?? 'share'}`),
      () => `${v1} ${n1} in seconds`,
    ])(),
  );
}

/** Sentence of Zipf-drawn words, with the topic's words mixed in so descriptions are about something. */
function sentence(rng: Rng, topic: Topic, min: number, max: number): string {
  const n = rng.int(min, max);
  const words: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    words.push(r < 0.12 ? rng.pick(topic.nouns) : r < 0.16 ? rng.pick(topic.verbs) : WORDS.pick(rng));
    if (i > 2 && i < n - 2 && rng.chance(0.06)) words[i] += ',';
  }
  return title(words.join(' ')) + (rng.chance(0.05) ? '!' : '.');
}

export function description(rng: Rng, name: string, topic: Topic, opts: { subscription: boolean; website: string | null }): string {
  const n = () => rng.pick(topic.nouns);
  const v = () => rng.pick(topic.verbs);
  const [n1, n2] = rng.sample(topic.nouns, 2);
  const [v1, v2] = rng.sample(topic.verbs, 2);
  const pitch = rng.pick([
    () => `${name} helps you ${v1} your ${n1} and ${n2}.`,
    () => `${name} is the ${rng.pick(ADJECTIVES)} way to ${v1} ${n1}.`,
    () => `${name} lets you ${v1} and ${v2} ${n1} in seconds.`,
    () => `With ${name} it is easy to ${v1} your ${n1}, wherever you are.`,
  ])();
  const parts = [pitch];
  const paragraphs = rng.int(1, 4);
  for (let p = 0; p < paragraphs; p++) {
    const sentences: string[] = [];
    for (let s = rng.int(2, 5); s > 0; s--) sentences.push(sentence(rng, topic, 5, 16));
    parts.push(sentences.join(' '));
  }
  if (rng.chance(0.7)) {
    const lines = [rng.pick(['FEATURES', 'KEY FEATURES', 'What you get:', 'Highlights'])];
    for (let i = rng.int(3, 7); i > 0; i--) {
      lines.push(`• ${title(v())} ${n()} ${rng.pick(['with', 'in', 'for', 'and', 'by'])} ${WORDS.pick(rng)} ${n()}`);
    }
    parts.push(lines.join('\n'));
  }
  if (opts.subscription) {
    parts.push(
      'Subscriptions renew automatically unless cancelled at least 24 hours before the end of the current period. ' +
        'Manage or cancel them in your account settings.',
    );
  }
  if (opts.website && rng.chance(0.4)) parts.push(`Questions or ideas? Visit ${opts.website} — we read every message.`);
  return parts.join('\n\n');
}

export function keywords(rng: Rng, name: string, topic: Topic): string[] {
  const set = new Set<string>();
  for (const token of slugSplit(name)) if (token.length > 2 && set.size < 2) set.add(token);
  for (const noun of rng.sample(topic.nouns, rng.int(2, 6))) set.add(noun);
  for (let i = rng.int(0, 2); i > 0; i--) {
    const word = WORDS.pick(rng);
    if (word.length > 3 && !COMMON.has(word)) set.add(word);
  }
  return [...set];
}

const slugSplit = (s: string) =>
  ascii(s)
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);

const LEGAL = ['Pty Ltd', 'Inc.', 'LLC', 'Ltd', 'GmbH', 'AB', 'Co.', 'S.A.', 'Oy', 'K.K.', 'SAS', 'B.V.']; // longest first where one ends another
const COMPANY_WORDS = ['Labs', 'Studios', 'Software', 'Apps', 'Games', 'Media', 'Interactive', 'Technologies', 'Digital', 'Works', 'Mobile', 'Systems'];

export function companyName(rng: Rng): string {
  const legal = () => (rng.chance(0.4) ? ' ' + rng.pick(LEGAL) : '');
  return rng.pick([
    () => `${rng.pick(NAME_WORDS)} ${title(rng.pick(WORD_PARTS.roots))} ${rng.pick(COMPANY_WORDS)}${legal()}`,
    () => `${rng.pick(LAST_NAMES)} ${rng.pick(COMPANY_WORDS)}${legal()}`,
    () => `${rng.pick(LAST_NAMES)} & ${rng.pick(LAST_NAMES)}${legal()}`,
    () => `${brand(rng)} ${rng.pick(COMPANY_WORDS)}${legal()}`,
    () => brand(rng) + legal(),
  ])();
}

/** The company's name without legal suffixes, as a domain label. */
export const companySlug = (company: string) => {
  const legal = LEGAL.find((l) => company.endsWith(' ' + l));
  const base = legal ? company.slice(0, -legal.length - 1) : company;
  return slugify(base) || 'studio';
};

export function personName(rng: Rng): [first: string, last: string] {
  return [rng.pick(FIRST_NAMES), rng.pick(LAST_NAMES)];
}

export function releaseNotes(rng: Rng, name: string, topic: Topic, first: boolean): string {
  if (first) return rng.pick([`Initial release.`, `Welcome to ${name}!`, `First release of ${name}. Thanks for trying it out.`]);
  if (rng.chance(0.35)) return 'Bug fixes and performance improvements.';
  const lines = [rng.pick(['What’s new:', 'In this version:', 'We update the app regularly to make it better for you. This version includes:'])];
  for (let i = rng.int(1, 4); i > 0; i--) {
    lines.push(
      rng.pick([
        () => `• New: ${rng.pick(topic.verbs)} ${rng.pick(topic.nouns)} ${rng.pick(['faster', 'offline', 'with friends', 'from widgets', 'in dark mode'])}`,
        () => `• Fixed a crash when opening ${rng.pick(topic.nouns)}`,
        () => `• Improved ${rng.pick(topic.nouns)} ${rng.pick(['sync', 'search', 'layout', 'performance'])}`,
        () => `• ${title(WORDS.pick(rng))} ${WORDS.pick(rng)} ${WORDS.pick(rng)}`,
      ])(),
    );
  }
  return lines.join('\n');
}
