import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SearchEngine, SearchResult } from '../../modules/search/index.ts';
import { evaluate } from './evaluate.ts';
import type { JudgedQuery } from './judged.ts';

type SearchOptions = Parameters<SearchEngine['search']>[1];

const judged: JudgedQuery[] = [
  { id: 'exact-01', class: 'exact', q: 'alpha', relevant: { a: 3, b: 2 }, note: '' },
  { id: 'filtered-01', class: 'filtered', q: 'beta', filters: { price: 'free' }, relevant: { c: 3 }, note: '' },
];

/** An engine that answers from a fixed table and records what it was asked. */
function fakeEngine(table: Record<string, string[]>) {
  const calls: { q: string; options: SearchOptions }[] = [];
  return {
    calls,
    search(q: string, options: SearchOptions): SearchResult {
      calls.push({ q, options });
      const ids = (table[q] ?? []).slice(0, options.limit);
      return {
        hits: ids.map((id, i) => ({ id, score: 100 - i, textScore: 1, exact: false, fuzzy: false })),
        total: ids.length,
        mode: 'all-terms',
        corrections: {},
      };
    },
  };
}

test('evaluate: a perfect engine scores 1 everywhere; filters and limit 50 are passed on', () => {
  const engine = fakeEngine({ alpha: ['a', 'b'], beta: ['c'] });
  const ev = evaluate(engine, judged);
  assert.equal(ev.overall.n, 2);
  assert.equal(ev.overall.mean.ndcg10, 1);
  assert.equal(ev.overall.mean.recall50, 1);
  assert.deepEqual(Object.keys(ev.byClass), ['exact', 'filtered']);
  assert.deepEqual(engine.calls, [
    { q: 'alpha', options: { limit: 50 } },
    { q: 'beta', options: { limit: 50, filters: { price: 'free' } } },
  ]);
});

test('evaluate: misses lower the scores and the worst queries come first', () => {
  const ev = evaluate(fakeEngine({ alpha: ['x', 'b', 'a'], beta: [] }), judged);
  const [worst, next] = ev.worst(10);
  assert.equal(worst.query.id, 'filtered-01');
  assert.equal(worst.ndcg10, 0);
  assert.deepEqual(worst.hits, []);
  assert.equal(next.query.id, 'exact-01');
  assert.ok(next.ndcg10 > 0 && next.ndcg10 < 1);
  assert.equal(next.recall50, 1);
  assert.equal(ev.byClass.filtered.mean.ndcg10, 0);
  assert.equal(ev.worst(1).length, 1);
});
