// npx tsx bench/search-quality.ts [--judged path] [--worst 10] [--per-class 2] [--json out.json]
//
// Search quality (issue #3 "Quality"): builds the engine in-process from the benchmark catalog
// (syntheticSearchDocs(100000, 42), the catalog `npm run bench` seeds), runs every judged query of
// src/labs/search-quality/judged.json with its filters (limit 50) and prints NDCG@10 and recall@50
// per query class and overall, then the worst queries: what came back vs what was expected (the 10
// worst overall in detail, then the 2 worst of each class on one line each).
// Always exits 0: it reports, the target (overall NDCG@10 ≥ 0.9) is checked by reading it.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { buildEngine } from '../src/modules/search/engine/index.ts';
import type { SearchDoc } from '../src/modules/search/index.ts';
import { JUDGED_CATALOG, NDCG_TARGET, QUERY_CLASSES, evaluate, loadJudged, type QueryOutcome } from '../src/labs/search-quality/index.ts';
import { syntheticSearchDocs } from '../src/seed/search-docs.ts';

const { values: flags } = parseArgs({
  options: {
    judged: { type: 'string' },
    worst: { type: 'string', default: '10' },
    'per-class': { type: 'string', default: '2' },
    json: { type: 'string' },
  },
});

const judged = loadJudged(flags.judged);
let t = performance.now();
const docs: SearchDoc[] = [...syntheticSearchDocs(JUDGED_CATALOG.apps, JUDGED_CATALOG.seed)];
const genMs = performance.now() - t;
t = performance.now();
const engine = buildEngine(docs);
const buildMs = performance.now() - t;
const byId = new Map(docs.map((d) => [d.id, d]));
console.log(
  `catalog: ${docs.length} published apps (syntheticSearchDocs(${JUDGED_CATALOG.apps}, ${JUDGED_CATALOG.seed}), ${(genMs / 1000).toFixed(1)} s); ` +
    `engine built in ${(buildMs / 1000).toFixed(1)} s; ${judged.length} judged queries\n`,
);

const ev = evaluate(engine, judged, 50);

// ---------------------------------------------------------------- table
const f3 = (x: number | undefined) => (x === undefined ? '  -  ' : x.toFixed(3));
const pad = (s: string, n: number) => s.padEnd(n);
const classes = [...QUERY_CLASSES.filter((c) => ev.byClass[c]), ...Object.keys(ev.byClass).filter((c) => !(QUERY_CLASSES as readonly string[]).includes(c))];
const line = '-'.repeat(46);
console.log(`${pad('class', 12)} ${'queries'.padStart(7)}  ${'NDCG@10'.padStart(8)}  ${'recall@50'.padStart(9)}  ${'≥0.9'.padStart(5)}`);
console.log(line);
for (const c of classes) {
  const m = ev.byClass[c];
  const count = ev.queries.filter((o) => o.query.class === c && o.ndcg10 >= NDCG_TARGET).length;
  console.log(`${pad(c, 12)} ${String(m.n).padStart(7)}  ${f3(m.mean.ndcg10).padStart(8)}  ${f3(m.mean.recall50).padStart(9)}  ${`${count}`.padStart(5)}`);
}
console.log(line);
const okCount = ev.queries.filter((o) => o.ndcg10 >= NDCG_TARGET).length;
console.log(
  `${pad('overall', 12)} ${String(ev.overall.n).padStart(7)}  ${f3(ev.overall.mean.ndcg10).padStart(8)}  ${f3(ev.overall.mean.recall50).padStart(9)}  ${`${okCount}`.padStart(5)}`,
);
const ms = ev.queries.map((o) => o.ms).sort((a, b) => a - b);
const pct = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] ?? 0;
console.log(`(last column: queries with NDCG@10 ≥ ${NDCG_TARGET}; search latency here p50 ${pct(0.5).toFixed(1)} ms, max ${pct(1).toFixed(1)} ms)\n`);

const overall = ev.overall.mean.ndcg10 ?? 0;
console.log(
  overall >= NDCG_TARGET
    ? `TARGET MET: overall NDCG@10 ${overall.toFixed(3)} ≥ ${NDCG_TARGET}`
    : `TARGET MISSED: overall NDCG@10 ${overall.toFixed(3)} < ${NDCG_TARGET}`,
);

// ---------------------------------------------------------------- worst queries
const name = (id: string) => byId.get(id)?.name ?? id;
const describe = (id: string, o: QueryOutcome) => {
  const g = o.query.relevant[id];
  return `${name(id)}${g ? ` [${g}]` : ''}`;
};
const n = Number(flags.worst);
console.log(`\nThe ${n} worst queries (NDCG@10, recall@50); [g] = judged grade of a returned app:`);
for (const o of ev.worst(n)) {
  const { query } = o;
  console.log(
    `\n${query.id}  q=${JSON.stringify(query.q)}${query.filters ? ` filters=${JSON.stringify(query.filters)}` : ''}  NDCG@10 ${o.ndcg10.toFixed(3)}  recall@50 ${o.recall50.toFixed(3)}`,
  );
  console.log(`  rule: ${query.note.replace(/ Grade 3:.*$/, '')}`);
  const got = o.hits.slice(0, 10);
  console.log(`  got (top 10 of ${o.hits.length}): ${got.length ? got.map((id) => describe(id, o)).join(' | ') : '(nothing)'}`);
  const expected = Object.entries(query.relevant)
    .sort(([, a], [, b]) => b - a)
    .slice(0, 10);
  console.log(`  expected (top 10): ${expected.map(([id, g]) => `${name(id)} [${g}]`).join(' | ')}`);
  const missing = expected.filter(([id, g]) => g === 3 && !o.hits.includes(id)).map(([id]) => name(id));
  if (missing.length) console.log(`  grade-3 apps not in the 50 results: ${missing.join(' | ')}`);
}

// The 10 worst can all be one class; one line per class shows where else it hurts.
const perClass = Number(flags['per-class']);
if (perClass > 0) {
  console.log(`\nThe ${perClass} worst queries of each class (top 5 returned; [g] = judged grade):`);
  for (const c of classes) {
    const worst = ev.queries
      .filter((o) => o.query.class === c)
      .sort((a, b) => a.ndcg10 - b.ndcg10 || a.recall50 - b.recall50)
      .slice(0, perClass);
    for (const o of worst) {
      const got =
        o.hits
          .slice(0, 5)
          .map((id) => describe(id, o))
          .join(' | ') || '(nothing)';
      const want = Object.entries(o.query.relevant)
        .filter(([, g]) => g === 3)
        .slice(0, 3)
        .map(([id]) => name(id))
        .join(' | ');
      console.log(
        `  ${o.query.id.padEnd(12)} ${o.ndcg10.toFixed(2)} ${JSON.stringify(o.query.q)}${o.query.filters ? ` ${JSON.stringify(o.query.filters)}` : ''}: got ${got}; want ${want}`,
      );
    }
  }
}

if (flags.json) {
  writeFileSync(
    flags.json,
    JSON.stringify(
      {
        overall: ev.overall,
        byClass: ev.byClass,
        queries: ev.queries.map((o) => ({ id: o.query.id, class: o.query.class, q: o.query.q, ndcg10: o.ndcg10, recall50: o.recall50, hits: o.hits })),
      },
      null,
      1,
    ),
  );
}
process.exit(0);
