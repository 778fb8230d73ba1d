// Optimistic concurrency on app metadata: ETag = the revision number, quoted.

export const etagOf = (revision: number) => `"${revision}"`;

export type IfMatch = { kind: 'absent' } | { kind: 'wildcard' } | { kind: 'revisions'; revisions: number[] };

/** Parses an If-Match header into the revisions it names. Weak or malformed tags name no revision (they never match). */
export function parseIfMatch(header: string | undefined): IfMatch {
  if (header === undefined || header.trim() === '') return { kind: 'absent' };
  if (header.trim() === '*') return { kind: 'wildcard' };
  const revisions: number[] = [];
  for (const part of header.split(',')) {
    const m = /^\s*"(\d{1,9})"\s*$/.exec(part);
    if (m) revisions.push(Number(m[1]));
  }
  return { kind: 'revisions', revisions };
}
