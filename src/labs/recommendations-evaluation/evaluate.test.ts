import { test } from 'node:test';
import assert from 'node:assert/strict';
import { neighborsFromLibraries } from '../../modules/recommendations/index.ts';
import { evaluateRecommendations, formatEvaluation, holdOut, type EvaluationReport } from './evaluate.ts';
import { syntheticWorld } from './synthetic.ts';

const SMALL = { apps: 800, users: 3_000, seed: 7 } as const;

/** The figures of a report, without its timings and memory (which vary run to run). */
const figures = ({ build: _build, totalMs: _totalMs, ...rest }: EvaluationReport) => rest;

test('the synthetic world is deterministic, coherent and heavy-tailed', () => {
  const a = syntheticWorld(SMALL);
  const b = syntheticWorld(SMALL);
  assert.deepEqual(a, b);
  assert.notDeepEqual(syntheticWorld({ ...SMALL, seed: 8 }).libraries, a.libraries);

  assert.equal(a.apps.length, 800);
  assert.equal(a.libraries.length, 3_000);
  assert.ok(new Set(a.apps.map((x) => x.category)).size >= 20);
  const ids = new Set(a.apps.map((x) => x.id));
  for (const library of a.libraries) {
    assert.equal(new Set(library).size, library.length, 'no app twice in a library');
    for (const id of library) assert.ok(ids.has(id));
  }
  const sizes = a.libraries.map((l) => l.length).sort((x, y) => x - y);
  const median = sizes[sizes.length >> 1];
  assert.ok(median >= 7 && median <= 13, `median library ${median}`);
  assert.ok(sizes.at(-1)! > 3 * median, 'a heavy tail of big libraries');
  assert.ok(
    sizes.some((n) => n === 2),
    'some users with two apps (cold start after the hold-out)',
  );
});

test('holdOut hides the most recent app and nothing else', () => {
  const { hidden, remaining } = holdOut([['c', 'b', 'a'], ['x'], [], ['d', 'e', 'd']]);
  assert.deepEqual(hidden, ['c', undefined, undefined, 'd']);
  assert.deepEqual(remaining, [['b', 'a'], ['x'], [], ['e']]);
});

test('the held-out app never leaks into the remaining library or the neighbour build', () => {
  const world = syntheticWorld(SMALL);
  let input: (readonly string[])[] | undefined;
  evaluateRecommendations({
    world,
    buildNeighbors: (libraries) => {
      input = libraries.map((l) => l.slice());
      return neighborsFromLibraries(libraries);
    },
  });
  assert.ok(input);
  assert.equal(input.length, world.libraries.length);
  const { hidden, remaining } = holdOut(world.libraries);
  let held = 0;
  world.libraries.forEach((library, u) => {
    if (library.length < 2) {
      assert.deepEqual(input![u], library);
      return;
    }
    held++;
    assert.equal(hidden[u], library[0]);
    assert.ok(!remaining[u].includes(library[0]), `user ${u}: hidden app in the remaining library`);
    assert.ok(!input![u].includes(library[0]), `user ${u}: hidden app in the neighbour build input`);
    assert.deepEqual(input![u], library.slice(1));
  });
  assert.ok(held > 2_900);
});

test('item-item CF recall@10 is at least twice the popularity baseline, deterministically', () => {
  const first = evaluateRecommendations(SMALL);
  const second = evaluateRecommendations(SMALL);
  assert.deepEqual(figures(first), figures(second));

  for (const line of formatEvaluation(first)) console.log(line);
  assert.equal(first.k, 10);
  assert.ok(first.evaluated > 2_900 && first.evaluated <= 3_000);
  // popularity still matters: the baseline is well above zero
  assert.ok(first.popularity.recall >= 0.03, `baseline recall ${first.popularity.recall}`);
  assert.ok(first.cf.recall >= 2 * first.popularity.recall, `CF ${first.cf.recall} vs baseline ${first.popularity.recall}`);
  assert.ok(first.cf.ndcg > first.popularity.ndcg);
  assert.ok(first.cf.ndcg <= first.cf.recall && first.cf.ndcg > 0);
  assert.ok(first.coldStart.cf.users > 0);
  assert.ok(first.coldStart.cf.recall > 0, 'one remaining app still gives CF recommendations');
  assert.ok(first.cfFilled.recall >= first.cf.recall);
});

test('formatEvaluation prints both recalls, NDCGs, their ratio, users, build time and memory', () => {
  const report = evaluateRecommendations({ apps: 200, users: 400, seed: 1 });
  const text = formatEvaluation(report).join('\n');
  for (const needle of ['recall@10', 'NDCG@10', 'Popularity baseline', 'CF / popularity', 'Users evaluated', 'Cold start', 'Neighbour build', 'heap', 'RSS']) {
    assert.ok(text.includes(needle), needle);
  }
});
