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
