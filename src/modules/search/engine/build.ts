// Bulk build of the base segment from an iterable of docs, in one pass over the docs:
//  1. analyse each doc, intern terms, append (term, doc, packed per-field tf) to growable typed arrays
//     and keep per-doc field lengths;
//  2. sort the dictionary, counting-sort postings by term (doc order is preserved within a term);
//  3. compute BM25F per posting with the final averages, quantise to 8-bit impacts per term;
//  4. block maxima, per-doc top distinctive terms (for similar()), lookups.
import { analyzeRaw, clearAnalysisCache, DESCRIPTION_STOP_WORDS, forEachRaw } from './analysis.ts';
import {
  bm25f, computeBlockMax, docFieldTexts, Engine, idf, makeBlob, rebuildLookups, TOP_TERMS, type EngineState,
} from './engine.ts';
import type { EngineOptions, SearchDoc } from './types.ts';

class GrowU32 {
  a = new Uint32Array(1 << 16);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Uint32Array(Math.ceil(this.a.length * 1.6));
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
}

export function emptyState(cap = 1024): EngineState {
  const e = new Uint32Array(0);
  return {
    terms: { bytes: new Uint8Array(0), offsets: new Uint32Array(1), count: 0 },
    postStart: new Uint32Array(1), postDocs: e, postImp: new Uint8Array(0), blockStart: new Uint32Array(1), blockMax: new Uint8Array(0),
    termMax: new Float32Array(0), baseN: 0, n: 0, live: 0,
    cat: new Uint16Array(cap), sub: new Uint16Array(cap), flags: new Uint8Array(cap), age: new Uint8Array(cap),
    rating: new Float32Array(cap), quality: new Float32Array(cap), ctry: new Uint32Array(cap),
    ids: makeBlob([]), names: makeBlob([]), bundles: makeBlob([]), topTerms: e,
    fieldSum: new Float64Array(4), fieldDocs: 0, categories: [], subcategories: [''], countryLists: [null], queries: [],
    idOrder: e, nameKeys: e, nameDocs: e, bundleKeys: e, bundleDocs: e, sugNames: makeBlob([]), sugDocs: e,
  };
}

export function buildEngine(docs: Iterable<SearchDoc>, options: EngineOptions = {}, onProgress?: (done: number) => void): Engine {
  const debug = process.env.ORCHARD_SEARCH_DEBUG ? (label: string) => process.stderr.write(`  [build] ${label} ${((performance.now() - t0) / 1000).toFixed(1)} s\n`) : () => {};
  const t0 = performance.now();
  const s = emptyState(1 << 16);
  const engine = new Engine(s, options);
  const boosts = engine.boostsVector;
  const termIds = new Map<string, number>();
  const termStrs: string[] = [];
  const pTerm = new GrowU32(), pDoc = new GrowU32(), pTf = new GrowU32();
  const lens = [new GrowU32(), new GrowU32(), new GrowU32(), new GrowU32()];
  const ids: string[] = [], names: string[] = [], bundles: string[] = [];
  // raw token → its analysed term ids (memoised; the catalog repeats words a lot)
  interface Entry { stop: boolean; ids: number[] }
  const cache = new Map<string, Entry>();
  const intern = (t: string) => {
    let id = termIds.get(t);
    if (id === undefined) {
      id = termStrs.length;
      termStrs.push(t);
      termIds.set(t, id);
    }
    return id;
  };
  let tfAcc = new Uint32Array(1 << 16); // per-term packed tf of the current doc
  const touched: number[] = [];
  let field = 0;
  let fieldLen = 0;
  const onRaw = (raw: string) => {
    let e = cache.get(raw);
    if (!e) {
      const r = analyzeRaw(raw);
      e = { stop: DESCRIPTION_STOP_WORDS.has(r.lower), ids: r.terms.map(intern) };
      if (cache.size > 2_000_000) cache.clear();
      cache.set(raw, e);
      if (termStrs.length > tfAcc.length) {
        const b = new Uint32Array(termStrs.length * 2);
        b.set(tfAcc);
        tfAcc = b;
      }
    }
    if (field === 2 && e.stop) return;
    fieldLen++;
    const shift = field * 8;
    const ids = e.ids;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const p = tfAcc[id];
      if (p === 0) touched.push(id);
      if (((p >>> shift) & 255) < 255) tfAcc[id] = p + (1 << shift);
    }
  };
  // Open-addressing table over raw ASCII tokens, probed with a hash computed while scanning, so the
  // hot path neither slices a substring nor hashes it again for a Map.
  let tMask = (1 << 16) - 1;
  let tSlots = new Int32Array(tMask + 1).fill(-1);
  const tKeys: string[] = [];
  const tHash: number[] = [];
  const tEntries: Entry[] = [];
  const tInsert = (key: string, h: number, e: Entry) => {
    const id = tKeys.length;
    tKeys.push(key); tHash.push(h); tEntries.push(e);
    if (tKeys.length * 2 > tMask) {
      tMask = tMask * 2 + 1;
      tSlots = new Int32Array(tMask + 1).fill(-1);
      for (let k = 0; k < tKeys.length; k++) {
        let i = tHash[k] & tMask;
        while (tSlots[i] !== -1) i = (i + 1) & tMask;
        tSlots[i] = k;
      }
    } else {
      let i = h & tMask;
      while (tSlots[i] !== -1) i = (i + 1) & tMask;
      tSlots[i] = id;
    }
  };
  const entryFor = (raw: string): Entry => {
    const r = analyzeRaw(raw);
    const e = { stop: DESCRIPTION_STOP_WORDS.has(r.lower), ids: r.terms.map(intern) };
    if (termStrs.length > tfAcc.length) {
      const b = new Uint32Array(termStrs.length * 2);
      b.set(tfAcc);
      tfAcc = b;
    }
    return e;
  };
  const addEntry = (e: Entry) => {
    if (field === 2 && e.stop) return;
    fieldLen++;
    const shift = field * 8;
    const ids = e.ids;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const p = tfAcc[id];
      if (p === 0) touched.push(id);
      if (((p >>> shift) & 255) < 255) tfAcc[id] = p + (1 << shift);
    }
  };
  let scanBuf = Buffer.allocUnsafe(1 << 16);
  const isAlnum = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57);
  const SLOW = /[^\x00-\x7f\u2000-\u2018\u201a-\u206f\u2190-\u2bff]/;
  /** Same tokens as analysis.forEachRaw's ASCII path. */
  const scan = (text: string) => {
    if (SLOW.test(text)) {
      forEachRaw(text, onRaw);
      return;
    }
    // scan bytes of a flat copy: the docs' strings are often ropes (concatenations), slow to index
    // (UTF-8: the few non-ASCII symbols allowed here become bytes ≥ 0x80, i.e. separators)
    if (text.length * 3 > scanBuf.length) scanBuf = Buffer.allocUnsafe(text.length * 3);
    const n = scanBuf.write(text, 0, 'utf8');
    const buf = scanBuf;
    let i = 0;
    while (i < n) {
      while (i < n && !isAlnum(buf[i])) i++;
      if (i >= n) break;
      const start = i;
      let h = 0x811c9dc5;
      for (;;) {
        while (i < n) {
          const c = buf[i];
          if (!isAlnum(c)) break;
          h = Math.imul(h ^ c, 0x01000193);
          i++;
        }
        const c = buf[i];
        if (i + 1 < n && (c === 38 || c === 43 || c === 39) && isAlnum(buf[i + 1])) {
          h = Math.imul(h ^ c, 0x01000193);
          i++;
        } else break;
      }
      h >>>= 0;
      const len = i - start;
      let slot = h & tMask;
      let found = -1;
      for (;;) {
        const k = tSlots[slot];
        if (k === -1) break;
        if (tHash[k] === h) {
          const key = tKeys[k];
          if (key.length === len) {
            let j = 0;
            while (j < len && key.charCodeAt(j) === buf[start + j]) j++;
            if (j === len) { found = k; break; }
          }
        }
        slot = (slot + 1) & tMask;
      }
      if (found >= 0) addEntry(tEntries[found]);
      else {
        const raw = buf.toString('latin1', start, i);
        const e = entryFor(raw);
        tInsert(raw, h, e);
        addEntry(e);
      }
    }
  };
  const seenIds = new Map<string, number>();
  let d = 0;
  for (const doc of docs) {
    const dup = seenIds.get(doc.id);
    if (dup !== undefined) {
      // a repeated id replaces the earlier doc: tombstone it
      s.flags[dup] |= 2;
      s.live--;
    }
    seenIds.set(doc.id, d);
    engine.setColumns(d, doc);
    ids.push(doc.id); names.push(doc.name); bundles.push(doc.bundleId);
    const texts = docFieldTexts(doc);
    for (let f = 0; f < 4; f++) {
      field = f;
      fieldLen = 0;
      scan(texts[f]);
      lens[f].push(fieldLen);
      s.fieldSum[f] += fieldLen;
    }
    for (let i = 0; i < touched.length; i++) {
      const t = touched[i];
      pTerm.push(t); pDoc.push(d); pTf.push(tfAcc[t]);
      tfAcc[t] = 0;
    }
    touched.length = 0;
    d++;
    s.live++;
    if (onProgress && d % 10_000 === 0) onProgress(d);
  }
  seenIds.clear();
  cache.clear();
  tKeys.length = tHash.length = tEntries.length = 0;
  tSlots = new Int32Array(0);
  clearAnalysisCache();
  const N = d;
  s.fieldDocs = N;
  s.n = s.baseN = N;

  debug('analysed');
  // 2. dictionary order and counting sort of postings
  const sorted = termStrs.slice().sort();
  const T = sorted.length;
  const remap = new Uint32Array(T);
  for (let i = 0; i < T; i++) remap[termIds.get(sorted[i])!] = i;
  termIds.clear();
  const P = pTerm.n;
  const postStart = new Uint32Array(T + 1);
  for (let i = 0; i < P; i++) postStart[remap[pTerm.a[i]] + 1]++;
  for (let t = 0; t < T; t++) postStart[t + 1] += postStart[t];
  const fill = postStart.slice(0, T);
  const postDocs = new Uint32Array(P);
  const postTf = new Uint32Array(P);
  for (let i = 0; i < P; i++) {
    const t = remap[pTerm.a[i]];
    const at = fill[t]++;
    postDocs[at] = pDoc.a[i];
    postTf[at] = pTf.a[i];
  }
  pTerm.a = pDoc.a = pTf.a = new Uint32Array(0);

  debug('postings sorted');
  // 3. impacts
  const postImp = new Uint8Array(P);
  const termMax = new Float32Array(T);
  let scratch = new Float32Array(1024);
  const L = lens.map((l) => l.a);
  const docLens = [0, 0, 0, 0];
  for (let t = 0; t < T; t++) {
    const st = postStart[t], en = postStart[t + 1];
    const df = en - st;
    if (df > scratch.length) scratch = new Float32Array(df * 2);
    const idfv = idf(N, df);
    let max = 0;
    for (let p = st; p < en; p++) {
      const doc = postDocs[p];
      docLens[0] = L[0][doc]; docLens[1] = L[1][doc]; docLens[2] = L[2][doc]; docLens[3] = L[3][doc];
      const v = bm25f(postTf[p], docLens, s.fieldSum, N, boosts, idfv);
      scratch[p - st] = v;
      if (v > max) max = v;
    }
    termMax[t] = max;
    for (let p = st; p < en; p++) postImp[p] = Math.max(1, Math.round((scratch[p - st] / max) * 255));
  }

  debug('impacts');
  // 4. top distinctive terms per doc: highest impact among terms that occur in 2..N/20 docs
  const topTerms = new Uint32Array(N * TOP_TERMS);
  const topW = new Float32Array(N * TOP_TERMS);
  const maxDf = Math.max(10, N / 20);
  for (let t = 0; t < T; t++) {
    const st = postStart[t], en = postStart[t + 1];
    if (en - st < 2 || en - st > maxDf) continue;
    const scale = termMax[t] / 255;
    for (let p = st; p < en; p++) {
      const w = postImp[p] * scale;
      const base = postDocs[p] * TOP_TERMS;
      let mi = base;
      for (let k = base + 1; k < base + TOP_TERMS; k++) if (topW[k] < topW[mi]) mi = k;
      if (w > topW[mi]) { topW[mi] = w; topTerms[mi] = t + 1; }
    }
  }

  const dict = makeBlob(sorted);
  s.terms = { bytes: dict.bytes, offsets: dict.offsets, count: T };
  s.postStart = postStart; s.postDocs = postDocs; s.postImp = postImp; s.termMax = termMax;
  const bm = computeBlockMax(postStart, postImp, T);
  s.blockStart = bm.blockStart; s.blockMax = bm.blockMax;
  s.topTerms = topTerms;
  debug('top terms, block max');
  s.ids = makeBlob(ids); s.names = makeBlob(names); s.bundles = makeBlob(bundles);
  rebuildLookups(s);
  debug('lookups');
  engine.mergeThreshold = Math.max(20_000, Math.floor(N / 20));
  return engine;
}
