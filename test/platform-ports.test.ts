// Contract tests of the platform ports: the same assertions against each adapter.
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { mkdtemp, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { createTestInfra, kinds, type TestInfra } from './support/infra.ts';
import { withLock } from '../src/platform/cache/index.ts';
import { BlobTooLargeError } from '../src/platform/blobs/index.ts';
import { createFsBlobs } from '../src/platform/blobs/filesystem.ts';

const text = async (s: Readable) => {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts).toString();
};

for (const kind of kinds()) {
  describe(`cache and db ports (${kind})`, () => {
    let infra: TestInfra;
    before(async () => {
      infra = await createTestInfra(kind);
    });
    after(async () => infra?.close());

    test('cache: get/set/del, TTL expiry, bytes view', async () => {
      const { cache } = infra;
      assert.equal(await cache.get('k1'), null);
      await cache.set('k1', 'café');
      assert.equal(await cache.get('k1'), 'café');
      assert.equal((await cache.getBuffer('k1'))?.toString('utf8'), 'café');
      await cache.set('k2', 'short', 50);
      await new Promise((r) => setTimeout(r, 120));
      assert.equal(await cache.get('k2'), null);
      await cache.del('k1');
      assert.equal(await cache.get('k1'), null);
    });

    test('cache: locks are exclusive and released only by their holder', async () => {
      const { cache } = infra;
      assert.equal(await cache.setIfAbsent('lock:a', 'me', 1000), true);
      assert.equal(await cache.setIfAbsent('lock:a', 'you', 1000), false);
      assert.equal(await cache.delIfEquals('lock:a', 'you'), false);
      assert.equal(await cache.delIfEquals('lock:a', 'me'), true);
      let ran = 0;
      const inner = await withLock(cache, 'job', 1000, async () => {
        ran++;
        return withLock(cache, 'job', 1000, async () => ran++); // held: not run
      });
      assert.equal(inner, undefined);
      assert.equal(ran, 1);
      assert.equal(await withLock(cache, 'job', 1000, async () => 'again'), 'again');
    });

    test('cache: fixed-window counters', async () => {
      const { cache } = infra;
      const first = await cache.incr('rl:x', 200);
      const second = await cache.incr('rl:x', 200);
      assert.deepEqual([first.count, second.count], [1, 2]);
      assert.ok(second.resetInMs > 0 && second.resetInMs <= 200);
      await new Promise((r) => setTimeout(r, 250));
      assert.equal((await cache.incr('rl:x', 200)).count, 1);
    });

    test('db: a transaction commits together or not at all', async () => {
      const { db } = infra;
      await db.query('CREATE TABLE port_t (id int PRIMARY KEY, v text)');
      await db.tx(async (q) => {
        await q.query('INSERT INTO port_t VALUES ($1, $2)', [1, 'a']);
        await q.query('INSERT INTO port_t VALUES ($1, $2)', [2, 'b']);
      });
      await assert.rejects(
        db.tx(async (q) => {
          await q.query('INSERT INTO port_t VALUES ($1, $2)', [3, 'c']);
          await q.query('INSERT INTO port_t VALUES ($1, $2)', [1, 'duplicate']);
        }),
      );
      const { rows } = await db.query<{ id: number }>('SELECT id FROM port_t ORDER BY id');
      assert.deepEqual(
        rows.map((r) => r.id),
        [1, 2],
      );
    });

    test('db: COPY loads arrays, json, nulls, escapes; bigint comes back as a number', async () => {
      const { db } = infra;
      await db.query('CREATE TABLE port_copy (a text[], b text, c bigint, d timestamptz, e jsonb)');
      const n = await db.copyRows(
        'port_copy',
        ['a', 'b', 'c', 'd', 'e'],
        [
          [['x y', 'q"t', 'back\\slash'], 'tab\there\nline', 12_345_678_901, new Date(0), { k: [1] }],
          [[], null, 0, null, null],
        ],
      );
      assert.equal(n, 2);
      const { rows } = await db.query('SELECT * FROM port_copy ORDER BY c DESC');
      assert.deepEqual(rows[0].a, ['x y', 'q"t', 'back\\slash']);
      assert.equal(rows[0].b, 'tab\there\nline');
      assert.equal(rows[0].c, 12_345_678_901);
      assert.equal(new Date(rows[0].d).getTime(), 0);
      assert.deepEqual(rows[0].e, { k: [1] });
      assert.deepEqual(rows[1], { a: [], b: null, c: 0, d: null, e: null });
    });

    test('db: the same parameterised statement runs many times (prepared once per connection)', async () => {
      const { db } = infra;
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => db.query<{ n: number }>('SELECT $1::int * 2 AS n', [i])));
      assert.deepEqual(
        results.map((r) => r.rows[0].n),
        Array.from({ length: 30 }, (_, i) => i * 2),
      );
    });
  });
}

describe('blobs (filesystem)', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'orchard-blobs-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  test('content-addressed: the key is the sha256, ranges are honoured', async () => {
    const blobs = createFsBlobs(root);
    const body = 'hello, orchard';
    const stored = await blobs.put(Readable.from([Buffer.from(body)]), { maxBytes: 100 });
    assert.equal(stored.sha256, createHash('sha256').update(body).digest('hex'));
    assert.equal(stored.size, body.length);
    assert.deepEqual(await blobs.stat(stored.sha256), { size: body.length });
    const whole = await blobs.open(stored.sha256);
    assert.equal(await text(whole!.stream), body);
    const part = await blobs.open(stored.sha256, { start: 7, end: 13 });
    assert.equal(await text(part!.stream), 'orchard');
  });

  test('over the limit: rejected and nothing kept; unknown or malformed keys are absent', async () => {
    const blobs = createFsBlobs(root);
    await assert.rejects(blobs.put(Readable.from([Buffer.alloc(64), Buffer.alloc(64)]), { maxBytes: 100 }), BlobTooLargeError);
    assert.equal(await blobs.stat('0'.repeat(64)), null);
    assert.equal(await blobs.open('../../etc/passwd'), null);
  });
});
