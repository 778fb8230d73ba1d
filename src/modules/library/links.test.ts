import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DownloadLinks, loadOrCreateKeyFile, signingKey } from './links.ts';

const grant = { versionId: randomUUID(), sha256: randomBytes(32).toString('hex'), userId: randomUUID() };
const fixedKey = (text: string) => async () => Buffer.from(text);
const links = new DownloadLinks(fixedKey('k'.repeat(40)), 300_000);

test('a signed token verifies to its grant until it expires, and fits a 200-character path segment', async () => {
  const now = Date.UTC(2026, 0, 1, 12);
  const { token, expiresAt } = await links.sign(grant, now);
  assert.ok(token.length <= 200, `${token.length} characters`);
  assert.equal(expiresAt.getTime(), now + 300_000);
  assert.deepEqual(await links.verify(token, now), { ok: true, grant, expiresAt });
  assert.deepEqual(await links.verify(token, now + 299_999), { ok: true, grant, expiresAt });
  assert.deepEqual(await links.verify(token, now + 300_000), { ok: false, reason: 'expired' });
});

test('altered, truncated, foreign or malformed tokens are invalid', async () => {
  const { token } = await links.sign(grant);
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
  const [payload, mac] = token.split('.');
  const other = await new DownloadLinks(fixedKey('o'.repeat(40)), 300_000).sign(grant);
  for (const bad of [
    flip(token, 10), // payload
    flip(token, token.length - 5), // mac
    `${payload}.${mac.slice(0, -1)}`,
    `${payload}${mac}`,
    `${mac}.${payload}`,
    other.token,
    '',
    'x',
    '.'.repeat(136),
  ]) {
    assert.deepEqual(await links.verify(bad), { ok: false, reason: 'invalid' }, bad);
  }
  // 43 characters carry the 32-byte MAC with 2 bits to spare: another spelling of the same bytes is refused too
  const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const alias = mac.slice(0, -1) + B64URL[B64URL.indexOf(mac[mac.length - 1]) ^ 1];
  assert.deepEqual(Buffer.from(alias, 'base64url'), Buffer.from(mac, 'base64url'));
  assert.deepEqual(await links.verify(`${payload}.${alias}`), { ok: false, reason: 'invalid' });
});

test('the key file is made once, private, and concurrent first starts agree on it', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'orchard-key-'));
  try {
    const file = path.join(dir, 'keys', 'download-url.key');
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateKeyFile(file)));
    assert.equal(new Set(keys).size, 1);
    assert.match(keys[0], /^[0-9a-f]{64}$/);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal(await loadOrCreateKeyFile(file), keys[0]);
    assert.equal((await readFile(file, 'utf8')).trim(), keys[0]);
    // tokens of one process verify in another that read the same file
    const a = new DownloadLinks(signingKey(undefined, file), 60_000);
    const b = new DownloadLinks(signingKey(undefined, file), 60_000);
    assert.equal((await b.verify((await a.sign(grant)).token)).ok, true);
    // a configured secret wins over the file
    const configured = new DownloadLinks(signingKey('s'.repeat(32), file), 60_000);
    assert.equal((await b.verify((await configured.sign(grant)).token)).ok, false);

    await writeFile(file, 'short');
    await assert.rejects(loadOrCreateKeyFile(file), /shorter than 32 characters/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
