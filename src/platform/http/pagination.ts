import { invalid } from '../errors.ts';

/** Opaque cursors: base64url JSON of the sort key of the last row returned. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor<T>(cursor: string | undefined, check: (v: any) => v is T): T | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (check(v)) return v;
  } catch {
    /* fall through */
  }
  throw invalid('BAD_CURSOR', 'cursor is not one this API returned; pass the nextCursor of the previous page.');
}

/** Keyset pages fetch limit + 1 rows: the extra row only says whether another page follows. */
export function takePage<T>(rows: T[], limit: number): { page: T[]; more: true; last: T } | { page: T[]; more: false; last: T | undefined } {
  if (rows.length > limit) {
    const page = rows.slice(0, limit);
    return { page, more: true, last: page[page.length - 1] };
  }
  return { page: rows, more: false, last: rows[rows.length - 1] };
}
