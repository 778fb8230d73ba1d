// Sorted lookups over the base segment's live docs, rebuilt after a build or merge and stored in
// snapshots: id → doc, hash(normalised name) → docs, hash(lowercased bundle id) → docs, sorted names.
import { normalizeName } from './analysis.ts';
import { blobGet, F_TOMB, hash32, makeBlob, type EngineState } from './engine.ts';

/** Sorted lookups over live base docs: by id, by name hash, by bundle hash, by normalised name. */
export function rebuildLookups(s: EngineState): void {
  const live: number[] = [];
  for (let d = 0; d < s.baseN; d++) if (!(s.flags[d] & F_TOMB)) live.push(d);
  const L = live.length;
  // ids: sort "id\u0001docIndex" strings with the fast default comparator
  const keyed = (get: (d: number) => string) => {
    const arr: string[] = new Array(L);
    for (let i = 0; i < L; i++) arr[i] = get(live[i]) + '\u0001' + live[i].toString(36);
    arr.sort();
    return arr;
  };
  const ids = keyed((d) => blobGet(s.ids, d));
  s.idOrder = Uint32Array.from(ids, (k) => parseInt(k.slice(k.lastIndexOf('\u0001') + 1), 36));
  const norm = keyed((d) => normalizeName(blobGet(s.names, d)));
  s.sugDocs = new Uint32Array(L);
  const sugStrings: string[] = new Array(L);
  for (let i = 0; i < L; i++) {
    const k = norm[i];
    const cut = k.lastIndexOf('\u0001');
    s.sugDocs[i] = parseInt(k.slice(cut + 1), 36);
    sugStrings[i] = k.slice(0, cut);
  }
  s.sugNames = makeBlob(sugStrings);
  const hashTable = (key: (i: number) => number) => {
    const keys = new Uint32Array(L);
    for (let i = 0; i < L; i++) keys[i] = key(i);
    const order = radixOrder(keys);
    return { keys: Uint32Array.from(order, (i) => keys[i]), docs: Uint32Array.from(order, (i) => live[i]) };
  };
  // sugStrings is in sorted-name order, not live order: map through sugDocs
  const nameKeys = new Uint32Array(L);
  for (let i = 0; i < L; i++) nameKeys[i] = hash32(sugStrings[i]);
  const order = radixOrder(nameKeys);
  s.nameKeys = Uint32Array.from(order, (i) => nameKeys[i]);
  s.nameDocs = Uint32Array.from(order, (i) => s.sugDocs[i]);
  const bh = hashTable((i) => hash32(blobGet(s.bundles, live[i]).toLowerCase()));
  s.bundleKeys = bh.keys;
  s.bundleDocs = bh.docs;
}

/** Stable LSD radix sort (two 16-bit passes): the permutation that orders `keys` ascending. */
export function radixOrder(keys: Uint32Array): Uint32Array {
  const n = keys.length;
  let src = new Uint32Array(n);
  for (let i = 0; i < n; i++) src[i] = i;
  let dst = new Uint32Array(n);
  const count = new Uint32Array(65537);
  for (const shift of [0, 16]) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[((keys[i] >>> shift) & 0xffff) + 1]++;
    for (let b = 0; b < 65536; b++) count[b + 1] += count[b];
    for (let i = 0; i < n; i++) {
      const k = src[i];
      dst[count[(keys[k] >>> shift) & 0xffff]++] = k;
    }
    [src, dst] = [dst, src];
  }
  return src;
}
