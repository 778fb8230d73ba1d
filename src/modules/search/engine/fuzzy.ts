// Typo candidates from the sorted term dictionary: a Damerau–Levenshtein (optimal string alignment:
// an adjacent transposition "coinr" → "cionr" is one edit) walk over the sorted byte strings,
// treating each run of terms that share a prefix as one trie node (no trie is materialised). Rows of
// the edit-distance matrix are computed once per shared prefix, and a whole prefix range is pruned as
// soon as the row minimum exceeds the allowed edits.

/** Edits allowed like Elasticsearch fuzziness AUTO: 0 for 1–2 chars, 1 for 3–5, 2 beyond. */
export function allowedEdits(term: string): number {
  const n = [...term].length;
  return n <= 2 ? 0 : n <= 5 ? 1 : 2;
}

export interface SortedTerms {
  bytes: Uint8Array; // concatenated UTF-8 terms, sorted bytewise
  offsets: Uint32Array; // term i = bytes[offsets[i], offsets[i+1])
  count: number;
}

/** Calls found(termIndex, distance) for each dictionary term within maxEdits of query. */
export function levenshteinWalk(dict: SortedTerms, query: Uint8Array, maxEdits: number, found: (t: number, d: number) => void): void {
  const { bytes, offsets } = dict;
  const qn = query.length;
  const rows: Int32Array[] = [];
  const row0 = new Int32Array(qn + 1);
  for (let j = 0; j <= qn; j++) row0[j] = j;
  rows.push(row0);
  const termLen = (t: number) => offsets[t + 1] - offsets[t];
  const byteAt = (t: number, depth: number) => bytes[offsets[t] + depth];

  const walk = (lo: number, hi: number, depth: number): void => {
    const prev = rows[depth];
    const prev2 = depth > 0 ? rows[depth - 1] : null; // row before the prefix's last byte (transpositions)
    const pc = depth > 0 ? byteAt(lo, depth - 1) : -1; // the prefix's last byte (same for the whole range)
    // the term equal to the prefix itself sorts first in the range
    if (lo < hi && termLen(lo) === depth) {
      if (prev[qn] <= maxEdits) found(lo, prev[qn]);
      lo++;
    }
    if (depth >= qn + maxEdits) return;
    let row = rows[depth + 1];
    if (!row) rows.push((row = new Int32Array(qn + 1)));
    while (lo < hi) {
      const c = byteAt(lo, depth);
      // end of the run of terms with byte c at this depth
      let a = lo + 1;
      let b = hi;
      while (a < b) {
        const m = (a + b) >>> 1;
        if (byteAt(m, depth) === c) a = m + 1;
        else b = m;
      }
      row[0] = prev[0] + 1;
      let min = row[0];
      for (let j = 1; j <= qn; j++) {
        const cost = query[j - 1] === c ? 0 : 1;
        let v = prev[j - 1] + cost;
        const del = prev[j] + 1;
        const ins = row[j - 1] + 1;
        if (del < v) v = del;
        if (ins < v) v = ins;
        // adjacent transposition: the prefix ends in "…pc c" where the query has "c pc"
        if (prev2 && j > 1 && query[j - 1] === pc && query[j - 2] === c && pc !== c) {
          const tr = prev2[j - 2] + 1;
          if (tr < v) v = tr;
        }
        row[j] = v;
        if (v < min) min = v;
      }
      if (min <= maxEdits) walk(lo, a, depth + 1);
      // walk() may have reused rows[depth+1]; restore nothing needed since we recompute per child
      lo = a;
    }
  };
  walk(0, dict.count, 0);
}

/**
 * Damerau–Levenshtein distance (optimal string alignment: adjacent transposition = 1 edit) with an
 * early exit above max (for the small mutable segment).
 */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev2 = new Array<number>(b.length + 1).fill(0);
  let prev = new Array<number>(b.length + 1);
  let cur = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let min = i;
    for (let j = 1; j <= b.length; j++) {
      let v = Math.min(prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1), prev[j] + 1, cur[j - 1] + 1);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1] && a[i - 1] !== a[i - 2]) v = Math.min(v, prev2[j - 2] + 1);
      cur[j] = v;
      if (v < min) min = v;
    }
    // a transposition can't lower the next row below this row's minimum − 0, so the exit stays sound
    if (min > max) return max + 1;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[b.length];
}
