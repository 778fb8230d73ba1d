import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isBundleId, isProductId } from './identifiers.ts';

test('bundle ids are reverse-DNS', () => {
  for (const ok of ['com.example.app', 'io.orchard.Notes-2', 'com.x', 'org.example.a1.b2']) assert.ok(isBundleId(ok), ok);
  for (const bad of [
    'app',
    'com.',
    '.com.app',
    'com..app',
    '1com.app',
    'com.-app',
    'com.app-',
    'com.ex ample',
    'com.exa_mple',
    'com.app/x',
    `com.${'a'.repeat(152)}`,
  ]) {
    assert.ok(!isBundleId(bad), bad);
  }
});

test('product ids', () => {
  assert.ok(isProductId('com.example.app.gems100'));
  assert.ok(isProductId('gems_100-pack'));
  assert.ok(!isProductId(''));
  assert.ok(!isProductId('.gems'));
  assert.ok(!isProductId('gems 100'));
  assert.ok(!isProductId('x'.repeat(101)));
});
