import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ifRangeHolds, matchesNoneMatch, parseRange, safeFilename } from './range.ts';

test('parseRange: one byte range is honoured, clamped to the size', () => {
  assert.deepEqual(parseRange('bytes=0-99', 1000), { kind: 'partial', start: 0, end: 99 });
  assert.deepEqual(parseRange('bytes=900-', 1000), { kind: 'partial', start: 900, end: 999 });
  assert.deepEqual(parseRange('bytes=900-5000', 1000), { kind: 'partial', start: 900, end: 999 });
  assert.deepEqual(parseRange('bytes=-10', 1000), { kind: 'partial', start: 990, end: 999 });
  assert.deepEqual(parseRange('bytes=-5000', 1000), { kind: 'partial', start: 0, end: 999 });
  assert.deepEqual(parseRange('Bytes= 5-5 ', 1000), { kind: 'partial', start: 5, end: 5 });
});

test('parseRange: past the end is unsatisfiable; anything else unusable means the whole file', () => {
  assert.deepEqual(parseRange('bytes=1000-', 1000), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=5000-6000', 1000), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=-0', 1000), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=99999999999999999999-', 1000), { kind: 'unsatisfiable' });
  for (const header of [undefined, '', 'bytes=', 'bytes=-', 'bytes=5-1', 'bytes=0-1,5-9', 'items=0-5', 'bytes=a-b', 'bytes=1.5-3']) {
    assert.deepEqual(parseRange(header, 1000), { kind: 'full' }, String(header));
  }
});

test('If-None-Match matches weakly (and *); If-Range only by the exact strong tag', () => {
  const etag = '"abc"';
  assert.ok(matchesNoneMatch('"abc"', etag));
  assert.ok(matchesNoneMatch('"x", W/"abc"', etag));
  assert.ok(matchesNoneMatch('*', etag));
  assert.ok(!matchesNoneMatch('"abcd"', etag));
  assert.ok(!matchesNoneMatch(undefined, etag));
  assert.ok(ifRangeHolds(undefined, etag));
  assert.ok(ifRangeHolds(' "abc" ', etag));
  assert.ok(!ifRangeHolds('W/"abc"', etag));
  assert.ok(!ifRangeHolds('Tue, 01 Dec 2026 10:00:00 GMT', etag));
});

test('safeFilename keeps letters, digits, dots, hyphens and underscores only', () => {
  assert.equal(safeFilename('com.example.app-1.2.3.ipa'), 'com.example.app-1.2.3.ipa');
  assert.equal(safeFilename('a"b\r\nc;d/e.ipa'), 'a_b_c_d_e.ipa');
  assert.equal(safeFilename('../x'), 'x');
  assert.equal(safeFilename('"'), 'download');
});
