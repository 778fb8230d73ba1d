import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBrowseCursor, decodeTimeCursor, encodeBrowseCursor, encodeTimeCursor } from './cursor.ts';
import { DomainError } from '../../platform/errors.ts';

const id = '01900000-0000-7000-8000-000000000001';
const badCursor = (fn: () => unknown) => assert.throws(fn, (e: unknown) => e instanceof DomainError && e.code === 'BAD_CURSOR');

test('browse cursors round-trip per sort', () => {
  assert.deepEqual(decodeBrowseCursor('newest', encodeBrowseCursor('newest', { key: 1_700_000_000_123_456, id })), { key: 1_700_000_000_123_456, id });
  assert.deepEqual(decodeBrowseCursor('rating', encodeBrowseCursor('rating', { key: 4.25, id })), { key: 4.25, id });
  assert.deepEqual(decodeBrowseCursor('name', encodeBrowseCursor('name', { key: 'Ünïcode "quoted"', id })), { key: 'Ünïcode "quoted"', id });
  assert.equal(decodeBrowseCursor('name', undefined), undefined);
  assert.equal(decodeBrowseCursor('name', ''), undefined);
});

test('browse cursors of another sort or tampered are refused with BAD_CURSOR', () => {
  badCursor(() => decodeBrowseCursor('popular', encodeBrowseCursor('name', { key: 'a', id })));
  badCursor(() => decodeBrowseCursor('newest', encodeBrowseCursor('newest', { key: 1.5, id })));
  badCursor(() => decodeBrowseCursor('name', encodeBrowseCursor('name', { key: 'a', id: 'not-a-uuid' })));
  badCursor(() => decodeBrowseCursor('name', 'garbage!!'));
  badCursor(() => decodeBrowseCursor('name', Buffer.from('{"a":1}').toString('base64url')));
});

test('time cursors round-trip and refuse garbage', () => {
  assert.deepEqual(decodeTimeCursor(encodeTimeCursor({ micros: 123, id })), { micros: 123, id });
  badCursor(() => decodeTimeCursor(Buffer.from('["2024-01-01", "x"]').toString('base64url')));
});
