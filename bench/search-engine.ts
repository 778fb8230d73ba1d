// Search engine benchmark: build, snapshot save/load, memory and query latency over the seeded catalog.
//   node --max-old-space-size=6144 --import tsx bench/search-engine.ts --apps 2000000
// Options: --apps N (default 100000), --rng-seed S (42), --queries Q (3000), --snapshot PATH,
// --build-only (stop after the build: no queries, save or load), --keep (keep the snapshot and its
// query mix), --load-only (skip generation and build: query a kept snapshot in a fresh process).
// The load is measured in a fresh child process (so the generated docs don't count towards its RSS),
// and the query latencies are measured there too (warm, single thread, in-process).
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildEngine, consume, loadEngine, type SearchEngine, type SearchFilters } from '../src/modules/search/engine/index.ts';
import { analyzeField } from '../src/modules/search/engine/analysis.ts';
import { syntheticSearchDocs } from '../src/seed/search-docs.ts';

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const apps = Number(opt('apps', '100000'));
const seed = Number(opt('rng-seed', '42'));
const nQueries = Number(opt('queries', '3000'));
const snapshot = opt('snapshot', path.join(tmpdir(), `orchard-search-${apps}.snap`));
const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
const gc = () => (globalThis as { gc?: () => void }).gc?.();

// Deterministic PRNG for the query mix.
let rs = 0x9e3779b9 ^ seed;
const rand = () => {
  rs ^= rs << 13;
  rs ^= rs >>> 17;
  rs ^= rs << 5;
  return (rs >>> 0) / 2 ** 32;
};
const pick = <T>(a: T[]): T => a[Math.floor(rand() * a.length)];

interface QuerySpec {
  cls: string;
  q: string;
  filters?: SearchFilters;
}

function typo(w: string): string {
  if (w.length < 4) return w;
  const i = 1 + Math.floor(rand() * (w.length - 2));
  const r = rand();
  if (r < 0.33) return w.slice(0, i) + w.slice(i + 1); // deletion
  if (r < 0.66) return w.slice(0, i) + w[i + 1] + w[i] + w.slice(i + 2); // transposition (2 edits in Levenshtein)
  return w.slice(0, i) + 'xq'[Math.floor(rand() * 2)] + w.slice(i + 1); // substitution
}

async function child(): Promise<void> {
  const t0 = performance.now();
  const engine = await loadEngine(snapshot);
  const loadS = (performance.now() - t0) / 1000;
  gc();
  const rss = process.memoryUsage().rss;
  const specs = JSON.parse(process.env.BENCH_QUERIES ?? '[]') as QuerySpec[];
  const report = runQueries(engine, specs);
  console.log(JSON.stringify({ loadS, rss, size: engine.size, report }));
}

function runQueries(engine: SearchEngine, specs: QuerySpec[]) {
  // Warm = one unmeasured pass over the whole mix first, so every code path is JIT-compiled (the engine keeps no
  // answers between calls, so the measured pass does all of its work again).
  for (const s of specs) engine.search(s.q, { limit: 20, filters: s.filters });
  const by = new Map<string, number[]>();
  const all: number[] = [];
  let hitsTotal = 0;
  for (const s of specs) {
    const t = performance.now();
    const r = engine.search(s.q, { limit: 20, filters: s.filters });
    const ms = performance.now() - t;
    hitsTotal += r.hits.length;
    if (!by.has(s.cls)) by.set(s.cls, []);
    by.get(s.cls)!.push(ms);
    all.push(ms);
  }
  const stats = (xs: number[]) => {
    const a = xs.slice().sort((x, y) => x - y);
    const q = (p: number) => a[Math.min(a.length - 1, Math.floor(p * a.length))];
    return { n: a.length, p50: q(0.5), p99: q(0.99), mean: a.reduce((x, y) => x + y, 0) / a.length, max: a[a.length - 1] };
  };
  const out: Record<string, ReturnType<typeof stats>> = {};
  for (const [k, v] of by) out[k] = stats(v);
  out.overall = stats(all);
  // suggest / similar
  const sug: number[] = [];
  for (const s of specs.slice(0, 500)) {
    const t = performance.now();
    engine.suggest(s.q.slice(0, 3), 10);
    sug.push(performance.now() - t);
  }
  out.suggest = stats(sug);
  return { classes: out, avgHits: hitsTotal / specs.length };
}

async function main(): Promise<void> {
  if (process.env.BENCH_CHILD) return child();
  if (args.includes('--load-only')) {
    const res = inChild(JSON.parse(readFileSync(`${snapshot}.queries.json`, 'utf8')) as QuerySpec[]);
    printLoaded(res);
    return;
  }
  console.log(`search engine bench: ${apps} apps (seed ${seed}), node ${process.version}`);
  let t = performance.now();
  const docs = [...syntheticSearchDocs(apps, seed)];
  console.log(`generated ${docs.length} docs in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // query mix from the catalog's vocabulary
  const names: string[] = [];
  const nameWords: string[] = [];
  const descCounts = new Map<string, number>();
  const cats: string[] = [];
  for (let i = 0; i < docs.length; i += Math.max(1, Math.floor(docs.length / 20000))) {
    const d = docs[i];
    names.push(d.name);
    cats.push(d.category);
    for (const w of d.name.split(/[^A-Za-z0-9]+/)) if (w.length >= 3) nameWords.push(w.toLowerCase());
    for (const w of d.description.toLowerCase().split(/[^a-z]+/)) if (w.length >= 4) descCounts.set(w, (descCounts.get(w) ?? 0) + 1);
  }
  const byFreq = [...descCounts].sort((a, b) => b[1] - a[1]);
  const common = byFreq.slice(0, 200).map((x) => x[0]);
  const rare = byFreq.filter((x) => x[1] <= 2).map((x) => x[0]);
  void analyzeField;
  const specs: QuerySpec[] = [];
  for (let i = 0; i < nQueries; i++) {
    const r = i % 8;
    if (r === 0) specs.push({ cls: 'name', q: pick(names) });
    else if (r === 1) specs.push({ cls: 'name-word', q: pick(nameWords) });
    else if (r === 2) specs.push({ cls: 'common', q: pick(common) });
    else if (r === 3) specs.push({ cls: 'rare', q: pick(rare) });
    else if (r === 4) specs.push({ cls: 'two-word', q: `${pick(common)} ${pick(rand() < 0.5 ? common : nameWords)}` });
    else if (r === 5) specs.push({ cls: 'typo', q: typo(pick(rand() < 0.5 ? nameWords : common)) });
    else if (r === 6) {
      const filters: SearchFilters = rand() < 0.5 ? { category: pick(cats), price: 'free' } : { minRating: 4, maxAgeRating: '13+' };
      specs.push({ cls: 'filtered', q: pick(rand() < 0.5 ? common : nameWords), filters });
    } else specs.push({ cls: 'name-prefix2', q: pick(names).split(' ').slice(0, 2).join(' ') + (rand() < 0.5 ? '' : ' ' + pick(common)) });
  }

  gc();
  const rssBefore = process.memoryUsage().rss;
  t = performance.now();
  const cpu0 = process.cpuUsage();
  // the docs are handed over (each released once indexed), as the service's build streams them from the database
  let engine: SearchEngine | null = buildEngine(consume(docs), {}, (n) => {
    if (n % 500_000 === 0) process.stderr.write(`  indexed ${n}\n`);
  });
  const buildS = (performance.now() - t) / 1000;
  const buildCpu = process.cpuUsage(cpu0);
  gc();
  const rssBuilt = process.memoryUsage().rss;
  console.log(
    `build: ${buildS.toFixed(1)} s wall (${((buildCpu.user + buildCpu.system) / 1e6).toFixed(1)} s CPU, load avg ${(await import('node:os')).loadavg()[0].toFixed(1)}); RSS after build ${mb(rssBuilt)} (${mb(rssBefore)} before it: node + generated docs, released during the build)`,
  );
  if (args.includes('--build-only')) return;
  const inproc = runQueries(engine, specs);
  t = performance.now();
  await engine.save(snapshot);
  const saveS = (performance.now() - t) / 1000;
  console.log(`save: ${saveS.toFixed(1)} s; snapshot ${mb(statSync(snapshot).size)}`);
  engine = null;
  docs.length = 0;

  const res = inChild(specs);
  print('queries, built engine (same process)', inproc);
  printLoaded(res);
  if (args.includes('--keep')) writeFileSync(`${snapshot}.queries.json`, JSON.stringify(specs));
  else unlinkSync(snapshot);
}

interface ChildResult {
  loadS: number;
  rss: number;
  size: number;
  report: ReturnType<typeof runQueries>;
}

function inChild(specs: QuerySpec[]): ChildResult {
  const r = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=6144', '--import', 'tsx', fileURLToPath(import.meta.url), ...args], {
    env: { ...process.env, BENCH_CHILD: '1', BENCH_QUERIES: JSON.stringify(specs) },
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`load child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
}

function print(title: string, rep: ReturnType<typeof runQueries>): void {
  console.log(`${title} (avg hits/query ${rep.avgHits.toFixed(1)})`);
  console.log('  class          n      p50 ms   p99 ms   mean ms   max ms');
  for (const [k, v] of Object.entries(rep.classes)) {
    console.log(
      `  ${k.padEnd(13)} ${String(v.n).padStart(5)} ${v.p50.toFixed(3).padStart(9)} ${v.p99.toFixed(3).padStart(8)} ${v.mean.toFixed(3).padStart(9)} ${v.max.toFixed(2).padStart(8)}`,
    );
  }
}

function printLoaded(res: ChildResult): void {
  console.log(`load (fresh process): ${res.loadS.toFixed(1)} s; RSS after load ${mb(res.rss)}; ${res.size} live docs`);
  print('queries, loaded engine (fresh process)', res.report);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
