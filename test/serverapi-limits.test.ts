// The App Store Server API paths are rate-limited per client address, answering as Apple does (429, RATE_LIMIT_EXCEEDED).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IN_APPS_LIMIT } from '../src/modules/serverapi/index.ts';
import { createTestApp, randomIp } from './support/app.ts';

test("over the per-address limit, /inApps answers 429 in Apple's format with Retry-After", async () => {
  const t = await createTestApp('embedded');
  try {
    const ip = randomIp();
    const call = () => t.app.inject({ method: 'GET', url: '/inApps/v1/transactions/1', remoteAddress: ip });
    for (let i = 0; i < IN_APPS_LIMIT.max; i++) assert.equal((await call()).statusCode, 401);
    const limited = await call();
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.json().errorCode, 4290000);
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    assert.equal(
      (await t.app.inject({ method: 'GET', url: '/inApps/v1/transactions/1', remoteAddress: randomIp() })).statusCode,
      401,
      'other addresses are not affected',
    );
  } finally {
    await t.close();
  }
});

test("unknown /inApps paths answer 404 in Apple's format too", async () => {
  const t = await createTestApp('embedded');
  try {
    const res = await t.app.inject({ method: 'GET', url: '/inApps/v9/nothing-here' });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().errorCode, undefined);
    assert.equal(typeof res.json().errorMessage, 'string');
  } finally {
    await t.close();
  }
});
