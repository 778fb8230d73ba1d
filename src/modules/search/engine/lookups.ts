// Sorted lookups over the base segment's live docs, rebuilt after a build or merge and stored in
// snapshots: id → doc, hash(normalised name) → docs, hash(lowercased bundle id) → docs, sorted names.
// Strings are sorted by their UTF-8 bytes, the order the lookups binary-search them in.
import { normalizeName } from './analysis.ts';
import { blobGet, F_TOMB, hash32, type Blob, type EngineState } from './engine.ts';

/** Sorted lookups over live base docs: by id, by name hash, by bundle hash, by normalised name. */
export function rebuildLookups(s: EngineState): void {
  const all = new Uint32Array(s.baseN);
  let L = 0;
  for (let d = 0; d < s.baseN; d++) if (!(s.flags[d] & F_TOMB)) all[L++] = d;
  const live = all.subarray(0, L);
  // ids: straight from their UTF-8 blob (live ids are unique)
  s.idOrder = sortByBytes(s.ids, live.slice(), byDocText);
  // normalised names in live order (UTF-8, and their hashes: no array of strings to keep), then
  // sorted; equal names by doc
  const hashes = new Uint32Array(L);
  const offsets = new Uint32Array(L + 1);
  let bytes = Buffer.allocUnsafe(s.names.bytes.length + 1024);
  for (let i = 0; i < L; i++) {
    const name = normalizeName(blobGet(s.names, live[i]));
    hashes[i] = hash32(name);
    const o = offsets[i];
    if (o + name.length * 3 > bytes.length) {
      const b = Buffer.allocUnsafe(bytes.length * 2 + name.length * 3);
      bytes.copy(b, 0, 0, o);
      bytes = b;
    }
    offsets[i + 1] = o + bytes.write(name, o);
  }
  const normBlob = { bytes, offsets };
  const order = sortByBytes(normBlob, identity(L), (a, b) => byDocText(live[a], live[b]));
  s.sugDocs = order.map((i) => live[i]);
  s.sugNames = permuteBlob(normBlob, order);
  // name hashes in sorted-name order, so equal hashes keep that order
  const nameKeys = order.map((i) => hashes[i]);
  const byHash = radixOrder(nameKeys);
  s.nameKeys = byHash.map((i) => nameKeys[i]);
  s.nameDocs = byHash.map((i) => s.sugDocs[i]);
  // bundle hashes in doc order
  const bundleKeys = live.map((d) => hash32(blobGet(s.bundles, d).toLowerCase()));
  const byBundle = radixOrder(bundleKeys);
  s.bundleKeys = byBundle.map((i) => bundleKeys[i]);
  s.bundleDocs = byBundle.map((i) => live[i]);
}

/**
 * Equal keys are ordered by the doc index as base-36 text ("10" < "2"): the lookups used to sort
 * `key + "\u0001" + doc.toString(36)` strings, and this keeps their order (and snapshots) unchanged.
 */
function byDocText(a: number, b: number): number {
  const x = a.toString(36),
    y = b.toString(36);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** 0, 1, …, n - 1. */
export function identity(n: number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

/** Whether strings a and b of the blob have the same bytes. */
export function blobEquals({ bytes, offsets }: Blob, a: number, b: number): boolean {
  const sa = offsets[a],
    sb = offsets[b],
    n = offsets[a + 1] - sa;
  if (offsets[b + 1] - sb !== n) return false;
  for (let j = 0; j < n; j++) if (bytes[sa + j] !== bytes[sb + j]) return false;
  return true;
}

/** The blob's strings in `order`. */
function permuteBlob(b: Blob, order: Uint32Array): Blob {
  const bytes = new Uint8Array(b.offsets[b.offsets.length - 1]);
  const offsets = new Uint32Array(order.length + 1);
  let o = 0;
  for (let i = 0; i < order.length; i++) {
    const st = b.offsets[order[i]],
      en = b.offsets[order[i] + 1];
    offsets[i] = o;
    if (en - st > 16) bytes.set(b.bytes.subarray(st, en), o);
    else for (let j = st; j < en; j++) bytes[o + j - st] = b.bytes[j];
    o += en - st;
  }
  offsets[order.length] = o;
  return { bytes, offsets };
}

/** Bytes [at, at + 4) of a string of `len` bytes from `st`, big-endian, zero-padded. */
function prefix32(bytes: Uint8Array, st: number, len: number, at: number): number {
  let k = 0;
  for (let j = at; j < at + 4; j++) k = (k << 8) | (j < len ? bytes[st + j] : 0);
  return k >>> 0;
}

/**
 * Sorts `items` (string indices into `blob`) in place by their UTF-8 bytes (a proper prefix first),
 * equal strings by `tie`. MSD radix sort, 8 bytes a round: a stable radix sort on the bytes
 * [depth, depth + 8) (zero-padded: a smaller padded prefix means a smaller string), then each run of
 * equal prefixes from depth + 8 on; small runs, and runs of strings that end before depth, by comparison.
 */
export function sortByBytes(blob: Blob, items: Uint32Array, tie: (a: number, b: number) => number, depth = 0, radixMin = 1 << 16): Uint32Array {
  const { bytes, offsets } = blob;
  const n = items.length;
  const compare = (a: number, b: number) => {
    const sa = offsets[a],
      la = offsets[a + 1] - sa,
      sb = offsets[b],
      lb = offsets[b + 1] - sb;
    const m = Math.min(la, lb);
    for (let j = depth; j < m; j++) {
      const c = bytes[sa + j] - bytes[sb + j];
      if (c) return c;
    }
    return la - lb || tie(a, b);
  };
  let longest = 0;
  for (let i = 0; i < n; i++) longest = Math.max(longest, offsets[items[i] + 1] - offsets[items[i]]);
  // (a radix round costs passes over 65536 counters and a few arrays of n: worth it for large n only)
  if (n < radixMin || longest <= depth) return items.sort(compare);
  const hi = new Uint32Array(n),
    lo = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const st = offsets[items[i]],
      len = offsets[items[i] + 1] - st;
    hi[i] = prefix32(bytes, st, len, depth);
    lo[i] = prefix32(bytes, st, len, depth + 4);
  }
  const order = radixOrder(hi, radixOrder(lo));
  items.set(order.map((i) => items[i]));
  for (let i = 0; i < n; ) {
    const h = hi[order[i]],
      l = lo[order[i]];
    let j = i + 1;
    while (j < n && hi[order[j]] === h && lo[order[j]] === l) j++;
    if (j - i > 16) sortByBytes(blob, items.subarray(i, j), tie, depth + 8, radixMin);
    else {
      // most runs are tiny: insertion sort in place
      for (let a = i + 1; a < j; a++) {
        const x = items[a];
        let b = a;
        for (; b > i && compare(items[b - 1], x) > 0; b--) items[b] = items[b - 1];
        items[b] = x;
      }
    }
    i = j;
  }
  return items;
}

/**
 * Stable LSD radix sort (two 16-bit passes): the permutation that orders `keys` ascending.
 * Given `order` (a permutation, consumed), sorts that sequence instead, keeping its order among equal keys.
 */
export function radixOrder(keys: Uint32Array, order?: Uint32Array): Uint32Array {
  const n = keys.length;
  let src: Uint32Array = order ?? identity(n);
  let dst: Uint32Array = new Uint32Array(n);
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
