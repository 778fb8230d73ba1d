// The fail-soft cache over a fake backend that can be disconnected or made to fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cache } from './index.ts';
import { createMemoryCache } from './memory.ts';
import { createResilientCache, type ResilientOptions } from './resilient.ts';

function fakeBackend() {
  const store = createMemoryCache();
  const state = { connected: true, failing: false, calls: 0, flushes: 0 };
  // Each call fails while `failing` (after it ran, like a command that timed out after Redis executed it).
  const wrap =
    <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      state.calls++;
      if (!state.connected) throw new Error("Stream isn't writeable");
      const r = await fn(...a);
      if (state.failing) throw new Error('Command timed out');
      return r;
    };
  const backend: Cache = {
    ...store,
    kind: 'redis',
    get: wrap(store.get),
    getBuffer: wrap(store.getBuffer),
    set: wrap(store.set),
    del: wrap(store.del),
    setIfAbsent: wrap(store.setIfAbsent),
    delIfEquals: wrap(store.delIfEquals),
    incr: wrap(store.incr),
    ping: wrap(store.ping),
  };
  return { store, state, backend };
}

function setup(opts: Partial<ResilientOptions> = {}) {
  const { store, state, backend } = fakeBackend();
  const logs: string[] = [];
  const logger = { warn: (_: object, msg: string) => logs.push(`warn ${msg}`), info: (_: object, msg: string) => logs.push(`info ${msg}`) };
  const cache = createResilientCache(backend, {
    connected: () => state.connected,
    flush: async () => {
      state.flushes++;
    },
    logger,
    retryAfterMs: 30,
    startupWaitMs: 0,
    ...opts,
  });
  return { cache, store, state, logs };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('while the backend is down: misses, writes that do not throw, false for locks, per-process counters; ping throws', async () => {
  const { cache, state } = setup();
  assert.equal(await cache.recover(), true);
  state.connected = false;
  const before = state.calls;
  assert.equal(await cache.get('a'), null);
  assert.equal(await cache.getBuffer('a'), null);
  await cache.set('a', '1');
  await cache.del('a', 'b');
  assert.equal(await cache.setIfAbsent('lock:x', 'me', 1000), false);
  assert.equal(await cache.delIfEquals('lock:x', 'me'), false);
  const counts = [];
  for (let i = 0; i < 3; i++) counts.push((await cache.incr('rl:x', 1000)).count);
  assert.deepEqual(counts, [1, 2, 3]);
  assert.equal(state.calls, before, 'the backend is not tried while it is known to be down');
  assert.deepEqual(cache.status(), { degraded: true, degradedCalls: 9 });
  await assert.rejects(cache.ping());
  await cache.close();
});

test('writes lost during an outage are deleted before the backend is read again', async () => {
  const { cache, store, state, logs } = setup();
  await cache.recover();
  await cache.set('session:1', 'principal');
  await cache.set('cat:app:1', 'old detail');
  state.failing = true; // a hang: commands time out (after running, for the first one)
  await cache.set('session:1', 'revoked'); // times out, but did run
  state.failing = false;
  state.connected = false;
  await cache.del('cat:app:1'); // skipped: Redis still holds the old detail
  assert.equal(await store.get('cat:app:1'), 'old detail');
  assert.equal(await cache.get('cat:app:1'), null, 'reads miss meanwhile');

  state.connected = true;
  await sleep(100); // the retry timer takes it back, with no call needed
  assert.equal(cache.status().degraded, false);
  assert.equal(await store.get('session:1'), null);
  assert.equal(await store.get('cat:app:1'), null);
  assert.deepEqual(logs, [
    'warn cache unavailable: serving without it (reads miss, lost writes cleaned up on return, rate limits per process)',
    'info cache back in use',
  ]);
  await cache.set('cat:app:1', 'new');
  assert.equal(await cache.get('cat:app:1'), 'new');
  await cache.close();
});

test('an ambiguous setIfAbsent is undone only while the key holds our value; lost lock releases happen on return', async () => {
  const { cache, store, state } = setup();
  await cache.recover();
  state.failing = true;
  // both in flight when the hang starts: they ran, but we could not know
  assert.deepEqual(await Promise.all([cache.setIfAbsent('lock:job', 'mine', 60_000), cache.setIfAbsent('session:2', 'principal', 60_000)]), [false, false]);
  assert.equal(await store.get('session:2'), 'principal');
  state.failing = false;
  state.connected = false;
  await store.set('session:2', 'revoked'); // another process wrote a tombstone meanwhile: it must survive
  await store.set('lock:held', 'me');
  assert.equal(await cache.delIfEquals('lock:held', 'me'), false);
  state.connected = true;
  assert.equal(await cache.recover(), true);
  assert.equal(await store.get('lock:job'), null);
  assert.equal(await store.get('session:2'), 'revoked');
  assert.equal(await store.get('lock:held'), null);
  await cache.close();
});

test('more lost writes than can be remembered: the namespace is flushed on return', async () => {
  const { cache, state, logs } = setup({ maxLostKeys: 3 });
  await cache.recover();
  state.connected = false;
  for (let i = 0; i < 5; i++) await cache.set(`k${i}`, 'v');
  state.connected = true;
  assert.equal(await cache.recover(), true);
  assert.equal(state.flushes, 1);
  assert.equal(logs.filter((l) => l.startsWith('warn')).length, 2); // the outage, and the overflow
  await cache.close();
});

test('a failed cleanup keeps the cache degraded and the lost keys remembered', async () => {
  const { cache, store, state } = setup({ retryAfterMs: 10_000 });
  await cache.recover();
  await store.set('a', 'stale');
  state.connected = false;
  await cache.del('a');
  state.connected = true;
  state.failing = true;
  assert.equal(await cache.recover(), false);
  assert.equal(await cache.get('a'), null);
  state.failing = false;
  assert.equal(await cache.recover(), true);
  assert.equal(await store.get('a'), null);
  await cache.close();
});

test('one warning per outage, however many calls fail', async () => {
  const { cache, state, logs } = setup({ retryAfterMs: 10_000 });
  await cache.recover();
  state.failing = true;
  await Promise.all(Array.from({ length: 50 }, (_, i) => cache.get(`k${i}`)));
  await Promise.all(Array.from({ length: 50 }, (_, i) => cache.set(`k${i}`, 'v')));
  assert.equal(logs.length, 1);
  assert.equal(cache.status().degradedCalls, 100);
  await cache.close();
});

test('calls made before the first connection wait for it briefly', async () => {
  const { cache, store } = setup({ startupWaitMs: 1000 });
  await store.set('k', 'v');
  setTimeout(() => void cache.recover(), 20); // the connection becomes ready
  assert.equal(await cache.get('k'), 'v');
  await cache.close();
});
