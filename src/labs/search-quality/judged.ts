// The judged query set: its shape, loading, and the text/filter helpers the judging rules use
// (make-judged.ts writes judged.json with them; the tests check judged.json with the same ones).
import { readFileSync } from 'node:fs';
import type { SearchDoc, SearchFilters } from '../../modules/search/index.ts';

export const QUERY_CLASSES = ['exact', 'partial', 'typo', 'synonym', 'developer', 'filtered', 'intent'] as const;
export type QueryClass = (typeof QUERY_CLASSES)[number];

export interface JudgedQuery {
  id: string; // "exact-01"
  class: QueryClass;
  q: string;
  filters?: SearchFilters;
  /** app id → grade 1..3 (3 = what the user is looking for); unlisted apps are not relevant. */
  relevant: Record<string, number>;
  /** Why these apps, in words (for reviewers). */
  note: string;
}

export const JUDGED_PATH = new URL('./judged.json', import.meta.url);

/** The catalog the judgments were made on: `syntheticSearchDocs(JUDGED_CATALOG.apps, JUDGED_CATALOG.seed)`. */
export const JUDGED_CATALOG = { apps: 100_000, seed: 42 } as const;

export function loadJudged(path: URL | string = JUDGED_PATH): JudgedQuery[] {
  return JSON.parse(readFileSync(path, 'utf8')) as JudgedQuery[];
}

// ---------------------------------------------------------------- text

/** Accents folded (é → e, ı → i), lower case. */
export const fold = (s: string) =>
  s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/ı/g, 'i')
    .toLowerCase();

const words = (s: string) => s.split(/[^a-z0-9]+/).filter(Boolean);

/**
 * Words of a name as a reader sees them: "HabitPal" → habit, pal, habitpal; "1Weather" → 1, weather,
 * 1weather; "weather.io" → weather, io; "Café Crème" → cafe, creme.
 */
export function nameTokens(name: string): Set<string> {
  const ascii = name
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/ı/g, 'i');
  const split = ascii
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/([A-Za-z])(\d)/g, '$1 $2')
    .replace(/(\d)([A-Za-z])/g, '$1 $2');
  return new Set([...words(ascii.toLowerCase()), ...words(split.toLowerCase())]);
}

/** Plain words of a text, folded (no camel-case splitting): for queries, subtitles and keywords. */
export const textTokens = (s: string) => words(fold(s));

/** The whole name, folded, words joined by one space: "Lumo: Sleep Sounds" → "lumo sleep sounds". */
export const normalizedName = (name: string) => textTokens(name).join(' ');

/** A word and its simple plural/singular forms: recipe ↔ recipes, match ↔ matches. */
export function wordForms(word: string): string[] {
  const w = fold(word);
  const forms = new Set([w, w + 's', w + 'es']);
  if (w.length > 3 && w.endsWith('s')) forms.add(w.slice(0, -1));
  if (w.length > 4 && w.endsWith('es')) forms.add(w.slice(0, -2));
  return [...forms];
}

// ---------------------------------------------------------------- filters

const AGE_ORDER: SearchDoc['ageRating'][] = ['4+', '9+', '13+', '16+', '18+'];

/** Whether an app satisfies the search filters (the same semantics as SearchFilters documents). */
export function matchesFilters(doc: SearchDoc, f: SearchFilters | undefined): boolean {
  if (!f) return true;
  if (f.category !== undefined && doc.category !== f.category) return false;
  if (f.subcategory !== undefined && doc.subcategory !== f.subcategory) return false;
  if (f.price === 'free' && !doc.isFree) return false;
  if (f.price === 'paid' && doc.isFree) return false;
  if (f.minRating !== undefined && doc.ratingAverage < f.minRating) return false;
  if (f.maxAgeRating !== undefined && AGE_ORDER.indexOf(doc.ageRating) > AGE_ORDER.indexOf(f.maxAgeRating)) return false;
  if (f.country !== undefined && doc.countries !== null && !doc.countries.includes(f.country)) return false;
  return true;
}
