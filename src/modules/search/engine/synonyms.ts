// Synonym groups: every term of a group is interchangeable with the others. Expansions are scored
// below the literal term (see SYNONYM_WEIGHT in engine.ts). Terms are analysed like any query term.
import { analyzeQuery } from './analysis.ts';

export const DEFAULT_SYNONYMS: string[][] = [
  ['photo', 'picture', 'image', 'pic', 'photograph'],
  ['video', 'movie', 'film'],
  ['game', 'gaming', 'games'],
  ['music', 'song', 'audio'],
  ['chat', 'messenger', 'messaging'],
  ['fitness', 'workout', 'exercise', 'gym'],
  ['notes', 'notepad', 'memo'],
  ['calculator', 'calc'],
  ['weather', 'forecast'],
  ['maps', 'navigation', 'gps'],
  ['podcast', 'podcasts'],
  ['todo', 'tasks', 'checklist'],
  ['budget', 'expense', 'spending'],
  ['recipe', 'cooking'],
  ['meditation', 'mindfulness'],
  ['diary', 'journal'],
  ['scanner', 'scan'],
  ['translate', 'translator', 'translation'],
  ['vpn', 'proxy'],
  ['tv', 'television'],
  ['ebook', 'ebooks', 'reader'],
  ['dating', 'date'],
  ['bank', 'banking'],
  ['taxi', 'cab', 'rideshare'],
];

/** term (analysed) → the other analysed terms of its groups. */
export function buildSynonymMap(extra: string[][] = []): Map<string, string[]> {
  const map = new Map<string, Set<string>>();
  for (const group of [...DEFAULT_SYNONYMS, ...extra]) {
    const terms = [...new Set(group.flatMap((t) => analyzeQuery(t).map((q) => q.forms[0])))];
    for (const t of terms) {
      let set = map.get(t);
      if (!set) map.set(t, (set = new Set()));
      for (const u of terms) if (u !== t) set.add(u);
    }
  }
  return new Map([...map].map(([k, v]) => [k, [...v]]));
}
