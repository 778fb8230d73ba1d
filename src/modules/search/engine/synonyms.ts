// Synonym groups: every term of a group is interchangeable with the others. Expansions are scored
// below the literal term (see SYNONYM_WEIGHT in engine.ts). Terms are analysed like any query term.
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
  ['notes', 'notepad', 'memo'],
  ['calculator', 'calc'],
  ['todo', 'tasks', 'checklist'],
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
  ['flight', 'airline', 'airfare', 'fly', 'jet'],
  // food, family, sports
  ['recipe', 'cookbook', 'cooking'],
  ['kids', 'kid', 'children', 'child', 'toddler', 'baby'],
  ['soccer', 'football'],
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
