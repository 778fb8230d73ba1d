import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBatcher } from './batch.ts';

const tick = () => new Promise((r) => setImmediate(r));

test('the first item goes at once; items arriving while a batch is in flight go together in the next', async () => {
  const batches: number[][] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const b = createBatcher<number, number>({
    concurrency: 1,
    async runBatch(items) {
      batches.push(items);
      if (batches.length === 1) await gate;
      return items.map((i) => i * 10);
    },
  });
  const first = b.submit(1);
  const rest = [2, 3, 4].map((i) => b.submit(i));
  await tick();
  assert.deepEqual(batches, [[1]]);
  release();
  assert.deepEqual(await Promise.all([first, ...rest]), [10, 20, 30, 40]);
  assert.deepEqual(batches, [[1], [2, 3, 4]]);
});

test('maxBatch and concurrency bound the batches', async () => {
  const sizes: number[] = [];
  let inFlight = 0;
  let peak = 0;
  const b = createBatcher<number, number>({
    maxBatch: 3,
    concurrency: 2,
    async runBatch(items) {
      sizes.push(items.length);
      peak = Math.max(peak, ++inFlight);
      await tick();
      inFlight--;
      return items;
    },
  });
  const out = await Promise.all(Array.from({ length: 20 }, (_, i) => b.submit(i)));
  assert.deepEqual(
    out,
    Array.from({ length: 20 }, (_, i) => i),
  );
  assert.ok(sizes.every((n) => n <= 3));
  assert.equal(
    sizes.reduce((a, n) => a + n, 0),
    20,
  );
  assert.equal(peak, 2);
});

test('a failed batch is retried item by item: one bad item fails only its own caller', async () => {
  const b = createBatcher<number, string>({
    concurrency: 1,
    async runBatch(items) {
      if (items.includes(13)) throw new Error('batch failed');
      return items.map(String);
    },
    async runOne(item) {
      if (item === 13) throw new Error('unlucky');
      return `one:${item}`;
    },
  });
  const results = await Promise.allSettled([0, 12, 13, 14].map((i) => b.submit(i)));
  assert.deepEqual(
    results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
    ['0', 'one:12', 'unlucky', 'one:14'],
  );
});
