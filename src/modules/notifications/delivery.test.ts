import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPrivateHost } from './delivery.ts';

test('webhooks never reach loopback, private or link-local addresses', async () => {
  for (const host of [
    '127.0.0.1',
    'localhost',
    '10.1.2.3',
    '172.20.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '0.0.0.0',
    '[::1]',
    '::1',
    '[fd00::1]',
    '[fe80::1]',
    '::ffff:127.0.0.1',
    '100.64.0.1',
  ]) {
    assert.equal(await isPrivateHost(host), true, host);
  }
  for (const host of ['93.184.216.34', '8.8.8.8', '[2606:4700::1111]', '172.32.0.1']) assert.equal(await isPrivateHost(host), false, host);
});
