// Builds the judged query set (judged.json) from the seeded catalog, by fixed rules over the catalog
// data only: names, subtitles, keywords, categories, developers, prices, ratings and downloads. The
// search engine is never consulted. Deterministic: the same catalog gives the same file.
//
//   npx tsx src/labs/search-quality/make-judged.ts        # writes src/labs/search-quality/judged.json
//
// Shared vocabulary of the rules:
// - "name words" are the words of an app's name as a reader sees them: "HabitPal" has habit + pal,
//   "1Weather" has weather, "Café" is cafe (nameTokens in judged.ts). A word matches its simple plural
//   or singular too (recipe ↔ recipes).
// - "popular" = more downloads (ties: app id). When many apps match equally well, the most popular get
//   the higher grade: a user searching "weather" expects the popular weather apps first.
// - Every relevant set is capped at 30 apps; every query has at least one grade-3 app.
//
// The seven classes (22 queries each) and their rules:
// exact     A distinctive name (at most 3 apps share it, at most 10 names contain all its words; the
//           most popular holder has ≥ 1,000 downloads), half from the 300 most downloaded apps, half
//           from the rest. The most popular app with that name → 3, other apps with the same name → 2,
//           apps whose name contains all its words ("Tribe Talk Pro" for "Tribe Talk") → 1.
// partial   One or two words of a popular app's name, one of them distinctive (not a dictionary,
//           topic or store word; in 2..25 names). One word: apps whose name has it; two words (of a
//           name of 3+ words): apps whose name has both. The 5 most popular of them → 3, others → 2.
// typo      A name (exact rules) or a distinctive name word (partial rules) with one realistic edit
//           (dropped, doubled, swapped or neighbouring-key letter; never the first letter) for words of
//           3–5 letters, two edits for half of the longer words (only when the misspelling still has
//           6+ letters, as fuzziness AUTO counts the typed word). The misspelling is no word of the
//           catalog. Judged as the intended query.
// synonym   A query in words the catalog's names do not use (or rarely use) for a concept they do
//           name, each written below with its synonym sets and the categories where the concept lives
//           ("picture editor" = {photo, pic, image, …} + {editor, edit, retouch} in photo-video).
//           Concept rules (below) with those sets.
// developer A company name as users type it (legal suffix dropped, "Wild Dream Works" for "Wild Dream
//           Works B.V."), for companies whose name no other company shares and no other company's app
//           name contains; 7 small (2–5 apps), 8 mid-size (6–30) and 7 large (31+) publishers. Their
//           apps by popularity: 1st–3rd → 3, 4th–10th → 2, 11th–30th → 1.
// filtered  A common word + filters (category, subcategory, price free/paid, minRating, maxAgeRating).
//           Concept rules restricted to apps that satisfy the filters (and to the filter's category,
//           or else the word's topic categories).
// intent    A category-intent word ("calculator", "weather", "budget"): concept rules in the word's
//           topic categories (those whose theme nouns or name words include it, so "Budget Brew", a
//           food app, is not a budget app).
//
// Concept rules (synonym, filtered, intent): a query is a list of concepts, each a set of words.
//   A = apps (in the allowed categories, satisfying the filters) whose name has a word of every concept;
//   B = the other such apps whose name, subtitle and keywords together have a word of every concept.
//   A by popularity: the first 10 → 3, the next 10 → 2, the next 10 → 1; then B by popularity fills
//   the set up to 30 apps with grade 2 if A has fewer than 10 apps, else 1.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SearchDoc, SearchFilters } from '../../modules/search/index.ts';
import { Rng } from '../../platform/rng.ts';
import { syntheticSearchDocs } from '../../seed/search-docs.ts';
import { VOCABULARY } from '../../seed/text.ts';
import { APP_WORDS, COMMON_WORDS, THEMES } from '../../seed/themes.ts';
import {
  JUDGED_CATALOG,
  JUDGED_PATH,
  fold,
  matchesFilters,
  nameTokens,
  normalizedName,
  textTokens,
  wordForms,
  type JudgedQuery,
  type QueryClass,
} from './judged.ts';

const PER_CLASS = 22;
const CAP = 30;

// ---------------------------------------------------------------- catalog view

interface App {
  doc: SearchDoc;
  name: Set<string>; // name words
  words: string[]; // plain words of the name, in order
  text: Set<string>; // name + subtitle + keywords words
  norm: string; // normalized full name
}

class Catalog {
  readonly apps: App[];
  private readonly byName = new Map<string, App[]>(); // name word → apps
  private readonly byNorm = new Map<string, App[]>(); // normalized name → apps
  readonly known = new Set<string>(); // every word of the catalog (for typo checks)

  constructor(docs: SearchDoc[]) {
    this.apps = docs.map((doc) => {
      const name = nameTokens(doc.name);
      const text = new Set([...name, ...textTokens(doc.subtitle ?? ''), ...doc.keywords.flatMap(textTokens)]);
      return { doc, name, words: textTokens(doc.name), text, norm: normalizedName(doc.name) };
    });
    this.apps.sort(byPopularity);
    for (const app of this.apps) {
      for (const t of app.name) push(this.byName, t, app);
      push(this.byNorm, app.norm, app);
      for (const t of app.text) this.known.add(t);
      for (const t of textTokens(app.doc.developer)) this.known.add(t);
    }
    for (const w of VOCABULARY) for (const t of textTokens(w)) this.known.add(t);
  }

  /** Apps whose name has one of the words (any form), most popular first. */
  named(words: string[]): App[] {
    const out = new Set<App>();
    for (const w of words) for (const f of wordForms(w)) for (const a of this.byName.get(f) ?? []) out.add(a);
    return [...out].sort(byPopularity);
  }

  /** Apps whose name has every one of the words (exact words), most popular first. */
  namedAll(words: string[]): App[] {
    const [first, ...rest] = words;
    return (this.byName.get(first) ?? []).filter((a) => rest.every((w) => a.name.has(w)));
  }

  sameName(norm: string): App[] {
    return this.byNorm.get(norm) ?? [];
  }

  /** Number of names that have the word. */
  df(word: string): number {
    return this.byName.get(word)?.length ?? 0;
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V) {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function byPopularity(a: App, b: App): number {
  return b.doc.downloads - a.doc.downloads || (a.doc.id < b.doc.id ? -1 : a.doc.id > b.doc.id ? 1 : 0);
}

const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(0)}k` : String(n));

/** Words that say nothing about one app: everyday, store and topic words. */
const GENERIC = new Set<string>(
  [
    ...COMMON_WORDS,
    ...APP_WORDS,
    ...Object.values(THEMES).flatMap((t) => [
      ...t.nouns,
      ...t.verbs,
      ...t.names,
      ...Object.values(t.subcategories ?? {}).flatMap((s) => [...s.nouns, ...s.names]),
    ]),
  ].flatMap(textTokens),
);

/** Name suffixes and brand endings, never the word a user remembers. */
const SUFFIXES = new Set(textTokens('pro lite hd plus studio x go max classic deluxe premium free edition mobile hub ly io ify kit box lab app up mate pal'));

/** A word that picks out a few apps: not generic, letters only, at least 4 of them, in 2..25 names (any form). */
function distinctive(cat: Catalog, word: string, minDf = 2): boolean {
  if (!/^[a-z]{4,}$/.test(word)) return false;
  const forms = wordForms(word); // "taps" is not distinctive when "tap" is everywhere
  if (forms.some((f) => GENERIC.has(f) || SUFFIXES.has(f))) return false;
  const df = cat.named([word]).length;
  return df >= minDf && df <= 25;
}

/** Categories whose theme (nouns and name words, subcategories included) uses the word. */
function topicCategories(word: string): string[] {
  const forms = new Set(wordForms(word));
  const out: string[] = [];
  for (const [slug, t] of Object.entries(THEMES)) {
    const vocab = [...t.nouns, ...t.names, ...Object.values(t.subcategories ?? {}).flatMap((s) => [...s.nouns, ...s.names])];
    if (vocab.some((v) => forms.has(fold(v)))) out.push(slug);
  }
  return out;
}

// ---------------------------------------------------------------- grading

type Relevant = Map<App, number>;

function finish(cls: QueryClass, q: string, relevant: Relevant, note: string, filters?: SearchFilters): Omit<JudgedQuery, 'id'> {
  const entries = [...relevant].slice(0, CAP);
  if (!entries.some(([, g]) => g === 3)) throw new Error(`${cls} "${q}": no grade-3 app`);
  const top = entries
    .filter(([, g]) => g === 3)
    .slice(0, 5)
    .map(([a]) => a.doc.name);
  const more = entries.filter(([, g]) => g === 3).length - top.length;
  return {
    class: cls,
    q,
    ...(filters ? { filters } : {}),
    relevant: Object.fromEntries(entries.map(([a, g]) => [a.doc.id, g])),
    note: `${note} Grade 3: ${top.join(' | ')}${more > 0 ? ` (+${more})` : ''}.`,
  };
}

/** Exact-name rules for a name: the most popular holder → 3, other holders → 2, names containing it → 1. */
function exactRelevance(cat: Catalog, norm: string): { relevant: Relevant; note: string } {
  const same = cat.sameName(norm);
  const words = norm.split(' ');
  const supersets = cat.namedAll(words).filter((a) => a.norm !== norm);
  const relevant: Relevant = new Map();
  same.forEach((a, i) => relevant.set(a, i === 0 ? 3 : 2));
  for (const a of supersets) if (relevant.size < CAP) relevant.set(a, 1);
  const [top] = same;
  const note =
    `Name of "${top.doc.name}" (${top.doc.category}, ${fmt(top.doc.downloads)} downloads) → 3` +
    (same.length > 1 ? `; ${same.length - 1} other app(s) with the same name → 2` : '') +
    (supersets.length ? `; ${supersets.length} name(s) containing it → 1` : '') +
    '.';
  return { relevant, note };
}

/**
 * Partial-name rules: names with every word, the 5 most popular → 3, the others → 2. (Names with only
 * one of two typed words are not judged: the user named one app, and grading its siblings would make
 * the ideal list longer than what the user asked for.)
 */
function partialRelevance(cat: Catalog, words: string[]): { relevant: Relevant; note: string } {
  const all = cat.named([words[0]]).filter((a) => words.every((w) => wordForms(w).some((f) => a.name.has(f))));
  const relevant: Relevant = new Map();
  all.forEach((a, i) => relevant.set(a, i < 5 ? 3 : 2));
  const note = `${all.length} name(s) with ${words.map((w) => `"${w}"`).join(' and ')}: 5 most popular → 3, others → 2.`;
  return { relevant, note };
}

interface ConceptSpec {
  q: string;
  /** Each concept: the words that express it in a name, subtitle or keyword. */
  concepts: string[][];
  /** Where the concept lives; apps elsewhere are not relevant. */
  categories: string[];
  filters?: SearchFilters;
}

function conceptRelevance(cat: Catalog, spec: ConceptSpec): { relevant: Relevant; note: string } {
  const forms = spec.concepts.map((c) => c.flatMap(wordForms));
  const allowed = (a: App) => spec.categories.includes(a.doc.category) && matchesFilters(a.doc, spec.filters);
  const has = (set: Set<string>, fs: string[]) => fs.some((f) => set.has(f));
  const candidates = cat.named(spec.concepts[0]).filter(allowed);
  const A = candidates.filter((a) => forms.every((fs) => has(a.name, fs)));
  const inA = new Set(A);
  const B: App[] = [];
  // B: any allowed app whose name + subtitle + keywords cover every concept (scan once, popular first).
  for (const a of cat.apps) {
    if (B.length >= CAP) break;
    if (!inA.has(a) && allowed(a) && forms.every((fs) => has(a.text, fs))) B.push(a);
  }
  const relevant: Relevant = new Map();
  A.slice(0, CAP).forEach((a, i) => relevant.set(a, i < 10 ? 3 : i < 20 ? 2 : 1));
  const bGrade = A.length < 10 ? 2 : 1;
  for (const a of B) if (relevant.size < CAP) relevant.set(a, bGrade);
  const concepts = spec.concepts.map((c) => `{${c.join(', ')}}`).join(' + ');
  const note =
    `${concepts} in ${spec.categories.length > 3 ? `${spec.categories.length} categories` : spec.categories.join('/')}` +
    `${spec.filters ? ` with filters ${JSON.stringify(spec.filters)}` : ''}: ${A.length} name match(es), 10 most popular → 3, next 10 → 2, next 10 → 1; ` +
    `subtitle/keyword matches → ${bGrade}.`;
  return { relevant, note };
}

// ---------------------------------------------------------------- typos

const KEYBOARD = ['qwertyuiop', 'asdfghjkl', 'zxcvbnm'];
function neighbours(c: string): string[] {
  for (let r = 0; r < 3; r++) {
    const i = KEYBOARD[r].indexOf(c);
    if (i < 0) continue;
    const out = [KEYBOARD[r][i - 1], KEYBOARD[r][i + 1], KEYBOARD[r - 1]?.[i], KEYBOARD[r + 1]?.[i]];
    return out.filter((x): x is string => !!x);
  }
  return [c];
}

/** Optimal string alignment distance (Levenshtein + adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

function oneEdit(rng: Rng, w: string, op: number): string {
  const p = rng.int(1, w.length - 1); // never the first letter
  switch (op) {
    case 0: // dropped letter
      return w.slice(0, p) + w.slice(p + 1);
    case 1: // swapped neighbours
      return p < w.length - 1 ? w.slice(0, p) + w[p + 1] + w[p] + w.slice(p + 2) : w.slice(0, p - 1) + w[p] + w[p - 1];
    case 2: // neighbouring key
      return w.slice(0, p) + rng.pick(neighbours(w[p])) + w.slice(p + 1);
    default: // doubled letter or a neighbouring key pressed too
      return w.slice(0, p + 1) + (rng.chance(0.5) ? w[p] : rng.pick(neighbours(w[p]))) + w.slice(p + 1);
  }
}

/** A misspelling of `word` at exactly `edits` edits that is no word of the catalog. */
function misspell(cat: Catalog, rng: Rng, word: string, edits: number): string | null {
  for (let attempt = 0; attempt < 100; attempt++) {
    let t = word;
    // at most one swap: two swapped pairs read as a scramble, not as a typo
    const ops = [rng.int(0, 3), rng.int(0, 3)];
    if (ops[0] === 1 && ops[1] === 1) ops[1] = rng.pick([0, 2, 3]);
    for (let e = 0; e < edits; e++) t = oneEdit(rng, t, ops[e]);
    // fuzziness AUTO allows two edits only for typed words of 6+ letters, one for 3–5
    const allowed = t.length >= 6 ? 2 : t.length >= 3 ? 1 : 0;
    if (edits <= allowed && t[0] === word[0] && !cat.known.has(t) && editDistance(word, t) === edits) return t;
  }
  return null;
}

/** One edit for words of 3–5 letters; two for every other longer word (when the misspelling keeps ≥ 6 letters). */
const editsFor = (word: string, i: number) => (word.length <= 5 ? 1 : i % 2 === 0 ? 2 : 1);

// ---------------------------------------------------------------- the query specs written by hand

const SYNONYMS: ConceptSpec[] = [
  {
    q: 'picture editor',
    concepts: [
      ['photo', 'pic', 'picture', 'image', 'snap'],
      ['editor', 'edit', 'editing', 'retouch'],
    ],
    categories: ['photo-video'],
  },
  { q: 'pictures', concepts: [['photo', 'pic', 'picture', 'image']], categories: ['photo-video'] },
  { q: 'image filters', concepts: [['photo', 'pic', 'picture', 'image'], ['filter']], categories: ['photo-video'] },
  { q: 'film', concepts: [['film', 'movie', 'cinema', 'flix']], categories: ['entertainment'] },
  { q: 'notepad', concepts: [['notepad', 'note', 'memo', 'pad']], categories: ['productivity'] },
  { q: 'cookbook', concepts: [['cookbook', 'recipe']], categories: ['food-drink'] },
  { q: 'exercise', concepts: [['exercise', 'workout', 'fitness', 'fit', 'gym', 'training']], categories: ['health-fitness'] },
  { q: 'physician', concepts: [['physician', 'doctor']], categories: ['medical'] },
  { q: 'medicine', concepts: [['medicine', 'med', 'meds', 'medication', 'pill', 'dose', 'rx', 'pharmacy']], categories: ['medical'] },
  { q: 'messenger', concepts: [['messenger', 'chat', 'message', 'messaging', 'talk']], categories: ['social-networking'] },
  { q: 'vouchers', concepts: [['voucher', 'coupon', 'discount']], categories: ['shopping'] },
  { q: 'airline tickets', concepts: [['airline', 'flight', 'fly', 'jet']], categories: ['travel'] },
  { q: 'football', concepts: [['football', 'soccer']], categories: ['games', 'sports'] },
  { q: 'satnav', concepts: [['satnav', 'gps', 'map', 'route', 'navigation', 'navigate', 'directions']], categories: ['navigation'] },
  { q: 'lodging', concepts: [['lodging', 'hotel']], categories: ['travel'] },
  { q: 'doodle', concepts: [['doodle', 'sketch', 'draw', 'drawing']], categories: ['graphics-design'] },
  { q: 'diary', concepts: [['diary', 'journal']], categories: ['lifestyle'] },
  { q: 'to-do list', concepts: [['todo', 'task', 'checklist']], categories: ['productivity'] },
  { q: 'spending', concepts: [['spending', 'spend', 'expense', 'budget']], categories: ['finance'] },
  { q: 'children', concepts: [['children', 'child', 'kid', 'baby', 'toddler']], categories: ['kids'] },
  { q: 'audiobooks', concepts: [['audiobook', 'audible']], categories: ['books'] },
  { q: 'torch', concepts: [['torch', 'flashlight']], categories: ['utilities'] },
];

/** Intent words, with abbreviations that name the same thing. */
const INTENTS: { q: string; also?: string[] }[] = [
  { q: 'calculator', also: ['calc'] },
  { q: 'weather' },
  { q: 'budget' },
  { q: 'flashlight' },
  { q: 'vpn' },
  { q: 'recipes' },
  { q: 'meditation' },
  { q: 'chess' },
  { q: 'piano' },
  { q: 'radar' },
  { q: 'dictionary' },
  { q: 'invoice' },
  { q: 'scanner' },
  { q: 'wallpaper' },
  { q: 'horoscope' },
  { q: 'yoga' },
  { q: 'coupons' },
  { q: 'hotel' },
  { q: 'bible' },
  { q: 'metronome' },
  { q: 'password' },
  { q: 'habit' },
];

const FILTERED: { q: string; filters: SearchFilters }[] = [
  { q: 'quiz', filters: { category: 'games' } },
  { q: 'quiz', filters: { category: 'education' } },
  { q: 'pixel', filters: { category: 'graphics-design' } },
  { q: 'pixel', filters: { category: 'games', subcategory: 'games-arcade' } },
  { q: 'zombie', filters: { category: 'games', subcategory: 'games-action' } },
  { q: 'soccer', filters: { category: 'sports' } },
  { q: 'tracker', filters: { category: 'health-fitness' } },
  { q: 'budget', filters: { price: 'free' } },
  { q: 'chess', filters: { price: 'free' } },
  { q: 'bible', filters: { price: 'free' } },
  { q: 'meditation', filters: { price: 'free' } },
  { q: 'yoga', filters: { price: 'paid' } },
  { q: 'sleep', filters: { price: 'paid' } },
  { q: 'music', filters: { price: 'paid' } },
  { q: 'recipes', filters: { price: 'paid' } },
  { q: 'weather', filters: { minRating: 4.5 } },
  { q: 'hotel', filters: { minRating: 4.5 } },
  { q: 'chat', filters: { minRating: 4.5 } },
  { q: 'dictionary', filters: { minRating: 4 } },
  { q: 'coupons', filters: { minRating: 4 } },
  { q: 'invoice', filters: { price: 'free', minRating: 4 } },
  { q: 'news', filters: { maxAgeRating: '9+' } },
];

/** Legal suffixes as the seed writes them (src/seed/text.ts), longest first where one ends another. */
const LEGAL = ['Pty Ltd', 'Inc.', 'LLC', 'Ltd', 'GmbH', 'AB', 'Co.', 'S.A.', 'Oy', 'K.K.', 'SAS', 'B.V.'];
const baseCompany = (company: string) => {
  const legal = LEGAL.find((l) => company.endsWith(' ' + l));
  return legal ? company.slice(0, -legal.length - 1) : company;
};

// ---------------------------------------------------------------- the classes

type Draft = Omit<JudgedQuery, 'id'>;

/** Distinctive full names: one representative (the most popular holder) per name. */
function exactCandidates(cat: Catalog): App[] {
  const seen = new Set<string>();
  const out: App[] = [];
  for (const a of cat.apps) {
    if (seen.has(a.norm)) continue;
    seen.add(a.norm);
    if (a.doc.downloads < 1000) continue;
    if (!a.words.some((w) => /[a-z]{3,}/.test(w))) continue;
    if (cat.sameName(a.norm).length > 3) continue;
    if (cat.namedAll(a.words).length > 10) continue;
    // the name as a whole is not one generic word ("Show+")
    if (a.words.length === 1 && GENERIC.has(a.words[0])) continue;
    out.push(a);
  }
  return out;
}

/** Half from the 300 most downloaded apps, half from the rest; never a name picked before. */
function pickNames(cat: Catalog, rng: Rng, candidates: App[], n: number, used: Set<string>): App[] {
  const top = new Set(cat.apps.slice(0, 300));
  const popular = candidates.filter((a) => top.has(a) && !used.has(a.norm));
  const rest = candidates.filter((a) => !top.has(a) && !used.has(a.norm));
  const picked = [...rng.sample(popular, Math.ceil(n / 2)), ...rng.sample(rest, Math.floor(n / 2))];
  for (const a of picked) used.add(a.norm);
  return picked;
}

function exactQueries(cat: Catalog, names: App[]): Draft[] {
  return names.map((a, i) => {
    const { relevant, note } = exactRelevance(cat, a.norm);
    const q = i % 2 === 0 ? a.doc.name : a.doc.name.toLowerCase();
    return finish('exact', q, relevant, note);
  });
}

/** Distinctive words from the names of the 3,000 most popular apps, each once, in popularity order. */
function wordCandidates(cat: Catalog): { word: string; app: App }[] {
  const seen = new Set<string>();
  const out: { word: string; app: App }[] = [];
  for (const a of cat.apps.slice(0, 3000)) {
    if (a.words.length < 2) continue; // one word would be the whole name
    for (const w of a.words) {
      if (seen.has(w) || !distinctive(cat, w)) continue;
      seen.add(w);
      out.push({ word: w, app: a });
    }
  }
  return out;
}

function partialQueries(cat: Catalog, rng: Rng, words: { word: string; app: App }[], usedWords: Set<string>): Draft[] {
  const drafts: Draft[] = [];
  // one word
  for (const { word } of rng.sample(
    words.filter((w) => !usedWords.has(w.word)),
    Math.ceil(PER_CLASS / 2),
  )) {
    usedWords.add(word);
    const { relevant, note } = partialRelevance(cat, [word]);
    drafts.push(finish('partial', word, relevant, note));
  }
  // two words of a longer name: the distinctive one and another real word, in name order
  const long = words.filter((w) => !usedWords.has(w.word) && w.app.words.filter((x) => /^[a-z]{3,}$/.test(x) && !SUFFIXES.has(x)).length >= 3);
  for (const { word, app } of rng.sample(long, Math.floor(PER_CLASS / 2))) {
    usedWords.add(word);
    const other = rng.pick(app.words.filter((x) => x !== word && /^[a-z]{3,}$/.test(x) && !SUFFIXES.has(x)));
    const pair = app.words.filter((x) => x === word || x === other);
    const { relevant, note } = partialRelevance(cat, pair);
    drafts.push(finish('partial', pair.join(' '), relevant, note));
  }
  return drafts;
}

function typoQueries(cat: Catalog, rng: Rng, names: App[], words: { word: string; app: App }[]): Draft[] {
  const drafts: Draft[] = [];
  let i = 0;
  for (const a of names) {
    // misspell the longest word of the name that is not a store suffix
    const target = [...a.words].filter((w) => /^[a-z]{3,}$/.test(w) && !SUFFIXES.has(w)).sort((x, y) => y.length - x.length)[0];
    if (!target) continue;
    const edits = editsFor(target, i);
    const typo = misspell(cat, rng, target, edits);
    if (!typo) continue;
    i++;
    const q = a.words.map((w) => (w === target ? typo : w)).join(' ');
    const { relevant, note } = exactRelevance(cat, a.norm);
    drafts.push(finish('typo', q, relevant, `"${target}" → "${typo}" (${edits} edit${edits > 1 ? 's' : ''}), meant "${a.doc.name}". ${note}`));
    if (drafts.length >= Math.ceil(PER_CLASS / 2)) break;
  }
  for (const { word } of words) {
    if (drafts.length >= PER_CLASS) break;
    const edits = editsFor(word, i);
    const typo = misspell(cat, rng, word, edits);
    if (!typo) continue;
    i++;
    const { relevant, note } = partialRelevance(cat, [word]);
    drafts.push(finish('typo', typo, relevant, `"${word}" → "${typo}" (${edits} edit${edits > 1 ? 's' : ''}). ${note}`));
  }
  return drafts;
}

function developerQueries(cat: Catalog, rng: Rng): Draft[] {
  const byBase = new Map<string, App[]>();
  for (const a of cat.apps) push(byBase, fold(baseCompany(a.doc.developer)), a);
  const small: string[] = [];
  const mid: string[] = [];
  const large: string[] = [];
  for (const [base, apps] of [...byBase].sort(([x], [y]) => (x < y ? -1 : 1))) {
    if (apps.length < 2 || apps[0].doc.downloads < 1000) continue;
    if (new Set(apps.map((a) => a.doc.developer)).size > 1) continue; // two companies share this name
    const words = textTokens(base);
    if (!words.length) continue;
    // no other company's app is named with all the company's words
    if (cat.namedAll(words).some((a) => fold(baseCompany(a.doc.developer)) !== base)) continue;
    (apps.length <= 5 ? small : apps.length <= 30 ? mid : large).push(base);
  }
  const picked = [...rng.sample(small, 7), ...rng.sample(mid, 8), ...rng.sample(large, 7)];
  return picked.map((base, i) => {
    const apps = byBase.get(base)!;
    const relevant: Relevant = new Map();
    apps.slice(0, CAP).forEach((a, r) => relevant.set(a, r < 3 ? 3 : r < 10 ? 2 : 1));
    const shown = baseCompany(apps[0].doc.developer);
    const q = i % 2 === 0 ? shown : shown.toLowerCase();
    const note = `Developer "${apps[0].doc.developer}" (${apps.length} apps): by popularity 1st–3rd → 3, 4th–10th → 2, 11th–30th → 1.`;
    return finish('developer', q, relevant, note);
  });
}

function conceptQueries(cat: Catalog, cls: QueryClass, specs: ConceptSpec[]): Draft[] {
  return specs.map((spec) => {
    const { relevant, note } = conceptRelevance(cat, spec);
    return finish(cls, spec.q, relevant, note, spec.filters);
  });
}

// ---------------------------------------------------------------- all together

export function makeJudged(docs: Iterable<SearchDoc>): JudgedQuery[] {
  const cat = new Catalog([...docs]);
  const rng = (label: string) => new Rng(JUDGED_CATALOG.seed, `judged-${label}`);

  const usedNames = new Set<string>();
  const candidates = exactCandidates(cat);
  const exactNames = pickNames(cat, rng('exact'), candidates, PER_CLASS, usedNames);
  const typoNames = pickNames(cat, rng('typo-names'), candidates, PER_CLASS, usedNames); // more than needed: some have no word to misspell

  const words = wordCandidates(cat);
  const usedWords = new Set<string>();
  const partial = partialQueries(cat, rng('partial'), words, usedWords);
  const typoWords = rng('typo-words').sample(
    words.filter((w) => !usedWords.has(w.word)),
    PER_CLASS,
  );

  const drafts: Draft[] = [
    ...exactQueries(cat, exactNames),
    ...partial,
    ...typoQueries(cat, rng('typo'), typoNames, typoWords),
    ...conceptQueries(cat, 'synonym', SYNONYMS),
    ...developerQueries(cat, rng('developer')),
    ...conceptQueries(
      cat,
      'filtered',
      FILTERED.map(({ q, filters }) => ({
        q,
        concepts: [[q]],
        categories: filters.category ? [filters.category] : topicCategories(q),
        filters,
      })),
    ),
    ...conceptQueries(
      cat,
      'intent',
      INTENTS.map(({ q, also }) => ({ q, concepts: [[q, ...(also ?? [])]], categories: topicCategories(q) })),
    ),
  ];
  const counters = new Map<string, number>();
  return drafts.map((d) => {
    const n = (counters.get(d.class) ?? 0) + 1;
    counters.set(d.class, n);
    return { id: `${d.class}-${String(n).padStart(2, '0')}`, ...d };
  });
}

/** judged.json as written: one query per line block, stable key order. */
export function serializeJudged(judged: JudgedQuery[]): string {
  return '[\n' + judged.map((j) => '  ' + JSON.stringify(j)).join(',\n') + '\n]\n';
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const judged = makeJudged(syntheticSearchDocs(JUDGED_CATALOG.apps, JUDGED_CATALOG.seed));
  writeFileSync(JUDGED_PATH, serializeJudged(judged));
  const counts = new Map<string, number>();
  for (const j of judged) counts.set(j.class, (counts.get(j.class) ?? 0) + 1);
  console.log(`${judged.length} judged queries → ${fileURLToPath(JUDGED_PATH)}`, Object.fromEntries(counts));
}
