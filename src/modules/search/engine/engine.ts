// The in-memory search engine. Layout:
//
//  base segment (immutable, typed arrays; what snapshots hold)
//    terms        sorted UTF-8 term dictionary (bytes + offsets), binary-searched and walked for typos
//    postStart    term t's postings are [postStart[t], postStart[t+1]) of
//    postDocs     Uint32 doc ids, ascending per term
//    postImp      Uint8 quantised BM25F impact: score = postImp × termMax[t] / 255
//    postMid      each term's postings in two tiers, each in doc order: impact ≥ TIER_SPLIT (the term in a
//                 name, keywords, developer …) first, then the rest; the tiers are separate clauses so the
//                 low tier's small bound lets block-max skip most of it for multi-word queries
//    blockMax     Uint8 max impact per block of 64 postings (block-max pruning), blocks of t from blockStart[t]
//    namePost*    the subset of each term's postings where the term is in the doc's name (no impacts: a
//                 name match is scored by the doc's static quality), with per-block quality maxima
//  delta segment (mutable): per-term JS arrays of (doc, float score) and name docs for docs upserted since the last merge;
//    replaced/removed docs are tombstoned (flag bit) and skipped while iterating postings.
//  per-doc columns (growable typed arrays over base + delta doc ids): category, subcategory, flags
//    (free, tombstone), age rating, rating, quality, country-list id; plus id/name/bundle id blobs,
//    a forward list of each doc's TOP_TERMS most distinctive terms (similar()), and sorted lookups
//    (id → doc, hash(normalised name) → docs, hash(bundle id) → docs, sorted normalised names).
//  No description or SearchDoc is retained.
//
// Query: analyse → per query token a "group" of clauses (literal forms and their synonyms at
// SYNONYM_WEIGHT; with expansion also, for rare/absent terms that have no synonyms, typo candidates at
// FUZZY_WEIGHT[edits]); a group scores the max of its clauses, a doc the sum of its groups. Synonyms
// always join name retrieval (an app may be named with the synonym rather than the typed word); they
// join text retrieval, like typo candidates, only when the literal words don't fill the re-rank pool.
// All-terms retrieval (conjunctive, block-max skipping) first; when nothing matches every word, the
// docs matching the largest subsets of the words (partial matches). A category filter's doc list can
// lead the intersection; all filters are checked per candidate doc while iterating postings.
// Alongside, name retrieval (retrieveNames()) collects the best-quality docs whose names hold every
// query word. Those and the exact-name/bundle matches join the text matches in the pool, which is
// re-ranked with quality (see rerank()).
import { analyzeField, analyzeQuery, normalizeName, normalizePrefix, DESCRIPTION_STOP_WORDS, type QueryToken } from './analysis.ts';
import { allowedEdits, editDistance, levenshteinWalk, type SortedTerms } from './fuzzy.ts';
import { rebuildLookups } from './lookups.ts';
import { buildSynonymMap, type SynonymMap } from './synonyms.ts';
import type { EngineOptions, MatchMode, SearchDoc, SearchEngine, SearchFilters, SearchHit, SearchOptions, SearchResult, Suggestion } from './types.ts';

export const AGE_ORDER: SearchDoc['ageRating'][] = ['4+', '9+', '13+', '16+', '18+'];
const FIELDS = ['name', 'developer', 'description', 'keywords'] as const;
const K1 = 1.2;
const FIELD_B = [0.5, 0.3, 0.75, 0.5]; // per-field length normalisation strength
export const SYNONYM_WEIGHT = 0.8;
export const FUZZY_WEIGHT = [1, 0.5, 0.35]; // by edit distance
/** A query term whose document frequency is below this is "rare": typo candidates are added. */
const FUZZY_RARE_DF = 3;
const MAX_FUZZY_CANDIDATES = 3;
const RERANK_POOL = Number(process.env.POOL ?? 100);
/** How many of the best-quality name matches join the re-rank pool (see retrieveNames()). */
const NAME_POOL = Number(process.env.NPOOL ?? 100);
/** Partial matching tries at most this many word subsets. */
const MAX_PARTIAL_SUBSETS = 16;
/** An exact-name match is navigational only when at most this many names in the pool contain the query's words. */
const NAVIGATIONAL_MAX_NAMES = 10;
/** Share of the text score in the name tier's re-rank score (the rest is quality). */
const NAME_TIER_TEXT = 0.1;
/** When at least this many pool names contain the typed words themselves, they rank above synonym-only names. */
const LITERAL_NAME_MIN = 10;
/** Company-form suffixes a developer query may leave out (matched against the rest of a normalised name). */
const LEGAL_SUFFIX = /^ (inc|llc|ltd|limited|corp|corporation|co|gmbh|ag|sa|sas|sarl|bv|nv|oy|ab|as|aps|kk|srl|spa|pty|plc|sro)$/;
/** Impacts at or above this are the high tier of a term's postings (see postMid). */
export const TIER_SPLIT = 128;
const BLOCK = 64;
const BLOCK_SHIFT = 6;
export const TOP_TERMS = 8;
const F_FREE = 1;
export const F_TOMB = 2;
const HIT_FUZZY = 1;
const HIT_SYNONYM = 2;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Strings stored as one UTF-8 buffer + offsets. */
export interface Blob {
  bytes: Uint8Array;
  offsets: Uint32Array;
}
export function blobGet(b: Blob, i: number): string {
  return dec.decode(b.bytes.subarray(b.offsets[i], b.offsets[i + 1]));
}
export function makeBlob(strings: ArrayLike<string>, count = strings.length): Blob {
  let total = 0;
  for (let i = 0; i < count; i++) total += Buffer.byteLength(strings[i]);
  const buf = Buffer.allocUnsafe(total);
  const offsets = new Uint32Array(count + 1);
  let o = 0;
  for (let i = 0; i < count; i++) {
    offsets[i] = o;
    o += buf.write(strings[i], o);
  }
  offsets[count] = o;
  return { bytes: new Uint8Array(buf.buffer, buf.byteOffset, total), offsets };
}
function compareBytes(q: Uint8Array, bytes: Uint8Array, s: number, e: number): number {
  const n = Math.min(q.length, e - s);
  for (let i = 0; i < n; i++) {
    const d = q[i] - bytes[s + i];
    if (d) return d;
  }
  return q.length - (e - s);
}
/** FNV-1a over UTF-16 code units. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Static quality in [0,1] used by the re-rank (computed once per doc at index time):
 *   bayes  = (C·M + n·r) / (C + n) / 5        Bayesian rating, C = 10 pseudo-ratings at M = 3.5
 *   volume = min(1, ln(1+ratingCount) / ln(1+1e6))
 *   reach  = min(1, ln(1+downloads)   / ln(1+1e8))
 *   quality = 0.25·bayes + 0.2·volume + 0.45·reach + 0.1·engagement
 * Reach weighs most: among apps that match a query equally well, the ones people actually install are
 * what searchers are looking for (the smoothed rating keeps a well-installed bad app from winning).
 */
export function quality(doc: Pick<SearchDoc, 'ratingAverage' | 'ratingCount' | 'downloads' | 'engagement'>): number {
  const n = Math.max(0, doc.ratingCount || 0);
  const bayes = (10 * 3.5 + n * (doc.ratingAverage || 0)) / (10 + n) / 5;
  const volume = Math.min(1, Math.log1p(n) / Math.log1p(1e6));
  const reach = Math.min(1, Math.log1p(Math.max(0, doc.downloads || 0)) / Math.log1p(1e8));
  const eng = Math.min(1, Math.max(0, doc.engagement || 0));
  return 0.25 * bayes + 0.2 * volume + 0.45 * reach + 0.1 * eng;
}

interface Clause {
  docs: Uint32Array;
  imp: Uint8Array | Float32Array;
  start: number;
  pos: number;
  end: number;
  scale: number; // score = imp[i] * scale
  ub: number;
  flag: number; // HIT_* bits this clause contributes
  bm: Uint8Array | null; // block maxima (base clauses)
  bmOff: number;
  grid: number; // where the term's block grid starts: block of pos = bmOff + ((pos - grid) >> BLOCK_SHIFT)
  termLen: number; // the term's postings (all tiers)
}
/** A term's name postings: docs with the term in their name, scored by quality[doc]. */
interface NameClause {
  docs: Uint32Array;
  start: number;
  pos: number;
  end: number;
  flag: number;
  q8: Uint8Array | null; // namePostQ (base), null for the delta
}
interface Group {
  clauses: Clause[];
  names?: NameClause[];
  ub: number;
  len: number;
  /** Every term the group matches (literal forms, synonyms, typo candidates): the name-match test of rerank(). */
  terms?: Set<string>;
  /** The token's literal forms (the typed word itself). */
  literal?: string[];
}
/** A query token; a synonym phrase's token carries its group's words as expansions. */
interface Token extends QueryToken {
  expansions?: string[];
}
interface DeltaPostings {
  docs: number[];
  scores: number[];
  max: number;
  cache: { docs: Uint32Array; imp: Float32Array; names: Uint32Array } | null;
  names: number[]; // the docs with the term in their name
}

/** Bounded min-heap of (score, doc, flags). */
export class TopK {
  size = 0;
  readonly score: Float64Array;
  readonly doc: Uint32Array;
  readonly flag: Uint8Array;
  constructor(readonly k: number) {
    this.score = new Float64Array(k);
    this.doc = new Uint32Array(k);
    this.flag = new Uint8Array(k);
  }
  get full(): boolean {
    return this.size === this.k;
  }
  get threshold(): number {
    return this.size === this.k ? this.score[0] : 0;
  }
  /** Lower score is "worse"; on equal score, literal beats fuzzy/synonym, then lower doc id wins. */
  private worse(i: number, j: number): boolean {
    const a = this.score[i],
      b = this.score[j];
    if (a !== b) return a < b;
    if (this.flag[i] !== this.flag[j]) return this.flag[i] > this.flag[j];
    return this.doc[i] > this.doc[j];
  }
  push(score: number, doc: number, flag: number): void {
    if (this.size < this.k) {
      let i = this.size++;
      this.score[i] = score;
      this.doc[i] = doc;
      this.flag[i] = flag;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!this.worse(i, p)) break;
        this.swap(i, p);
        i = p;
      }
      return;
    }
    const s0 = this.score[0];
    if (score < s0 || (score === s0 && (flag > this.flag[0] || (flag === this.flag[0] && doc > this.doc[0])))) return;
    this.score[0] = score;
    this.doc[0] = doc;
    this.flag[0] = flag;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1,
        r = l + 1;
      let m = i;
      if (l < this.size && this.worse(l, m)) m = l;
      if (r < this.size && this.worse(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
  }
  private swap(i: number, j: number): void {
    const s = this.score[i];
    this.score[i] = this.score[j];
    this.score[j] = s;
    const d = this.doc[i];
    this.doc[i] = this.doc[j];
    this.doc[j] = d;
    const f = this.flag[i];
    this.flag[i] = this.flag[j];
    this.flag[j] = f;
  }
}

function advance(c: Clause, target: number): void {
  const docs = c.docs,
    end = c.end;
  let lo = c.pos;
  if (lo >= end || docs[lo] >= target) return;
  let step = 1;
  let hi = lo + 1;
  while (hi < end && docs[hi] < target) {
    lo = hi;
    step *= 2;
    hi = Math.min(end, lo + step);
  }
  let a = lo + 1,
    b = hi;
  while (a < b) {
    const m = (a + b) >>> 1;
    if (docs[m] < target) a = m + 1;
    else b = m;
  }
  c.pos = a;
}
const INF = 0xffffffff;
/** Of two clause flags for the same doc, the better match: literal, then synonym, then typo. */
function betterFlag(a: number, b: number): number {
  return a === 0xff || flagRank(b) < flagRank(a) ? b : a;
}
function flagRank(f: number): number {
  return f === 0 ? 0 : f & HIT_FUZZY ? 2 : 1;
}
function gallop(c: NameClause, target: number): void {
  const docs = c.docs,
    end = c.end;
  let lo = c.pos;
  if (lo >= end || docs[lo] >= target) return;
  let step = 1,
    hi = lo + 1;
  while (hi < end && docs[hi] < target) {
    lo = hi;
    step *= 2;
    hi = Math.min(end, lo + step);
  }
  let a = lo + 1,
    b = hi;
  while (a < b) {
    const m = (a + b) >>> 1;
    if (docs[m] < target) a = m + 1;
    else b = m;
  }
  c.pos = a;
}
function containsDoc(c: NameClause, d: number): boolean {
  let a = c.start,
    b = c.end;
  while (a < b) {
    const m = (a + b) >>> 1;
    if (c.docs[m] < d) a = m + 1;
    else b = m;
  }
  return a < c.end && c.docs[a] === d;
}
/** A doc of the re-rank pool and its tiers. */
interface Ranked {
  d: number;
  text: number;
  flag: number;
  exact: boolean;
  name: boolean;
  literalName: boolean;
  nav: boolean;
  byDeveloper: boolean;
  score: number;
}
/** The size-k subsets of items, in lexicographic order of positions. */
function* combinations<T>(items: T[], k: number): Generator<T[]> {
  const idx = Array.from({ length: k }, (_, i) => i);
  for (;;) {
    yield idx.map((i) => items[i]);
    let i = k - 1;
    while (i >= 0 && idx[i] === items.length - k + i) i--;
    if (i < 0) return;
    idx[i]++;
    for (let j = i + 1; j < k; j++) idx[j] = idx[j - 1] + 1;
  }
}
let zeroImpacts = new Float32Array(0);
/** A shared all-zero impact array of at least n entries (for zero-score clauses). */
function zeros(n: number): Float32Array {
  if (zeroImpacts.length < n) zeroImpacts = new Float32Array(Math.max(n, zeroImpacts.length * 2));
  return zeroImpacts;
}
const nameLen = (g: Group) => {
  let n = 0;
  for (const c of g.names ?? []) n += c.end - c.pos;
  return n;
};
const cur = (c: Clause) => (c.pos < c.end ? c.docs[c.pos] : INF);

/** Upper bound of a group's score over docs in [lo, hi]: max block maxima of the blocks overlapping it. -1: no posting ≥ lo. */
function rangeUB(g: Group, lo: number, hi: number): number {
  let gub = -1;
  for (let i = 0; i < g.clauses.length; i++) {
    const c = g.clauses[i];
    advance(c, lo);
    if (c.pos >= c.end) continue;
    if (!c.bm) {
      if (c.ub > gub) gub = c.ub;
      continue;
    }
    if (c.docs[c.pos] > hi) continue; // nothing of this clause in range
    let bi = (c.pos - c.grid) >> BLOCK_SHIFT;
    let m = 0;
    for (;;) {
      const b = c.bm[c.bmOff + bi];
      if (b > m) m = b;
      const next = c.grid + ((bi + 1) << BLOCK_SHIFT);
      if (next >= c.end || c.docs[next] > hi) break;
      bi++;
    }
    const v = m * c.scale;
    if (v > gub) gub = v;
  }
  return gub;
}

/**
 * Block-max skipping over groups[from..]: the best those groups can score for any doc up to the
 * smallest current block end is Σ(group max of block maxima); if that plus `rest` can't beat the
 * threshold, every cursor jumps past that doc. Returns whether it skipped.
 */
let lastBlockEnd = 0; // blockSkip's block range end when it didn't skip
function blockSkip(groups: Group[], from: number, rest: number, th: number): boolean {
  let ub = rest;
  let skipTo = INF;
  lastBlockEnd = 0;
  for (let g = from; g < groups.length; g++) {
    let gub = 0;
    const cs = groups[g].clauses;
    for (let i = 0; i < cs.length; i++) {
      const c = cs[i];
      if (c.pos >= c.end) continue;
      let b: number, last: number;
      if (c.bm) {
        const bi = (c.pos - c.grid) >> BLOCK_SHIFT;
        b = c.bm[c.bmOff + bi] * c.scale;
        last = c.docs[Math.min(c.end, c.grid + ((bi + 1) << BLOCK_SHIFT)) - 1];
      } else {
        b = c.ub;
        last = c.docs[c.end - 1];
      }
      if (b > gub) gub = b;
      if (last < skipTo) skipTo = last;
    }
    ub += gub;
    if (ub > th) {
      lastBlockEnd = skipTo === INF ? 0 : skipTo;
      return false;
    }
  }
  if (skipTo === INF) return false;
  for (let g = from; g < groups.length; g++) for (const c of groups[g].clauses) advance(c, skipTo + 1);
  return true;
}

/** Everything a snapshot holds (and a build produces). */
export interface EngineState {
  terms: SortedTerms;
  postStart: Uint32Array;
  postDocs: Uint32Array;
  postImp: Uint8Array;
  postMid: Uint32Array; // term t's postings are two tiers, each in doc order: impact ≥ TIER_SPLIT in [postStart[t], postMid[t]), the rest after
  blockStart: Uint32Array;
  blockMax: Uint8Array;
  termMax: Float32Array;
  // name postings: term t's docs with t in their name are namePostDocs[namePostStart[t], namePostStart[t+1]);
  // they are scored by the doc's static quality, kept beside each posting as ceil(quality × 255) in
  // namePostQ so that most postings are passed over without touching the (random-access) quality column
  namePostStart: Uint32Array;
  namePostDocs: Uint32Array;
  namePostQ: Uint8Array;
  baseN: number;
  n: number;
  live: number;
  cat: Uint16Array;
  sub: Uint16Array;
  flags: Uint8Array;
  age: Uint8Array;
  rating: Float32Array;
  quality: Float32Array;
  ctry: Uint32Array;
  dev: Uint32Array; // index into developers
  ids: Blob;
  names: Blob;
  bundles: Blob;
  topTerms: Uint32Array; // baseN × TOP_TERMS, term index + 1 (0 = none)
  fieldSum: Float64Array; // total length per field over indexed docs
  fieldDocs: number;
  categories: string[];
  subcategories: string[]; // [0] = '' (none)
  countryLists: (string[] | null)[]; // [0] = null (everywhere)
  developers: string[]; // developer names as given
  queries: [string, number][];
  // lookups (rebuilt on build/merge, stored in snapshots)
  idOrder: Uint32Array; // live base docs sorted by id
  nameKeys: Uint32Array;
  nameDocs: Uint32Array; // hash(normalised name) sorted
  bundleKeys: Uint32Array;
  bundleDocs: Uint32Array; // hash(lowercased bundle id) sorted
  sugNames: Blob;
  sugDocs: Uint32Array; // normalised names, sorted
}

export class Engine implements SearchEngine {
  s: EngineState;
  private readonly boosts: number[];
  private readonly synonyms: SynonymMap;
  private devIndex = new Map<string, number>(); // developer name → index into s.developers
  private devNormCache: string[] = []; // developer index → normalised name, filled on use
  private catIndex = new Map<string, number>();
  private subIndex = new Map<string, number>();
  private ctryIndex = new Map<string, number>();
  private queries = new Map<string, number>();
  // delta segment
  private delta = new Map<string, DeltaPostings>();
  private deltaIds: string[] = [];
  private deltaNames: string[] = [];
  private deltaBundles: string[] = [];
  private deltaNorm: string[] = [];
  private deltaTop: string[][] = [];
  private deltaIdMap = new Map<string, number>();
  private deltaNameHash = new Map<number, number[]>();
  private deltaBundleHash = new Map<number, number[]>();
  /** Merge the delta into the base once it holds this many docs. */
  mergeThreshold: number;

  constructor(state: EngineState, options: EngineOptions = {}) {
    this.s = state;
    const b = options.boosts ?? {};
    this.boosts = [b.name ?? 3, b.developer ?? 2, b.description ?? 1, b.keywords ?? 1];
    this.synonyms = buildSynonymMap(options.synonyms);
    state.categories.forEach((c, i) => this.catIndex.set(c, i));
    state.subcategories.forEach((c, i) => this.subIndex.set(c, i));
    state.countryLists.forEach((l, i) => this.ctryIndex.set(l ? l.join(',') : '', i));
    state.developers.forEach((name, i) => this.devIndex.set(name, i));
    for (const [q, c] of state.queries) this.queries.set(q, c);
    this.mergeThreshold = Math.max(20_000, Math.floor(state.baseN / 20));
  }

  get size(): number {
    return this.s.live;
  }
  get boostsVector(): number[] {
    return this.boosts;
  }

  // ---------------------------------------------------------------- dictionary
  /** Base term index of `term`, or -1. */
  termIndex(term: string | Uint8Array): number {
    const q = typeof term === 'string' ? enc.encode(term) : term;
    const { bytes, offsets, count } = this.s.terms;
    let lo = 0,
      hi = count - 1;
    while (lo <= hi) {
      const m = (lo + hi) >>> 1;
      const c = compareBytes(q, bytes, offsets[m], offsets[m + 1]);
      if (c === 0) return m;
      if (c < 0) hi = m - 1;
      else lo = m + 1;
    }
    return -1;
  }
  termString(t: number): string {
    const { bytes, offsets } = this.s.terms;
    return dec.decode(bytes.subarray(offsets[t], offsets[t + 1]));
  }
  /** Live-ish document frequency (base postings incl. tombstones + delta postings). */
  df(term: string): number {
    const t = this.termIndex(term);
    const base = t < 0 ? 0 : this.s.postStart[t + 1] - this.s.postStart[t];
    return base + (this.delta.get(term)?.docs.length ?? 0);
  }

  /** The term's text clauses into `out` (unless null), its name clauses into `names` (if given). */
  private clausesFor(term: string, weight: number, flag: number, out: Clause[] | null, names?: NameClause[]): void {
    const s = this.s;
    const t = this.termIndex(term);
    if (t >= 0 && s.postStart[t + 1] > s.postStart[t]) {
      const scale = (weight * s.termMax[t]) / 255;
      const st = s.postStart[t],
        mid = s.postMid[t],
        en = s.postStart[t + 1];
      // the high tier and the low tier as two clauses: the low one's bound is far below the term's
      const tier = (a: number, b: number, ub: number) =>
        out?.push({
          docs: s.postDocs,
          imp: s.postImp,
          start: a,
          pos: a,
          end: b,
          scale,
          ub,
          flag,
          bm: s.blockMax,
          bmOff: s.blockStart[t],
          grid: st,
          termLen: en - st,
        });
      if (mid > st) tier(st, mid, scale * 255);
      if (en > mid) tier(mid, en, mid > st ? scale * (TIER_SPLIT - 1) : scale * 255);
      if (names && s.namePostStart[t + 1] > s.namePostStart[t]) {
        names.push({ docs: s.namePostDocs, start: s.namePostStart[t], pos: s.namePostStart[t], end: s.namePostStart[t + 1], flag, q8: s.namePostQ });
      }
    }
    const d = this.delta.get(term);
    if (d && d.docs.length) {
      if (!d.cache) d.cache = { docs: Uint32Array.from(d.docs), imp: Float32Array.from(d.scores), names: Uint32Array.from(d.names) };
      out?.push({
        docs: d.cache.docs,
        imp: d.cache.imp,
        start: 0,
        pos: 0,
        end: d.docs.length,
        scale: weight,
        ub: weight * d.max * 1.0001,
        flag,
        bm: null,
        bmOff: 0,
        grid: 0,
        termLen: d.docs.length,
      });
      if (names && d.names.length) names.push({ docs: d.cache.names, start: 0, pos: 0, end: d.names.length, flag, q8: null });
    }
  }

  /** Typo candidates for a term: [term, distance, df] best first. */
  fuzzyCandidates(term: string, max = allowedEdits(term)): [string, number, number][] {
    if (!max) return [];
    const out: [string, number, number][] = [];
    const q = enc.encode(term);
    levenshteinWalk(this.s.terms, q, max, (t, dist) => {
      if (dist === 0 || t < 0) return;
      const df = this.s.postStart[t + 1] - this.s.postStart[t];
      if (df > 0) out.push([this.termString(t), dist, df]);
    });
    for (const [dt, p] of this.delta) {
      if (dt === term || this.termIndex(dt) >= 0) continue;
      const dist = editDistance(term, dt, max);
      if (dist <= max && p.docs.length) out.push([dt, dist, p.docs.length]);
    }
    out.sort((a, b) => a[1] - b[1] || b[2] - a[2] || (a[0] < b[0] ? -1 : 1));
    return out.slice(0, MAX_FUZZY_CANDIDATES);
  }

  /**
   * The clauses of one query token: its literal forms and their synonyms (always: a synonym is a
   * known word for the same thing, and may be what the names use), and with `expand`, if the token
   * is rare and no known synonym word, typo candidates.
   */
  private buildGroup(tok: Token, corrections: Record<string, string>, expand: boolean): Group {
    const clauses: Clause[] = [];
    const names: NameClause[] = [];
    const seen = new Set<string>();
    let literalDf = 0;
    for (const f of tok.forms) {
      if (seen.has(f)) continue;
      seen.add(f);
      this.clausesFor(f, 1, 0, clauses, names);
      literalDf += this.df(f);
    }
    let hasSynonyms = false;
    for (const syns of tok.expansions ? [tok.expansions] : tok.forms.map((f) => this.synonyms.terms.get(f) ?? [])) {
      for (const syn of syns) {
        hasSynonyms = true;
        if (seen.has(syn)) continue;
        seen.add(syn);
        // in names always (an app may be named with the synonym); in text only when expanding
        this.clausesFor(syn, SYNONYM_WEIGHT, HIT_SYNONYM, expand || !tok.forms.length ? clauses : null, names);
      }
    }
    if (expand && !hasSynonyms && literalDf < FUZZY_RARE_DF && !DESCRIPTION_STOP_WORDS.has(tok.text)) {
      // walk with the stemmed form and the typed form (cactos → stem "cacto", typed "cactos" ~ cactus)
      const max = allowedEdits(tok.text);
      const best = new Map<string, [string, number, number]>();
      // one edit first; the (much wider) two-edit walk only when one edit finds nothing
      for (let edits = Math.min(1, max); edits <= max && !best.size; edits++) {
        for (const q of new Set([tok.forms[0], tok.text.replace(/[&+']/g, '')])) {
          for (const c of this.fuzzyCandidates(q, edits)) {
            const prev = best.get(c[0]);
            if (!prev || c[1] < prev[1]) best.set(c[0], c);
          }
        }
      }
      const cands = [...best.values()].sort((a, b) => a[1] - b[1] || b[2] - a[2] || (a[0] < b[0] ? -1 : 1)).slice(0, MAX_FUZZY_CANDIDATES);
      for (const [t, dist] of cands) {
        if (seen.has(t)) continue;
        seen.add(t);
        this.clausesFor(t, FUZZY_WEIGHT[dist], HIT_FUZZY, clauses, names);
      }
      if (literalDf === 0 && cands.length) corrections[tok.text] = cands[0][0];
    }
    let ub = 0,
      len = 0;
    for (const c of clauses) {
      ub = Math.max(ub, c.ub);
      len += c.end - c.start;
    }
    return { clauses, names, ub, len, terms: seen, literal: tok.forms };
  }

  // ---------------------------------------------------------------- filters
  /** Docs by category (ascending), built on the first category-filtered query and appended to by upserts. */
  private catLists: { docs: Uint32Array; len: number }[] | null = null;

  private categoryGroup(category: string): Group | null {
    const c = this.catIndex.get(category);
    if (c === undefined) return null;
    if (!this.catLists) {
      const s = this.s;
      const counts = new Uint32Array(s.categories.length);
      for (let d = 0; d < s.n; d++) counts[s.cat[d]]++;
      this.catLists = Array.from(counts, (n) => ({ docs: new Uint32Array(Math.max(16, n)), len: 0 }));
      for (let d = 0; d < s.n; d++) {
        const l = this.catLists[s.cat[d]];
        l.docs[l.len++] = d;
      }
    }
    const list = this.catLists[c];
    if (!list) return null;
    const clause: Clause = {
      docs: list.docs,
      imp: zeros(list.len),
      start: 0,
      pos: 0,
      end: list.len,
      scale: 0,
      ub: 0,
      flag: 0,
      bm: null,
      bmOff: 0,
      grid: 0,
      termLen: list.len,
    };
    return { clauses: [clause], ub: 0, len: list.len };
  }

  private compileFilter(f: SearchFilters | undefined): ((d: number) => boolean) | null | false {
    if (!f) return null;
    const s = this.s;
    const checks: ((d: number) => boolean)[] = [];
    if (f.category !== undefined) {
      const c = this.catIndex.get(f.category);
      if (c === undefined) return false;
      const cat = s.cat;
      checks.push((d) => cat[d] === c);
    }
    if (f.subcategory !== undefined) {
      const c = this.subIndex.get(f.subcategory);
      if (c === undefined || c === 0) return false;
      const sub = s.sub;
      checks.push((d) => sub[d] === c);
    }
    if (f.price) {
      const want = f.price === 'free' ? F_FREE : 0;
      const flags = s.flags;
      checks.push((d) => (flags[d] & F_FREE) === want);
    }
    if (f.minRating !== undefined && f.minRating > 0) {
      const min = f.minRating,
        rating = s.rating;
      checks.push((d) => rating[d] >= min - 1e-6);
    }
    if (f.maxAgeRating) {
      const max = AGE_ORDER.indexOf(f.maxAgeRating);
      const age = s.age;
      if (max < AGE_ORDER.length - 1) checks.push((d) => age[d] <= max);
    }
    if (f.country) {
      const cc = f.country.toUpperCase();
      const ok = Uint8Array.from(s.countryLists, (l) => (l === null || l.includes(cc) ? 1 : 0));
      const ctry = s.ctry;
      checks.push((d) => ok[ctry[d]] === 1);
    }
    if (!checks.length) return null;
    if (checks.length === 1) return checks[0];
    return (d) => {
      for (let i = 0; i < checks.length; i++) if (!checks[i](d)) return false;
      return true;
    };
  }

  // ---------------------------------------------------------------- retrieval
  /**
   * All-terms retrieval: iterate the union of the most selective group's clauses in doc order,
   * skip whole blocks whose block-max + the other groups' upper bounds can't beat the heap
   * threshold, check tombstones and filters, then gallop the other groups to the doc (most
   * selective first), abandoning as soon as the remaining upper bounds can't reach the threshold.
   */
  private retrieveAll(groups: Group[], filter: ((d: number) => boolean) | null, heap: TopK, within: Group | null = null): number {
    // a category filter's doc list joins as a zero-score group: it leads when it is the shortest
    if (within) {
      within.clauses[0].pos = 0;
      groups = [...groups, within];
    }
    const qual = this.s.quality;
    const flags = this.s.flags;
    const order = [...groups].sort((a, b) => a.len - b.len);
    const lead = order[0];
    const others = order.slice(1);
    let restUB = 0;
    for (const g of others) restUB += g.ub;
    const lc = lead.clauses;
    const leadOnly = [lead];
    let count = 0;
    let checkedHi = -1; // the lead block range already checked (and not skippable)
    for (;;) {
      let d = INF;
      const full = heap.full;
      const th = heap.threshold;
      for (let i = 0; i < lc.length; i++) {
        const c = lc[i];
        // a lead clause's own block that can't reach the heap is passed over whatever the others do
        // (a doc's group score is its best clause: another clause holding the doc still finds it)
        if (full && c.bm) {
          while (c.pos < c.end && c.bm[c.bmOff + ((c.pos - c.grid) >> BLOCK_SHIFT)] * c.scale + restUB <= th) {
            c.pos = Math.min(c.end, c.grid + ((((c.pos - c.grid) >> BLOCK_SHIFT) + 1) << BLOCK_SHIFT));
          }
        }
        const x = cur(c);
        if (x < d) d = x;
      }
      if (d === INF) break;
      if (full && d > checkedHi) {
        // once per lead block range: lead block maxima + the other groups' block maxima over that range
        let hi = INF,
          lub = 0;
        for (const c of lc) {
          if (c.pos >= c.end) continue;
          const last = c.bm ? c.docs[Math.min(c.end, c.grid + ((((c.pos - c.grid) >> BLOCK_SHIFT) + 1) << BLOCK_SHIFT)) - 1] : c.docs[c.end - 1];
          if (last < hi) hi = last;
        }
        // the lead's best in [d, hi]: block maxima of the clauses that have a doc there
        for (const c of lc) {
          if (c.pos >= c.end || c.docs[c.pos] > hi) continue;
          const b = c.bm ? c.bm[c.bmOff + ((c.pos - c.grid) >> BLOCK_SHIFT)] * c.scale : c.ub;
          if (b > lub) lub = b;
        }
        let skip = lub + restUB <= heap.threshold;
        if (!skip) {
          let ub = lub,
            done = false;
          for (const g of others) {
            const r = rangeUB(g, d, hi);
            if (r < 0) {
              done = true;
              break;
            }
            ub += r;
            if (ub > heap.threshold) break;
          }
          if (done) break;
          skip = ub <= heap.threshold;
        }
        if (skip) {
          for (const c of lc) advance(c, hi + 1);
          continue;
        }
        checkedHi = hi;
      }
      let score = 0,
        flag = 0;
      for (let i = 0; i < lc.length; i++) {
        const c = lc[i];
        if (c.pos < c.end && c.docs[c.pos] === d) {
          const v = c.imp[c.pos] * c.scale;
          if (v > score || (v === score && c.flag < flag)) {
            score = v;
            flag = c.flag;
          }
          c.pos++;
        }
      }
      if (heap.full && score + restUB <= heap.threshold) continue;
      if (flags[d] & F_TOMB) continue; // (after the bound: the columns are random accesses)
      if (filter && !filter(d)) continue;
      let rem = restUB,
        ok = true;
      for (let gi = 0; gi < others.length; gi++) {
        const g = others[gi];
        let gs = 0,
          gf = 0,
          found = false;
        for (let i = 0; i < g.clauses.length; i++) {
          const c = g.clauses[i];
          advance(c, d);
          if (c.pos < c.end && c.docs[c.pos] === d) {
            const v = c.imp[c.pos] * c.scale;
            if (!found || v > gs || (v === gs && c.flag < gf)) {
              gs = v;
              gf = c.flag;
            }
            found = true;
          }
        }
        if (!found) {
          ok = false;
          break;
        }
        score += gs;
        flag |= gf;
        rem -= g.ub;
        if (heap.full && score + rem <= heap.threshold) {
          ok = false;
          break;
        } // can't rank: not verified, not counted
      }
      if (!ok) continue;
      count++;
      heap.push(score, d, flag);
    }
    return count;
  }

  /**
   * Name retrieval: the docs whose name has every query group (a literal word, synonym or typo
   * candidate of each), best static quality first — what the name tier of rerank() wants, found
   * without scoring text. Conjunctive over the name postings; since a doc's score is its quality
   * whichever clause matched, each lead clause passes over the postings whose stored quality bound
   * can't enter the heap, and only the rest are checked against the other groups.
   */
  private retrieveNames(groups: Group[], filter: ((d: number) => boolean) | null, heap: TopK): void {
    if (!groups.length || groups.some((g) => !g.names?.length)) return;
    const q = this.s.quality;
    const flags = this.s.flags;
    const order = [...groups].sort((a, b) => nameLen(a) - nameLen(b));
    const lead = order[0].names!;
    const others = order.slice(1).map((g) => g.names!);
    for (;;) {
      let d = INF;
      const th = heap.threshold;
      const th8 = heap.full ? th * 255 : -1;
      for (let i = 0; i < lead.length; i++) {
        const c = lead[i];
        const q8 = c.q8;
        if (q8) while (c.pos < c.end && q8[c.pos] <= th8) c.pos++;
        if (c.pos < c.end && c.docs[c.pos] < d) d = c.docs[c.pos];
      }
      if (d === INF) break;
      let flag = 0xff;
      for (let i = 0; i < lead.length; i++) {
        const c = lead[i];
        if (c.pos < c.end && c.docs[c.pos] === d) {
          flag = betterFlag(flag, c.flag);
          c.pos++;
        }
      }
      if (heap.full && q[d] <= th) continue;
      if (flags[d] & F_TOMB || (filter && !filter(d))) continue;
      let ok = true;
      for (let g = 0; g < others.length && ok; g++) {
        let gf = 0xff;
        for (const c of others[g]) {
          gallop(c, d);
          if (c.pos < c.end && c.docs[c.pos] === d) gf = betterFlag(gf, c.flag);
        }
        if (gf === 0xff) ok = false;
        else flag |= gf;
      }
      if (ok) heap.push(q[d], d, flag);
    }
  }

  /**
   * Any-terms retrieval with MaxScore: groups sorted by upper bound; the lowest-bound groups whose
   * bounds sum to ≤ threshold are "non-essential" — a doc found only in them can't enter the top-k,
   * so candidates come from the essential groups only and non-essential ones are galloped on demand.
   */
  private retrieveAny(groups: Group[], filter: ((d: number) => boolean) | null, heap: TopK, exclude = -1): number {
    const flags = this.s.flags;
    const gs = groups.filter((g) => g.clauses.length).sort((a, b) => a.ub - b.ub);
    const G = gs.length;
    const prefix = new Float64Array(G + 1); // prefix[i] = sum ub of gs[0..i)
    for (let i = 0; i < G; i++) prefix[i + 1] = prefix[i] + gs[i].ub;
    let ne = 0;
    let lastTh = -1;
    let count = 0;
    let checkedHi = -1;
    for (;;) {
      const th = heap.threshold;
      if (th !== lastTh) {
        lastTh = th;
        while (ne < G && heap.full && prefix[ne + 1] <= th) ne++;
        if (ne >= G) break;
      }
      let d = INF;
      for (let g = ne; g < G; g++)
        for (const c of gs[g].clauses) {
          const x = cur(c);
          if (x < d) d = x;
        }
      if (d === INF) break;
      if (heap.full && d > checkedHi) {
        if (blockSkip(gs, ne, prefix[ne], th)) continue;
        checkedHi = lastBlockEnd;
      }
      let score = 0,
        flag = 0;
      for (let g = ne; g < G; g++) {
        let best = 0,
          bf = 0,
          found = false;
        for (const c of gs[g].clauses) {
          if (c.pos < c.end && c.docs[c.pos] === d) {
            const v = c.imp[c.pos] * c.scale;
            if (!found || v > best || (v === best && c.flag < bf)) {
              best = v;
              bf = c.flag;
            }
            found = true;
            c.pos++;
          }
        }
        if (found) {
          score += best;
          flag |= bf;
        }
      }
      if (d === exclude || flags[d] & F_TOMB) continue;
      if (filter && !filter(d)) continue;
      count++;
      for (let g = ne - 1; g >= 0; g--) {
        if (heap.full && score + prefix[g + 1] <= heap.threshold) break;
        let best = 0,
          bf = 0,
          found = false;
        for (const c of gs[g].clauses) {
          advance(c, d);
          if (c.pos < c.end && c.docs[c.pos] === d) {
            const v = c.imp[c.pos] * c.scale;
            if (!found || v > best || (v === best && c.flag < bf)) {
              best = v;
              bf = c.flag;
            }
            found = true;
          }
        }
        if (found) {
          score += best;
          flag |= bf;
        }
      }
      heap.push(score, d, flag);
    }
    return count;
  }

  /** Text score of one doc (used for exact matches that missed the top-k pool). */
  private scoreDoc(d: number, groups: Group[]): { score: number; flag: number } {
    let score = 0,
      flag = 0;
    for (const g of groups) {
      let best = 0,
        bf = 0,
        found = false;
      for (const c of g.clauses) {
        let a = c.start,
          b = c.end;
        while (a < b) {
          const m = (a + b) >>> 1;
          if (c.docs[m] < d) a = m + 1;
          else b = m;
        }
        if (a < c.end && c.docs[a] === d) {
          const v = c.imp[a] * c.scale;
          if (!found || v > best) {
            best = v;
            bf = c.flag;
          }
          found = true;
        }
      }
      score += best;
      flag |= bf;
    }
    return { score, flag };
  }

  // ---------------------------------------------------------------- exact / intent
  private exactDocs(query: string): number[] {
    const out: number[] = [];
    const norm = normalizeName(query);
    const s = this.s;
    if (norm) {
      const h = hash32(norm);
      for (const d of this.hashLookup(s.nameKeys, s.nameDocs, this.deltaNameHash, h)) {
        if (!(s.flags[d] & F_TOMB) && normalizeName(this.name(d)) === norm) out.push(d);
      }
    }
    const bundle = query.trim().toLowerCase();
    if (bundle && !/\s/.test(bundle)) {
      for (const d of this.hashLookup(s.bundleKeys, s.bundleDocs, this.deltaBundleHash, hash32(bundle))) {
        if (!(s.flags[d] & F_TOMB) && this.bundle(d).toLowerCase() === bundle && !out.includes(d)) out.push(d);
      }
    }
    return out;
  }
  private hashLookup(keys: Uint32Array, docs: Uint32Array, delta: Map<number, number[]>, h: number): number[] {
    let a = 0,
      b = keys.length;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (keys[m] < h) a = m + 1;
      else b = m;
    }
    const out: number[] = [];
    for (let i = a; i < keys.length && keys[i] === h; i++) out.push(docs[i]);
    for (const d of delta.get(h) ?? []) out.push(d);
    return out;
  }

  id(d: number): string {
    return d < this.s.baseN ? blobGet(this.s.ids, d) : this.deltaIds[d - this.s.baseN];
  }
  name(d: number): string {
    return d < this.s.baseN ? blobGet(this.s.names, d) : this.deltaNames[d - this.s.baseN];
  }
  bundle(d: number): string {
    return d < this.s.baseN ? blobGet(this.s.bundles, d) : this.deltaBundles[d - this.s.baseN];
  }

  /** Internal doc id of a live app, or -1. */
  docOf(appId: string): number {
    const dd = this.deltaIdMap.get(appId);
    if (dd !== undefined) return this.s.flags[dd] & F_TOMB ? -1 : dd;
    const q = enc.encode(appId);
    const { idOrder, ids } = this.s;
    let a = 0,
      b = idOrder.length;
    while (a < b) {
      const m = (a + b) >>> 1;
      const d = idOrder[m];
      if (compareBytes(q, ids.bytes, ids.offsets[d], ids.offsets[d + 1]) > 0) a = m + 1;
      else b = m;
    }
    if (a < idOrder.length) {
      const d = idOrder[a];
      if (compareBytes(q, ids.bytes, ids.offsets[d], ids.offsets[d + 1]) === 0 && !(this.s.flags[d] & F_TOMB)) return d;
    }
    return -1;
  }

  /** Consecutive query words that form a synonym phrase ("airline tickets") become one token standing for its group. */
  private withPhrases(tokens: QueryToken[]): Token[] {
    const { phrases, longestPhrase, phraseStarts } = this.synonyms;
    if (tokens.length < 2 || !tokens.some((t) => phraseStarts.has(t.forms[0]))) return tokens;
    const out: Token[] = [];
    for (let i = 0; i < tokens.length; ) {
      let matched = false;
      for (let len = Math.min(longestPhrase, tokens.length - i); len >= 2 && !matched; len--) {
        const words = tokens.slice(i, i + len);
        const expansions = phrases.get(words.map((t) => t.forms[0]).join(' '));
        if (!expansions) continue;
        const own = words.map((t) => t.forms[0]).filter((w) => expansions.includes(w));
        out.push({ text: words.map((t) => t.text).join(' '), forms: own, expansions: expansions.filter((w) => !own.includes(w)) });
        i += len;
        matched = true;
      }
      if (!matched) out.push(tokens[i++]);
    }
    return out;
  }

  // ---------------------------------------------------------------- search
  search(query: string, options: SearchOptions): SearchResult {
    const limit = Math.max(1, Math.min(50, Math.floor(options.limit || 10)));
    const offset = Math.max(0, Math.floor(options.offset ?? 0));
    const filter = this.compileFilter(options.filters);
    const within = options.filters?.category !== undefined ? this.categoryGroup(options.filters.category) : null;
    const corrections: Record<string, string> = {};
    const empty: SearchResult = { hits: [], total: 0, mode: 'none', corrections };
    if (filter === false) return empty;
    const tokens = this.withPhrases(analyzeQuery(query));
    const exact = this.exactDocs(query).filter((d) => !filter || filter(d));
    if (!tokens.length && !exact.length) return empty;
    const K = Math.max(RERANK_POOL, offset + limit);
    const KN = Math.max(NAME_POOL, offset + limit);
    let mode: MatchMode = 'none';
    let total = 0;
    // Literal terms first. When they alone fill the re-rank pool, expansions can't reach the page
    // (synonym/typo matches rank below literal ones), so the common case skips them entirely.
    let groups = tokens.map((t) => this.buildGroup(t, corrections, false));
    let heap = new TopK(K);
    let names = new TopK(KN);
    if (groups.length && groups.every((g) => g.clauses.length)) {
      this.retrieveNames(groups, filter, names);
      // With a full name pool the page is all name matches (they rank above every other match), so the
      // text pool only has to supply the best text score; the smallest pool does, at a fraction of the cost.
      if (names.full) heap = new TopK(offset + limit);
      total = this.retrieveAll(groups, filter, heap, within);
    }
    const expanded = heap.full ? null : tokens.map((t) => this.buildGroup(t, corrections, true));
    // (when expanding adds no synonym or typo clause, the first pass already is the answer)
    if (expanded && expanded.some((g, i) => g.clauses.length !== groups[i].clauses.length)) {
      groups = expanded;
      heap = new TopK(K);
      names = new TopK(KN);
      total = 0;
      if (groups.length && groups.every((g) => g.clauses.length)) {
        total = this.retrieveAll(groups, filter, heap, within);
        this.retrieveNames(groups, filter, names);
      }
    }
    if (heap.size) mode = 'all-terms';
    if (groups.length === 1 && !filter) total = Math.max(total, ...groups[0].clauses.map((c) => c.termLen));
    if (!heap.size && groups.length > 1) {
      // Partial matches: the docs that match all but one word, else all but two, ... Each subset is an
      // all-terms retrieval into the same heaps; a doc can't come from two subsets of the first size
      // that matches (it would have matched a larger subset). Subsets holding the rarest words first.
      const usable = groups.filter((g) => g.clauses.length).sort((a, b) => a.len - b.len);
      let tried = 0;
      for (let size = Math.min(usable.length, groups.length - 1); size >= 1 && !heap.size && tried < MAX_PARTIAL_SUBSETS; size--) {
        for (const subset of combinations(usable, size)) {
          if (tried++ >= MAX_PARTIAL_SUBSETS) break;
          for (const g of subset) {
            for (const c of g.clauses) c.pos = c.start;
            for (const c of g.names ?? []) c.pos = c.start;
          }
          total += this.retrieveAll(subset, filter, heap, within);
          this.retrieveNames(subset, filter, names);
        }
      }
      if (heap.size) mode = 'any-terms';
    }
    if (exact.length && mode === 'none') mode = 'all-terms';
    const pool = this.rerank(heap, exact, groups, query, names);
    total = Math.max(total, pool.length);
    const hits = pool.slice(offset, offset + limit).map((it) => this.hit(it));
    for (const k of Object.keys(corrections)) if (!hits.some((h) => h.fuzzy)) delete corrections[k];
    return { hits, total, mode, corrections };
  }

  /*
   * Quality re-rank of the candidate pool: the top-k text matches (RERANK_POOL, or offset+limit if
   * larger), the best-quality name matches (NAME_POOL, see retrieveNames()) and the exact matches.
   *
   * Ranking rules, in order:
   *  1. Navigational exact matches: the query is the app's name, alias or bundle id AND the name is
   *     distinctive — at most NAVIGATIONAL_MAX_NAMES names in the pool contain all the query's words.
   *     A generic word ("budget") that happens to be some obscure app's whole name ("Budget+") is not
   *     navigational: such apps are ordinary name matches (rule 2).
   *  2. Name matches: every query word (or one of its synonyms / typo candidates) is a word of the
   *     app's name (camel-case parts count: "HabitPal" has habit). Users searching a word expect the
   *     apps named after it, so these come before apps that only mention the word in their keywords,
   *     subtitle, developer or description.
   *     Within the name tier, when the typed words themselves are common in names (at least
   *     LITERAL_NAME_MIN pool names have them), apps named with the typed words come before apps named
   *     only with a synonym ("music" → "Music Master" before "Song Finder"); when the typed word is
   *     rare in names ("pictures", "physician"), synonym-named apps rank with them on equal terms.
   *  3. The developer's apps, when the query is a developer's name (legal suffix optional: "tuktak
   *     studios" names "TukTak Studios Oy") and is distinctive in the same sense as rule 1 (a developer
   *     called "Weather" does not take over "weather").
   *  4. Everything else.
   * Except for rule 1, docs that needed a typo correction for some term come after all docs that
   * didn't (a typo candidate never outranks a literal or synonym match; for a misspelt query every
   * hit is fuzzy, so rules 3–4 apply among them). Within a tier: by score, then doc id:
   *   text    = textScore / max(textScore over the pool)            ∈ [0,1]
   *   quality = precomputed per doc, see quality()                    ∈ [0,1]
   *   score   = NAME_TIER_TEXT · text + (1 − NAME_TIER_TEXT) · quality   in the developer and name tiers:
   *             the developer or name already says the app is relevant, so popularity/quality decides among them;
   *             0.6 · text + 0.4 · quality                                elsewhere.
   * Synonym matches are not demoted: they are scored below literal ones (SYNONYM_WEIGHT) but a
   * popular app named with the synonym should still beat an obscure keyword-only literal match.
   */
  private rerank(heap: TopK, exact: number[], groups: Group[], query = '', names?: TopK): Ranked[] {
    const items: Ranked[] = [];
    const exactSet = new Set(exact);
    const inPool = new Set<number>();
    const item = (d: number, text: number, flag: number): Ranked => ({
      d,
      text,
      flag,
      exact: exactSet.has(d),
      name: false,
      literalName: false,
      nav: false,
      byDeveloper: false,
      score: 0,
    });
    for (let i = 0; i < heap.size; i++) {
      items.push(item(heap.doc[i], heap.score[i], heap.flag[i]));
      inPool.add(heap.doc[i]);
    }
    // the best name matches and the exact matches that the text pool missed
    const extra = [...(names ? names.doc.subarray(0, names.size) : []), ...exact];
    for (const d of extra) {
      if (inPool.has(d)) continue;
      inPool.add(d);
      const { score, flag } = this.scoreDoc(d, groups);
      items.push(item(d, score, flag));
    }
    // a name matches when the name postings of every group (literal forms, synonyms, typo candidates)
    // hold the doc; a literal name when the typed words' own postings do
    const G = Math.min(31, groups.length);
    const all = G && groups.every((g) => g.names) ? (1 << G) - 1 : 0;
    let nameCount = 0,
      literalCount = 0;
    if (all) {
      for (const it of items) {
        let mask = 0,
          lmask = 0;
        for (let g = 0; g < G; g++) {
          for (const c of groups[g].names!) {
            if (!containsDoc(c, it.d)) continue;
            mask |= 1 << g;
            if (c.flag === 0) lmask |= 1 << g;
          }
        }
        it.name = mask === all;
        it.literalName = lmask === all;
        if (it.name) nameCount++;
        if (it.literalName) literalCount++;
      }
    }
    // the typed words themselves name enough apps: those come before apps named only with a synonym
    const literalFirst = literalCount >= LITERAL_NAME_MIN;
    const navigational = nameCount <= NAVIGATIONAL_MAX_NAMES;
    const developerQuery = navigational && query ? normalizeName(query) : '';
    let maxText = 0;
    for (const it of items) if (it.text > maxText) maxText = it.text;
    const q = this.s.quality;
    for (const it of items) {
      const text = maxText > 0 ? it.text / maxText : 0;
      it.nav = it.exact && navigational;
      it.byDeveloper = developerQuery !== '' && this.developerNamed(this.s.dev[it.d], developerQuery);
      const wText = it.name || it.byDeveloper ? NAME_TIER_TEXT : 0.6;
      it.score = wText * text + (1 - wText) * q[it.d];
    }
    items.sort(
      (a, b) =>
        Number(b.nav) - Number(a.nav) ||
        (a.flag & HIT_FUZZY) - (b.flag & HIT_FUZZY) ||
        Number(b.name) - Number(a.name) ||
        (literalFirst ? Number(b.literalName) - Number(a.literalName) : 0) ||
        Number(b.byDeveloper) - Number(a.byDeveloper) ||
        b.score - a.score ||
        a.d - b.d,
    );
    return items;
  }

  private hit(it: Ranked): SearchHit {
    return { id: this.id(it.d), score: it.score, textScore: it.text, exact: it.exact, fuzzy: (it.flag & HIT_FUZZY) !== 0 };
  }

  /** Whether developer `dev`'s name, with or without its legal suffix ("Oy", "Inc"), normalises to `query`. */
  private developerNamed(dev: number, query: string): boolean {
    let norm = this.devNormCache[dev];
    if (norm === undefined) norm = this.devNormCache[dev] = normalizeName(this.s.developers[dev]);
    return norm === query || (norm.length > query.length && norm.startsWith(query) && LEGAL_SUFFIX.test(norm.slice(query.length)));
  }

  // ---------------------------------------------------------------- suggest / similar
  recordQuery(query: string): void {
    const q = normalizeName(query);
    if (!q || q.length > 100) return;
    this.queries.set(q, (this.queries.get(q) ?? 0) + 1);
    if (this.queries.size > 50_000) {
      for (const [k, c] of this.queries) if (c <= 1) this.queries.delete(k);
    }
  }

  suggest(prefix: string, limit: number): Suggestion[] {
    limit = Math.max(1, Math.min(50, Math.floor(limit || 10)));
    const p = normalizePrefix(prefix);
    if (!p) return [];
    const queries = [...this.queries].filter(([q]) => q.startsWith(p)).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    // apps: range of the sorted normalised names with this prefix, best quality first
    const s = this.s;
    const pb = enc.encode(p);
    const { bytes, offsets } = s.sugNames;
    const n = s.sugDocs.length;
    const startsWith = (i: number) => {
      const st = offsets[i],
        len = offsets[i + 1] - st;
      if (len < pb.length) return compareBytes(pb, bytes, st, st + len) > 0 ? 1 : -1;
      return compareBytes(pb, bytes, st, st + pb.length) > 0 ? 1 : compareBytes(pb, bytes, st, st + pb.length) < 0 ? -1 : 0;
    };
    let a = 0,
      b = n;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (startsWith(m) > 0) a = m + 1;
      else b = m;
    }
    const lo = a;
    b = n;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (startsWith(m) >= 0) a = m + 1;
      else b = m;
    }
    const hi = a;
    const want = limit * 4;
    const heap = new TopK(want);
    for (let i = lo; i < hi; i++) {
      const d = s.sugDocs[i];
      if (!(s.flags[d] & F_TOMB)) heap.push(s.quality[d], d, 0);
    }
    for (let i = 0; i < this.deltaNorm.length; i++) {
      const d = s.baseN + i;
      if (!(s.flags[d] & F_TOMB) && this.deltaNorm[i].startsWith(p)) heap.push(s.quality[d], d, 0);
    }
    const apps = Array.from({ length: heap.size }, (_, i) => i)
      .sort((x, y) => heap.score[y] - heap.score[x] || heap.doc[x] - heap.doc[y])
      .map((i) => heap.doc[i]);
    const out: Suggestion[] = [];
    const seen = new Set<string>();
    const addQuery = (q: string) => {
      if (!seen.has(q)) {
        seen.add(q);
        out.push({ text: q, kind: 'query' });
      }
    };
    const qShare = Math.ceil(limit / 2);
    for (const [q] of queries.slice(0, qShare)) addQuery(q);
    for (const d of apps) {
      if (out.length >= limit) break;
      const name = this.name(d);
      const key = normalizeName(name);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ text: name, kind: 'app', appId: this.id(d) });
    }
    for (const [q] of queries.slice(qShare)) {
      if (out.length >= limit) break;
      addQuery(q);
    }
    return out.slice(0, limit);
  }

  /** The doc's stored distinctive terms. */
  private topTermsOf(d: number): string[] {
    if (d >= this.s.baseN) return this.deltaTop[d - this.s.baseN] ?? [];
    const out: string[] = [];
    for (let i = 0; i < TOP_TERMS; i++) {
      const t = this.s.topTerms[d * TOP_TERMS + i];
      if (t) out.push(this.termString(t - 1));
    }
    return out;
  }

  similar(appId: string, limit: number, filters?: SearchFilters): SearchHit[] {
    limit = Math.max(1, Math.min(50, Math.floor(limit || 10)));
    const d = this.docOf(appId);
    if (d < 0) return [];
    const terms = this.topTermsOf(d);
    if (!terms.length) return [];
    const run = (f: SearchFilters | undefined, k: number) => {
      const filter = this.compileFilter(f);
      if (filter === false) return [];
      const groups = terms.map((t) => {
        const clauses: Clause[] = [];
        this.clausesFor(t, 1, 0, clauses);
        return { clauses, ub: Math.max(0, ...clauses.map((c) => c.ub)), len: 0 };
      });
      const heap = new TopK(k);
      this.retrieveAny(groups, filter, heap, d);
      return this.rerank(heap, [], groups);
    };
    const hits = (ranked: Ranked[]) => ranked.slice(0, limit).map((it) => this.hit(it));
    if (filters?.category !== undefined) return hits(run(filters, Math.max(limit, 50)));
    const cat = this.s.categories[this.s.cat[d]];
    const same = run({ ...filters, category: cat }, Math.max(limit, 50));
    if (same.length >= limit) return hits(same);
    const seen = new Set(same.map((it) => it.d));
    const rest = run(filters, Math.max(limit * 2, 50)).filter((it) => !seen.has(it.d));
    return hits([...same, ...rest]);
  }

  // ---------------------------------------------------------------- per-doc columns
  private ensureCapacity(n: number): void {
    const s = this.s;
    if (n <= s.cat.length) return;
    const cap = Math.max(n, Math.ceil(s.cat.length * 1.5) + 16);
    const grow = <T extends Uint8Array | Uint16Array | Uint32Array | Float32Array>(a: T): T => {
      const b = new (a.constructor as { new (n: number): T })(cap);
      b.set(a);
      return b;
    };
    s.cat = grow(s.cat);
    s.sub = grow(s.sub);
    s.flags = grow(s.flags);
    s.age = grow(s.age);
    s.rating = grow(s.rating);
    s.quality = grow(s.quality);
    s.ctry = grow(s.ctry);
    s.dev = grow(s.dev);
  }
  private intern(map: Map<string, number>, list: string[], v: string): number {
    let i = map.get(v);
    if (i === undefined) {
      i = list.length;
      list.push(v);
      map.set(v, i);
    }
    return i;
  }
  /** Sets the filter/re-rank columns of doc d. */
  setColumns(d: number, doc: SearchDoc): void {
    const s = this.s;
    this.ensureCapacity(d + 1);
    s.cat[d] = this.intern(this.catIndex, s.categories, doc.category);
    if (this.catLists) {
      const l = (this.catLists[s.cat[d]] ??= { docs: new Uint32Array(16), len: 0 });
      if (l.len === l.docs.length) {
        const b = new Uint32Array(l.len * 2);
        b.set(l.docs);
        l.docs = b;
      }
      l.docs[l.len++] = d;
    }
    s.sub[d] = doc.subcategory ? this.intern(this.subIndex, s.subcategories, doc.subcategory) : 0;
    s.flags[d] = doc.isFree ? F_FREE : 0;
    s.age[d] = Math.max(0, AGE_ORDER.indexOf(doc.ageRating));
    s.rating[d] = doc.ratingAverage || 0;
    s.quality[d] = quality(doc);
    let c = 0;
    if (doc.countries) {
      const list = [...new Set(doc.countries.map((x) => x.toUpperCase()))].sort();
      const key = list.join(',');
      c = this.ctryIndex.get(key) ?? -1;
      if (c < 0) {
        c = s.countryLists.length;
        s.countryLists.push(list);
        this.ctryIndex.set(key, c);
      }
    }
    s.ctry[d] = c;
    let dev = this.devIndex.get(doc.developer);
    if (dev === undefined) {
      dev = s.developers.length;
      s.developers.push(doc.developer);
      this.devIndex.set(doc.developer, dev);
    }
    s.dev[d] = dev;
  }

  // ---------------------------------------------------------------- incremental updates
  upsert(doc: SearchDoc): void {
    const s = this.s;
    const old = this.docOf(doc.id);
    if (old >= 0) this.tombstone(old);
    const d = s.n++;
    this.setColumns(d, doc);
    const terms = new Map<string, number>();
    const lens = [0, 0, 0, 0];
    const texts = docFieldTexts(doc);
    for (let f = 0; f < 4; f++) {
      const shift = f * 8;
      lens[f] = analyzeField(
        texts[f],
        (t) => {
          const p = terms.get(t) ?? 0;
          if (((p >>> shift) & 255) < 255) terms.set(t, p + (1 << shift));
        },
        f === 2 ? DESCRIPTION_STOP_WORDS : undefined,
      );
      s.fieldSum[f] += lens[f];
    }
    s.fieldDocs++;
    const N = Math.max(s.live + 1, 1);
    const scored: [string, number][] = [];
    for (const [t, packed] of terms) {
      const df = this.df(t) + 1;
      const score = bm25f(packed, lens, s.fieldSum, s.fieldDocs, this.boosts, idf(N, df));
      let p = this.delta.get(t);
      if (!p) this.delta.set(t, (p = { docs: [], scores: [], max: 0, cache: null, names: [] }));
      if (packed & 255) p.names.push(d);
      p.docs.push(d);
      p.scores.push(score);
      if (score > p.max) p.max = score;
      p.cache = null;
      if (df >= 2 && df <= Math.max(10, N / 20)) scored.push([t, score]);
    }
    scored.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    this.deltaTop.push(scored.slice(0, TOP_TERMS).map((x) => x[0]));
    this.deltaIds.push(doc.id);
    this.deltaNames.push(doc.name);
    this.deltaBundles.push(doc.bundleId);
    this.deltaNorm.push(normalizeName(doc.name));
    this.deltaIdMap.set(doc.id, d);
    pushMap(this.deltaNameHash, hash32(normalizeName(doc.name)), d);
    pushMap(this.deltaBundleHash, hash32(doc.bundleId.toLowerCase()), d);
    s.live++;
    if (this.deltaIds.length >= this.mergeThreshold) this.merge();
  }

  remove(appId: string): void {
    const d = this.docOf(appId);
    if (d >= 0) this.tombstone(d);
  }

  private tombstone(d: number): void {
    if (this.s.flags[d] & F_TOMB) return;
    this.s.flags[d] |= F_TOMB;
    this.s.live--;
    if (d >= this.s.baseN) this.deltaIdMap.delete(this.deltaIds[d - this.s.baseN]);
  }

  get deltaSize(): number {
    return this.deltaIds.length;
  }

  /**
   * Folds the delta into a new base: per term, base postings (minus tombstones) followed by delta
   * postings (their doc ids are all higher, so order holds), impacts re-quantised against the new
   * term maximum. Doc ids are kept (tombstoned ids stay as holes); lookups are rebuilt.
   */
  merge(): void {
    const s = this.s;
    const flags = s.flags;
    const deltaTerms = [...this.delta.keys()].sort();
    const oldCount = s.terms.count;
    // merge the two sorted term lists
    const newTerms: string[] = [];
    const fromBase: number[] = []; // base index or -1
    const fromDelta: (DeltaPostings | null)[] = [];
    let i = 0,
      j = 0;
    const deltaBytes = deltaTerms.map((t) => enc.encode(t));
    while (i < oldCount || j < deltaTerms.length) {
      let c: number;
      if (i >= oldCount) c = 1;
      else if (j >= deltaTerms.length) c = -1;
      else c = -compareBytes(deltaBytes[j], s.terms.bytes, s.terms.offsets[i], s.terms.offsets[i + 1]);
      if (c <= 0) {
        newTerms.push(this.termString(i));
        fromBase.push(i);
        fromDelta.push(c === 0 ? this.delta.get(deltaTerms[j++])! : null);
        i++;
      } else {
        newTerms.push(deltaTerms[j]);
        fromBase.push(-1);
        fromDelta.push(this.delta.get(deltaTerms[j++])!);
      }
    }
    const T = newTerms.length;
    // count live postings
    const counts = new Uint32Array(T);
    let total = 0;
    for (let t = 0; t < T; t++) {
      let c = 0;
      const b = fromBase[t];
      if (b >= 0) for (let p = s.postStart[b]; p < s.postStart[b + 1]; p++) if (!(flags[s.postDocs[p]] & F_TOMB)) c++;
      const dp = fromDelta[t];
      if (dp) for (const d of dp.docs) if (!(flags[d] & F_TOMB)) c++;
      counts[t] = c;
      total += c;
    }
    const postStart = new Uint32Array(T + 1);
    const postDocs = new Uint32Array(total);
    const postImp = new Uint8Array(total);
    const termMax = new Float32Array(T);
    const oldToNew = new Int32Array(oldCount).fill(-1);
    const keep: string[] = [];
    let o = 0;
    let kept = 0;
    let nameBound = s.namePostDocs.length;
    for (const dp of fromDelta) if (dp) nameBound += dp.names.length;
    const nameStart = new Uint32Array(T + 1);
    const nameDocs = new Uint32Array(nameBound);
    let no = 0;
    for (let t = 0; t < T; t++) {
      if (!counts[t]) continue;
      const b = fromBase[t];
      const dp = fromDelta[t];
      const bmax = b >= 0 ? s.termMax[b] : 0;
      let max = bmax;
      if (dp) for (let k = 0; k < dp.docs.length; k++) if (!(flags[dp.docs[k]] & F_TOMB) && dp.scores[k] > max) max = dp.scores[k];
      postStart[kept] = o;
      nameStart[kept] = no;
      if (b >= 0) {
        for (let p = s.namePostStart[b]; p < s.namePostStart[b + 1]; p++) if (!(flags[s.namePostDocs[p]] & F_TOMB)) nameDocs[no++] = s.namePostDocs[p];
      }
      if (dp) for (const d of dp.names) if (!(flags[d] & F_TOMB)) nameDocs[no++] = d;
      if (b >= 0) {
        oldToNew[b] = kept;
        // the two tiers merged back into doc order
        let p = s.postStart[b],
          q = s.postMid[b];
        const pe = s.postMid[b],
          qe = s.postStart[b + 1];
        while (p < pe || q < qe) {
          const i = q >= qe || (p < pe && s.postDocs[p] < s.postDocs[q]) ? p++ : q++;
          const d = s.postDocs[i];
          if (flags[d] & F_TOMB) continue;
          postDocs[o] = d;
          postImp[o++] = Math.max(1, Math.round((s.postImp[i] * bmax) / max));
        }
      }
      if (dp) {
        for (let k = 0; k < dp.docs.length; k++) {
          const d = dp.docs[k];
          if (flags[d] & F_TOMB) continue;
          postDocs[o] = d;
          postImp[o++] = Math.max(1, Math.round((dp.scores[k] / max) * 255));
        }
      }
      termMax[kept] = max;
      keep.push(newTerms[t]);
      kept++;
    }
    postStart[kept] = o;
    nameStart[kept] = no;
    s.namePostStart = nameStart.slice(0, kept + 1);
    s.namePostDocs = nameDocs.slice(0, no);
    s.namePostQ = nameQualities(s.namePostDocs, s.quality);
    const terms = makeBlob(keep);
    const postMid = splitTiers(postStart, postDocs, postImp, kept);
    const { blockStart, blockMax } = computeBlockMax(postStart, postImp, kept);
    // forward lists: remap base term ids, look up the delta docs' terms
    const n = s.n;
    const topTerms = new Uint32Array(n * TOP_TERMS);
    for (let k = 0; k < s.baseN * TOP_TERMS; k++) {
      const t = s.topTerms[k];
      if (t) topTerms[k] = oldToNew[t - 1] + 1;
    }
    s.terms = { bytes: terms.bytes, offsets: terms.offsets, count: kept };
    s.postStart = postStart;
    s.postDocs = postDocs;
    s.postImp = postImp;
    s.postMid = postMid;
    s.termMax = termMax.subarray(0, kept);
    s.blockStart = blockStart;
    s.blockMax = blockMax;
    for (let k = 0; k < this.deltaTop.length; k++) {
      const list = this.deltaTop[k];
      for (let x = 0; x < list.length && x < TOP_TERMS; x++) {
        const t = this.termIndex(list[x]);
        if (t >= 0) topTerms[(s.baseN + k) * TOP_TERMS + x] = t + 1;
      }
    }
    s.topTerms = topTerms;
    // strings
    const all = (blob: Blob, extra: string[]) => {
      const arr: string[] = new Array(n);
      for (let d = 0; d < s.baseN; d++) arr[d] = blobGet(blob, d);
      for (let k = 0; k < extra.length; k++) arr[s.baseN + k] = extra[k];
      return makeBlob(arr);
    };
    s.ids = all(s.ids, this.deltaIds);
    s.names = all(s.names, this.deltaNames);
    s.bundles = all(s.bundles, this.deltaBundles);
    s.baseN = n;
    this.delta.clear();
    this.deltaIds = [];
    this.deltaNames = [];
    this.deltaBundles = [];
    this.deltaNorm = [];
    this.deltaTop = [];
    this.deltaIdMap.clear();
    this.deltaNameHash.clear();
    this.deltaBundleHash.clear();
    rebuildLookups(s);
    this.mergeThreshold = Math.max(20_000, Math.floor(s.baseN / 20));
  }

  /** Queries recorded so far (for snapshots). */
  recordedQueries(): [string, number][] {
    return [...this.queries];
  }

  async save(path: string): Promise<void> {
    if (this.deltaIds.length) this.merge();
    const { saveSnapshot } = await import('./snapshot.ts');
    this.s.queries = this.recordedQueries();
    await saveSnapshot(this.s, path);
  }
}

function pushMap<K>(m: Map<K, number[]>, k: K, v: number): void {
  const a = m.get(k);
  if (a) a.push(v);
  else m.set(k, [v]);
}

export function docFieldTexts(doc: SearchDoc): [string, string, string, string] {
  return [doc.name, doc.developer, doc.description, (doc.subtitle ? doc.subtitle + ' ' : '') + doc.keywords.join(' ')];
}

export function idf(N: number, df: number): number {
  return Math.log(1 + (N - df + 0.5) / (df + 0.5));
}

/** BM25F: per-field length-normalised tf, weighted and summed, then one saturation. */
export function bm25f(packed: number, lens: number[], fieldSum: Float64Array, fieldDocs: number, boosts: number[], idfv: number): number {
  let tf = 0;
  for (let f = 0; f < 4; f++) {
    const x = (packed >>> (f * 8)) & 255;
    if (!x) continue;
    const avg = fieldDocs ? Math.max(1e-9, fieldSum[f] / fieldDocs) : 1;
    tf += (boosts[f] * x) / (1 - FIELD_B[f] + (FIELD_B[f] * lens[f]) / avg);
  }
  return (idfv * tf * (K1 + 1)) / (K1 + tf);
}

/** Reorders each term's postings into its two tiers (doc order kept in each); returns postMid. */
export function splitTiers(postStart: Uint32Array, postDocs: Uint32Array, postImp: Uint8Array, T: number): Uint32Array {
  const mid = new Uint32Array(T);
  let lowDocs = new Uint32Array(1 << 16),
    lowImp = new Uint8Array(1 << 16);
  for (let t = 0; t < T; t++) {
    const st = postStart[t],
      en = postStart[t + 1];
    if (en - st > lowDocs.length) {
      lowDocs = new Uint32Array(en - st);
      lowImp = new Uint8Array(en - st);
    }
    let w = st,
      n = 0;
    for (let p = st; p < en; p++) {
      if (postImp[p] >= TIER_SPLIT) {
        postDocs[w] = postDocs[p];
        postImp[w++] = postImp[p];
      } else {
        lowDocs[n] = postDocs[p];
        lowImp[n++] = postImp[p];
      }
    }
    mid[t] = w;
    postDocs.set(lowDocs.subarray(0, n), w);
    postImp.set(lowImp.subarray(0, n), w);
  }
  return mid;
}

/** Name postings: the postings whose packed term frequency counts the name field (the low byte). */
export function namePostings(postStart: Uint32Array, postDocs: Uint32Array, postTf: Uint32Array, T: number): { nameStart: Uint32Array; nameDocs: Uint32Array } {
  const nameStart = new Uint32Array(T + 1);
  let n = 0;
  for (let t = 0; t < T; t++) {
    nameStart[t] = n;
    for (let p = postStart[t]; p < postStart[t + 1]; p++) if (postTf[p] & 255) n++;
  }
  nameStart[T] = n;
  const nameDocs = new Uint32Array(n);
  n = 0;
  for (let p = 0, P = postStart[T]; p < P; p++) if (postTf[p] & 255) nameDocs[n++] = postDocs[p];
  return { nameStart, nameDocs };
}

/** Each name posting's doc quality as an upper bound in 1/255ths: ceil(quality × 255). */
export function nameQualities(nameDocs: Uint32Array, quality: Float32Array): Uint8Array {
  const out = new Uint8Array(nameDocs.length);
  for (let p = 0; p < nameDocs.length; p++) out[p] = Math.min(255, Math.ceil(quality[nameDocs[p]] * 255));
  return out;
}

export function computeBlockMax(postStart: Uint32Array, postImp: Uint8Array, T: number): { blockStart: Uint32Array; blockMax: Uint8Array } {
  const blockStart = new Uint32Array(T + 1);
  let nb = 0;
  for (let t = 0; t < T; t++) {
    blockStart[t] = nb;
    nb += Math.ceil((postStart[t + 1] - postStart[t]) / BLOCK);
  }
  blockStart[T] = nb;
  const blockMax = new Uint8Array(nb);
  for (let t = 0; t < T; t++) {
    const st = postStart[t];
    const b0 = blockStart[t];
    for (let p = st; p < postStart[t + 1]; p++) {
      const b = b0 + ((p - st) >> BLOCK_SHIFT);
      if (postImp[p] > blockMax[b]) blockMax[b] = postImp[p];
    }
  }
  return { blockStart, blockMax };
}
