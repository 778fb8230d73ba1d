import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etagOf, parseIfMatch } from './etag.ts';

test('If-Match parsing', () => {
  assert.equal(etagOf(3), '"3"');
  assert.deepEqual(parseIfMatch(undefined), { kind: 'absent' });
  assert.deepEqual(parseIfMatch('  '), { kind: 'absent' });
  assert.deepEqual(parseIfMatch('*'), { kind: 'wildcard' });
  assert.deepEqual(parseIfMatch('"3"'), { kind: 'revisions', revisions: [3] });
  assert.deepEqual(parseIfMatch('"3", "4"'), { kind: 'revisions', revisions: [3, 4] });
  assert.deepEqual(parseIfMatch('W/"3"'), { kind: 'revisions', revisions: [] }, 'weak tags never match');
  assert.deepEqual(parseIfMatch('3'), { kind: 'revisions', revisions: [] });
});
