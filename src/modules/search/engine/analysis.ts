// Text analysis shared by indexing and querying: folding, tokenisation, light stemming.
// The same functions run on both sides so a query term always meets its indexed form.

const SPECIAL_FOLD: Record<string, string> = {
  ß: 'ss',
  ẞ: 'SS',
  æ: 'ae',
  Æ: 'AE',
  œ: 'oe',
  Œ: 'OE',
  ø: 'o',
  Ø: 'O',
  ł: 'l',
  Ł: 'L',
  đ: 'd',
  Đ: 'D',
  ð: 'd',
  Ð: 'D',
  þ: 'th',
  Þ: 'TH',
  ı: 'i',
  ĸ: 'k',
  ŉ: 'n',
  ſ: 's',
  '’': "'",
  ʼ: "'",
  '＆': '&',
};
const SPECIAL_RE = /[ßẞæÆœŒøØłŁđĐðÐþÞıĸŉſ’ʼ＆]/g;

/** Unicode → ASCII-ish folding that keeps case (camel-case splitting needs it): é→e, ß→ss, Ø→O … */
export function fold(text: string): string {
  let s = text.normalize('NFKD').replace(/\p{M}+/gu, '');
  if (SPECIAL_RE.test(s)) s = s.replace(SPECIAL_RE, (c) => SPECIAL_FOLD[c] ?? c);
  SPECIAL_RE.lastIndex = 0;
  return s;
}

// A raw token: letters/digits, optionally joined by & + ' (Q&A, C++ is out of scope, don't).
const TOKEN_RE = /[\p{L}\p{N}]+(?:[&+'][\p{L}\p{N}]+)*/gu;
// Camel-case / letter-digit boundaries inside a token: TikTok → Tik|Tok, Game2048 → Game|2048.
const PART_RE = /\p{Lu}+(?=\p{Lu}\p{Ll})|\p{Lu}?\p{Ll}+|\p{Lu}+|\p{N}+|\p{L}+/gu;

export const DESCRIPTION_STOP_WORDS = new Set(
  (
    'a an and are as at be by can for from has have in is it its of on or our that the their them they this ' +
    'to we what will with you your all any just more up every get'
  ).split(' '),
);

/** The vowel/consonant measure of Porter's stemmer (number of VC sequences). */
function measure(w: string): number {
  let m = 0;
  let prevVowel = false;
  for (let i = 0; i < w.length; i++) {
    const v = isVowel(w, i);
    if (!v && prevVowel) m++;
    prevVowel = v;
  }
  return m;
}
function isVowel(w: string, i: number): boolean {
  const c = w.charCodeAt(i);
  if (c === 97 || c === 101 || c === 105 || c === 111 || c === 117) return true;
  return c === 121 && i > 0 && !isVowel(w, i - 1); // y after a consonant acts as a vowel
}
const hasVowel = (w: string) => {
  for (let i = 0; i < w.length; i++) if (isVowel(w, i)) return true;
  return false;
};
/** consonant-vowel-consonant ending, last not w/x/y (Porter's *o). */
function cvc(w: string): boolean {
  const n = w.length;
  if (n < 3) return false;
  const last = w[n - 1];
  return !isVowel(w, n - 1) && isVowel(w, n - 2) && !isVowel(w, n - 3) && last !== 'w' && last !== 'x' && last !== 'y';
}

/**
 * Light English stemmer: plural s (Porter 1a), -ing/-ed (Porter 1b with its e/undouble fix-ups),
 * and a final y/ie → i so story/stories and movie/movies meet. Only plain a–z words of 4+ letters.
 */
export function stem(word: string): string {
  if (word.length <= 3 || !/^[a-z]+$/.test(word)) return word;
  let w = word;
  if (w.endsWith('sses')) w = w.slice(0, -2);
  else if (w.endsWith('ies') && w.length > 4) w = w.slice(0, -3) + 'i';
  else if (w.endsWith('s') && !/[sui]s$/.test(w)) w = w.slice(0, -1);
  if (w.endsWith('eed')) {
    // feed, need, speed: keep
  } else {
    const suffix = w.endsWith('ing') ? 3 : w.endsWith('ed') ? 2 : 0;
    if (suffix) {
      const base = w.slice(0, -suffix);
      if (base.length >= 3 && hasVowel(base)) {
        w = base;
        if (/(at|bl|iz)$/.test(w)) w += 'e';
        else if (/([^aeiouylsz])\1$/.test(w)) w = w.slice(0, -1);
        else if (measure(w) === 1 && cvc(w)) w += 'e';
      }
    }
  }
  if (w.length > 3) {
    if (w.endsWith('ie')) w = w.slice(0, -1);
    else if (w.endsWith('y') && !isVowel(w, w.length - 2)) w = w.slice(0, -1) + 'i';
  }
  return w;
}

/** A token of a query with its interchangeable literal forms (e.g. "q&a" and "qa"). */
export interface QueryToken {
  /** The form shown to users / used for corrections (folded, lowercased, unstemmed). */
  text: string;
  /** Analysed forms, the first is the primary one. */
  forms: string[];
}

const ASTRAL = /[\uD800-\uDFFF]/;

function isAlnum(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57);
}
// Text outside this set (letters, digits, marks beyond ASCII, curly apostrophes) takes the Unicode path.
const NON_ASCII = /[^\x00-\x7f\u2000-\u2018\u201a-\u206f\u2190-\u2bff]/;

/** Calls fn for each raw token (case kept). ASCII text takes a hand-written scanner; the rest the regex. */
export function forEachRaw(text: string, fn: (raw: string) => void): void {
  if (NON_ASCII.test(text)) {
    const folded = fold(text);
    TOKEN_RE.lastIndex = 0;
    for (const m of folded.matchAll(TOKEN_RE)) {
      if (!ASTRAL.test(m[0])) fn(m[0]);
    }
    return;
  }
  const n = text.length;
  let i = 0;
  while (i < n) {
    while (i < n && !isAlnum(text.charCodeAt(i))) i++; // other chars here are ASCII or symbols: separators
    if (i >= n) break;
    const start = i;
    for (;;) {
      while (i < n && isAlnum(text.charCodeAt(i))) i++;
      const c = text.charCodeAt(i);
      // a joiner (& + ') between two alphanumerics keeps the token going
      if (i + 1 < n && (c === 38 || c === 43 || c === 39) && isAlnum(text.charCodeAt(i + 1))) i++;
      else break;
    }
    fn(text.slice(start, i));
  }
}

/** Drops the memoised token analyses (after a bulk build). */
export function clearAnalysisCache(): void {
  rawCache.clear();
}

export interface RawAnalysis {
  lower: string;
  terms: string[];
}
const rawCache = new Map<string, RawAnalysis>();

/** The index terms of one raw token (memoised: catalog text repeats words a lot). */
export function analyzeRaw(raw: string): RawAnalysis {
  let r = rawCache.get(raw);
  if (r) return r;
  const lower = raw.toLowerCase();
  const terms: string[] = [];
  if (lower.includes('&') || lower.includes('+')) {
    terms.push(lower); // q&a
    terms.push(stem(lower.replace(/[&+']/g, ''))); // qa
    for (const p of lower.split(/[&+']/)) if (p.length >= 2) terms.push(stem(p));
  } else {
    terms.push(stem(lower.includes("'") ? lower.replace(/'/g, '') : lower));
    // camel-case and letter/digit parts: TikTok → tik, tok
    const parts = raw.replace(/'/g, '').match(PART_RE);
    if (parts && parts.length > 1) {
      for (const p of parts) if (p.length >= 2) terms.push(stem(p.toLowerCase()));
    }
  }
  r = { lower, terms };
  if (rawCache.size > 200_000) rawCache.clear();
  rawCache.set(raw, r);
  return r;
}

/** Index-side analysis: every term a field contributes, with repetitions (for term frequency). */
export function analyzeField(text: string, emit: (term: string) => void, stopWords?: Set<string>): number {
  let count = 0;
  forEachRaw(text, (raw) => {
    const r = analyzeRaw(raw);
    if (stopWords && stopWords.has(r.lower)) return;
    count++;
    const t = r.terms;
    for (let i = 0; i < t.length; i++) emit(t[i]);
  });
  return count;
}

/** Query-side analysis: one token per word typed (camel-case parts are matched via the index side). */
export function analyzeQuery(text: string): QueryToken[] {
  const out: QueryToken[] = [];
  const seen = new Set<string>();
  forEachRaw(text, (raw) => {
    const lower = raw.toLowerCase();
    let forms: string[];
    if (lower.includes('&') || lower.includes('+')) forms = [lower, stem(lower.replace(/[&+']/g, ''))];
    else forms = [stem(lower.replace(/'/g, ''))];
    if (seen.has(forms[0])) return;
    seen.add(forms[0]);
    out.push({ text: lower, forms });
  });
  return out;
}

/** Normalised form of an app name for exact-name matching: folded, lowercased words joined by one space. */
export function normalizeName(text: string): string {
  const words: string[] = [];
  forEachRaw(text, (raw) => words.push(raw.toLowerCase()));
  return words.join(' ');
}

/** Normalised prefix for suggestions: like normalizeName but keeps a trailing space ("zik " ≠ "zik"). */
export function normalizePrefix(text: string): string {
  const n = normalizeName(text);
  return n && /[\s\p{P}]$/u.test(text) ? n + ' ' : n;
}
