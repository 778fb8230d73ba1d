// Bulk build of the base segment from an iterable of docs, in one pass over the docs:
//  1. analyse each doc, intern terms, append (term, doc, packed per-field tf) to growable typed arrays
//     and keep per-doc field lengths; then tombstone the docs whose id comes again (ids sorted);
//  2. sort the dictionary, counting-sort postings by term (doc order is preserved within a term),
//     computing BM25F per posting with the final averages on the way (doc by doc: few cache misses);
//  3. quantise to 8-bit impacts per term;
//  4. block maxima, per-doc top distinctive terms (for similar(), doc by doc), lookups.
// Per-doc and per-posting data live in typed arrays (sized from the doc count when known), not in JS
// objects or Maps: the docs themselves may fill a heap that every full GC has to walk.
import { analyzeRaw, clearAnalysisCache, DESCRIPTION_STOP_WORDS, forEachRaw } from './analysis.ts';
import {
  bm25f,
  computeBlockMax,
  docFieldTexts,
  Engine,
  F_TOMB,
  idf,
  makeBlob,
  nameQualities,
  namePostings,
  splitTiers,
  TOP_TERMS,
  type EngineState,
} from './engine.ts';
import { blobEquals, identity, rebuildLookups, sortByBytes } from './lookups.ts';
import type { EngineOptions, SearchDoc } from './types.ts';

class GrowU32 {
  a: Uint32Array;
  n = 0;
  constructor(cap: number) {
    this.a = new Uint32Array(Math.max(1 << 16, cap));
  }
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Uint32Array(Math.ceil(this.a.length * 1.6));
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
}

function grow(a: Uint32Array): Uint32Array {
  const b = new Uint32Array(a.length * 2);
  b.set(a);
  return b;
}

export function emptyState(cap = 1024): EngineState {
  const e = new Uint32Array(0);
  return {
    terms: { bytes: new Uint8Array(0), offsets: new Uint32Array(1), count: 0 },
    postStart: new Uint32Array(1),
    postDocs: e,
    postImp: new Uint8Array(0),
    postMid: e,
    blockStart: new Uint32Array(1),
    blockMax: new Uint8Array(0),
    termMax: new Float32Array(0),
    namePostStart: new Uint32Array(1),
    namePostDocs: e,
    namePostQ: new Uint8Array(0),
    baseN: 0,
    n: 0,
    live: 0,
    cat: new Uint16Array(cap),
    sub: new Uint16Array(cap),
    flags: new Uint8Array(cap),
    age: new Uint8Array(cap),
    rating: new Float32Array(cap),
    quality: new Float32Array(cap),
    ctry: new Uint32Array(cap),
    dev: new Uint32Array(cap),
    ids: makeBlob([]),
    names: makeBlob([]),
    bundles: makeBlob([]),
    topTerms: e,
    fieldSum: new Float64Array(4),
    fieldDocs: 0,
    categories: [],
    subcategories: [''],
    countryLists: [null],
    developers: [],
    queries: [],
    idOrder: e,
    nameKeys: e,
    nameDocs: e,
    bundleKeys: e,
    bundleDocs: e,
    sugNames: makeBlob([]),
    sugDocs: e,
  };
}

/**
 * Hands an array of docs over to buildEngine: each is released (the array emptied) as soon as it is
 * indexed, as a streaming build from the database would. A build that keeps millions of docs alive
 * pays for them in every full GC the build's large allocations set off (at 2M docs, ~5 GB to mark).
 */
export function consume(docs: SearchDoc[]): Iterable<SearchDoc> & { length: number } {
  return {
    length: docs.length,
    *[Symbol.iterator]() {
      const slots = docs as (SearchDoc | undefined)[];
      for (let i = 0; i < slots.length; i++) {
        const doc = slots[i]!;
        slots[i] = undefined;
        yield doc;
      }
      docs.length = 0;
    },
  };
}

export function buildEngine(docs: Iterable<SearchDoc> & { length?: number }, options: EngineOptions = {}, onProgress?: (done: number) => void): Engine {
  const debug = process.env.ORCHARD_SEARCH_DEBUG
    ? (label: string) => process.stderr.write(`  [build] ${label} ${((performance.now() - t0) / 1000).toFixed(1)} s\n`)
    : () => {};
  const t0 = performance.now();
  const s = emptyState(1 << 16);
  const engine = new Engine(s, options);
  const boosts = engine.boostsVector;
  const termIds = new Map<string, number>();
  const termStrs: string[] = [];
  // postings in doc order: term id and packed tf; doc d's are [docEnd[d - 1], docEnd[d])
  // (sized up front from the doc count when known: growing them means copies and GC pressure)
  const sizeHint = typeof docs.length === 'number' ? docs.length : 0;
  let pTerm = new Uint32Array(Math.max(1 << 20, sizeHint * 80)),
    pTf = new Uint32Array(pTerm.length);
  let pN = 0;
  const docEnd = new GrowU32(sizeHint);
  const lens = [new GrowU32(sizeHint), new GrowU32(sizeHint), new GrowU32(sizeHint), new GrowU32(sizeHint)];
  const ids: string[] = [],
    names: string[] = [],
    bundles: string[] = [];
  // raw token → its analysed term ids (memoised; the catalog repeats words a lot)
  interface Entry {
    stop: boolean;
    ids: number[];
  }
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
  let touched = new Uint32Array(1 << 16); // the current doc's terms: [0, nTouched)
  let nTouched = 0;
  const growAcc = () => {
    if (termStrs.length <= tfAcc.length) return;
    const a = new Uint32Array(termStrs.length * 2),
      b = new Uint32Array(a.length);
    a.set(tfAcc);
    b.set(touched);
    tfAcc = a;
    touched = b;
  };
  let field = 0;
  let fieldLen = 0;
  const onRaw = (raw: string) => {
    let e = cache.get(raw);
    if (!e) {
      const r = analyzeRaw(raw);
      e = { stop: DESCRIPTION_STOP_WORDS.has(r.lower), ids: r.terms.map(intern) };
      if (cache.size > 2_000_000) cache.clear();
      cache.set(raw, e);
      growAcc();
    }
    if (field === 2 && e.stop) return;
    fieldLen++;
    const shift = field * 8;
    const ids = e.ids;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const p = tfAcc[id];
      if (p === 0) touched[nTouched++] = id;
      if (((p >>> shift) & 255) < 255) tfAcc[id] = p + (1 << shift);
    }
  };
  // Open-addressing table over raw ASCII tokens, probed with a hash computed while scanning, so the
  // hot path neither slices a substring nor hashes it again for a Map. Everything is flat typed
  // arrays (slot = [hash, key]; key bytes; per-key term ids), so a lookup touches few cache lines.
  let tMask = (1 << 16) - 1;
  let tSlots = new Int32Array((tMask + 1) * 2).fill(-1); // [hash, key index] pairs
  let tCount = 0;
  let kOff = new Int32Array(1 << 16); // key k's bytes are kBytes[kOff[k], kOff[k + 1])
  let kBytes = new Uint8Array(1 << 18);
  let kHash = new Int32Array(1 << 16);
  let eStart = new Int32Array(1 << 16); // key k's term ids are eIds[eStart[k], eStart[k + 1])
  let eIds = new Uint32Array(1 << 17);
  let eStop = new Uint8Array(1 << 16);
  const growI32 = (a: Int32Array, min: number) => {
    const b = new Int32Array(Math.max(min, a.length * 2));
    b.set(a);
    return b;
  };
  const tInsert = (buf: Uint8Array, start: number, end: number, h: number, e: Entry) => {
    const k = tCount++;
    if (k + 2 > kOff.length) {
      kOff = growI32(kOff, k + 2);
      eStart = growI32(eStart, k + 2);
      kHash = growI32(kHash, k + 2);
      const b = new Uint8Array(kOff.length);
      b.set(eStop);
      eStop = b;
    }
    const len = end - start;
    const ko = kOff[k];
    if (ko + len > kBytes.length) {
      const b = new Uint8Array(Math.max(ko + len, kBytes.length * 2));
      b.set(kBytes);
      kBytes = b;
    }
    kBytes.set(buf.subarray(start, end), ko);
    kOff[k + 1] = ko + len;
    kHash[k] = h;
    const eo = eStart[k],
      ni = e.ids.length;
    if (eo + ni > eIds.length) {
      const b = new Uint32Array(Math.max(eo + ni, eIds.length * 2));
      b.set(eIds);
      eIds = b;
    }
    for (let i = 0; i < ni; i++) eIds[eo + i] = e.ids[i];
    eStart[k + 1] = eo + ni;
    eStop[k] = e.stop ? 1 : 0;
    if (tCount * 2 > tMask) {
      tMask = tMask * 2 + 1;
      tSlots = new Int32Array((tMask + 1) * 2).fill(-1);
      for (let j = 0; j < tCount; j++) {
        let i = kHash[j] & tMask;
        while (tSlots[2 * i + 1] !== -1) i = (i + 1) & tMask;
        tSlots[2 * i] = kHash[j];
        tSlots[2 * i + 1] = j;
      }
    } else {
      let i = h & tMask;
      while (tSlots[2 * i + 1] !== -1) i = (i + 1) & tMask;
      tSlots[2 * i] = h;
      tSlots[2 * i + 1] = k;
    }
    return k;
  };
  const entryFor = (raw: string): Entry => {
    const r = analyzeRaw(raw);
    const e = { stop: DESCRIPTION_STOP_WORDS.has(r.lower), ids: r.terms.map(intern) };
    growAcc();
    return e;
  };
  let scanBuf = Buffer.allocUnsafe(1 << 16);
  const isAlnum = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57);
  const SLOW = /[^\x00-\x7f\u2000-\u2018\u201a-\u206f\u2190-\u2bff]/;
  /** Same tokens as analysis.forEachRaw's ASCII path. */
  const scan = (text: string) => {
    // scan bytes of a flat copy: the docs' strings are often ropes (concatenations), slow to index
    // (UTF-8: the few non-ASCII symbols allowed here become bytes ≥ 0x80, i.e. separators)
    if (text.length * 3 > scanBuf.length) scanBuf = Buffer.allocUnsafe(text.length * 3);
    const n = scanBuf.write(text, 0, 'utf8');
    // as many bytes as UTF-16 units ⇔ pure ASCII: only then can the regex check be skipped
    if (n !== text.length && SLOW.test(text)) {
      forEachRaw(text, onRaw);
      return;
    }
    const buf = scanBuf;
    const shift = field * 8;
    const skipStop = field === 2;
    let len = 0;
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
      const tlen = i - start;
      let slot = h & tMask;
      let k = -1;
      for (;;) {
        const kk = tSlots[2 * slot + 1];
        if (kk === -1) break;
        if (tSlots[2 * slot] === h) {
          const ko = kOff[kk];
          if (kOff[kk + 1] - ko === tlen) {
            let j = 0;
            while (j < tlen && kBytes[ko + j] === buf[start + j]) j++;
            if (j === tlen) {
              k = kk;
              break;
            }
          }
        }
        slot = (slot + 1) & tMask;
      }
      if (k < 0) k = tInsert(buf, start, i, h, entryFor(buf.toString('latin1', start, i)));
      if (skipStop && eStop[k]) continue;
      len++;
      for (let e = eStart[k], ee = eStart[k + 1]; e < ee; e++) {
        const id = eIds[e];
        const p = tfAcc[id];
        if (p === 0) touched[nTouched++] = id;
        if (((p >>> shift) & 255) < 255) tfAcc[id] = p + (1 << shift);
      }
    }
    fieldLen += len;
  };
  let d = 0;
  for (const doc of docs) {
    engine.setColumns(d, doc);
    ids.push(doc.id);
    names.push(doc.name);
    bundles.push(doc.bundleId);
    const texts = docFieldTexts(doc);
    for (let f = 0; f < 4; f++) {
      field = f;
      fieldLen = 0;
      scan(texts[f]);
      lens[f].push(fieldLen);
      s.fieldSum[f] += fieldLen;
    }
    const nt = nTouched;
    if (pN + nt > pTerm.length) {
      const cap = Math.max(pN + nt, Math.ceil(pTerm.length * 1.6));
      const a = new Uint32Array(cap),
        b = new Uint32Array(cap);
      a.set(pTerm.subarray(0, pN));
      b.set(pTf.subarray(0, pN));
      pTerm = a;
      pTf = b;
    }
    for (let i = 0; i < nt; i++) {
      const t = touched[i];
      pTerm[pN] = t;
      pTf[pN] = tfAcc[t];
      pN++;
      tfAcc[t] = 0;
    }
    docEnd.push(pN);
    nTouched = 0;
    d++;
    s.live++;
    if (onProgress && d % 10_000 === 0) onProgress(d);
  }
  debug(`scanned: ${tCount} raw tokens, ${termStrs.length} terms, ${pN} postings;`);
  cache.clear();
  tSlots = kOff = kHash = eStart = new Int32Array(0);
  kBytes = eStop = new Uint8Array(0);
  eIds = new Uint32Array(0);
  clearAnalysisCache();
  const N = d;
  s.fieldDocs = N;
  s.n = s.baseN = N;
  // a repeated id replaces the earlier doc: tombstone all but the last doc of each id (found by sorting the ids)
  s.ids = makeBlob(ids);
  ids.length = 0;
  const byId = sortByBytes(s.ids, identity(N), (a, b) => a - b);
  for (let i = 1; i < N; i++) {
    if (blobEquals(s.ids, byId[i - 1], byId[i])) {
      s.flags[byId[i - 1]] |= F_TOMB;
      s.live--;
    }
  }
  debug('analysed, replaced ids tombstoned');
  // 2. dictionary order and counting sort of postings
  const sorted = termStrs.slice().sort();
  const T = sorted.length;
  const remap = new Uint32Array(T);
  for (let i = 0; i < T; i++) remap[termIds.get(sorted[i])!] = i;
  termIds.clear();
  const P = pN;
  const postStart = new Uint32Array(T + 1);
  for (let i = 0; i < P; i++) {
    const t = remap[pTerm[i]];
    pTerm[i] = t;
    postStart[t + 1]++;
  }
  for (let t = 0; t < T; t++) postStart[t + 1] += postStart[t];
  const fill = postStart.slice(0, T);
  // BM25F per posting, computed doc by doc (the doc's field lengths at hand) while scattering the
  // postings into term order; pTf[i] becomes posting i's place in that order (for step 4)
  const idfs = new Float64Array(T);
  for (let t = 0; t < T; t++) idfs[t] = idf(N, postStart[t + 1] - postStart[t]);
  const postDocs = new Uint32Array(P);
  let postTf = new Uint32Array(P);
  let score = new Float32Array(P);
  const maxScore = new Float64Array(T);
  const ends = docEnd.a;
  const docLens = [0, 0, 0, 0];
  for (let doc = 0, i = 0; doc < N; doc++) {
    for (let f = 0; f < 4; f++) docLens[f] = lens[f].a[doc];
    for (const e = ends[doc]; i < e; i++) {
      const t = pTerm[i];
      const at = fill[t]++;
      const v = bm25f(pTf[i], docLens, s.fieldSum, N, boosts, idfs[t]);
      postDocs[at] = doc;
      postTf[at] = pTf[i];
      score[at] = v;
      if (v > maxScore[t]) maxScore[t] = v;
      pTf[i] = at;
    }
  }

  debug('postings sorted, scored');
  // 3. impacts: scores quantised to 8 bits per term
  const postImp = new Uint8Array(P);
  const termMax = new Float32Array(T);
  for (let t = 0; t < T; t++) {
    const max = maxScore[t];
    termMax[t] = max;
    for (let p = postStart[t], en = postStart[t + 1]; p < en; p++) postImp[p] = Math.max(1, Math.round((score[p] / max) * 255));
  }

  const inNames = namePostings(postStart, postDocs, postTf, T);
  postTf = new Uint32Array(0); // with score, ~1 GB at 2M: freed before the next phases
  score = new Float32Array(0);
  s.namePostStart = inNames.nameStart;
  s.namePostDocs = inNames.nameDocs;
  s.namePostQ = nameQualities(inNames.nameDocs, s.quality);
  debug('impacts, name postings');
  // 4. top distinctive terms per doc: highest impact among terms that occur in 2..N/20 docs, doc by
  // doc, each doc's candidates in term order (ties keep the earlier term, as do their slots)
  const topTerms = new Uint32Array(N * TOP_TERMS);
  const maxDf = Math.max(10, N / 20);
  const scale = new Float64Array(T); // 0: not a candidate term
  for (let t = 0; t < T; t++) {
    const df = postStart[t + 1] - postStart[t];
    if (df >= 2 && df <= maxDf) scale[t] = termMax[t] / 255;
  }
  let candT: Uint32Array = new Uint32Array(256),
    candP: Uint32Array = new Uint32Array(256);
  const topW = new Float32Array(TOP_TERMS),
    topT = new Uint32Array(TOP_TERMS);
  for (let doc = 0, i = 0; doc < N; doc++) {
    // the doc's candidate terms, insertion-sorted by term
    let n = 0;
    for (const e = ends[doc]; i < e; i++) {
      const t = pTerm[i];
      if (scale[t] === 0) continue;
      if (n === candT.length) {
        candT = grow(candT);
        candP = grow(candP);
      }
      let j = n++;
      for (; j > 0 && candT[j - 1] > t; j--) {
        candT[j] = candT[j - 1];
        candP[j] = candP[j - 1];
      }
      candT[j] = t;
      candP[j] = pTf[i];
    }
    topW.fill(0);
    topT.fill(0);
    let mi = 0; // the first smallest slot
    for (let k = 0; k < n; k++) {
      const t = candT[k];
      const w = postImp[candP[k]] * scale[t];
      if (w > topW[mi]) {
        topW[mi] = w;
        topT[mi] = t + 1;
        let m = 0;
        for (let x = 1; x < TOP_TERMS; x++) if (topW[x] < topW[m]) m = x;
        mi = m;
      }
    }
    topTerms.set(topT, doc * TOP_TERMS);
  }
  pTerm = pTf = docEnd.a = new Uint32Array(0);

  const dict = makeBlob(sorted);
  s.terms = { bytes: dict.bytes, offsets: dict.offsets, count: T };
  s.postStart = postStart;
  s.postDocs = postDocs;
  s.postImp = postImp;
  s.termMax = termMax;
  s.postMid = splitTiers(postStart, postDocs, postImp, T);
  const bm = computeBlockMax(postStart, postImp, T);
  s.blockStart = bm.blockStart;
  s.blockMax = bm.blockMax;
  s.topTerms = topTerms;
  debug('top terms, block max');
  s.names = makeBlob(names);
  s.bundles = makeBlob(bundles);
  names.length = bundles.length = 0;
  rebuildLookups(s);
  debug('lookups');
  engine.mergeThreshold = Math.max(20_000, Math.floor(N / 20));
  return engine;
}
