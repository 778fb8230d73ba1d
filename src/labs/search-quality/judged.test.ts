// judged.json is well-formed, judges apps of the benchmark catalog, respects its filters, and is
// exactly what make-judged.ts produces from that catalog (so the file and the rules never drift).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { syntheticSearchDocs } from '../../seed/search-docs.ts';
import type { SearchDoc } from '../../modules/search/index.ts';
import { JUDGED_CATALOG, JUDGED_PATH, QUERY_CLASSES, loadJudged, matchesFilters } from './judged.ts';
import { editDistance, makeJudged, serializeJudged } from './make-judged.ts';

const judged = loadJudged();
const docs: SearchDoc[] = [...syntheticSearchDocs(JUDGED_CATALOG.apps, JUDGED_CATALOG.seed)];
const byId = new Map(docs.map((d) => [d.id, d]));

test('judged.json: at least 100 queries, every class present in roughly equal shares, unique ids', () => {
  assert.ok(judged.length >= 100, `${judged.length} queries`);
  const counts = new Map<string, number>();
  for (const j of judged) counts.set(j.class, (counts.get(j.class) ?? 0) + 1);
  for (const cls of QUERY_CLASSES) assert.ok((counts.get(cls) ?? 0) >= judged.length / QUERY_CLASSES.length / 2, `class ${cls}: ${counts.get(cls)}`);
  assert.deepEqual([...counts.keys()].sort(), [...QUERY_CLASSES].sort());
  assert.equal(new Set(judged.map((j) => j.id)).size, judged.length);
});

test('judged.json: every entry is well-formed with grades 1..3, at most 30 apps and a grade-3 app', () => {
  for (const j of judged) {
    assert.match(j.id, /^[a-z]+-\d{2}$/, j.id);
    assert.ok(j.q.trim().length > 0, j.id);
    assert.ok(j.note.length > 0, j.id);
    const grades = Object.values(j.relevant);
    assert.ok(grades.length >= 1 && grades.length <= 30, `${j.id}: ${grades.length} relevant`);
    assert.ok(
      grades.every((g) => Number.isInteger(g) && g >= 1 && g <= 3),
      `${j.id}: grades ${grades}`,
    );
    assert.ok(grades.includes(3), `${j.id}: no grade 3`);
  }
});

test('judged.json: every relevant id is an app of syntheticSearchDocs(100000, 42) and satisfies the filters', () => {
  for (const j of judged) {
    for (const id of Object.keys(j.relevant)) {
      const doc = byId.get(id);
      assert.ok(doc, `${j.id}: unknown app ${id}`);
      assert.ok(matchesFilters(doc, j.filters), `${j.id}: ${doc.name} does not satisfy ${JSON.stringify(j.filters)}`);
    }
  }
  assert.ok(judged.some((j) => j.filters?.category) && judged.some((j) => j.filters?.price) && judged.some((j) => j.filters?.minRating));
});

test('judged.json: typo queries are misspelled (not the names they mean)', () => {
  for (const j of judged.filter((x) => x.class === 'typo')) {
    const meant = Object.entries(j.relevant)
      .filter(([, g]) => g === 3)
      .map(([id]) => byId.get(id)!.name.toLowerCase());
    assert.ok(!meant.includes(j.q.toLowerCase()), `${j.id}: "${j.q}" is not misspelled`);
  }
  assert.equal(editDistance('recipe', 'recipe'), 0);
  assert.equal(editDistance('recipe', 'rceipe'), 1); // swap
  assert.equal(editDistance('recipe', 'recpe'), 1);
  assert.equal(editDistance('recipe', 'reciipee'), 2);
});

test('judged.json is what make-judged.ts produces from the catalog', () => {
  assert.equal(readFileSync(JUDGED_PATH, 'utf8'), serializeJudged(makeJudged(docs)), 'run: npx tsx src/labs/search-quality/make-judged.ts');
});
