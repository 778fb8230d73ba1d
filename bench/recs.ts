// Recommendations at scale: the co-download batch job (`orchard recs build`) over the libraries of 1,000,000
// users and a catalog of 2,000,000 apps on PostgreSQL, then a user's recommendations against hello-world in one
// HTTP bench run.
//
//   npx tsx bench/recs.ts [--users 1000000] [--apps 2000000] [--runs 2] [--new 10000] [--reuse] [--regenerate]
//                         [--skip-build] [--skip-http] [--duration 10] [--sample 20000] [--connections 50]
//                         [--http-window <minutes>] [--build-timeout 7200] [--keep-search-snapshot]
//
// DATABASE_URL names the bench database (default postgres://postgres@127.0.0.1:5432/orchard_recs_bench); it is
// created when missing (through the server's `postgres` database) and migrated with `orchard migrate`.
//
// Generation (skipped when the database already holds this dataset: see the marker below), deterministic
// (hashint8extended of user numbers and draw numbers):
//   - the catalog is bench/charts.ts's (spawned with --days 3 --runs 1 --skip-http): --apps published apps over
//     the 26 top-level categories, a few thousand developers, three days of daily statistics and one chart run,
//     so the "Popular in <category>" rows exist. A database whose catalog matches is kept.
//   - --users users (role user, a storefront each, signed up over the last two years) and their libraries as
//     Production `transactions` of kind 'app' (what the owned_apps view reads), one per (user, app), acquired
//     between the user's sign-up and now: 2% of the users own nothing; the others own a log-normal number of apps
//     (median ~12, mean ~20, cap 500: a few hundred power users with hundreds). Each user has one or two
//     favourite categories (picked by category size) that give 55-90% of their apps, 10% come from any category,
//     the rest are global picks. Within a category, and globally, the app of popularity rank r is drawn with
//     probability ~1/r (Zipf, s = 1) over the apps ordered by download_count: the head is owned by many, the tail
//     by few, and the popular apps are the charts' popular apps.
//   Users and transactions are written with INSERT ... SELECT in chunks of 50,000 users, FK triggers off
//   (session_replication_role = replica), the secondary indexes of users and transactions dropped around the load
//   and created again with their own definitions; then VACUUM ANALYZE. A finished generation adds a `recs` key to
//   the charts marker in COMMENT ON DATABASE (bench/charts.ts still recognises its own dataset).
//
// Measured:
//   - `orchard recs build --full` --runs times: wall time and peak RSS of the process (/usr/bin/time -v, else
//     VmHWM polled), what the build prints as its JSON line (seconds, libraries, apps, neighbors, maxRssMb), and
//     on the PostgreSQL side the peak of the bench database's backends' private memory (RssAnon) and the bytes
//     written to temporary files;
//   - --new new acquisitions (transactions created now, for random users, mostly in the category of their latest
//     app), then `orchard recs build` (incremental): its wall time;
//   - (unless --skip-http) `npm run bench -- --scenarios hello,app-by-id,recs,recs-cold-start,hello` (which runs
//     `orchard recs build` and `orchard recs precompute` first): GET /api/v1/me/recommendations as --sample signed-in
//     users with libraries (sessions inserted directly, before the precompute: their rows are stored); recs:cold is
//     the priming pass (each user once, summaries cold), recs the warm run over the same users; recs-cold-start asks
//     as 100,000 other users signed in after the precompute, each once (no rows yet: the charts at once, their rows
//     computed in the background); app-by-id over 100,000 of the apps; p50/p99/req/s beside hello. The
//     load is a closed loop of --connections connections: at 50 the p99 is mostly queueing on 2 cores; fewer
//     connections give the service time. The server's hourly chart run changes every user's answer key, so the
//     HTTP phase waits for the next full hour when fewer than --http-window minutes (5 + 15 per 2M apps) are left.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { fmtInt, median, quoteIdent, secs, serverQuery, timed, U, uuid7 } from './generate.ts';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const DATA_DIR = path.join(ROOT, '.bench', 'data'); // the same data dir as bench/run.ts
const RECS_MARKER_VERSION = 1;
const CHARTS_MARKER_VERSION = 1; // bench/charts.ts's
const EMAIL_DOMAIN = 'recs-bench.example';
/** Bulk transaction ids: below the sequence transaction_ids (2000000000000001...), so new purchases never collide. */
const BULK_ID_BASE = 1_000_000_000_000_000n;
/** The incremental step's acquisitions carry this provider_charge_id: removed before the next full builds. */
const NEW_TAG = 'recs-bench-new';
const CHUNK_USERS = 50_000;

// ---------------------------------------------------------------- options

const { values: flags } = parseArgs({
  options: {
    users: { type: 'string', default: '1000000' },
    apps: { type: 'string', default: '2000000' },
    runs: { type: 'string', default: '2' },
    new: { type: 'string', default: '10000' },
    duration: { type: 'string', default: '10' },
    sample: { type: 'string', default: '20000' },
    connections: { type: 'string', default: '50' },
    'http-window': { type: 'string' },
    'build-timeout': { type: 'string', default: '7200' },
    reuse: { type: 'boolean', default: false },
    regenerate: { type: 'boolean', default: false },
    'skip-build': { type: 'boolean', default: false },
    'skip-http': { type: 'boolean', default: false },
    'keep-search-snapshot': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(
    readFileSync(new URL(import.meta.url), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('//'))
      .slice(0, 10)
      .map((l) => l.slice(3))
      .join('\n'),
  );
  process.exit(0);
}
const positive = (name: string, v: string | undefined, max = Infinity, min = 1) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer between ${min} and ${max}, got "${v}"`);
  return n;
};
const opts = {
  users: positive('users', flags.users, 100_000_000),
  apps: positive('apps', flags.apps),
  runs: positive('runs', flags.runs, 20, 0),
  new: positive('new', flags.new, 10_000_000, 0),
  duration: positive('duration', flags.duration),
  sample: positive('sample', flags.sample),
  connections: positive('connections', flags.connections),
  httpWindow: flags['http-window'] === undefined ? undefined : positive('http-window', flags['http-window'], 59, 0),
  buildTimeout: positive('build-timeout', flags['build-timeout']),
};
const benchUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/orchard_recs_bench';
const dbName = decodeURIComponent(new URL(benchUrl).pathname.slice(1));
if (!dbName || dbName === 'postgres') throw new Error(`DATABASE_URL must name a database of its own for this bench (got "${dbName}")`);

/** Storefronts of the users and their shares (the charts bench's countries, weighted by its download shares). */
const COUNTRIES: [string, number][] = [
  ['US', 1.0],
  ['GB', 0.22],
  ['DE', 0.2],
  ['FR', 0.15],
  ['JP', 0.3],
  ['CA', 0.12],
  ['AU', 0.1],
  ['BR', 0.18],
  ['IN', 0.25],
  ['ES', 0.1],
];
/** Library size: log-normal (median ~12, mean ~20), 2% of the users own nothing, capped. */
const LIB = { mu: Math.log(12.5), sigma: 0.995, empty: 0.02, cap: 500 };
/** Shares of a library: favourite categories (per user, uniform in this range), any category; the rest is global. */
const FAV = { min: 0.55, max: 0.9, second: 0.55, secondShare: 0.38 };
const OTHER_SHARE = 0.1;

// ---------------------------------------------------------------- helpers

const mb = (n: number | null | undefined) => (n == null ? '–' : `${fmtInt(n)} MB`);

/** A float8[] literal. */
const floats = (xs: number[]) => `ARRAY[${xs.map((x) => (Number.isInteger(x) ? `${x}.0` : String(x))).join(',')}]::float8[]`;
const ints = (xs: number[]) => `ARRAY[${xs.join(',')}]::int[]`;
const texts = (xs: string[]) => `ARRAY[${xs.map((x) => pg.escapeLiteral(x)).join(',')}]::text[]`;
/** Lower bounds of the cumulative shares of weights, for width_bucket(u, bounds) -> 1-based index. */
const bounds = (weights: number[]) => {
  const total = weights.reduce((a, b) => a + b, 0);
  const out = [0];
  for (const w of weights.slice(0, -1)) out.push(out[out.length - 1] + w / total);
  return out;
};

interface Totals {
  users: number;
  withLibrary: number;
  transactions: number;
  meanLibrary: number;
  medianLibrary: number;
  p99Library: number;
  maxLibrary: number;
  appsOwned: number;
  appsOwnedTwice: number;
  topAppOwners: number;
  /** Ordered (app, other) pairs of a self-join of each user's 100 most recent apps: what a pair-counting job meets. */
  pairs: number;
}
interface RecsMarker {
  v: number;
  users: number;
  apps: number;
  totals: Totals;
  generatedAt: string;
  seconds: number;
}
/** bench/charts.ts's marker, with ours under `recs`. */
interface Marker {
  v?: number;
  apps?: number;
  days?: number;
  generatedAt?: string;
  recs?: RecsMarker;
  [k: string]: unknown;
}

type Run = { code: number | null; stdout: string; ms: number };

/** Runs a command in the repository, streaming its output (prefixed). */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, echo = true): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const [out, err] = [prefixer(), prefixer()];
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      if (echo) process.stdout.write(out(String(d)));
    });
    child.stderr.on('data', (d) => {
      stdout += d;
      if (echo) process.stderr.write(err(String(d)));
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, ms: performance.now() - t0 }));
  });
}
/** Prefixes each line of a child's output, across chunks that end mid-line. */
function prefixer(): (s: string) => string {
  let atStart = true;
  return (s) => {
    const out = s.replace(/\n(?=.)/g, '\n    │ ');
    const r = (atStart && s.length ? '    │ ' : '') + out;
    if (s.length) atStart = s.endsWith('\n');
    return r;
  };
}

const orchardEnv: NodeJS.ProcessEnv = {
  ...process.env,
  DATABASE_URL: benchUrl,
  ORCHARD_DATA_DIR: DATA_DIR,
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  DEMO_APPS: '0',
};
const orchard = (args: string[], echo = true) => run(process.execPath, ['bin/orchard.js', ...args], orchardEnv, echo);

// ---------------------------------------------------------------- database

const adminQuery = <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => serverQuery<T>(benchUrl, sql, params);

async function connect(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: benchUrl });
  await client.connect();
  await client.query(`SET TimeZone = 'UTC'`);
  return client;
}

async function readMarker(db: pg.Client): Promise<Marker | null> {
  const { rows } = await db.query<{ c: string | null }>(
    `SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = current_database()`,
  );
  try {
    const m = JSON.parse(rows[0]?.c ?? 'null');
    return m && typeof m === 'object' ? m : null;
  } catch {
    return null;
  }
}

async function writeMarker(db: pg.Client, m: Marker): Promise<void> {
  await db.query(`COMMENT ON DATABASE ${quoteIdent(dbName)} IS ${pg.escapeLiteral(JSON.stringify(m))}`);
}

const one = async (db: pg.Client, sql: string, params: unknown[] = []) => Number(Object.values((await db.query(sql, params)).rows[0] ?? { n: 0 })[0] ?? 0);

/** What the catalog side holds: published apps and whether a chart run is done (null when not migrated). */
async function catalogInventory(db: pg.Client) {
  try {
    return {
      apps: await one(db, `SELECT count(*) FROM apps WHERE status = 'published'`),
      chartRun: (await db.query(`SELECT 1 FROM chart_runs WHERE status = 'done' LIMIT 1`)).rows.length > 0,
    };
  } catch {
    return null;
  }
}

/**
 * Drops a table's secondary indexes around a bulk load (not its keys: other tables' foreign keys hang on them)
 * and creates them again from their own definitions, timing it.
 */
async function withIndexesDropped<T>(db: pg.Client, table: string, load: () => Promise<T>): Promise<T> {
  const indexes = (
    await db.query<{ name: string; def: string }>(
      `SELECT i.relname AS name, pg_get_indexdef(i.oid) AS def
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = $1::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)`,
      [table],
    )
  ).rows;
  for (const i of indexes) await db.query(`DROP INDEX ${quoteIdent(i.name)}`);
  const result = await load();
  if (indexes.length) {
    await timed(`${table}: ${indexes.length} index(es) again (${indexes.map((i) => i.name).join(', ')})`, async () => {
      for (const i of indexes) await db.query(i.def);
    });
  }
  return result;
}

// ---------------------------------------------------------------- the catalog (bench/charts.ts)

async function ensureCatalog(): Promise<Marker | null> {
  const exists = (await adminQuery(`SELECT 1 FROM pg_database WHERE datname = $1`, [dbName])).length > 0;
  if (exists && flags.regenerate) {
    await adminQuery(`DROP DATABASE IF EXISTS ${quoteIdent(dbName)} WITH (FORCE)`);
    console.log(`dropped database ${dbName} (--regenerate)`);
  } else if (exists) {
    const db = await connect();
    try {
      const marker = await readMarker(db);
      const have = await catalogInventory(db);
      const matches = marker?.v === CHARTS_MARKER_VERSION && marker.apps === opts.apps;
      if (have && have.apps >= opts.apps && have.chartRun && (matches || flags.reuse)) {
        console.log(
          `catalog: ${fmtInt(have.apps)} published apps and a chart run` +
            (marker?.generatedAt ? ` (bench/charts.ts, ${marker.days} days of statistics, generated ${marker.generatedAt})` : ' (no charts marker: --reuse)'),
        );
        return marker;
      }
    } finally {
      await db.end();
    }
  }
  // bench/charts.ts creates and migrates the database, generates the catalog (or keeps a matching one and only
  // ranks), and drops a database that holds another dataset
  const args = ['--apps', String(opts.apps), '--days', '3', '--runs', '1', '--skip-http'];
  console.log(`catalog: npx tsx bench/charts.ts ${args.join(' ')}  (DATABASE_URL=${benchUrl})`);
  const r = await run(process.execPath, ['--import', 'tsx', 'bench/charts.ts', ...args], { ...process.env, DATABASE_URL: benchUrl });
  if (r.code !== 0) throw new Error(`bench/charts.ts failed (exit ${r.code})`);
  console.log(`catalog ready in ${secs(r.ms)}`);
  const db = await connect();
  try {
    return await readMarker(db);
  } finally {
    await db.end();
  }
}

// ---------------------------------------------------------------- libraries

/**
 * Temporary tables of the session: rc (top-level categories present: index, size, offset) and ra (every
 * published app with its position — categories one after the other, each by download_count — and its global
 * popularity rank g). Returns the categories for the SQL literals.
 */
async function appRanks(db: pg.Client): Promise<{ slug: string; n: number; off: number }[]> {
  await db.query(`DROP TABLE IF EXISTS pg_temp.rc, pg_temp.ra`);
  await db.query(`
    CREATE TEMP TABLE rc AS
    SELECT row_number() OVER (ORDER BY category)::int AS c, category, n, (sum(n) OVER (ORDER BY category) - n)::int AS off
      FROM (SELECT category, count(*)::int AS n FROM apps WHERE status = 'published' GROUP BY category) x`);
  await db.query(`
    CREATE TEMP TABLE ra AS
    SELECT (rc.off + row_number() OVER (PARTITION BY a.category ORDER BY a.download_count DESC, a.id))::int AS pos,
           row_number() OVER (ORDER BY a.download_count DESC, a.id)::int AS g,
           a.id, a.bundle_id, a.developer_id, rc.c
      FROM apps a JOIN rc ON rc.category = a.category
     WHERE a.status = 'published'`);
  await db.query(`CREATE UNIQUE INDEX ON ra (pos)`);
  await db.query(`CREATE UNIQUE INDEX ON ra (g)`);
  await db.query(`ANALYZE rc`);
  await db.query(`ANALYZE ra`);
  return (await db.query<{ slug: string; n: number; off: number }>(`SELECT category AS slug, n, off FROM rc ORDER BY c`)).rows;
}

/** Removes a previous (maybe half-done) generation: the bench users, every transaction, session and neighbour. */
async function clearLibraries(db: pg.Client): Promise<void> {
  const { rows } = await db.query<{ t: string }>(`SELECT t FROM unnest($1::text[]) t WHERE to_regclass(t) IS NOT NULL`, [
    ['transactions', 'sessions', 'app_neighbors', 'recs_builds', 'recs_live', 'recs_app_owners'],
  ]);
  await db.query(`TRUNCATE ${rows.map((r) => r.t).join(', ')} CASCADE`);
  const n = await db.query(`DELETE FROM users WHERE email LIKE $1`, [`%@${EMAIL_DOMAIN}`]);
  if (n.rowCount) console.log(`  removed ${fmtInt(n.rowCount)} users and every transaction of an earlier generation`);
}

async function generateLibraries(db: pg.Client, marker: Marker | null): Promise<RecsMarker> {
  const N = opts.users;
  const genNow = new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString();
  const NOW = `timestamptz '${genNow}'`;
  const freeGb = freeGbAt(ROOT);
  console.log(
    `\ngenerating ${fmtInt(N)} users and their libraries (~${fmtInt(N * 20)} transactions expected)` +
      (freeGb !== null ? `; ${freeGb.toFixed(0)} GB free on the disk` : ''),
  );
  const t0 = performance.now();
  await db.query(`SET maintenance_work_mem = '1GB'`);
  await db.query(`SET work_mem = '256MB'`);
  await db.query(`SET synchronous_commit = off`);
  await db.query(`SET session_replication_role = replica`); // FK triggers off: the rows are consistent by construction

  await timed('clean up', () => clearLibraries(db));
  const cats = await timed('app popularity ranks (temporary tables)', () => appRanks(db));
  const appCount = cats.reduce((s, c) => s + c.n, 0);
  const catBounds = floats(bounds(cats.map((c) => c.n)));
  const sizes = ints(cats.map((c) => c.n));
  const offs = ints(cats.map((c) => c.off));

  // One row per user with everything the library derives from.
  await timed(`user plan (temporary table, ${fmtInt(N)} users)`, async () => {
    await db.query(`DROP TABLE IF EXISTS pg_temp.ru`);
    await db.query(`
      CREATE TEMP TABLE ru AS
      SELECT u, id, country, signup, lib, fav1, CASE WHEN fav2 <> fav1 THEN fav2 END AS fav2, pfav,
             CASE WHEN lib = 0 THEN 0 ELSE least(${Math.round(LIB.cap * 1.4)}, lib + ceil(lib * 0.25)::int + 2) END AS m
        FROM (
          SELECT u, signup, ${uuid7('signup', `'recs-user-' || u`)} AS id,
                 (${texts(COUNTRIES.map((c) => c[0]))})[width_bucket(${U('u', 2)}, ${floats(bounds(COUNTRIES.map((c) => c[1])))})] AS country,
                 CASE WHEN ${U('u', 3)} < ${LIB.empty} THEN 0
                      ELSE least(${LIB.cap}, greatest(1, floor(exp(${LIB.mu} + ${LIB.sigma} * sqrt(-2 * ln(1 - ${U('u', 4)})) * cos(2 * pi() * ${U('u', 5)})))))::int END AS lib,
                 width_bucket(${U('u', 6)}, ${catBounds}) AS fav1,
                 CASE WHEN ${U('u', 7)} < ${FAV.second} THEN width_bucket(${U('u', 8)}, ${catBounds}) END AS fav2,
                 ${FAV.min} + ${FAV.max - FAV.min} * ${U('u', 9)} AS pfav
            FROM (SELECT u, ${NOW} - interval '730 days' * ${U('u', 1)} AS signup FROM generate_series(1, ${N}) u OFFSET 0) s
        ) x`);
    await db.query(`CREATE UNIQUE INDEX ON ru (u)`);
    await db.query(`ANALYZE ru`);
  });

  await withIndexesDropped(db, 'users', () =>
    timed(`users (${fmtInt(N)})`, () =>
      db.query(`
        INSERT INTO users (id, email, display_name, password_hash, role, country, created_at, password_changed_at)
        SELECT id, 'user' || u || '@${EMAIL_DOMAIN}', 'User ' || u,
               '$argon2id$v=19$m=19456,t=2,p=1$cmVjc2JlbmNo$bm90LWEtcmVhbC1wYXNzd29yZC1oYXNo', 'user', country, signup, signup
          FROM ru ORDER BY u`),
    ),
  );

  let rows = 0;
  await withIndexesDropped(db, 'transactions', async () => {
    for (let lo = 1; lo <= N; lo += CHUNK_USERS) {
      const hi = Math.min(N, lo + CHUNK_USERS - 1);
      const t1 = performance.now();
      const key = `(r.u::int8 * 1024 + k)`;
      const r = await db.query(`
        WITH d AS MATERIALIZED (
          SELECT u, user_id, country, lib, k, tid, at,
                 CASE WHEN c IS NOT NULL THEN (${offs})[c] + least((${sizes})[c], floor(power((${sizes})[c] + 1, z))::int) END AS pos,
                 CASE WHEN c IS NULL THEN least(${appCount}, floor(power(${appCount + 1}, z))::int) END AS g
            FROM (
              SELECT r.u, r.id AS user_id, r.country, r.lib, k, ${BULK_ID_BASE} + ${key} AS tid,
                     r.signup + (${NOW} - r.signup) * ${U(key, 21)} AS at,
                     CASE WHEN ${U(key, 20)} < r.pfav THEN CASE WHEN r.fav2 IS NULL OR ${U(key, 22)} >= ${FAV.secondShare} THEN r.fav1 ELSE r.fav2 END
                          WHEN ${U(key, 20)} < r.pfav + ${OTHER_SHARE} THEN width_bucket(${U(key, 23)}, ${catBounds}) END AS c,
                     ${U(key, 24)} AS z
                FROM ru r CROSS JOIN LATERAL generate_series(1, r.m) k
               WHERE r.u BETWEEN ${lo} AND ${hi}
              OFFSET 0
            ) x
        ),
        picks AS (
          SELECT d.*, a.id AS app_id, a.bundle_id, a.developer_id FROM d JOIN ra a ON a.pos = d.pos WHERE d.pos IS NOT NULL
          UNION ALL
          SELECT d.*, a.id AS app_id, a.bundle_id, a.developer_id FROM d JOIN ra a ON a.g = d.g WHERE d.pos IS NULL
        )
        INSERT INTO transactions (id, original_transaction_id, user_id, app_id, developer_id, product_id, bundle_id, kind, environment,
                                  storefront, currency, price_milli, quantity, purchase_date, original_purchase_date, transaction_reason, created_at)
        SELECT tid, tid, user_id, app_id, developer_id, bundle_id, bundle_id, 'app', 'Production', country, 'USD', 0, 1, at, at, 'PURCHASE', at
          FROM (
            SELECT *, row_number() OVER (PARTITION BY u ORDER BY k) AS j
              FROM (SELECT DISTINCT ON (u, app_id) * FROM picks ORDER BY u, app_id, k) q
          ) s
         WHERE j <= lib
         ORDER BY tid`);
      rows += r.rowCount ?? 0;
      console.log(`  users ${fmtInt(lo)}–${fmtInt(hi)}: ${fmtInt(r.rowCount ?? 0)} transactions (${fmtInt(rows)} so far) in ${secs(performance.now() - t1)}`);
    }
  });

  await timed('VACUUM ANALYZE users, transactions', async () => {
    await db.query(`RESET session_replication_role`);
    await db.query(`VACUUM (ANALYZE) users`);
    await db.query(`VACUUM (ANALYZE) transactions`);
  });
  await db.query(`DROP TABLE ru`);
  const seconds = (performance.now() - t0) / 1000;
  const totals = await timed('totals', () => libraryTotals(db));
  const recs: RecsMarker = { v: RECS_MARKER_VERSION, users: N, apps: opts.apps, totals, generatedAt: new Date().toISOString(), seconds: Math.round(seconds) };
  await writeMarker(db, { ...(marker ?? {}), recs });
  console.log(`generated ${fmtInt(N)} users and ${fmtInt(rows)} transactions in ${secs(seconds * 1000)}`);
  return recs;
}

/** Free GB on the disk of a path. */
function freeGbAt(p: string): number | null {
  try {
    const fs = statfsSync(p);
    return (fs.bavail * fs.bsize) / 2 ** 30;
  } catch {
    return null;
  }
}

async function libraryTotals(db: pg.Client): Promise<Totals> {
  const live = `kind = 'app' AND environment = 'Production' AND revocation_date IS NULL`;
  const {
    rows: [u],
  } = await db.query<Record<string, string>>(`
    SELECT count(*) AS users, count(*) FILTER (WHERE n > 0) AS with_library, coalesce(sum(n), 0) AS transactions,
           coalesce(avg(n), 0) AS mean, percentile_disc(0.5) WITHIN GROUP (ORDER BY n) AS median,
           percentile_disc(0.99) WITHIN GROUP (ORDER BY n) AS p99, coalesce(max(n), 0) AS max,
           coalesce(sum(least(n, 100) * (least(n, 100) - 1)), 0) AS pairs
      FROM (SELECT u.id, coalesce(l.n, 0) AS n
              FROM users u LEFT JOIN (SELECT user_id, count(*) AS n FROM transactions WHERE ${live} GROUP BY user_id) l ON l.user_id = u.id
             WHERE u.role = 'user') x`);
  const {
    rows: [a],
  } = await db.query<Record<string, string>>(`
    SELECT count(*) AS apps, count(*) FILTER (WHERE n >= 2) AS twice, coalesce(max(n), 0) AS top
      FROM (SELECT app_id, count(*) AS n FROM transactions WHERE ${live} GROUP BY app_id) x`);
  return {
    users: Number(u.users),
    withLibrary: Number(u.with_library),
    transactions: Number(u.transactions),
    meanLibrary: Math.round(Number(u.mean) * 10) / 10,
    medianLibrary: Number(u.median ?? 0),
    p99Library: Number(u.p99 ?? 0),
    maxLibrary: Number(u.max),
    appsOwned: Number(a.apps),
    appsOwnedTwice: Number(a.twice),
    topAppOwners: Number(a.top),
    pairs: Number(u.pairs),
  };
}

function printTotals(t: Totals, recs: RecsMarker) {
  console.log(`  users ${fmtInt(t.users)} (${fmtInt(t.withLibrary)} with a library), transactions ${fmtInt(t.transactions)}`);
  console.log(`  library size: mean ${t.meanLibrary}, median ${t.medianLibrary}, p99 ${t.p99Library}, max ${t.maxLibrary}`);
  console.log(
    `  distinct apps owned ${fmtInt(t.appsOwned)} of ${fmtInt(recs.apps)} (${fmtInt(t.appsOwnedTwice)} by 2+ users; the most owned by ${fmtInt(t.topAppOwners)}); ` +
      `ordered pairs within each user's 100 most recent apps: ${fmtInt(t.pairs)}`,
  );
}

// ---------------------------------------------------------------- the batch job

interface Measured {
  code: number | null;
  timedOut: boolean;
  ms: number;
  stdout: string;
  /** Peak RSS of the build process (MB): /usr/bin/time -v, else VmHWM polled. */
  peakRssMb: number | null;
  /** The build's own JSON line, when it prints one. */
  report: Record<string, unknown> | null;
  /** Peak of the sum of the bench database's backends' private memory (RssAnon), MB. */
  pgPeakMb: number | null;
  /** Bytes the bench database wrote to temporary files during the run. */
  pgTempBytes: number | null;
}

const TIME = '/usr/bin/time';

/** A process's status fields in kB (Linux /proc); null when gone or unreadable. */
function procStatus(pid: number, field: string): number | null {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

async function tempBytes(mon: pg.Client): Promise<number> {
  await mon.query('SELECT pg_stat_clear_snapshot()');
  return one(mon, `SELECT temp_bytes FROM pg_stat_database WHERE datname = $1`, [dbName]);
}

/** `node bin/orchard.js <args>` measured: wall time, peak RSS, the JSON line, PostgreSQL memory and temp files. */
async function measuredOrchard(args: string[]): Promise<Measured> {
  const useTime = existsSync(TIME);
  const timeFile = path.join(os.tmpdir(), `orchard-recs-bench-${process.pid}.time`);
  const argv = useTime ? ['-v', '-o', timeFile, process.execPath, 'bin/orchard.js', ...args] : ['bin/orchard.js', ...args];
  const mon = await connect();
  const temp0 = await tempBytes(mon).catch(() => null);
  const t0 = performance.now();
  // its own process group, so a timeout ends /usr/bin/time and node together
  const child = spawn(useTime ? TIME : process.execPath, argv, { cwd: ROOT, env: orchardEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const [out, err] = [prefixer(), prefixer()];
  let stdout = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
    process.stdout.write(out(String(d)));
  });
  child.stderr!.on('data', (d) => process.stderr.write(err(String(d))));
  let hwmKb = 0;
  let pgPeakKb = 0;
  let sampling = false;
  const sampler = setInterval(async () => {
    if (sampling) return;
    sampling = true;
    try {
      if (!useTime && child.pid) hwmKb = Math.max(hwmKb, procStatus(child.pid, 'VmHWM') ?? 0);
      const { rows } = await mon.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [dbName]);
      const sum = rows.reduce((s, r) => s + (procStatus(r.pid, 'RssAnon') ?? 0), 0);
      pgPeakKb = Math.max(pgPeakKb, sum);
    } catch {
      // the monitor is best effort
    } finally {
      sampling = false;
    }
  }, 500);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    console.log(`  ⚠ ${args.join(' ')} still running after ${opts.buildTimeout} s (--build-timeout): stopping it`);
    try {
      process.kill(-child.pid!, 'SIGTERM');
      setTimeout(() => child.exitCode === null && process.kill(-child.pid!, 'SIGKILL'), 15_000).unref();
    } catch {
      // gone already
    }
  }, opts.buildTimeout * 1000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const ms = performance.now() - t0;
  clearTimeout(timer);
  clearInterval(sampler);
  if (timedOut) {
    // the build's statements keep running in the server when only the client dies
    const { rows } = await mon.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND state <> 'idle'`, [
      dbName,
    ]);
    for (const r of rows) await mon.query('SELECT pg_terminate_backend($1)', [r.pid]);
    if (rows.length) console.log(`  terminated ${rows.length} backend(s) of the stopped build`);
  }
  await new Promise((r) => setTimeout(r, 1500)); // backends report their statistics at most every second
  const temp1 = await tempBytes(mon).catch(() => null);
  await mon.end();
  let peakRssMb: number | null = hwmKb ? hwmKb / 1024 : null;
  if (useTime) {
    try {
      const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(readFileSync(timeFile, 'utf8'));
      if (m) peakRssMb = Number(m[1]) / 1024;
    } catch {
      // no report: killed
    }
    await rm(timeFile, { force: true });
  }
  let report: Record<string, unknown> | null = null;
  for (const line of stdout.trim().split('\n').reverse()) {
    try {
      const v = JSON.parse(line);
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        report = v;
        break;
      }
    } catch {
      // not JSON
    }
  }
  return {
    code,
    timedOut,
    ms,
    stdout,
    peakRssMb,
    report,
    pgPeakMb: pgPeakKb ? pgPeakKb / 1024 : null,
    pgTempBytes: temp0 !== null && temp1 !== null ? temp1 - temp0 : null,
  };
}

function printMeasured(label: string, m: Measured) {
  const gb = (b: number | null) => (b === null ? '–' : `${(b / 2 ** 30).toFixed(2)} GB`);
  console.log(
    `  ${label}: ${secs(m.ms)} wall, peak RSS ${mb(m.peakRssMb)}; PostgreSQL: backends' private memory peak ${mb(m.pgPeakMb)}, temp files ${gb(m.pgTempBytes)}` +
      (m.code !== 0 ? `  ✗ exit ${m.code}${m.timedOut ? ' (timed out)' : ''}` : ''),
  );
  if (m.report)
    console.log(
      `    reported: ${Object.entries(m.report)
        .filter(([k]) => k !== 'id')
        .map(([k, v]) => `${k} ${typeof v === 'number' ? v.toLocaleString('en') : JSON.stringify(v)}`)
        .join(', ')}`,
    );
}

async function buildPhase(db: pg.Client, totals: Totals) {
  console.log('\nthe batch job');
  const help = await orchard(['recs', 'build', '--help'], false);
  if (help.code !== 0) throw new Error(`\`orchard recs build --help\` failed (exit ${help.code}):\n${help.stdout}`);
  const hasFull = /--full\b/.test(help.stdout);
  const json = /--json\b/.test(help.stdout) ? ['--json'] : [];
  const fullArgs = hasFull ? ['recs', 'build', '--full', ...json] : ['recs', 'build'];
  if (!hasFull) console.log('  note: `recs build` has no --full yet: every build is a full build; the incremental step is skipped');
  const removed = await db.query(`DELETE FROM transactions WHERE id >= 2000000000000000 AND provider_charge_id = $1`, [NEW_TAG]);
  if (removed.rowCount) console.log(`  removed the ${fmtInt(removed.rowCount)} acquisitions of an earlier incremental step`);
  console.log(
    `  ${fmtInt(totals.users)} users, ${fmtInt(totals.transactions)} owned apps, ${fmtInt(totals.pairs)} ordered pairs within the 100 most recent apps`,
  );

  const full: Measured[] = [];
  for (let i = 1; i <= opts.runs; i++) {
    console.log(`  node bin/orchard.js ${fullArgs.join(' ')}  (#${i})`);
    const m = await measuredOrchard(fullArgs);
    printMeasured(`${fullArgs.slice(1).join(' ')} #${i}`, m);
    if (m.code !== 0)
      throw new Error(`\`orchard ${fullArgs.join(' ')}\` failed (exit ${m.code}${m.timedOut ? `, stopped after --build-timeout ${opts.buildTimeout} s` : ''})`);
    full.push(m);
    // statistics of the previous build id would tell the planner the new one has no rows (nested loops over
    // the whole delta in the incremental build: minutes instead of seconds)
    await maintainRecsTables(db, false);
  }
  if (full.length) {
    const walls = full.map((m) => m.ms);
    const rss = full.map((m) => m.peakRssMb ?? 0);
    console.log(`  full build: wall min ${secs(Math.min(...walls))}, median ${secs(median(walls))}; peak RSS max ${mb(Math.max(...rss))}`);
    await neighbourSample(db);
  }

  if (hasFull && opts.new > 0) {
    const added = await timed(`${fmtInt(opts.new)} new acquisitions (created now, random users)`, () => newAcquisitions(db, opts.new));
    // a build takes acquisitions once they are SETTLE_MS old (created_at is set before a purchase commits)
    const build = (await import('../src/modules/recommendations/build.ts').catch(() => ({}))) as Record<string, unknown>;
    const settleMs = (typeof build.SETTLE_MS === 'number' ? build.SETTLE_MS : 30_000) + 2_000;
    console.log(`  ${fmtInt(added)} transactions added; waiting ${secs(settleMs)} for them to settle (SETTLE_MS)`);
    await new Promise((r) => setTimeout(r, settleMs));
    console.log(`  node bin/orchard.js recs build ${json.join(' ')}  (incremental)`);
    const m = await measuredOrchard(['recs', 'build', ...json]);
    printMeasured('recs build (incremental)', m);
    if (m.code !== 0) throw new Error(`\`orchard recs build\` failed (exit ${m.code})`);
  }
}

/** The neighbours of the most owned app of two categories: do tastes show? */
async function neighbourSample(db: pg.Client) {
  // the live set only, when builds keep theirs apart (recs_live)
  const perBuild = (await db.query(`SELECT to_regclass('recs_live') IS NOT NULL AS ok`)).rows[0].ok as boolean;
  const live = (alias: string) => (perBuild ? `${alias}.build_id = (SELECT build_id FROM recs_live)` : 'true');
  const {
    rows: [stats],
  } = await db.query<{ rows: string; apps: string }>(`SELECT count(*) AS rows, count(DISTINCT app_id) AS apps FROM app_neighbors n WHERE ${live('n')}`);
  console.log(`  app_neighbors (live): ${fmtInt(Number(stats.rows))} rows for ${fmtInt(Number(stats.apps))} apps`);
  const tops: { id: string; name: string; category: string }[] = [];
  for (const category of ['games', 'finance']) {
    const { rows } = await db.query<{ id: string; name: string; category: string }>(
      `SELECT a.id, a.name, a.category FROM apps a
        WHERE a.category = $1 AND a.status = 'published' AND EXISTS (SELECT 1 FROM app_neighbors n WHERE n.app_id = a.id AND ${live('n')})
        ORDER BY a.download_count DESC LIMIT 1`,
      [category],
    );
    tops.push(...rows);
  }
  for (const t of tops) {
    const { rows } = await db.query<{ name: string; category: string; score: number; co_users: number }>(
      `SELECT a.name, a.category, n.score, n.co_users FROM app_neighbors n JOIN apps a ON a.id = n.other_id
        WHERE n.app_id = $1 AND ${live('n')} ORDER BY n.rank LIMIT 5`,
      [t.id],
    );
    console.log(
      `  neighbours of ${t.name} (${t.category}): ${rows.map((r) => `${r.name} (${r.category}, ${Number(r.score).toFixed(3)}, ${fmtInt(r.co_users)} co-users)`).join('; ')}`,
    );
  }
}

/**
 * n acquisitions created now for random bench users: 70% a popular-by-rank pick in the category of the user's
 * latest app, 30% a global pick; never an app the user owns. Ids from the sequence, as purchases get them.
 */
async function newAcquisitions(db: pg.Client, n: number): Promise<number> {
  await db.query(`SET work_mem = '256MB'`);
  const cats = await appRanks(db);
  const appCount = cats.reduce((s, c) => s + c.n, 0);
  const r = await db.query(
    `
    WITH s AS MATERIALIZED (
      SELECT u.id AS user_id, u.country, random() AS v, random() AS z,
             (SELECT rc.c FROM transactions t JOIN apps a ON a.id = t.app_id JOIN rc ON rc.category = a.category
               WHERE t.user_id = u.id ORDER BY t.original_purchase_date DESC LIMIT 1) AS c
        FROM (SELECT id, country FROM users WHERE role = 'user' AND email LIKE $2 ORDER BY random() LIMIT $1 * 2) u
    ),
    p AS (
      SELECT s.*, CASE WHEN s.c IS NOT NULL AND s.v < 0.7 THEN rc.off + least(rc.n, floor(power(rc.n + 1, s.z))::int) END AS pos,
             CASE WHEN s.c IS NULL OR s.v >= 0.7 THEN least(${appCount}, floor(power(${appCount + 1}, s.z))::int) END AS g
        FROM s LEFT JOIN rc ON rc.c = s.c
    ),
    picks AS (
      SELECT p.user_id, p.country, a.id AS app_id, a.bundle_id, a.developer_id FROM p JOIN ra a ON a.pos = p.pos WHERE p.pos IS NOT NULL
      UNION ALL
      SELECT p.user_id, p.country, a.id, a.bundle_id, a.developer_id FROM p JOIN ra a ON a.g = p.g WHERE p.pos IS NULL
    )
    INSERT INTO transactions (id, original_transaction_id, user_id, app_id, developer_id, product_id, bundle_id, kind, environment,
                              storefront, currency, price_milli, quantity, purchase_date, original_purchase_date, transaction_reason,
                              provider_charge_id, created_at)
    SELECT tid, tid, user_id, app_id, developer_id, bundle_id, bundle_id, 'app', 'Production', country, 'USD', 0, 1, now(), now(), 'PURCHASE', $3, now()
      FROM (
        SELECT nextval('transaction_ids') AS tid, * FROM (
          SELECT * FROM picks x WHERE NOT EXISTS (SELECT 1 FROM transactions t WHERE t.user_id = x.user_id AND t.app_id = x.app_id) LIMIT $1
        ) y
      ) z`,
    [n, `%@${EMAIL_DOMAIN}`, NEW_TAG],
  );
  await db.query(`DROP TABLE pg_temp.rc, pg_temp.ra`);
  await db.query(`ANALYZE transactions`);
  return r.rowCount ?? 0;
}

// ---------------------------------------------------------------- HTTP

/**
 * bench/run.ts keeps the search index snapshot in .bench/data/search whatever DATABASE_URL is. As bench/charts.ts
 * does (and with the same owner file, so the two agree): a snapshot not built from this catalog is removed before
 * the run, and ours after it unless --keep-search-snapshot.
 */
const SNAPSHOT_DIR = path.join(DATA_DIR, 'search');
const SNAPSHOT_OWNER = path.join(ROOT, '.bench', 'charts-search-snapshot.json');

interface Row {
  scenario: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  rssPeakMb: number | null;
  requests: number;
}

async function httpPhase(db: pg.Client, apps: number, marker: Marker | null) {
  // the server runs the workers in-process: with no recent full build, it would start one during the measurement
  // (recs_live: a full build is due daily; before it, a build was due 6 hours after the last)
  const live = (await db.query(`SELECT to_regclass('recs_live') IS NOT NULL AS ok`)).rows[0].ok as boolean;
  const age = await one(
    db,
    live
      ? `SELECT coalesce(extract(epoch FROM now() - max(full_at)), -1) FROM recs_live`
      : `SELECT coalesce(extract(epoch FROM now() - max(built_at)), -1) FROM recs_builds`,
  );
  const limitH = live ? 20 : 5;
  if (age < 0 || age > limitH * 3600) {
    throw new Error(
      `no full recommendations build in the last ${limitH} hours (${age < 0 ? 'none at all' : `the last ${(age / 3600).toFixed(1)} h ago`}): the server's ` +
        `in-process worker would start one during the measurement; run without --skip-build first`,
    );
  }
  await maintainRecsTables(db);
  const owner = JSON.stringify({ db: benchUrl, generatedAt: marker?.generatedAt ?? null });
  const current = existsSync(SNAPSHOT_OWNER) ? readFileSync(SNAPSHOT_OWNER, 'utf8') : null;
  if (existsSync(SNAPSHOT_DIR) && current !== owner) {
    await rm(SNAPSHOT_DIR, { recursive: true, force: true });
    console.log(`removed the search snapshot in ${path.relative(ROOT, SNAPSHOT_DIR)}: it was not built from this dataset`);
  }
  await rm(SNAPSHOT_OWNER, { force: true });
  // the server's in-process worker runs the hourly chart run at each full hour, and a new run changes every
  // user's answer key: a measurement across an hour boundary is no longer warm. Start early in an hour.
  const windowMin = opts.httpWindow ?? Math.ceil(5 + (15 * apps) / 2_000_000);
  const now = new Date();
  const left = 60 - now.getUTCMinutes() - now.getUTCSeconds() / 60;
  if (left < windowMin) {
    const waitMs = (left + 0.5) * 60_000;
    console.log(
      `\nwaiting ${(waitMs / 60_000).toFixed(1)} min for the next full hour: the HTTP phase takes up to ~${windowMin} min (--http-window) and the server's hourly chart run would land in it`,
    );
    await new Promise((r) => setTimeout(r, waitMs));
  }
  const scenarios = 'hello,app-by-id,recs,recs-cold-start,hello';
  const args = ['--apps', String(apps), '--scenarios', scenarios, '--duration', String(opts.duration), '--connections', String(opts.connections)];
  console.log(`\nHTTP: npm run bench -- ${args.join(' ')}  (BENCH_RECS_USERS=${opts.sample})`);
  const started = Date.now();
  const r = await run('npm', ['run', 'bench', '--', ...args], { ...process.env, DATABASE_URL: benchUrl, BENCH_RECS_USERS: String(opts.sample) });
  if (flags['keep-search-snapshot'] && existsSync(SNAPSHOT_DIR)) await writeFile(SNAPSHOT_OWNER, owner);
  else await rm(SNAPSHOT_DIR, { recursive: true, force: true });
  if (r.code !== 0) throw new Error(`the HTTP bench failed (exit ${r.code})`);
  const report = JSON.parse(readFileSync(path.join(ROOT, '.bench', 'last.json'), 'utf8')) as {
    at: string;
    options: { scenarios: string[] };
    results: Row[];
  };
  if (Date.parse(report.at) < started || report.options.scenarios.join(',') !== scenarios) {
    throw new Error(`.bench/last.json is not this run's (at ${report.at}, scenarios ${report.options.scenarios}): another bench wrote it meanwhile`);
  }
  // the slower hello of the two (one before, one after): the ceiling of this machine during the run
  const hellos = report.results.filter((x) => x.scenario === 'hello');
  const hello = hellos.sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)[0];
  console.log('');
  for (const name of ['hello', 'app-by-id:cold', 'app-by-id', 'recs:cold', 'recs', 'recs-cold-start']) {
    for (const x of name === 'hello' ? hellos : report.results.filter((y) => y.scenario === name)) {
      const share = hello && name !== 'hello' ? `, ${((x.requestsPerSecond / hello.requestsPerSecond) * 100).toFixed(0)}% of hello` : '';
      console.log(
        `  ${name.padEnd(15)} p50 ${x.p50Ms} ms, p99 ${x.p99Ms} ms, ${fmtInt(x.requestsPerSecond)} req/s over ${fmtInt(x.requests)} requests` +
          `${share} (non-2xx ${x.non2xx}, errors ${x.errors}${x.rssPeakMb ? `, server RSS peak ${mb(x.rssPeakMb)}` : ''})`,
      );
    }
  }
  const byId = report.results.find((y) => y.scenario === 'app-by-id');
  for (const name of ['recs', 'recs-cold-start']) {
    const x = report.results.find((y) => y.scenario === name);
    if (!x || !hello || !byId) continue;
    const share = (x.requestsPerSecond / hello.requestsPerSecond) * 100;
    const ok = share >= 25 && x.p99Ms <= 3 * byId.p99Ms;
    console.log(
      `  target ${name}: ≥ 25% of hello and p99 ≤ 3 × app-by-id's (${3 * byId.p99Ms} ms): ${share.toFixed(0)}%, p99 ${x.p99Ms} ms → ${ok ? 'met' : 'NOT met'}`,
    );
  }
}

/**
 * The builds' tables as autovacuum would leave them: VACUUM ANALYZE (autovacuum may be off on the bench server;
 * an app_neighbors never analyzed, or a recs_live too small for autoanalyze ever to look at, can make the
 * server's neighbours read a sequential scan of every neighbour row). Prints their state and the plan of that
 * read (the service's query, as written when this bench was) before and after.
 */
async function maintainRecsTables(db: pg.Client, verbose = true) {
  const autovacuum = (await db.query<{ setting: string }>(`SELECT setting FROM pg_settings WHERE name = 'autovacuum'`)).rows[0]?.setting;
  const { rows: tables } = await db.query<{ relname: string; live: string; dead: string; analyzed: Date | null }>(
    `SELECT relname, n_live_tup AS live, n_dead_tup AS dead, greatest(last_analyze, last_autoanalyze) AS analyzed
       FROM pg_stat_user_tables WHERE relname IN ('app_neighbors', 'recs_app_owners', 'recs_live') ORDER BY relname`,
  );
  if (!verbose) {
    await timed(`VACUUM ANALYZE ${tables.map((t) => t.relname).join(', ')} (as autovacuum would after a build; it is ${autovacuum} here)`, async () => {
      for (const t of tables) await db.query(`VACUUM (ANALYZE) ${t.relname}`);
    });
    return;
  }
  console.log(
    `\nrecommendation tables (autovacuum ${autovacuum}): ` +
      tables
        .map(
          (t) =>
            `${t.relname} ${fmtInt(Number(t.live))} live / ${fmtInt(Number(t.dead))} dead rows, ${t.analyzed ? `analyzed ${t.analyzed.toISOString()}` : 'never analyzed'}`,
        )
        .join('; '),
  );
  const plan = async () => {
    const perBuild = tables.some((t) => t.relname === 'recs_live');
    const ids = (await db.query<{ id: string }>(`SELECT id FROM apps WHERE status = 'published' ORDER BY download_count DESC LIMIT 30`)).rows.map((r) => r.id);
    const sql = perBuild
      ? `SELECT n.app_id, n.other_id, n.score FROM app_neighbors n JOIN recs_live l ON l.build_id = n.build_id WHERE n.app_id = ANY($1::uuid[]) ORDER BY n.app_id, n.rank`
      : `SELECT app_id, other_id, score FROM app_neighbors WHERE app_id = ANY($1::uuid[]) ORDER BY app_id, rank`;
    try {
      const lines = (await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, [ids])).rows.map((r) => r['QUERY PLAN']);
      const scans = lines
        .map((l) => /((?:Parallel )?(?:Seq Scan|Index Only Scan|Index Scan|Bitmap Heap Scan)(?: using \S+)? on app_neighbors)/.exec(l)?.[1])
        .filter(Boolean);
      const cost = /cost=[\d.]+\.\.([\d.]+)/.exec(lines[0] ?? '')?.[1];
      return `${scans.join(', ') || lines[0]} (estimated cost ${cost})`;
    } catch (err) {
      return `(could not explain: ${(err as Error).message})`;
    }
  };
  console.log(`  the neighbours read of 30 apps, before: ${await plan()}`);
  await timed(`VACUUM ANALYZE ${tables.map((t) => t.relname).join(', ')}`, async () => {
    for (const t of tables) await db.query(`VACUUM (ANALYZE) ${t.relname}`);
  });
  console.log(`  the neighbours read of 30 apps, after:  ${await plan()}`);
}

// ---------------------------------------------------------------- main

async function main() {
  console.log(
    `bench/recs.ts: ${fmtInt(opts.users)} users, ${fmtInt(opts.apps)} apps on ${dbName}; ${os.cpus().length} CPUs, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`,
  );
  let marker = await ensureCatalog();
  const db = await connect();
  try {
    marker = (await readMarker(db)) ?? marker;
    const apps = await one(db, `SELECT count(*) FROM apps WHERE status = 'published'`);
    let recs = marker?.recs?.v === RECS_MARKER_VERSION ? marker.recs : undefined;
    const users = await one(db, `SELECT count(*) FROM users WHERE email LIKE $1`, [`%@${EMAIL_DOMAIN}`]);
    const matches = recs && recs.users === opts.users && recs.apps === opts.apps && users === opts.users;
    if (recs && (matches || (flags.reuse && users > 0))) {
      console.log(`\nreusing the libraries: generated ${recs.generatedAt} in ${recs.seconds} s`);
    } else if (!recs && flags.reuse && users > 0) {
      console.log(`\nreusing ${fmtInt(users)} bench users (no marker): counting`);
      const totals = await libraryTotals(db);
      recs = { v: RECS_MARKER_VERSION, users, apps, totals, generatedAt: '?', seconds: 0 };
    } else {
      recs = await generateLibraries(db, marker);
    }
    printTotals(recs.totals, recs);

    if (!flags['skip-build']) await buildPhase(db, recs.totals);
    if (!flags['skip-http']) await httpPhase(db, apps, marker);
  } finally {
    await db.end();
  }
}

main().catch((err) => {
  console.error(`\n${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
