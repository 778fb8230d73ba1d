import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryCache } from '../../platform/cache/memory.ts';
import type { Cache } from '../../platform/cache/index.ts';
import { createLogger } from '../../platform/observability/logger.ts';
import { CatalogCache } from './cache.ts';

const logger = createLogger('silent');
const app = { appId: 'a1', bundleId: 'com.x.a1', categories: ['games'] };

test('detail: L1 after the first load, shared across instances, one load for concurrent misses', async () => {
  const shared = createMemoryCache();
  const one = new CatalogCache(shared, logger);
  let loads = 0;
  const load = async () => {
    loads++;
    await new Promise((r) => setTimeout(r, 10));
    return '{"id":"a1"}';
  };
  assert.equal(one.peekDetail('a1'), undefined);
  const results = await Promise.all([one.detail('a1', load), one.detail('a1', load), one.detail('a1', load)]);
  assert.deepEqual(results.map(String), ['{"id":"a1"}', '{"id":"a1"}', '{"id":"a1"}']);
  assert.equal(loads, 1);
  assert.equal(one.peekDetail('a1')?.toString(), '{"id":"a1"}');
  const two = new CatalogCache(shared, logger); // another process, same Redis
  assert.equal((await two.detail('a1', load)).toString(), '{"id":"a1"}');
  assert.equal(loads, 1);
});

test('invalidate drops the app in both layers; negative entries too', async () => {
  const shared = createMemoryCache();
  const c = new CatalogCache(shared, logger);
  assert.equal((await c.detail('a1', async () => '')).toString(), '');
  assert.equal(c.peekDetail('a1')?.toString(), '');
  assert.equal(await c.bundle('com.x.a1', async () => ''), '');
  await c.invalidate(app);
  assert.equal(c.peekDetail('a1'), undefined);
  assert.equal(c.peekBundle('com.x.a1'), undefined);
  assert.equal(await shared.get('cat:app:a1'), null);
  assert.equal((await c.detail('a1', async () => 'fresh')).toString(), 'fresh');
  assert.equal(await c.bundle('com.x.a1', async () => 'a1'), 'a1');
});

test('a load that raced with an invalidation is returned but not stored', async () => {
  const c = new CatalogCache(createMemoryCache(), logger);
  let release!: () => void;
  const pending = c.detail('a1', () => new Promise<string>((r) => (release = () => r('stale'))));
  await new Promise((r) => setImmediate(r));
  await c.invalidate(app);
  release();
  assert.equal((await pending).toString(), 'stale');
  assert.equal(c.peekDetail('a1'), undefined);
  assert.equal((await c.detail('a1', async () => 'fresh')).toString(), 'fresh');
});

test('browse pages: cached per generation; an invalidation of the category orphans them', async () => {
  const shared = createMemoryCache();
  const c = new CatalogCache(shared, logger);
  const other = new CatalogCache(shared, logger); // another process
  let n = 0;
  const load = async () => `page${++n}`;
  assert.equal(await c.page('games', 'k', load), 'page1');
  assert.equal(await c.page('games', 'k', load), 'page1');
  assert.equal(await other.page('games', 'k', load), 'page1');
  assert.equal(await c.page('finance', 'k', load), 'page2');
  await c.invalidate(app); // games (and all-categories) pages are orphaned, finance ones are not
  assert.equal(await c.page('games', 'k', load), 'page3');
  assert.equal(await c.page('finance', 'k', load), 'page2');
  assert.equal(await c.page('*', 'k', load), 'page4');
});

test('a failing shared cache degrades to loading, it does not fail reads', async () => {
  const broken: Cache = {
    ...createMemoryCache(),
    get: async () => {
      throw new Error('redis down');
    },
    getBuffer: async () => {
      throw new Error('redis down');
    },
    set: async () => {
      throw new Error('redis down');
    },
    del: async () => {
      throw new Error('redis down');
    },
  };
  const c = new CatalogCache(broken, logger);
  assert.equal((await c.detail('a1', async () => 'json')).toString(), 'json');
  assert.equal(await c.page('games', 'k', async () => 'p'), 'p');
  await c.invalidate(app);
  assert.equal(c.peekDetail('a1'), undefined);
});

test('clearLocal forgets L1 only: the next read comes from the shared cache, not the loader', async () => {
  const c = new CatalogCache(createMemoryCache(), logger);
  let loads = 0;
  const load = async () => `{"n":${++loads}}`;
  await c.detail('a1', load);
  assert.ok(c.peekDetail('a1'));
  c.clearLocal();
  assert.equal(c.peekDetail('a1'), undefined);
  assert.equal((await c.detail('a1', load)).toString(), '{"n":1}');
  assert.equal(loads, 1);
});

test('detailsOf: in order, L1 and shared hits kept, one load for every miss, unknown ids negative, stored in the shared cache only', async () => {
  const shared = createMemoryCache();
  const c = new CatalogCache(shared, logger);
  await c.detail('a1', async () => '{"id":"a1"}'); // L1
  await shared.set('cat:app:a2', '{"id":"a2"}'); // shared cache only (another process filled it)
  const calls: string[][] = [];
  const load = async (ids: string[]) => {
    calls.push(ids);
    return new Map(ids.filter((id) => id !== 'gone').map((id) => [id, `{"id":"${id}"}`]));
  };
  const got = await c.detailsOf(['a3', 'a1', 'gone', 'a2', 'a3', 'a4'], load);
  assert.deepEqual(got.map(String), ['{"id":"a3"}', '{"id":"a1"}', '', '{"id":"a2"}', '{"id":"a3"}', '{"id":"a4"}']);
  assert.deepEqual(calls, [['a3', 'gone', 'a4']]);
  for (const id of ['a2', 'a3', 'a4', 'gone']) assert.equal(c.peekDetail(id), undefined, 'listed apps do not fill L1');
  assert.equal(await shared.get('cat:app:a4'), '{"id":"a4"}');
  assert.equal(await shared.get('cat:app:gone'), '');
  // everything is cached now: no load at all
  assert.equal((await c.detailsOf(['a4', 'gone'], load)).length, 2);
  assert.equal(calls.length, 1);
});

test('detailsOf shares loads in flight with detail() and other batches; a raced fill is not stored', async () => {
  const shared = createMemoryCache();
  const c = new CatalogCache(shared, logger);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let batchLoads = 0;
  let singleLoads = 0;
  const single = c.detail('a1', async () => {
    singleLoads++;
    await gate;
    return '{"id":"a1"}';
  });
  await new Promise((r) => setImmediate(r));
  const load = async (ids: string[]) => {
    batchLoads++;
    await gate;
    return new Map(ids.map((id) => [id, `{"id":"${id}","v":1}`]));
  };
  const first = c.detailsOf(['a1', 'a2'], load); // a1 is in flight: awaited, not loaded again
  await new Promise((r) => setImmediate(r));
  const second = c.detailsOf(['a2'], load); // a2 is in flight in the first batch
  await new Promise((r) => setImmediate(r));
  await c.invalidate({ appId: 'a2', categories: [] }); // a2 changed while it was being read
  release();
  assert.deepEqual((await first).map(String), ['{"id":"a1"}', '{"id":"a2","v":1}']);
  assert.deepEqual((await second).map(String), ['{"id":"a2","v":1}']);
  assert.equal((await single).toString(), '{"id":"a1"}');
  assert.equal(singleLoads, 1);
  assert.equal(batchLoads, 1);
  assert.equal(c.peekDetail('a2'), undefined);
  assert.equal(await shared.get('cat:app:a2'), null, 'a fill that raced with an invalidation is not stored');
  assert.equal(c.peekDetail('a1')?.toString(), '{"id":"a1"}');
});

test('detailsOf: a failing load fails the call, and the next call loads again', async () => {
  const c = new CatalogCache(createMemoryCache(), logger);
  await assert.rejects(
    c.detailsOf(['a1'], async () => Promise.reject(new Error('db down'))),
    /db down/,
  );
  assert.deepEqual((await c.detailsOf(['a1'], async (ids) => new Map(ids.map((id) => [id, 'ok'])))).map(String), ['ok']);
});
