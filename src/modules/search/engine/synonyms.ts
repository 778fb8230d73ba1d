// Synonym groups: every term of a group is interchangeable with the others. Expansions are scored
// below the literal term (see SYNONYM_WEIGHT in engine.ts). Terms are analysed like any query term.
// A group may hold phrases ("airline tickets", "to do list"): typed as consecutive query words, a
// phrase stands for the group's single words (the index has no positions, so a phrase is only ever
// expanded, never searched for).
import { analyzeQuery } from './analysis.ts';

export const DEFAULT_SYNONYMS: string[][] = [
  // media
  ['photo', 'picture', 'image', 'pic', 'photograph'],
  ['editor', 'edit', 'editing', 'retouch'],
  ['movie', 'film', 'cinema', 'flix'],
  ['video', 'movie'],
  ['game', 'gaming', 'games'],
  ['music', 'song', 'audio'],
  ['podcast', 'podcasts'],
  ['tv', 'television'],
  ['ebook', 'ebooks', 'reader'],
  ['audiobook', 'audiobooks', 'audible'],
  ['sketch', 'doodle', 'draw', 'drawing'],
  // communication
  ['chat', 'messenger', 'messaging', 'message'],
  ['dating', 'date'],
  // productivity
  ['notes', 'notepad', 'memo', 'note taking'],
  ['calculator', 'calc'],
  ['password', 'passcode', 'password manager'],
  ['todo', 'tasks', 'checklist', 'to do', 'to do list', 'todo list', 'task list'],
  ['diary', 'journal'],
  ['scanner', 'scan'],
  ['translate', 'translator', 'translation'],
  ['vpn', 'proxy'],
  ['flashlight', 'torch'],
  // health
  ['fitness', 'workout', 'exercise', 'gym', 'fit', 'training'],
  ['meditation', 'mindfulness'],
  ['doctor', 'physician'],
  ['medicine', 'medication', 'med', 'meds', 'pill', 'dose', 'rx', 'pharmacy'],
  // money and shopping
  ['budget', 'expense', 'spending', 'spend'],
  ['bank', 'banking'],
  ['coupon', 'voucher', 'discount', 'deals'],
  // travel and places
  ['weather', 'forecast'],
  ['maps', 'navigation', 'gps', 'satnav', 'navigate', 'map', 'route', 'directions'],
  ['taxi', 'cab', 'rideshare'],
  ['hotel', 'lodging', 'motel'],
  ['flight', 'airline', 'airfare', 'fly', 'jet', 'airline tickets', 'plane tickets', 'flight tickets', 'cheap flights'],
  // food, family, sports
  ['recipe', 'cookbook'],
  ['kids', 'kid', 'children', 'child', 'toddler', 'baby'],
  ['soccer', 'football'],
];

export interface SynonymMap {
  /** analysed term → the other single-word terms of its groups */
  terms: Map<string, string[]>;
  /** analysed phrase (words joined by one space) → the single-word terms of its groups */
  phrases: Map<string, string[]>;
  /** most words in a phrase */
  longestPhrase: number;
  /** first words of phrases */
  phraseStarts: Set<string>;
}

export function buildSynonymMap(extra: string[][] = []): SynonymMap {
  const terms = new Map<string, Set<string>>();
  const phrases = new Map<string, Set<string>>();
  let longestPhrase = 0;
  const add = (map: Map<string, Set<string>>, key: string, words: string[]) => {
    let set = map.get(key);
    if (!set) map.set(key, (set = new Set()));
    for (const w of words) if (w !== key) set.add(w);
  };
  for (const group of [...DEFAULT_SYNONYMS, ...extra]) {
    const analysed = group.map((t) => analyzeQuery(t).map((q) => q.forms[0])).filter((a) => a.length);
    const words = [...new Set(analysed.filter((a) => a.length === 1).map((a) => a[0]))];
    for (const w of words) add(terms, w, words);
    for (const a of analysed) {
      if (a.length < 2) continue;
      add(phrases, a.join(' '), words);
      longestPhrase = Math.max(longestPhrase, a.length);
    }
  }
  const flat = (m: Map<string, Set<string>>) => new Map([...m].map(([k, v]) => [k, [...v]]));
  const phraseStarts = new Set([...phrases.keys()].map((p) => p.slice(0, p.indexOf(' '))));
  return { terms: flat(terms), phrases: flat(phrases), longestPhrase, phraseStarts };
}
