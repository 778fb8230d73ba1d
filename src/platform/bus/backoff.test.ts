import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoff, retryDelay, retryPolicy } from './backoff.ts';
import { Serial, Waker } from './signal.ts';

test('retry delays follow the policy steps, shortened by at most the jitter', () => {
  const p = retryPolicy({ delaysMs: [100, 1000], jitter: 0.2 });
  for (let i = 0; i < 200; i++) {
    const first = retryDelay(p, 1);
    assert.equal(first.baseMs, 100);
    assert.ok(first.ms >= 80 && first.ms <= 100);
    const later = retryDelay(p, 7); // the last step repeats
    assert.equal(later.baseMs, 1000);
    assert.ok(later.ms >= 800 && later.ms <= 1000);
  }
  assert.throws(() => retryPolicy({ maxAttempts: 0 }));
  assert.throws(() => retryPolicy({ delaysMs: [] }));
  assert.throws(() => retryPolicy({ jitter: 1 }));
});

test('infrastructure backoff grows and is capped', () => {
  for (let a = 1; a < 40; a++) {
    const d = backoff(a, 200, 10_000);
    assert.ok(d >= 100 && d <= 10_000, `attempt ${a}: ${d}`);
  }
  assert.ok(backoff(1, 200, 10_000) <= 200);
  assert.ok(backoff(30, 200, 10_000) >= 5_000);
});

test('a wake before the wait is not lost', async () => {
  const w = new Waker();
  w.wake();
  const t = Date.now();
  await w.wait(10_000);
  assert.ok(Date.now() - t < 1_000);
  const waiting = w.wait(10_000);
  w.wake();
  await waiting;
});

test('Serial runs tasks in order, even after a failure', async () => {
  const s = new Serial();
  const order: number[] = [];
  const slow = s.run(async () => {
    await new Promise((r) => setTimeout(r, 20));
    order.push(1);
  });
  const failing = s.run(async () => {
    throw new Error('x');
  });
  const fast = s.run(async () => void order.push(3));
  await Promise.all([slow, assert.rejects(failing), fast]);
  assert.deepEqual(order, [1, 3]);
});
