// Search: the database fallback (index not ready), the engine path, freshness through app.changed,
// the snapshot restart path, suggestions, similar apps, and every kind of bad input.
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { createModules } from '../src/app.ts';
import { createSearch, defaultEngineFactory, SearchService, type EngineFactory, type SearchDoc, type SearchEngine } from '../src/modules/search/index.ts';
import { SearchPage, SimilarApps } from '../src/modules/search/schemas.ts';
import { SummaryCache } from '../src/modules/search/summaries.ts';
import type { CatalogService } from '../src/modules/catalog/index.ts';
import type { SearchFilters, SearchOptions } from '../src/modules/search/engine/types.ts';
import { eventually, kinds } from './support/infra.ts';
import { createTestApp, makeAdmin, makeDeveloper, type TestApp, type TestUser } from './support/app.ts';
import { createDraft, expectError, ok, publishApp, sender, type Send } from './support/catalog.ts';

const schemaErrors = (schema: TSchema, value: unknown) => [...Value.Errors(schema, value)].map((e) => JSON.stringify(e));

// ---------------------------------------------------------------- engines

const AGES = ['4+', '9+', '13+', '16+', '18+'];
const keep = (d: SearchDoc, f: SearchFilters = {}) =>
  (!f.category || d.category === f.category) &&
  (!f.subcategory || d.subcategory === f.subcategory) &&
  (!f.price || d.isFree === (f.price === 'free')) &&
  (f.minRating === undefined || d.ratingAverage >= f.minRating) &&
  (!f.maxAgeRating || AGES.indexOf(d.ageRating) <= AGES.indexOf(f.maxAgeRating)) &&
  (!f.country || !d.countries || d.countries.includes(f.country));

/** A tiny stand-in engine (substring match): the module's behaviour around any engine, and one that can be made to fail. */
class FakeEngine implements SearchEngine {
  docs = new Map<string, SearchDoc>();
  queries: string[] = [];
  failing = false;
  constructor(docs: Iterable<SearchDoc> = []) {
    for (const d of docs) this.docs.set(d.id, d);
  }
  get size() {
    return this.docs.size;
  }
  calls = 0;
  search(query: string, o: SearchOptions) {
    this.calls++;
    if (this.failing) throw new Error('engine exploded');
    const terms = query.toLowerCase().split(/\s+/);
    const text = (d: SearchDoc) => `${d.name} ${d.developer} ${d.keywords.join(' ')} ${d.description}`.toLowerCase();
    const all = [...this.docs.values()].filter((d) => keep(d, o.filters) && terms.every((t) => text(d).includes(t)));
    const hits = all.slice(o.offset ?? 0, (o.offset ?? 0) + o.limit).map((d) => ({ id: d.id, score: 1, textScore: 1, exact: false, fuzzy: false }));
    return { hits, total: all.length, mode: all.length ? ('all-terms' as const) : ('none' as const), corrections: {} };
  }
  suggest(prefix: string, limit: number) {
    const p = prefix.toLowerCase();
    const apps = [...this.docs.values()].filter((d) => d.name.toLowerCase().startsWith(p)).map((d) => ({ text: d.name, kind: 'app' as const, appId: d.id }));
    const queries = [...new Set(this.queries)].filter((q) => q.toLowerCase().startsWith(p)).map((text) => ({ text, kind: 'query' as const }));
    return [...apps, ...queries].slice(0, limit);
  }
  similar(appId: string, limit: number) {
    const me = this.docs.get(appId);
    return [...this.docs.values()]
      .filter((d) => me && d.id !== appId && d.category === me.category)
      .slice(0, limit)
      .map((d) => ({ id: d.id, score: 1, textScore: 1, exact: false, fuzzy: false }));
  }
  upsert(doc: SearchDoc) {
    this.docs.set(doc.id, doc);
  }
  remove(appId: string) {
    this.docs.delete(appId);
  }
  recordQuery(q: string) {
    this.queries.push(q);
  }
  async save(path: string) {
    await writeFile(path, JSON.stringify([...this.docs.values()]));
  }
}

type FakeFactory = EngineFactory & { gate?: Promise<void>; waiting?: boolean };
const fakeFactory = (): FakeFactory => {
  const f: FakeFactory = {
    build: async (batches) => {
      const docs: SearchDoc[] = [];
      for await (const b of batches) docs.push(...b);
      // a test may hold the build here (everything read, not yet live) to change apps meanwhile
      f.waiting = true;
      await f.gate;
      return new FakeEngine(docs);
    },
    load: async (path) => new FakeEngine(JSON.parse(await readFile(path, 'utf8'))),
  };
  return f;
};

const realEngine = existsSync(new URL('../src/modules/search/engine/index.ts', import.meta.url));
/** The real engine (once it exists), and the stand-in: the module must behave the same around both. */
const engines: { name: string; factory: () => EngineFactory | undefined }[] = [
  ...(realEngine ? [{ name: 'engine', factory: () => undefined }] : []),
  { name: 'stand-in engine', factory: fakeFactory },
];

// ---------------------------------------------------------------- summaries

describe('summary cache', () => {
  const detail = (id: string, name: string, extra: object = {}) =>
    Buffer.from(
      JSON.stringify({
        id,
        bundleId: `com.x.${id}`,
        name,
        subtitle: null,
        description: 'long text '.repeat(100),
        developer: { id: 'd', name: 'Dev' },
        category: { slug: 'games', name: 'Games' },
        iconUrl: null,
        rating: { average: 4.5, count: 2 },
        isFree: true,
        prices: [],
        ...extra,
      }),
    );
  /** A stand-in catalog: details by id; batched reads can be held to race them with invalidations. */
  const fakeCatalog = (names: Record<string, string>) => {
    const c = {
      l1: new Map<string, Buffer>(),
      batches: [] as string[][],
      gate: undefined as Promise<void> | undefined,
      peekPublicDetail: (id: string) => c.l1.get(id),
      publicDetails: async (ids: readonly string[]) => {
        c.batches.push([...ids]);
        await c.gate;
        return ids.map((id) => (names[id] ? detail(id, names[id]) : Buffer.alloc(0)));
      },
    };
    return c;
  };
  const parse = (json: string[]) => json.map((j) => JSON.parse(j));

  test('in order; apps that are not public left out; one batched read for the misses, none once cached', async () => {
    const names: Record<string, string> = { a: 'Alpha', b: 'Beta', c: 'Gamma' };
    const catalog = fakeCatalog(names);
    catalog.l1.set('b', detail('b', 'Beta'));
    const cache = new SummaryCache(catalog as unknown as CatalogService);
    const first = parse(await cache.json(['c', 'x', 'b', 'a'], 'US'));
    assert.deepEqual(
      first.map((s) => s.name),
      ['Gamma', 'Beta', 'Alpha'],
    );
    assert.deepEqual(first[0], {
      id: 'c',
      bundleId: 'com.x.c',
      name: 'Gamma',
      subtitle: null,
      developer: { id: 'd', name: 'Dev' },
      category: 'games',
      iconUrl: null,
      rating: { average: 4.5, count: 2 },
      isFree: true,
    });
    assert.deepEqual(catalog.batches, [['c', 'x', 'a']]);
    assert.equal(cache.size, 3);
    names.a = 'Renamed';
    assert.deepEqual(
      parse(await cache.json(['a', 'b', 'c'], 'US')).map((s) => s.name),
      ['Alpha', 'Beta', 'Gamma'],
    );
    assert.equal(catalog.batches.length, 1);
    cache.invalidate('a'); // app.changed
    assert.deepEqual(
      parse(await cache.json(['a', 'b'], 'US')).map((s) => s.name),
      ['Renamed', 'Beta'],
    );
    cache.clear(); // a broadcast gap
    assert.equal(cache.size, 0);
  });

  test('a read that raced with an invalidation (or a gap) is answered but not kept', async () => {
    const catalog = fakeCatalog({ a: 'Old' });
    const cache = new SummaryCache(catalog as unknown as CatalogService);
    let release!: () => void;
    catalog.gate = new Promise((r) => (release = r));
    const pending = cache.json(['a'], 'US');
    await new Promise((r) => setImmediate(r));
    cache.invalidate('a');
    release();
    assert.deepEqual(
      parse(await pending).map((s) => s.name),
      ['Old'],
    );
    assert.equal(cache.size, 0);
    catalog.gate = new Promise((r) => (release = r));
    const again = cache.json(['a'], 'US');
    await new Promise((r) => setImmediate(r));
    cache.clear();
    release();
    await again;
    assert.equal(cache.size, 0);
    await cache.json(['a'], 'US');
    assert.equal(cache.size, 1);
  });

  test('paid apps: the price of the storefront asked for, spliced in; none where the app has no price', async () => {
    const catalog = fakeCatalog({});
    catalog.l1.set(
      'p',
      detail('p', 'Paid "Quoted" \\ ✏️', {
        isFree: false,
        prices: [
          { country: 'DE', currency: 'EUR', amountMilli: 1090, tier: null },
          { country: 'US', currency: 'USD', amountMilli: 990, tier: 1 },
        ],
      }),
    );
    const cache = new SummaryCache(catalog as unknown as CatalogService);
    const one = async (country: string) => parse(await cache.json(['p'], country))[0];
    assert.deepEqual((await one('US')).price, { amountMilli: 990, currency: 'USD' });
    assert.deepEqual((await one('DE')).price, { amountMilli: 1090, currency: 'EUR' });
    assert.ok(!('price' in (await one('FR'))));
    assert.equal((await one('D')).price, undefined);
    assert.equal((await one('US')).name, 'Paid "Quoted" \\ ✏️');
  });
});

// ---------------------------------------------------------------- suites

for (const kind of kinds()) {
  for (const engine of engines) {
    describe(`search (${kind}, ${engine.name})`, () => {
      let t: TestApp;
      let send: Send;
      let dev: TestUser;
      let admin: TestUser;
      const apps: Record<string, string> = {};
      let draftId: string;
      let fake: FakeFactory | undefined;

      const search = async (qs: string) => ok(await send('GET', `/search?${qs}`));
      const ids = (page: { items: { id: string }[] }) => page.items.map((i) => i.id);
      const service = () => t.modules.search.service;

      before(async () => {
        t = await createTestApp(kind, {
          modules: (infra) => {
            const base = createModules(infra.config, infra);
            const factory = (fake = engine.factory() as FakeFactory | undefined);
            return factory ? { ...base, search: createSearch({ ...infra, config: infra.config, catalog: base.catalog.service }, { engine: factory }) } : base;
          },
        });
        send = sender(t.app);
        dev = await makeDeveloper(t.app, 'Northwind Labs');
        admin = await makeAdmin(t.infra, t.app);
        apps.aurora = (
          await publishApp(send, dev.token, admin.token, {
            name: 'Aurora Photo Editor',
            category: 'photo-video',
            subcategory: null,
            keywords: ['filters', 'camera'],
            description: 'Edit pictures with beautiful filters.',
            subtitle: 'Pictures made lovely',
          })
        ).id;
        apps.gem = (
          await publishApp(send, dev.token, admin.token, {
            name: 'Gem Miner',
            category: 'games',
            subcategory: 'games-puzzle',
            isFree: false,
            keywords: ['gems', 'mining'],
            description: 'Dig for gems in a puzzle mine.',
          })
        ).id; // priced in US and DE only
        apps.quest = (
          await publishApp(send, dev.token, admin.token, {
            name: 'Puzzle Quest',
            category: 'games',
            subcategory: 'games-puzzle',
            keywords: ['puzzle', 'gems'],
            description: 'Match gems to win battles.',
            ageRating: '13+',
          })
        ).id;
        draftId = (await createDraft(send, dev.token, { name: 'Aurora Secret Draft', category: 'photo-video', subcategory: null })).id;
        // ratings are kept by another module: set them directly
        await t.infra.db.query('UPDATE apps SET rating_average = 4.6, rating_count = 10 WHERE id = $1', [apps.quest]);
        await t.infra.db.query('UPDATE apps SET rating_average = 3.1, rating_count = 5 WHERE id = $1', [apps.gem]);
      });
      after(async () => {
        await t?.close();
      });

      test('fallback while the index is not built: found by name, degraded, drafts never appear', async () => {
        assert.equal(service().state, 'idle');
        const page = await search('q=aurora');
        assert.deepEqual(schemaErrors(SearchPage, page), []);
        assert.equal(page.degraded, true);
        assert.deepEqual(ids(page), [apps.aurora]);
        assert.equal(page.total, 1);
        assert.equal(page.mode, 'all-terms');
        assert.deepEqual(page.corrections, {});
        const item = page.items[0];
        assert.equal(item.name, 'Aurora Photo Editor');
        assert.equal(item.developer.name, 'Northwind Labs');
        assert.equal(item.category, 'photo-video');
        assert.equal(item.isFree, true);
        assert.equal(item.subtitle, 'Pictures made lovely');
        assert.match(item.iconUrl, /\/api\/v1\/media\/[0-9a-f]{64}$/);
        assert.deepEqual(item.rating, { average: 0, count: 0 });
        assert.ok(!('price' in item));
        assert.deepEqual(ids(await search('q=secret')), [], 'a draft is never found');
        // stemming and weights: keywords and description match too
        assert.deepEqual(ids(await search('q=pictures')), [apps.aurora]);
        assert.equal((await search('q=gems')).total, 2);
        // any-terms when not every term matches
        const any = await search('q=aurora%20zzzqqq');
        assert.equal(any.mode, 'any-terms');
        assert.deepEqual(ids(any), [apps.aurora]);
        assert.equal((await search('q=nothingmatchesthis')).mode, 'none');
        // stop words only, query-syntax characters, quotes and exclusions: answers, never errors
        for (const q of ['the', "'&|!(:*", '"photo editor"', 'aurora -photo', '<->', '\\']) {
          const page = await search(`q=${encodeURIComponent(q)}`);
          assert.equal(page.degraded, true, q);
        }
      });

      const filterCases = (degraded: boolean) => async () => {
        const check = async (qs: string, expected: string[]) => {
          const page = await search(qs);
          assert.equal(page.degraded, degraded, qs);
          assert.deepEqual(new Set(ids(page)), new Set(expected), qs);
        };
        await check('q=gems', [apps.gem, apps.quest]);
        await check('q=gems&category=games&subcategory=games-puzzle', [apps.gem, apps.quest]);
        await check('q=gems&category=photo-video', []);
        await check('q=gems&price=free', [apps.quest]);
        await check('q=gems&price=paid', [apps.gem]);
        await check('q=gems&minRating=4', [apps.quest]);
        await check('q=gems&minRating=3', [apps.gem, apps.quest]);
        await check('q=gems&ageRating=9%2B', [apps.gem]);
        await check('q=gems&ageRating=13', [apps.gem, apps.quest]);
        await check('q=gems&ageRating=13+', [apps.gem, apps.quest]); // an unencoded '+' arrives as a space
        await check('q=gems&country=FR', [apps.quest]); // Gem Miner is priced in US and DE only
        await check('q=gems&country=DE', [apps.gem, apps.quest]);
        const de = await search('q=gem%20miner&country=DE');
        assert.deepEqual(de.items.find((i: { id: string }) => i.id === apps.gem).price, { amountMilli: 990, currency: 'EUR' });
        // cursor pages
        const first = await search('q=gems&limit=1');
        assert.equal(first.items.length, 1);
        assert.ok(first.nextCursor);
        const second = await search(`q=gems&limit=1&cursor=${first.nextCursor}`);
        assert.equal(second.items.length, 1);
        assert.notEqual(second.items[0].id, first.items[0].id);
        assert.equal(second.nextCursor, null);
        // a cursor belongs to its query
        expectError(await send('GET', `/search?q=aurora&cursor=${first.nextCursor}`), 400, 'BAD_CURSOR');
      };
      test('filters and pages (fallback)', filterCases(true));

      test('suggest and similar (fallback)', async () => {
        const s = ok(await send('GET', '/search/suggest?q=Aur'));
        assert.deepEqual(s.suggestions, [{ text: 'Aurora Photo Editor', kind: 'app', appId: apps.aurora }]);
        assert.deepEqual(ok(await send('GET', '/search/suggest?q=100%25')).suggestions, []);
        const sim = ok(await send('GET', `/apps/${apps.quest}/similar`));
        assert.equal(sim.degraded, true);
        assert.deepEqual(ids(sim), [apps.gem]);
        expectError(await send('GET', `/apps/${draftId}/similar`), 404, 'NOT_FOUND');
        expectError(await send('GET', `/apps/0190a0a0-0000-7000-8000-000000000000/similar`), 404, 'NOT_FOUND');
      });

      test('the index: built from the database, then answers (not degraded)', async () => {
        let release = () => {};
        if (fake) fake.gate = new Promise<void>((r) => (release = r));
        const started = service().start();
        if (fake) {
          // changes while the index is being built are queued, then applied before it goes live
          await eventually(async () => fake!.waiting);
          assert.equal(service().state, 'building');
          assert.equal((await search('q=aurora')).degraded, true);
          apps.late = (await publishApp(send, dev.token, admin.token, { name: 'Latecomer Notes', category: 'productivity', subcategory: null })).id;
          await eventually(async () => service().queued > 0); // the broadcast arrived and waits
          release();
        }
        await started;
        assert.equal(service().state, 'ready');
        assert.equal(service().source, 'database');
        assert.equal(service().size, fake ? 4 : 3);
        if (fake) assert.deepEqual(ids(await search('q=latecomer')), [apps.late]);
        const page = await search('q=aurora');
        assert.equal(page.degraded, false);
        assert.deepEqual(ids(page), [apps.aurora]);
        assert.deepEqual(ids(await search('q=secret')), [], 'a draft is never found');
        for (const q of ['the', "'&|!(:*", '"photo editor"', 'aurora -photo', '<->', '\\']) {
          assert.equal((await search(`q=${encodeURIComponent(q)}`)).degraded, false, q);
        }
      });

      test('filters and pages (index)', filterCases(false));

      test('engine answers are reused while the index is unchanged, recomputed after any change to it', async (ctx) => {
        if (!fake) return ctx.skip('counts engine calls: stand-in engine only');
        const engineOf = () => (service() as unknown as { engine: FakeEngine }).engine;
        const calls = () => engineOf().calls;
        const before = calls();
        const first = await search('q=battles&limit=1');
        const again = await search('q=battles&limit=1');
        assert.deepEqual(again, first);
        assert.equal(calls(), before + 1, 'the same query, filters and page: one engine call');
        await search('q=battles&limit=2');
        await search('q=battles&limit=1&price=free');
        assert.equal(calls(), before + 3, 'another page size or filter is another answer');
        await service().onAppChanged({ id: 'e', type: 'app.changed', occurredAt: new Date().toISOString(), payload: { appId: apps.quest } } as never);
        await search('q=battles&limit=1');
        assert.equal(calls(), before + 4, 'the index changed: computed again');
      });

      test('suggest, recorded queries and similar (index)', async () => {
        const s = ok(await send('GET', '/search/suggest?q=aur'));
        assert.ok(
          s.suggestions.some((x: { appId?: string }) => x.appId === apps.aurora),
          JSON.stringify(s),
        );
        await search('q=puzzle%20quest');
        await eventually(async () =>
          ok(await send('GET', '/search/suggest?q=puzzle%20q')).suggestions.some(
            (x: { kind: string; text: string }) => x.kind === 'query' && x.text.toLowerCase() === 'puzzle quest',
          ),
        );
        const sim = ok(await send('GET', `/apps/${apps.quest}/similar?limit=5`));
        assert.equal(sim.degraded, false);
        assert.ok(ids(sim).includes(apps.gem));
        assert.ok(!ids(sim).includes(apps.quest));
        expectError(await send('GET', `/apps/${draftId}/similar`), 404, 'NOT_FOUND');
      });

      test('result pages are the documented JSON: names escaped, the price of the storefront asked for', async () => {
        const name = 'Quill "Pro" \\ Notes ✏️ </script>';
        const { id } = await publishApp(send, dev.token, admin.token, { name, category: 'productivity', subcategory: null });
        await eventually(async () => ids(await search('q=quill')).includes(id), 5000);
        const res = await send('GET', '/search?q=quill');
        assert.equal(res.statusCode, 200);
        assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
        const page = JSON.parse(res.body);
        assert.deepEqual(schemaErrors(SearchPage, page), []);
        assert.equal(page.degraded, false);
        assert.equal(page.items.find((i: { id: string }) => i.id === id).name, name);
        // one cached summary, the price of each storefront (none where the app has no price)
        const gem = async (qs: string) => (await search(`q=gem%20miner${qs}`)).items.find((i: { id: string }) => i.id === apps.gem);
        assert.deepEqual((await gem('')).price, { amountMilli: 990, currency: 'USD' });
        assert.deepEqual((await gem('&country=DE')).price, { amountMilli: 990, currency: 'EUR' });
        assert.deepEqual((await gem('&country=US')).price, { amountMilli: 990, currency: 'USD' });
        const all = await search('q=gems&limit=50');
        assert.deepEqual(schemaErrors(SearchPage, all), []);
        assert.ok(!('price' in all.items.find((i: { id: string }) => i.id === apps.quest)), 'free apps have no price');
        const sim = await send('GET', `/apps/${apps.quest}/similar`);
        assert.equal(sim.headers['content-type'], 'application/json; charset=utf-8');
        assert.deepEqual(schemaErrors(SimilarApps, JSON.parse(sim.body)), []);
      });

      test('freshness: an app published through the catalog API becomes searchable, then disappears when removed', async () => {
        const { id } = await publishApp(send, dev.token, admin.token, { name: 'Zephyr Weather Radar', category: 'weather', subcategory: null });
        await eventually(async () => ids(await search('q=zephyr')).includes(id), 5000);
        const shown = async (q: string) => (await search(q)).items.find((i: { id: string }) => i.id === id)?.name;
        assert.equal(await shown('q=zephyr'), 'Zephyr Weather Radar'); // its summary (and this answer) are cached now
        assert.deepEqual(ids(await search('q=storm')), []); // an answer with no hits, cached too
        // an edit is picked up too: by the index, by cached answers, and by the summaries shown
        const etag = (await send('GET', `/developer/apps/${id}`, { token: dev.token })).headers.etag as string;
        ok(await send('PATCH', `/developer/apps/${id}`, { token: dev.token, body: { name: 'Zephyr Storm Radar' }, headers: { 'if-match': etag } }));
        await eventually(async () => ids(await search('q=storm')).includes(id), 5000);
        await eventually(async () => (await shown('q=zephyr')) === 'Zephyr Storm Radar', 5000);
        assert.equal(await shown('q=storm'), 'Zephyr Storm Radar');
        ok(await send('POST', `/developer/apps/${id}/remove`, { token: dev.token }));
        await eventually(async () => !ids(await search('q=zephyr')).length, 5000);
        assert.equal((await search('q=zephyr')).degraded, false);
      });

      test('a broadcast gap triggers a catch-up of what changed meanwhile', async () => {
        // a change the index never hears about (written behind the bus's back), then a gap
        await t.infra.db.query(`UPDATE apps SET name = 'Aurora Photo Studio', updated_at = now() WHERE id = $1`, [apps.aurora]);
        assert.deepEqual(ids(await search('q=studio')), []);
        assert.ok(service().summaries.size > 0);
        service().onBroadcastGap();
        assert.equal(service().summaries.size, 0, 'summaries heard of changes by broadcast: a gap drops them all');
        await eventually(async () => ids(await search('q=studio')).includes(apps.aurora), 5000);
      });

      test('snapshot: saved after a build, loaded on the next start, then caught up', async () => {
        await eventually(async () => existsSync(`${service().snapshotPath}.json`), 10_000);
        // changed after the snapshot: a newly published app, a removed one
        const { id } = await publishApp(send, dev.token, admin.token, { name: 'Yonder Trail Maps', category: 'navigation', subcategory: null });
        ok(await send('POST', `/developer/apps/${apps.gem}/remove`, { token: dev.token }));
        const restarted = new SearchService(
          { ...t.infra, config: t.infra.config, catalog: t.modules.catalog.service },
          engine.factory() ?? defaultEngineFactory(path.dirname(service().snapshotPath)),
        );
        await restarted.start();
        try {
          assert.equal(restarted.state, 'ready');
          assert.equal(restarted.source, 'snapshot');
          const found = (q: string) => restarted.search({ q }).then((p) => ids(p));
          assert.deepEqual(await found('yonder'), [id]);
          assert.deepEqual(await found('miner'), []);
          assert.ok((await found('aurora')).includes(apps.aurora));
        } finally {
          await restarted.close();
        }
      });

      test('a snapshot that loads but fails on use is not served: the index is built from the database', async () => {
        assert.ok(existsSync(`${service().snapshotPath}.json`));
        const real = engine.factory() ?? defaultEngineFactory(path.dirname(service().snapshotPath));
        const broken = new FakeEngine();
        broken.failing = true;
        const restarted = new SearchService(
          { ...t.infra, config: t.infra.config, catalog: t.modules.catalog.service },
          {
            build: (batches, onProgress) => real.build(batches, onProgress),
            load: async () => broken,
          },
        );
        await restarted.start();
        try {
          assert.equal(restarted.state, 'ready');
          assert.equal(restarted.source, 'database');
          const page = await restarted.search({ q: 'aurora' });
          assert.equal(page.degraded, false);
          assert.ok(page.items.some((i) => i.id === apps.aurora));
        } finally {
          await restarted.close();
        }
      });

      test('bad input is a 4xx with a message, never a 500', async () => {
        const bad: [string, string?][] = [
          ['/search'],
          ['/search?q='],
          ['/search?q=%20%20', 'INVALID_QUERY'],
          [`/search?q=${'a'.repeat(201)}`],
          ['/search?q=a%00b', 'INVALID_CHARACTER'],
          ['/search?q=a%0Ab', 'INVALID_QUERY'],
          ['/search?q=a%1Fb', 'INVALID_QUERY'],
          ['/search?q=a&category=nope', 'UNKNOWN_CATEGORY'],
          ['/search?q=a&category=games-puzzle', 'UNKNOWN_CATEGORY'],
          ['/search?q=a&subcategory=nope', 'UNKNOWN_CATEGORY'],
          ['/search?q=a&category=music&subcategory=games-puzzle', 'SUBCATEGORY_MISMATCH'],
          ['/search?q=a&minRating=6'],
          ['/search?q=a&minRating=-1'],
          ['/search?q=a&minRating=abc'],
          ['/search?q=a&price=cheap'],
          ['/search?q=a&ageRating=12%2B'],
          ['/search?q=a&country=usa'],
          ['/search?q=a&country=XX', 'UNKNOWN_COUNTRY'],
          ['/search?q=a&cursor=nonsense', 'BAD_CURSOR'],
          ['/search?q=a&cursor=eyJvIjotMX0', 'BAD_CURSOR'],
          ['/search?q=a&limit=0'],
          ['/search?q=a&limit=51'],
          ['/search?q=a&limit=ten'],
          ['/search?q=a&unknown=1'],
          ['/search/suggest'],
          ['/search/suggest?q='],
          ['/search/suggest?q=a%00', 'INVALID_CHARACTER'],
          ['/search/suggest?q=a&limit=100'],
          ['/apps/not-a-uuid/similar'],
          [`/apps/${apps.quest}/similar?limit=0`],
        ];
        for (const [url, code] of bad) {
          const res = await send('GET', url);
          assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${url}: ${res.statusCode} ${res.body}`);
          expectError(res, 400, code);
        }
        const long = expectError(await send('GET', `/search?q=${'a'.repeat(201)}`), 400);
        assert.match(long.message, /q/);
      });

      test('an engine that throws: answered by the fallback, degraded', async () => {
        const fake = new FakeEngine();
        const failing = new SearchService(
          { ...t.infra, config: t.infra.config, catalog: t.modules.catalog.service },
          {
            build: async () => {
              fake.failing = true;
              return fake;
            },
            load: async () => {
              throw new Error('no snapshot');
            },
          },
        );
        await failing.start();
        assert.equal(failing.state, 'ready');
        const page = await failing.search({ q: 'aurora' });
        assert.equal(page.degraded, true);
        assert.deepEqual(ids(page), [apps.aurora]);
        // after 5 failures in a row the circuit opens: the engine is left alone for a while
        for (let i = 0; i < 6; i++) assert.equal((await failing.search({ q: 'aurora' })).degraded, true);
        assert.equal(fake.calls, 5);
        await failing.close();
      });

      test('metrics: search_requests_total and search_latency_seconds', async () => {
        const text = await (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
        assert.match(text, /search_requests_total\{mode="all-terms",degraded="true"\} \d+/);
        assert.match(text, /search_requests_total\{mode="all-terms",degraded="false"\} \d+/);
        assert.match(text, /search_latency_seconds_bucket\{le="0.1",degraded="false"\} \d+/);
      });
    });
  }
}
