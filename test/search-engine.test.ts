// The search engine on the seeded catalog (syntheticSearchDocs: the apps `orchard seed` writes, as search
// documents): snapshot round-trip, every app found first by its exact name, pruned retrieval against the
// exhaustive top-k, and consume(). Here rather than beside the engine because the engine's own unit tests
// (src/modules/search/engine/*.test.ts) may not import seed/; these reach into the engine's internals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildEngine, consume, loadEngine, type SearchEngine, type SearchOptions } from '../src/modules/search/engine/index.ts';
import { TopK, type Engine } from '../src/modules/search/engine/engine.ts';
import { syntheticSearchDocs } from '../src/seed/search-docs.ts';

const opts = (o: Partial<SearchOptions> = {}): SearchOptions => ({ limit: 20, ...o });
const ids = (e: SearchEngine, q: string, o?: Partial<SearchOptions>) => e.search(q, opts(o)).hits.map((h) => h.id);

test('snapshot round-trip gives the same results', async () => {
  const docs = [...syntheticSearchDocs(3000, 7)];
  const e = buildEngine(docs.slice(0, -100));
  for (const d of docs.slice(-100)) e.upsert(d); // delta gets merged by save
  e.remove(docs[0].id);
  e.recordQuery('chat group');
  const queries = [
    docs[5].name,
    'game',
    'photo editor',
    'chat',
    'manage projects',
    docs[10].bundleId,
    'scrabble blst',
    'learn math',
    docs[30].developer,
    docs[docs.length - 5].developer,
  ];
  const run = (x: SearchEngine) => ({
    s: queries.map((q) => x.search(q, opts({ limit: 10 }))),
    f: x.search('game', opts({ filters: { category: 'games', price: 'free' } })),
    sug: x.suggest('cha', 5),
    sim: x.similar(docs[20].id, 5),
  });
  const unmerged = run(e);
  const dir = mkdtempSync(path.join(tmpdir(), 'orchard-snap-'));
  try {
    const file = path.join(dir, 'search.snap');
    await e.save(file); // merges the delta: its float scores become 8-bit impacts, so only the leaders must hold
    const before = run(e);
    assert.deepEqual(
      before.s.map((r) => r.hits[0]?.id),
      unmerged.s.map((r) => r.hits[0]?.id),
    );
    const loaded = await loadEngine(file);
    assert.equal(loaded.size, e.size);
    assert.deepEqual(run(loaded), before);
    // the loaded engine stays updatable
    loaded.upsert({ ...docs[1], name: 'Quokka Quest' });
    assert.deepEqual(ids(loaded, 'quokka'), [docs[1].id]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('seeded catalog: every app is found first by its exact name', () => {
  const docs = [...syntheticSearchDocs(2000, 3)];
  const e = buildEngine(docs);
  const words = (name: string) =>
    name
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter(Boolean);
  const namesWith = (ws: string[]) =>
    docs.filter((x) => {
      const n = words(x.name);
      return ws.every((w) => n.includes(w));
    }).length;
  for (const d of docs.slice(0, 300)) {
    const r = e.search(d.name, opts({ limit: 50 }));
    // a distinctive name is navigational: exact matches first. A generic word that is some app's whole
    // name ("Budget+") is not: that app is then one of the name matches, ranked by quality.
    if (namesWith(words(d.name)) <= 5) assert.equal(r.hits[0].exact, true, d.name);
    assert.ok(
      r.hits.filter((h) => h.exact).some((h) => h.id === d.id),
      d.name,
    );
    const b = e.search(d.bundleId, opts());
    assert.equal(b.hits[0].id, d.id);
  }
});

test('pruned retrieval (tiers, block maxima) returns exactly the exhaustive top-k text scores', () => {
  const docs = [...syntheticSearchDocs(6000, 11)];
  const e = buildEngine(docs.slice(0, -200)) as Engine;
  for (const d of docs.slice(-200)) e.upsert(d); // delta clauses too
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const x = e as any; // internals: buildGroup, scoreDoc, retrieveAll
  const group = (w: string) => x.buildGroup({ text: w, forms: [w] }, {}, true);
  const inClause = (c: { docs: Uint32Array; start: number; end: number }, d: number) => c.docs.subarray(c.start, c.end).includes(d);
  for (const q of ['game play', 'photo edit', 'learn math', 'music player', 'daily plan', 'track fit goal', 'chat']) {
    const words = q.split(' ');
    const k = 40;
    const groups = words.map(group);
    const exhaustive: number[] = [];
    for (let d = 0; d < x.s.n; d++) {
      if (x.s.flags[d] & 2 || !groups.every((g: { clauses: [] }) => g.clauses.some((c) => inClause(c, d)))) continue;
      exhaustive.push(x.scoreDoc(d, groups).score);
    }
    exhaustive.sort((a, b) => b - a);
    const heap = new TopK(k);
    x.retrieveAll(words.map(group), null, heap);
    const got = Array.from(heap.score.subarray(0, heap.size)).sort((a, b) => b - a);
    assert.deepEqual(
      got.map((v) => v.toFixed(5)),
      exhaustive.slice(0, k).map((v) => v.toFixed(5)),
      q,
    );
    // the same within a category, its doc list leading the intersection
    for (const category of ['games', 'productivity']) {
      const inCat = new Set(docs.map((d) => d.category));
      assert.ok(inCat.has(category));
      const c = x.catIndex.get(category);
      const filtered: number[] = [];
      for (let d = 0; d < x.s.n; d++) {
        if (x.s.flags[d] & 2 || x.s.cat[d] !== c || !groups.every((g: { clauses: [] }) => g.clauses.some((cl) => inClause(cl, d)))) continue;
        filtered.push(x.scoreDoc(d, groups).score);
      }
      filtered.sort((a, b) => b - a);
      const h = new TopK(k);
      x.retrieveAll(words.map(group), x.compileFilter({ category }), h, x.categoryGroup(category));
      const g2 = Array.from(h.score.subarray(0, h.size)).sort((a, b) => b - a);
      assert.deepEqual(
        g2.map((v) => v.toFixed(5)),
        filtered.slice(0, k).map((v) => v.toFixed(5)),
        `${q} in ${category}`,
      );
    }
  }
});

test('consume(): the same index as from the array, and the array is released', () => {
  const docs = [...syntheticSearchDocs(800, 5)];
  const copy = docs.slice();
  const a = buildEngine(copy) as Engine;
  const b = buildEngine(consume(docs)) as Engine;
  assert.equal(docs.length, 0);
  assert.equal(b.size, a.size);
  assert.deepEqual(b.s.postDocs, a.s.postDocs);
  assert.deepEqual(b.s.postImp, a.s.postImp);
  assert.deepEqual(b.search('game', { limit: 10 }), a.search('game', { limit: 10 }));
});
