import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { expectImage, mediaTypeOf, NotAnImageError, sniffImageType } from './media.ts';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 9, 9]);

async function run(chunks: Buffer[], declared: 'image/png' | 'image/jpeg'): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(chunks),
    expectImage(declared),
    new Writable({
      write(c, _e, cb) {
        out.push(c);
        cb();
      },
    }),
  );
  return Buffer.concat(out);
}

test('sniffImageType', () => {
  assert.equal(sniffImageType(PNG), 'image/png');
  assert.equal(sniffImageType(JPEG), 'image/jpeg');
  assert.equal(sniffImageType(Buffer.from('hello world')), null);
  assert.equal(sniffImageType(Buffer.alloc(0)), null);
});

test('mediaTypeOf', () => {
  assert.equal(mediaTypeOf('Image/PNG; x=y'), 'image/png');
  assert.equal(mediaTypeOf(undefined), undefined);
});

test('expectImage passes matching bytes through unchanged, even split into 1-byte chunks', async () => {
  assert.deepEqual(await run([PNG], 'image/png'), PNG);
  assert.deepEqual(
    await run(
      [...PNG].map((b) => Buffer.from([b])),
      'image/png',
    ),
    PNG,
  );
  assert.deepEqual(await run([JPEG], 'image/jpeg'), JPEG);
});

test('expectImage fails on other bytes, the other image type, and empty or short input', async () => {
  await assert.rejects(run([Buffer.from('just some text here')], 'image/png'), NotAnImageError);
  await assert.rejects(run([JPEG], 'image/png'), /bytes are image\/jpeg but Content-Type says image\/png/);
  await assert.rejects(run([], 'image/jpeg'), NotAnImageError);
  await assert.rejects(run([PNG.subarray(0, 4)], 'image/png'), NotAnImageError);
});
