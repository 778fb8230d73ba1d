import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareVersions, diffPermissions, isPermission, normalizePermissions, parseVersion } from './versioning.ts';

test('parseVersion accepts dotted numeric versions of 1 to 4 parts', () => {
  assert.deepEqual(parseVersion('1'), [1]);
  assert.deepEqual(parseVersion('2.10.1'), [2, 10, 1]);
  assert.deepEqual(parseVersion('0.0.0.1'), [0, 0, 0, 1]);
  for (const bad of ['', '1.', '.1', '1..2', '01.2', '1.02', 'v1.0', '1.0-beta', '1.2.3.4.5', '1 .2', '-1', '1e3', '1234567890']) {
    assert.equal(parseVersion(bad), null, bad);
  }
});

test('compareVersions compares numerically, part by part, missing parts as 0', () => {
  assert.ok(compareVersions('2.10', '2.9') > 0);
  assert.ok(compareVersions('1.0.1', '1.0') > 0);
  assert.ok(compareVersions('1.9.9', '2') < 0);
  assert.equal(compareVersions('1.0', '1.0.0'), 0);
  assert.equal(compareVersions('3', '3'), 0);
  assert.throws(() => compareVersions('x', '1'));
});

test('permissions: normalised sorted and unique, diffed both ways', () => {
  assert.deepEqual(normalizePermissions(['camera', 'location', 'camera']), ['camera', 'location']);
  assert.deepEqual(diffPermissions(['camera', 'contacts'], ['camera', 'location.always', 'microphone']), {
    added: ['location.always', 'microphone'],
    removed: ['contacts'],
  });
  assert.deepEqual(diffPermissions([], []), { added: [], removed: [] });
  assert.ok(isPermission('location.always'));
  assert.ok(!isPermission('Camera'));
  assert.ok(!isPermission(''));
  assert.ok(!isPermission('a b'));
});
