// Keyset cursors: the sort key and id of the last row of a page, opaque to callers (base64url JSON).
// Timestamps travel as integer microseconds since the epoch: exact (PostgreSQL keeps microseconds,
// a JS Date does not) and impossible to turn into an SQL error.
import { validate as isUuid } from 'uuid';
import { decodeCursor, encodeCursor } from '../../platform/http/pagination.ts';

export const BROWSE_SORTS = ['newest', 'popular', 'rating', 'name'] as const;
export type BrowseSort = (typeof BROWSE_SORTS)[number];

/** newest: published_at in µs; popular: download count; rating: average; name: the name. */
export type SortKey = string | number;

export interface KeysetPosition {
  key: SortKey;
  id: string;
}

const isMicros = (v: unknown): v is number => Number.isSafeInteger(v);

function keyIsValid(sort: BrowseSort, key: unknown): boolean {
  switch (sort) {
    case 'newest':
    case 'popular':
      return isMicros(key);
    case 'rating':
      return typeof key === 'number' && Number.isFinite(key);
    case 'name':
      return typeof key === 'string' && key.length <= 1000;
  }
}

export function encodeBrowseCursor(sort: BrowseSort, pos: KeysetPosition): string {
  return encodeCursor([sort, pos.key, pos.id]);
}

/** Throws 400 BAD_CURSOR unless it is a cursor of this same sort that this API issued. */
export function decodeBrowseCursor(sort: BrowseSort, cursor: string | undefined): KeysetPosition | undefined {
  const v = decodeCursor(
    cursor,
    (v): v is [BrowseSort, SortKey, string] =>
      Array.isArray(v) && v.length === 3 && v[0] === sort && keyIsValid(sort, v[1]) && typeof v[2] === 'string' && isUuid(v[2]),
  );
  return v && { key: v[1], id: v[2] };
}

/** Cursor over a timestamp (µs since the epoch) and an id: developer app lists, the review queue. */
export function encodeTimeCursor(pos: { micros: number; id: string }): string {
  return encodeCursor([pos.micros, pos.id]);
}

export function decodeTimeCursor(cursor: string | undefined): { micros: number; id: string } | undefined {
  const v = decodeCursor(
    cursor,
    (v): v is [number, string] => Array.isArray(v) && v.length === 2 && isMicros(v[0]) && typeof v[1] === 'string' && isUuid(v[1]),
  );
  return v && { micros: v[0], id: v[1] };
}
