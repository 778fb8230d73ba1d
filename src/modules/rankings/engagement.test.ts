// Engagement's pure parts: SDK keys and their hashes, stored ids, UTC days, and the batch checks JSON Schema
// cannot express (the startedAt window and known storefronts).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { toHttpError } from '../../platform/http/errors.ts';
const DAY_MS = 86_400_000;
import {
  addDays,
  attestedInstall,
  batchError,
  checkBatch,
  hashedId,
  isSdkKeyShape,
  MAX_FUTURE_MS,
  MAX_INSTALL_DAY_SECONDS,
  MAX_INSTALL_DAY_SESSIONS,
  newSdkKey,
  sdkKeyHash,
  utcDay,
  withinDailyCap,
  type SessionInput,
} from './engagement.ts';

const APP = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
const NOW = new Date('2024-03-10T12:00:00Z');
const session = (over: Partial<SessionInput> = {}): SessionInput => ({
  sessionId: 'session-0001',
  installId: 'install-0001',
  country: 'US',
  startedAt: '2024-03-10T11:00:00Z',
  durationSeconds: 60,
  ...over,
});
const storefronts = new Set(['US', 'DE', 'GB']);
const check = (sessions: SessionInput[], now = NOW) => checkBatch(sessions, now, (c) => storefronts.has(c));

describe('SDK keys', () => {
  test('a key is osk_ and 43 base64url characters (32 bytes), new every time', () => {
    const a = newSdkKey();
    const b = newSdkKey();
    assert.match(a, /^osk_[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(a.slice(4), 'base64url').length, 32);
    assert.notEqual(a, b);
    assert.ok(isSdkKeyShape(a));
  });

  test('only the shape we issue passes the shape check', () => {
    for (const bad of ['', 'osk_', 'osk_short', 'sk_' + 'a'.repeat(43), 'osk_' + 'a'.repeat(42), 'osk_' + 'a'.repeat(44), 'osk_' + 'a'.repeat(42) + '!']) {
      assert.equal(isSdkKeyShape(bad), false, bad);
    }
  });

  test('the stored hash is the sha256 of the whole key, hex', () => {
    assert.equal(sdkKeyHash('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.match(sdkKeyHash(newSdkKey()), /^[0-9a-f]{64}$/);
    assert.notEqual(sdkKeyHash('osk_a'), sdkKeyHash('osk_b'));
  });
});

describe('stored ids', () => {
  test('uuid-shaped, stable, and different per app', () => {
    const id = hashedId(APP, 'install-0001');
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(hashedId(APP, 'install-0001'), id);
    assert.notEqual(hashedId(APP, 'install-0002'), id);
    assert.notEqual(hashedId('0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c', 'install-0001'), id);
    assert.ok(!id.includes('install'));
  });
});

describe('UTC days', () => {
  test('utcDay takes the UTC date, whatever the offset the time was written with', () => {
    assert.equal(utcDay(new Date('2024-03-10T23:59:59Z')), '2024-03-10');
    assert.equal(utcDay(new Date('2024-03-11T01:30:00+02:00')), '2024-03-10');
  });
  test('addDays crosses months, years and leap days', () => {
    assert.equal(addDays('2024-03-01', -1), '2024-02-29');
    assert.equal(addDays('2023-12-31', 1), '2024-01-01');
    assert.equal(addDays('2024-06-14', -29), '2024-05-16');
    assert.equal(addDays('2024-06-14', 0), '2024-06-14');
  });
});

describe('batch checks', () => {
  test('a good batch has no issues, up to 5 minutes ahead and 30 days back', () => {
    assert.deepEqual(
      check([
        session(),
        session({ startedAt: '2024-03-10T12:05:00Z' }),
        session({ startedAt: '2024-02-09T12:00:00Z' }),
        session({ country: 'DE', startedAt: '2024-03-10T13:00:00+01:00' }),
      ]),
      [],
    );
  });

  test('a start more than 5 minutes ahead is refused, naming the index', () => {
    const issues = check([session(), session({ startedAt: '2024-03-10T12:05:01Z' })]);
    assert.equal(issues.length, 1);
    assert.equal(issues[0].path, 'body.sessions.1.startedAt');
    assert.match(issues[0].message, /body\.sessions\.1\.startedAt .*in the future/);
  });

  test('a start older than 30 days is refused, naming the index', () => {
    const issues = check([session({ startedAt: '2024-02-09T11:59:59Z' })]);
    assert.equal(issues.length, 1);
    assert.equal(issues[0].path, 'body.sessions.0.startedAt');
    assert.match(issues[0].message, /older than 30 days/);
  });

  test('an unknown storefront is refused; every issue of the batch is reported', () => {
    const issues = check([session({ country: 'XX' }), session(), session({ country: 'ZZ', startedAt: '2030-01-01T00:00:00Z' })]);
    assert.deepEqual(
      issues.map((i) => i.path),
      ['body.sessions.0.country', 'body.sessions.2.startedAt', 'body.sessions.2.country'],
    );
    assert.match(issues[0].message, /'XX' is not an Orchard storefront/);
  });

  test('an unparseable date-time is an issue, not a crash', () => {
    assert.equal(check([session({ startedAt: '2024-03-10T23:59:60Z' })])[0]?.path, 'body.sessions.0.startedAt');
  });

  test('batchError: one 400 VALIDATION_FAILED, the first five in the message, all in details', () => {
    const issues = check(Array.from({ length: 8 }, () => session({ country: 'XX' })));
    const err = batchError(issues);
    assert.equal(toHttpError(err).status, 400);
    assert.equal(err.code, 'VALIDATION_FAILED');
    assert.equal((err.details as unknown[]).length, 8);
    assert.match(err.message, /sessions\.0\.country.*sessions\.4\.country.*and 3 more$/);
    assert.doesNotMatch(err.message, /sessions\.5\./);
  });
});

describe('attested installs', () => {
  const OTHER = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c';
  const issuedAt = new Date('2024-03-01T00:00:00Z');
  test("a valid token of the key's app counts for the token's install", () => {
    assert.deepEqual(attestedInstall(APP, { ok: true, appId: APP, installId: 'x-install', issuedAt }), { installId: 'x-install' });
    assert.deepEqual(attestedInstall(APP.toUpperCase(), { ok: true, appId: APP, installId: 'x-install', issuedAt }), { installId: 'x-install' });
  });
  test('no token, an invalid one, an expired one or one of another app is refused with its reason', () => {
    assert.deepEqual(attestedInstall(APP, null), { refused: 'missing' });
    assert.deepEqual(attestedInstall(APP, { ok: false, reason: 'invalid' }), { refused: 'invalid_token' });
    assert.deepEqual(attestedInstall(APP, { ok: false, reason: 'expired' }), { refused: 'expired' });
    assert.deepEqual(attestedInstall(APP, { ok: true, appId: OTHER, installId: 'x-install', issuedAt }), { refused: 'wrong_app' });
  });
});

describe('sessions count from the download on, within a daily cap per install', () => {
  const issuedAt = new Date('2024-03-01T12:00:00Z');
  const grant = { ok: true as const, appId: APP, installId: 'x-install', issuedAt };
  test('a session dated before its token was issued is refused (before_download); a few minutes of clock drift pass', () => {
    assert.deepEqual(attestedInstall(APP, grant, issuedAt.getTime() - DAY_MS), { refused: 'before_download' });
    assert.deepEqual(attestedInstall(APP, grant, issuedAt.getTime() - MAX_FUTURE_MS - 1), { refused: 'before_download' });
    assert.deepEqual(attestedInstall(APP, grant, issuedAt.getTime() - 60_000), { installId: 'x-install' });
    assert.deepEqual(attestedInstall(APP, grant, issuedAt.getTime() + DAY_MS), { installId: 'x-install' });
  });
  test('an install gets MAX_INSTALL_DAY_SESSIONS sessions a day, counting what is stored; replays are not capped', () => {
    const batch = Array.from({ length: MAX_INSTALL_DAY_SESSIONS + 2 }, () => ({ installDay: 'a|2024-03-01', seconds: 60, duplicate: false }));
    const fits = withinDailyCap(batch, new Map());
    assert.equal(fits.filter(Boolean).length, MAX_INSTALL_DAY_SESSIONS);
    assert.deepEqual(fits.slice(-2), [false, false]);
    const stored = new Map([['a|2024-03-01', { sessions: MAX_INSTALL_DAY_SESSIONS - 1, seconds: 0 }]]);
    assert.deepEqual(
      withinDailyCap(
        [
          { installDay: 'a|2024-03-01', seconds: 60, duplicate: true },
          { installDay: 'a|2024-03-01', seconds: 60, duplicate: false },
          { installDay: 'a|2024-03-01', seconds: 60, duplicate: false },
          { installDay: 'a|2024-03-02', seconds: 60, duplicate: false },
          { installDay: 'b|2024-03-01', seconds: 60, duplicate: false },
        ],
        stored,
      ),
      [true, true, false, true, true],
    );
  });
  test('an install gets MAX_INSTALL_DAY_SECONDS a day: the session that would pass it is refused, shorter ones still fit', () => {
    const long = MAX_INSTALL_DAY_SECONDS / 2;
    assert.deepEqual(
      withinDailyCap(
        [
          { installDay: 'a|d', seconds: long, duplicate: false },
          { installDay: 'a|d', seconds: long - 100, duplicate: false },
          { installDay: 'a|d', seconds: 200, duplicate: false },
          { installDay: 'a|d', seconds: 100, duplicate: false },
        ],
        new Map(),
      ),
      [true, true, false, true],
    );
  });
});
