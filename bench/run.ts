// npm run bench [-- --apps 100000 --users 20000 --connections 50 --duration 10 --scenarios hello,app-by-id]
//
// Starts each server as a child process (a bare Fastify hello-world as the baseline, then `orchard serve`
// on a seeded catalog), drives load from another child process (bench/load.ts, autocannon), and prints
// req/s, p50/p99, errors, non-2xx and the server's peak RSS per scenario; the summary also goes to
// .bench/last.json. Uses DATABASE_URL / REDIS_URL / AMQP_URL when set, embedded parts under .bench/data otherwise.
// --check also holds each scenario's share of hello-world to its floor in bench/floors.json (exit 1 below it);
// without --scenarios it runs hello, the floored scenarios, and hello again. --floor name=percent overrides one.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type { Db } from '../src/platform/db/index.ts';
import { createPostgresDb } from '../src/platform/db/postgres.ts';
import { createPgliteDb } from '../src/platform/db/pglite.ts';
import { checkFloors, formatVerdicts, readFloors, withOverrides } from './floors.ts';
import { SCENARIOS, loadSample, type Sample, type Scenario } from './scenarios.ts';
import type { LoadResult, LoadSpec } from './load.ts';

const SERVER_NODE_FLAGS = '--max-semi-space-size=64';
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const BENCH_DIR = path.join(ROOT, '.bench');
const DATA_DIR = path.join(BENCH_DIR, 'data');

// ---------------------------------------------------------------- options

const { values: flags } = parseArgs({
  options: {
    apps: { type: 'string', default: '100000' },
    users: { type: 'string' },
    connections: { type: 'string', default: '50' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    scenarios: { type: 'string' },
    check: { type: 'boolean', default: false },
    floor: { type: 'string', multiple: true, default: [] },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(`npm run bench -- [--apps N] [--users M] [--connections C] [--duration S] [--warmup S] [--scenarios a,b] [--check [--floor name=pct]]
scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}
--check: fail when a scenario's share of hello-world falls below its floor in bench/floors.json`);
  process.exit(0);
}
const count = (name: string, v: string | undefined) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got "${v}"`);
  return n;
};
const options = {
  apps: count('apps', flags.apps),
  users: count('users', flags.users ?? String(Math.round(Number(flags.apps) / 5))),
  connections: count('connections', flags.connections),
  duration: count('duration', flags.duration),
  warmup: count('warmup', flags.warmup),
};
const floors = flags.check ? withOverrides(readFloors(path.join(ROOT, 'bench', 'floors.json')), flags.floor ?? []) : null;
/** Floors of opt-in scenarios (they need a dataset of their own: bench/recs.ts) hold only in runs that select them. */
const optIn = new Set(SCENARIOS.filter((s) => s.optIn).map((s) => s.name));
const scenarios = selectScenarios(
  flags.scenarios ?? (floors ? ['hello', ...Object.keys(floors).filter((name) => !optIn.has(name)), 'hello'].join(',') : undefined),
);
const checkedFloors = floors && Object.fromEntries(Object.entries(floors).filter(([name]) => !optIn.has(name) || scenarios.some((s) => s.name === name)));

function selectScenarios(list: string | undefined): Scenario[] {
  if (!list) return SCENARIOS.filter((s) => !s.optIn);
  return list.split(',').map((name) => {
    const s = SCENARIOS.find((x) => x.name === name.trim());
    if (!s) throw new Error(`unknown scenario "${name}"; known: ${SCENARIOS.map((x) => x.name).join(', ')}`);
    return s;
  });
}

// ---------------------------------------------------------------- child processes

const children = new Set<ChildProcess>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const c of children) c.kill('SIGTERM');
    process.exit(130);
  });
}

function start(args: string[], env: NodeJS.ProcessEnv, log?: string): ChildProcess {
  const out = log ? createWriteStream(log) : undefined;
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', out ? 'pipe' : 'inherit', out ? 'pipe' : 'inherit'] });
  if (out) {
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
  }
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));

async function stop(child: ChildProcess) {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited(child);
  clearTimeout(timer);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

interface Server {
  name: string;
  child: ChildProcess;
  baseUrl: string;
  log: string;
}

/** Starts a server child on a free port and waits until GET /ready answers 200. */
async function startServer(name: string, args: string[], env: NodeJS.ProcessEnv): Promise<Server> {
  const port = await freePort();
  const log = path.join(BENCH_DIR, `${name}.log`);
  const child = start(args, { ...env, PORT: String(port), HOST: '127.0.0.1' }, log);
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 300_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode} before it was ready; see ${log}:\n${tail(log)}`);
    try {
      if ((await fetch(`${baseUrl}/ready`)).ok) return { name, child, baseUrl, log };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${name} was not ready within 300 s; see ${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const tail = (file: string) => readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');

/** Resident set size of a process in MiB (Linux /proc); null elsewhere. */
function rssMb(pid: number | undefined): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- the catalog

const orchardEnv: NodeJS.ProcessEnv = {
  ...process.env, // DATABASE_URL, REDIS_URL, AMQP_URL pass through when set
  ORCHARD_DATA_DIR: DATA_DIR,
  ORCHARD_NAMESPACE: process.env.ORCHARD_NAMESPACE ?? 'orchard-bench',
  LOG_LEVEL: 'warn',
  DEMO_APPS: '0',
};
const dbLabel = process.env.DATABASE_URL ? 'postgres' : 'pglite';

async function withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const db = process.env.DATABASE_URL ? createPostgresDb(process.env.DATABASE_URL, { max: 2 }) : await createPgliteDb(path.join(DATA_DIR, 'pglite'));
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

async function appCount(): Promise<number> {
  if (!process.env.DATABASE_URL && !existsSync(path.join(DATA_DIR, 'pglite'))) return 0;
  return withDb(async (db) => {
    try {
      return Number((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM apps')).rows[0].n);
    } catch {
      return 0; // not migrated yet
    }
  });
}

/** Every run starts with an empty shared cache, so the cold row is really cold and runs compare. */
async function clearSharedCache(): Promise<void> {
  if (!process.env.REDIS_URL) return; // the embedded cache lives in the server process
  const redis = new Redis(process.env.REDIS_URL);
  let cleared = 0;
  for await (const keys of redis.scanStream({ match: `${orchardEnv.ORCHARD_NAMESPACE}:*`, count: 1000 })) {
    if ((keys as string[]).length) cleared += await redis.del(...(keys as string[]));
  }
  await redis.quit();
  console.log(`cleared ${cleared.toLocaleString('en')} keys of namespace ${orchardEnv.ORCHARD_NAMESPACE} from Redis`);
}

/** Seeds the catalog unless it already has --apps apps; returns the seed's wall time (null when not needed). */
async function ensureSeeded(): Promise<{ apps: number; seedSeconds: number | null }> {
  const existing = await appCount();
  if (existing >= options.apps) {
    console.log(`catalog: ${existing.toLocaleString('en')} apps already seeded (${dbLabel})`);
    return { apps: existing, seedSeconds: null };
  }
  if (existing > 0) {
    if (process.env.DATABASE_URL) {
      throw new Error(`DATABASE_URL holds ${existing} apps, fewer than --apps ${options.apps}: use an empty database or --apps ${existing}`);
    }
    await rm(DATA_DIR, { recursive: true, force: true }); // the bench's own embedded store: start over
  }
  console.log(`seeding ${options.apps.toLocaleString('en')} apps and ${options.users.toLocaleString('en')} users (${dbLabel}) ...`);
  const started = performance.now();
  const child = start(['bin/orchard.js', 'seed', '--apps', String(options.apps), '--users', String(options.users)], orchardEnv);
  const code = await exited(child);
  if (code !== 0) throw new Error(`seed failed with exit code ${code}`);
  const seedSeconds = (performance.now() - started) / 1000;
  console.log(`seeded in ${seedSeconds.toFixed(1)} s (wall time of the seed process)`);
  return { apps: options.apps, seedSeconds };
}

/**
 * The recommendations batch work the server reads as stored data (similar lists on the app detail, signed-in users'
 * rows): `orchard recs build` then `orchard recs precompute`, as workers do; quick when nothing is due.
 */
async function precomputeRecommendations(): Promise<{ seconds: number; similar: number; users: number }> {
  const started = performance.now();
  let last = '';
  for (const step of ['build', 'precompute']) {
    const child = spawn(process.execPath, ['bin/orchard.js', 'recs', step, '--json'], { cwd: ROOT, env: orchardEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (out += b));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    if (code !== 0) throw new Error(`orchard recs ${step} failed (exit ${code}):\n${out.slice(-2000)}`);
    last = out;
  }
  const json = last
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  const totals = JSON.parse(json ?? '{}') as { similar: number; users: number };
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `recommendations: build + precompute in ${seconds.toFixed(1)} s (${totals.similar?.toLocaleString('en')} similar lists, ${totals.users?.toLocaleString('en')} users' rows computed)`,
  );
  return { seconds, ...totals };
}

// ---------------------------------------------------------------- running a scenario

interface ScenarioResult extends LoadResult {
  scenario: string;
  what: string;
  target: string;
  pool: number;
  rssPeakMb: number | null;
  pctOfHello: number | null;
  /** What the scenario's own check printed after the run. */
  checks?: string[];
}

/** req/s of the hello scenario once it has run: every later scenario is also shown as a share of it. */
let helloRps: number | null = null;

async function runScenario(scenario: Scenario, server: Server, sample: Sample): Promise<ScenarioResult> {
  const ctx = { sample, baseUrl: server.baseUrl, withDb };
  const requests = await scenario.requests(ctx);
  const spec: LoadSpec = {
    url: server.baseUrl,
    connections: options.connections,
    warmupSeconds: options.warmup,
    durationSeconds: options.duration,
    requests,
    prime: scenario.prime,
    rate: scenario.rate,
    sequential: scenario.sequential,
  };
  const specFile = path.join(BENCH_DIR, `load-${scenario.name}.json`);
  await writeFile(specFile, JSON.stringify(spec));

  let rssPeak: number | null = null;
  const sampler = setInterval(() => {
    const rss = rssMb(server.child.pid);
    if (rss !== null) rssPeak = Math.max(rssPeak ?? 0, rss);
  }, 100);
  const load = spawn(process.execPath, ['--import', 'tsx', 'bench/load.ts', specFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(load);
  let stdout = '';
  load.stdout!.on('data', (d) => (stdout += d));
  const code = await exited(load);
  children.delete(load);
  clearInterval(sampler);
  if (code !== 0) throw new Error(`load generator failed for ${scenario.name} (exit ${code})`);
  const result: LoadResult = JSON.parse(stdout.trim().split('\n').pop()!);
  if (scenario.name === 'hello') helloRps = result.requestsPerSecond;
  const pctOfHello = helloRps ? (result.requestsPerSecond / helloRps) * 100 : null;
  const checks = scenario.check ? await scenario.check(ctx) : [];
  return { scenario: scenario.name, what: scenario.what, target: server.name, pool: requests.length, rssPeakMb: rssPeak, pctOfHello, checks, ...result };
}

/** The priming pass of a scenario as a row of its own: every request distinct, every read a cache miss. */
function coldRow(r: ScenarioResult): ScenarioResult | null {
  if (!r.prime) return null;
  const pctOfHello = helloRps ? (r.prime.requestsPerSecond / helloRps) * 100 : null;
  return { ...r, ...r.prime, scenario: `${r.scenario}:cold`, what: `${r.what} (priming pass: each request once, cache misses)`, pctOfHello, prime: undefined };
}

// ---------------------------------------------------------------- output

const fmt = {
  int: (n: number) => Math.round(n).toLocaleString('en'),
  ms: (n: number) => (n === 0 ? '<1' : Number.isInteger(n) ? String(n) : n.toFixed(n < 10 ? 2 : 1)), // autocannon records whole ms
  mb: (n: number | null) => (n === null ? '–' : n.toFixed(0)),
  pct: (n: number | null) => (n === null ? '–' : `${n.toFixed(0)}%`),
};

function table(rows: ScenarioResult[]): string {
  const head = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'RSS MB', 'of hello'];
  const body = rows.map((r) => [
    r.scenario,
    fmt.int(r.requestsPerSecond),
    fmt.ms(r.p50Ms),
    fmt.ms(r.p99Ms),
    fmt.int(r.errors + r.timeouts),
    fmt.int(r.non2xx),
    fmt.mb(r.rssPeakMb),
    fmt.pct(r.pctOfHello),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '─'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

function printScenario(r: ScenarioResult) {
  console.log(`\n▶ ${r.scenario}: ${r.what}  (${r.pool.toLocaleString('en')} distinct requests, ${options.connections} connections, ${r.seconds} s)`);
  console.log(table([r]));
  const codes = Object.entries(r.statusCodes)
    .map(([code, n]) => `${code} × ${fmt.int(n)}`)
    .join(', ');
  console.log(`  status codes: ${codes || 'none'}${r.non2xx > 0 ? '   ⚠ non-2xx responses: this route is failing' : ''}`);
  for (const line of r.checks ?? []) console.log(`  ${line}`);
}

// ---------------------------------------------------------------- main

async function main() {
  await mkdir(BENCH_DIR, { recursive: true });
  console.log(
    `bench: ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}; ` +
      `scenarios ${scenarios.map((s) => s.name).join(', ')}; ${options.connections} connections, ${options.warmup} s warm-up + ${options.duration} s`,
  );
  const results: ScenarioResult[] = [];
  const emptySample: Sample = { publishedAppIds: [], topCategories: [] };

  const helloScenarios = scenarios.filter((s) => s.target === 'hello');
  if (helloScenarios.length) {
    const server = await startServer('hello', ['--import', 'tsx', 'bench/hello.ts'], process.env);
    try {
      for (const s of helloScenarios) {
        results.push(await runScenario(s, server, emptySample));
        printScenario(results[results.length - 1]);
      }
    } finally {
      await stop(server.child);
    }
  }

  let catalog: { apps: number; seedSeconds: number | null } | null = null;
  const orchardScenarios = scenarios.filter((s) => s.target === 'orchard');
  if (orchardScenarios.length) {
    catalog = await ensureSeeded();
    const sample = await withDb(loadSample);
    for (const s of orchardScenarios) await s.prepare?.({ sample, withDb });
    await precomputeRecommendations();
    await clearSharedCache();
    // the young generation `npm start` uses (SERVER_NODE_FLAGS replaces it): with a 2M-app search index in the
    // heap, V8's default 16 MB semi-space makes scavenges the bottleneck of every hot path
    const serverFlags = (process.env.SERVER_NODE_FLAGS ?? SERVER_NODE_FLAGS).split(' ').filter(Boolean);
    const server = await startServer('orchard', [...serverFlags, 'bin/orchard.js', 'serve', '--no-demo'], orchardEnv);
    console.log(
      `orchard ready (${dbLabel}${process.env.REDIS_URL ? ', redis' : ''}${process.env.AMQP_URL ? ', rabbitmq' : ''}; search answer cache ${process.env.SEARCH_ANSWER_CACHE === 'off' ? 'off' : 'on'}); idle RSS ${fmt.mb(rssMb(server.child.pid))} MB`,
    );
    try {
      for (const s of orchardScenarios) {
        const r = await runScenario(s, server, sample);
        const cold = coldRow(r);
        if (cold) {
          results.push(cold);
          printScenario(cold);
        }
        results.push(r);
        printScenario(r);
      }
    } finally {
      await stop(server.child);
    }
  }

  console.log(
    '\nsummary' +
      (catalog
        ? ` (${catalog.apps.toLocaleString('en')} apps on ${dbLabel}${catalog.seedSeconds !== null ? `, seeded in ${catalog.seedSeconds.toFixed(1)} s` : ''})`
        : ''),
  );
  console.log(table(results));
  const report = {
    at: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model.trim(), memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    options: { ...options, scenarios: scenarios.map((s) => s.name), db: dbLabel, redis: !!process.env.REDIS_URL, amqp: !!process.env.AMQP_URL },
    catalog,
    results,
  };
  await writeFile(path.join(BENCH_DIR, 'last.json'), JSON.stringify(report, null, 2) + '\n');
  console.log(`\nwritten to ${path.relative(process.cwd(), path.join(BENCH_DIR, 'last.json'))}`);
  if (checkedFloors) {
    const verdicts = checkFloors(results, checkedFloors);
    console.log(`\ncheck against bench/floors.json (share of hello-world in this run):\n${formatVerdicts(verdicts)}`);
    if (verdicts.some((v) => !v.pass)) process.exitCode = 1;
  }
}

main().catch(async (err) => {
  console.error(err instanceof Error ? err.message : err);
  for (const c of children) c.kill('SIGTERM');
  process.exit(1);
});
