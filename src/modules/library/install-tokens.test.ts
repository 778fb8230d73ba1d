// Install tokens: issued with each download, verified by engagement ingestion (format, MAC, the 400-day bound).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { INSTALL_TOKEN_LENGTH, INSTALL_TOKEN_MAX_AGE_DAYS, InstallTokens } from './install-tokens.ts';
import { DownloadLinks } from './links.ts';

const DAY = 86_400_000;
const fixedKey = (text: string) => async () => Buffer.from(text);
const tokens = new InstallTokens(fixedKey('k'.repeat(40)));
const appId = randomUUID();
const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);

test('a token binds the app, a fresh random install id and the issue time; it verifies for 400 days', async () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0, 500);
  const a = await tokens.issue(appId, now);
  const b = await tokens.issue(appId, now);
  assert.equal(a.token.length, INSTALL_TOKEN_LENGTH);
  assert.match(a.token, /^[A-Za-z0-9_-]{50}\.[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a.installId, b.installId, 'one download, one install');
  assert.notEqual(a.token, b.token);
  assert.equal(a.issuedAt.getTime(), Date.UTC(2026, 0, 1, 12)); // whole seconds
  const good = { ok: true, appId, installId: a.installId, issuedAt: a.issuedAt };
  assert.deepEqual(await tokens.verify(a.token, now), good);
  assert.deepEqual(await tokens.verify(a.token, a.issuedAt.getTime() + INSTALL_TOKEN_MAX_AGE_DAYS * DAY), good);
  assert.deepEqual(await tokens.verify(a.token, a.issuedAt.getTime() + INSTALL_TOKEN_MAX_AGE_DAYS * DAY + 1), { ok: false, reason: 'expired' });
  // an upper-case app id is the same app
  assert.equal(((await tokens.verify((await tokens.issue(appId.toUpperCase(), now)).token, now)) as { appId: string }).appId, appId);
});

test('altered, truncated, foreign, forged or malformed tokens are invalid (the MAC is checked first, expiry after)', async () => {
  const { token } = await tokens.issue(appId);
  const [payload, mac] = token.split('.');
  const other = await new InstallTokens(fixedKey('o'.repeat(40))).issue(appId);
  const old = await tokens.issue(appId, Date.now() - 1000 * DAY);
  for (const bad of [
    flip(token, 10), // payload: another app or install
    flip(token, token.length - 5), // mac
    other.token, // another store's key
    `${randomBytes(37).toString('base64url')}.${randomBytes(32).toString('base64url')}`,
    `${payload}.${mac.slice(0, -1)}`,
    `${payload}.${mac}x`,
    `${payload}${mac}`,
    `${payload.slice(0, -1)}${payload.at(-1) === 'A' ? 'B' : 'A'}.${mac}`,
    flip(old.token, 20), // an old token altered is invalid, not expired
    '',
    'not a token',
    'a'.repeat(94),
  ]) {
    assert.deepEqual(await tokens.verify(bad), { ok: false, reason: 'invalid' }, bad);
  }
  assert.deepEqual(await tokens.verify(old.token), { ok: false, reason: 'expired' });
});

test('the key is derived from the download-URL key: a download link MAC never signs an install token', async () => {
  const key = 'k'.repeat(40);
  const now = Date.now();
  const { token } = await tokens.issue(appId, now);
  const [payload, mac] = token.split('.');
  const bytes = Buffer.from(payload, 'base64url');
  // the same payload under the raw download key is not a valid token
  const raw = createHmac('sha256', key).update(bytes).digest('base64url');
  assert.notEqual(raw, mac);
  assert.deepEqual(await tokens.verify(`${payload}.${raw}`), { ok: false, reason: 'invalid' });
  const derived = createHmac('sha256', key).update('orchard install token v1').digest();
  assert.equal(createHmac('sha256', derived).update(bytes).digest('base64url'), mac);
  // and a download link of the same key is no install token
  const link = await new DownloadLinks(fixedKey(key), 300_000).sign({ versionId: randomUUID(), sha256: randomBytes(32).toString('hex'), userId: randomUUID() });
  assert.deepEqual(await tokens.verify(link.token), { ok: false, reason: 'invalid' });
});

test('a key that fails to load is retried on the next use', async () => {
  let calls = 0;
  const flaky = new InstallTokens(async () => {
    calls++;
    if (calls === 1) throw new Error('disk hiccup');
    return Buffer.from('k'.repeat(40));
  });
  await assert.rejects(flaky.issue(appId), /disk hiccup/);
  const { token } = await flaky.issue(appId);
  assert.equal((await tokens.verify(token)).ok, true);
});
