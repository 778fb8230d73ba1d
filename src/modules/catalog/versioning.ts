// Version strings and declared permissions: pure rules, no I/O.

/** Dotted numeric: 1 to 4 parts, each 0-999999999 without leading zeros ("1", "2.10.1"). */
const VERSION = /^(0|[1-9]\d{0,8})(\.(0|[1-9]\d{0,8})){0,3}$/;

export function parseVersion(text: string): number[] | null {
  return VERSION.test(text) ? text.split('.').map(Number) : null;
}

export const VERSION_RULE = 'a dotted numeric version of 1 to 4 parts without leading zeros, e.g. 1.0 or 2.10.1';

/** Negative when a < b, 0 when equal (missing parts count as 0: 1.0 equals 1.0.0), positive when a > b. */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  if (!x || !y) throw new Error(`not a version: ${!x ? a : b}`);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** A capability a version declares, e.g. "camera" or "location.always". */
const PERMISSION = /^[a-z][a-z0-9_.-]{0,63}$/;

export function isPermission(text: string): boolean {
  return PERMISSION.test(text);
}

/** Sorted, without duplicates: how permissions are stored, so diffs and comparisons are stable. */
export function normalizePermissions(list: readonly string[]): string[] {
  return [...new Set(list)].sort();
}

export interface PermissionDiff {
  added: string[];
  removed: string[];
}

/** What a version asks for beyond (added) and no longer asks for (removed) compared with the previous one. */
export function diffPermissions(previous: readonly string[], next: readonly string[]): PermissionDiff {
  const before = new Set(previous);
  const after = new Set(next);
  return {
    added: [...after].filter((p) => !before.has(p)).sort(),
    removed: [...before].filter((p) => !after.has(p)).sort(),
  };
}
