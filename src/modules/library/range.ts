// Byte ranges and conditional requests of the download route (RFC 9110 §13-14): pure rules, no I/O.

export type RangeAnswer =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number } // inclusive
  | { kind: 'unsatisfiable' };

const SINGLE_RANGE = /^bytes=\s*(\d*)-(\d*)\s*$/i;

/**
 * What to send for a Range header over `size` bytes. Only a single byte range is honoured: several ranges,
 * another unit or a malformed header get the whole representation (a server may always ignore Range).
 */
export function parseRange(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined) return { kind: 'full' };
  const m = SINGLE_RANGE.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'full' };
  if (m[1] === '') {
    // suffix range: the last n bytes
    const n = Number(m[2]);
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const last = m[2] === '' ? Infinity : Number(m[2]);
  if (last < start) return { kind: 'full' }; // not a valid range: ignored
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: Math.min(last, size - 1) };
}

/** Entity tags listed in a header (If-None-Match, If-Range), weak ones with their W/ prefix. */
function tags(header: string): string[] {
  return header.match(/(?:W\/)?"[^"]*"|\*/g) ?? [];
}

/** If-None-Match: true when it names this representation (weak comparison, or *): answer 304. */
export function matchesNoneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return tags(header).some((t) => t === '*' || t.replace(/^W\//, '') === etag);
}

/**
 * If-Range: the Range applies only when the validator is this representation's strong ETag. A date never
 * matches (no Last-Modified is sent) and a weak tag never may: then the whole representation is sent.
 */
export function ifRangeHolds(header: string | undefined, etag: string): boolean {
  return header === undefined || header.trim() === etag;
}

/** A filename that survives any Content-Disposition parser: letters, digits, dots, hyphens and underscores. */
export function safeFilename(name: string): string {
  const cleaned = name
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+/, '')
    .slice(0, 120);
  return cleaned || 'download';
}
