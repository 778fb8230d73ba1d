// Charts at scale: `orchard rank` over 2,000,000 apps and ~50 million sparse daily statistics on PostgreSQL,
// then chart reads against hello-world in one HTTP bench run.
//
//   npx tsx bench/charts.ts [--apps 2000000] [--days 90] [--countries 10] [--runs 3] [--reuse] [--regenerate]
//                           [--skip-rank] [--skip-rebuild] [--skip-http] [--duration 10] [--keep-search-snapshot]
//
// DATABASE_URL names the bench database (default postgres://postgres@127.0.0.1:5432/orchard_charts_bench); it is
// created when missing (through the server's `postgres` database) and migrated with `orchard migrate`.
//
// Generation (skipped when the database already holds this dataset: see the marker below) writes everything with
// INSERT ... SELECT generate_series, deterministically (hashint8extended of ids, countries and days):
//   - a few thousand developers (and their users);
//   - --apps published apps over the 26 top-level categories (some bigger than others), ~85% free, published over
//     three years (~1.5% in the last 30 days), ratings correlated with popularity (most of the tail has none), a
//     version 1.0.0 each and a 1.1.0 published in the last 30 days for ~5% (the "updated" apps), prices in the
//     chart countries for paid apps, rating summaries for rated apps;
//   - app_daily_stats over the last --days days ending today (UTC) in --countries storefronts: a head (0.5% of the
//     apps) with a row every day everywhere, a torso (9.5%) present on ~20% of (country, day), a tail present on
//     ~0.5%; growth for some head/torso apps and a few "rising" tail apps with a recent run of growing days
//     (for trending); engagement rows for head and torso apps.
// The secondary indexes of apps / app_versions and the primary key of app_daily_stats are dropped around the bulk
// insert and created again with their own definitions; everything is VACUUM ANALYZEd so autovacuum does not
// wake up during the measured runs. A finished generation leaves a marker in COMMENT ON DATABASE.
//
// Then `orchard rank --rebuild-signals` once and `orchard rank` --runs times (wall times, min/median), a sample
// of the charts, and (unless --skip-http) `npm run bench -- --scenarios hello,charts` against this database,
// with the ratio charts req/s ÷ hello req/s from .bench/last.json.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { fmtInt, median, quoteIdent, secs, serverQuery, timed, U, uuid7 } from './generate.ts';
import { priceTable } from '../src/seed/prices.ts';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const DATA_DIR = path.join(ROOT, '.bench', 'data'); // the same data dir as bench/run.ts
const MARKER_VERSION = 1;

// ---------------------------------------------------------------- options

const { values: flags } = parseArgs({
  options: {
    apps: { type: 'string', default: '2000000' },
    days: { type: 'string', default: '90' },
    countries: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    duration: { type: 'string', default: '10' },
    reuse: { type: 'boolean', default: false },
    regenerate: { type: 'boolean', default: false },
    'skip-rank': { type: 'boolean', default: false },
    'skip-rebuild': { type: 'boolean', default: false },
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
      .slice(0, 8)
      .map((l) => l.slice(3))
      .join('\n'),
  );
  process.exit(0);
}
const positive = (name: string, v: string | undefined, max = Infinity) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name} must be an integer between 1 and ${max}, got "${v}"`);
  return n;
};

/** Storefronts of the charts, with: share of US downloads, torso/tail presence factor (mean 1), units per USD. */
const COUNTRIES: { code: string; downloads: number; presence: number; perUsd: number }[] = [
  { code: 'US', downloads: 1.0, presence: 1.8, perUsd: 1 },
  { code: 'GB', downloads: 0.22, presence: 1.1, perUsd: 0.8 },
  { code: 'DE', downloads: 0.2, presence: 1.0, perUsd: 0.95 },
  { code: 'FR', downloads: 0.15, presence: 0.9, perUsd: 0.95 },
  { code: 'JP', downloads: 0.3, presence: 1.0, perUsd: 150 },
  { code: 'CA', downloads: 0.12, presence: 0.8, perUsd: 1.4 },
  { code: 'AU', downloads: 0.1, presence: 0.7, perUsd: 1.55 },
  { code: 'BR', downloads: 0.18, presence: 0.9, perUsd: 5.5 },
  { code: 'IN', downloads: 0.25, presence: 1.0, perUsd: 85 },
  { code: 'ES', downloads: 0.1, presence: 0.8, perUsd: 0.95 },
];

const opts = {
  apps: positive('apps', flags.apps),
  days: positive('days', flags.days, 365),
  countries: positive('countries', flags.countries, COUNTRIES.length),
  runs: positive('runs', flags.runs, 20),
  duration: positive('duration', flags.duration),
};
const countries = COUNTRIES.slice(0, opts.countries);
const benchUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/orchard_charts_bench';
const dbName = decodeURIComponent(new URL(benchUrl).pathname.slice(1));
if (!dbName || dbName === 'postgres') throw new Error(`DATABASE_URL must name a database of its own for this bench (got "${dbName}")`);

// ---------------------------------------------------------------- helpers

interface Marker {
  v: number;
  apps: number;
  days: number;
  countries: number;
  dailyRows: number;
  endDay: string;
  generatedAt: string;
}

type Run = { code: number | null; stdout: string; ms: number };

/** Runs `node bin/orchard.js ...` (or another command) against the bench database, streaming its output. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, echo = true): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      if (echo) process.stdout.write(prefix(String(d)));
    });
    child.stderr.on('data', (d) => {
      stdout += d;
      if (echo) process.stderr.write(prefix(String(d)));
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, ms: performance.now() - t0 }));
  });
}
const prefix = (s: string) => s.replace(/^(?=.)/gm, '    │ ');

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

async function createDatabase(): Promise<void> {
  await adminQuery(`CREATE DATABASE ${quoteIdent(dbName)}`);
  console.log(`created database ${dbName}`);
}

async function dropDatabase(): Promise<void> {
  await adminQuery(`DROP DATABASE IF EXISTS ${quoteIdent(dbName)} WITH (FORCE)`);
  console.log(`dropped database ${dbName}`);
}

async function migrate(): Promise<void> {
  const r = await orchard(['migrate']);
  if (r.code !== 0) throw new Error(`orchard migrate failed (exit ${r.code})`);
}

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
    return m?.v === MARKER_VERSION ? m : null;
  } catch {
    return null;
  }
}

async function writeMarker(db: pg.Client, m: Marker): Promise<void> {
  await db.query(`COMMENT ON DATABASE ${quoteIdent(dbName)} IS ${pg.escapeLiteral(JSON.stringify(m))}`);
}

/**
 * What is there: published apps and daily rows (the estimate from the statistics; exact counts of 50M rows take
 * a scan), and whether the key of app_daily_stats exists (a generation that died half-way has none).
 */
async function inventory(db: pg.Client) {
  const q = async (sql: string) => Number((await db.query<{ n: string }>(sql)).rows[0].n);
  try {
    return {
      apps: await q(`SELECT count(*) AS n FROM apps WHERE status = 'published'`),
      dailyRowsEstimate: await q(`SELECT greatest(reltuples, 0)::int8 AS n FROM pg_class WHERE oid = 'app_daily_stats'::regclass`),
      anyDaily: (await db.query(`SELECT 1 FROM app_daily_stats LIMIT 1`)).rows.length > 0,
      dailyKey: (await db.query(`SELECT 1 FROM pg_constraint WHERE conrelid = 'app_daily_stats'::regclass AND contype = 'p'`)).rows.length > 0,
    };
  } catch {
    return null; // not migrated
  }
}

// ---------------------------------------------------------------- the generator

/** Top-level categories and their relative sizes (unknown slugs get 2). */
const CATEGORY_WEIGHT: Record<string, number> = {
  books: 3,
  business: 5,
  'developer-tools': 1.5,
  education: 8,
  entertainment: 6,
  finance: 3,
  'food-drink': 2,
  games: 20,
  'graphics-design': 1.5,
  'health-fitness': 5,
  kids: 1.5,
  lifestyle: 7,
  'magazines-newspapers': 1,
  medical: 1.5,
  music: 3,
  navigation: 1,
  news: 1.5,
  'photo-video': 4,
  productivity: 5,
  reference: 2,
  shopping: 4,
  'social-networking': 3,
  sports: 2,
  travel: 2,
  utilities: 6,
  weather: 0.5,
};
const ADJECTIVES = [
  'Swift',
  'Bright',
  'Pocket',
  'Daily',
  'Smart',
  'Happy',
  'Quiet',
  'Clever',
  'Tiny',
  'Super',
  'Calm',
  'Bold',
  'Pixel',
  'Lucky',
  'Magic',
  'Simple',
  'Urban',
  'Wild',
  'Cosmic',
  'Golden',
  'Silver',
  'Rapid',
  'Fresh',
  'Mighty',
  'Sunny',
  'Zen',
  'Retro',
  'Neon',
  'Epic',
  'Cozy',
  'Crystal',
  'Hyper',
];
const NOUNS = [
  'Notes',
  'Budget',
  'Runner',
  'Puzzle',
  'Chef',
  'Planner',
  'Camera',
  'Tracker',
  'Radio',
  'Quest',
  'Garden',
  'Maps',
  'Words',
  'Fitness',
  'Scanner',
  'Journal',
  'Studio',
  'Weather',
  'Wallet',
  'Kingdom',
  'Racer',
  'Reader',
  'Tunes',
  'Timer',
  'Chat',
  'Academy',
  'Market',
  'Pilot',
  'Doctor',
  'Farm',
  'Galaxy',
  'Editor',
];
const textArray = (xs: string[]) => `ARRAY[${xs.map((x) => pg.escapeLiteral(x)).join(',')}]::text[]`;

/** Strides coprime to the day count: k distinct days of an (app, country) are (s0 + j * stride) mod days. */
function coprimeStrides(days: number): number[] {
  const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);
  const out: number[] = [];
  for (let s = 7; s < days && out.length < 12; s++) if (gcd(s, days) === 1) out.push(s);
  return out.length ? out : [1];
}

async function generate(db: pg.Client): Promise<Marker> {
  const N = opts.apps;
  const D = opts.days;
  const C = countries.length;
  const HEAD = Math.max(1, Math.round(N * 0.005));
  const TORSO = Math.round(N * 0.095);
  const DEVS = Math.max(10, Math.round(N / 400));
  const genNow = new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString();
  const today = genNow.slice(0, 10);
  const todayIsoDow = ((new Date(`${today}T00:00:00Z`).getUTCDay() + 6) % 7) + 1; // 1 = Monday
  const NOW = `timestamptz '${genNow}'`;
  const cfacSum = countries.reduce((s, c) => s + c.downloads, 0);
  const strides = coprimeStrides(D);

  const free = statfsSync(ROOT);
  const freeGb = (free.bavail * free.bsize) / 2 ** 30;
  console.log(
    `generating ${fmtInt(N)} apps (head ${fmtInt(HEAD)}, torso ${fmtInt(TORSO)}, tail ${fmtInt(N - HEAD - TORSO)}), ${fmtInt(DEVS)} developers, ` +
      `${D} days to ${today} in ${C} countries (${countries.map((c) => c.code).join(' ')}); ${freeGb.toFixed(0)} GB free on the disk`,
  );
  const expectedRows = (HEAD * D * C + TORSO * D * C * 0.2 + (N - HEAD - TORSO) * D * C * 0.005) * 1.0;
  if (freeGb < (expectedRows * 170) / 2 ** 30 + 5)
    console.warn(`⚠ little disk left for ~${fmtInt(expectedRows)} daily rows (~170 bytes each with the key and WAL)`);
  const t0 = performance.now();

  await db.query(`SET maintenance_work_mem = '1GB'`);
  await db.query(`SET work_mem = '256MB'`);
  await db.query(`SET synchronous_commit = off`);
  // FK triggers off while loading (the rows are consistent by construction); the schema does not change
  await db.query(`SET session_replication_role = replica`);

  const categories = (
    await db.query<{ slug: string; name: string; parent_slug: string | null }>(
      `SELECT slug, name, parent_slug FROM categories ORDER BY parent_slug NULLS FIRST, position`,
    )
  ).rows;
  const top = categories.filter((c) => c.parent_slug === null);
  const weights = top.map((c) => CATEGORY_WEIGHT[c.slug] ?? 2);
  const total = weights.reduce((a, b) => a + b, 0);
  const bounds = [0];
  for (const w of weights.slice(0, -1)) bounds.push(bounds[bounds.length - 1] + w / total);
  const children = new Map<string, string[]>();
  for (const c of categories) if (c.parent_slug) children.set(c.parent_slug, [...(children.get(c.parent_slug) ?? []), c.slug]);
  const subcategorySql = children.size
    ? `CASE category ${[...children].map(([p, kids]) => `WHEN ${pg.escapeLiteral(p)} THEN (${textArray(kids)})[1 + floor(${kids.length} * u18)::int]`).join(' ')} END`
    : 'NULL';

  console.log('catalog');
  await timed(`users and developers (${fmtInt(DEVS)})`, async () => {
    const devCreated = `(${NOW} - interval '4 years' + k * interval '1 hour')`;
    await db.query(`
      INSERT INTO users (id, email, display_name, password_hash, role, country, created_at, password_changed_at)
      SELECT ${uuid7(devCreated, `'charts-user-' || k`)}, 'dev' || k || '@charts-bench.example', 'Developer ' || k,
             '$argon2id$v=19$m=19456,t=2,p=1$Y2hhcnRzYmVuY2g$bm90LWEtcmVhbC1wYXNzd29yZC1oYXNo', 'developer',
             (${textArray(countries.map((c) => c.code))})[1 + k % ${C}], ${devCreated}, ${devCreated}
        FROM generate_series(1, ${DEVS}) k`);
    await db.query(`
      INSERT INTO developers (id, user_id, company_name, website, verified, created_at)
      SELECT ${uuid7(devCreated, `'charts-dev-' || k`)}, ${uuid7(devCreated, `'charts-user-' || k`)},
             (${textArray(ADJECTIVES)})[1 + k % ${ADJECTIVES.length}] || ' ' || (${textArray(NOUNS)})[1 + (k / ${ADJECTIVES.length}) % ${NOUNS.length}] || ' Studio ' || k,
             'https://dev' || k || '.charts-bench.example', ${U('k', 1)} < 0.3, ${devCreated}
        FROM generate_series(1, ${DEVS}) k`);
  });

  // One row per app with everything the other tables derive from (a temporary table of this session).
  await timed('app plan (temporary table)', async () => {
    const u = Array.from({ length: 22 }, (_, i) => `${U('n', 100 + i)} AS u${i}`).join(', ');
    await db.query(`
      CREATE TEMP TABLE ba AS
      SELECT *,
             -- the average (head 3.8-4.9, torso 3.0-4.9, tail 1-5) as counts of two adjacent stars
             least(4, floor(a)::int) AS rating_k,
             round(rating_count * (a - least(4, floor(a))))::int AS rating_hi
        FROM (
          SELECT *,
                 ${uuid7('created_at', `'charts-app-' || n`)} AS id,
                 CASE WHEN kind = 'rising' THEN ln(pop) / rise ELSE g0 END AS g,
                 ${subcategorySql} AS subcategory,
                 CASE kind WHEN 'head' THEN floor(pop * (20 + 200 * u13))::int
                           WHEN 'tail' THEN CASE WHEN u13 < 0.15 THEN 1 + floor(20 * u14 * u14 * u14)::int ELSE 0 END
                           ELSE CASE WHEN u13 < 0.85 THEN floor(pop * (2 + 30 * u14))::int ELSE 0 END END AS rating_count,
                 CASE kind WHEN 'head' THEN 3.8 + 1.1 * u15 WHEN 'tail' THEN 1 + 4 * u15 ELSE 3.0 + 1.9 * u15 END AS a
            FROM (
              SELECT *,
                     -- US first downloads on an active day at the end of the window (before country affinity and noise)
                     CASE kind WHEN 'head' THEN 40000 * power(n, -0.6) * (0.8 + 0.4 * u7)
                               WHEN 'torso' THEN 20000 * power(n, -0.6) * (0.8 + 0.4 * u7)
                               WHEN 'rising' THEN 20 + 300 * u19 * u19
                               ELSE 1.5 END * CASE WHEN is_free THEN 1 ELSE 0.2 END AS pop,
                     -- growth per day over the last rise days: most apps drift, 3% of head/torso rise strongly
                     CASE WHEN kind IN ('head', 'torso') THEN CASE WHEN u9 < 0.03 THEN 0.03 + 0.05 * u8 ELSE 0.012 * (u8 - 0.5) END ELSE 0 END AS g0,
                     CASE kind WHEN 'rising' THEN 5 + floor(20 * u20)::int WHEN 'tail' THEN 0 ELSE 10 + floor(30 * u20)::int END AS rise,
                     0.05 + 0.3 * u11 AS presence,
                     is_free AND kind IN ('head', 'torso') AND u12 < 0.3 AS iap,
                     (DATE '${today}' - published_at::date) AS pub_t,
                     NOT (published_at > ${NOW} - interval '30 days') AND u16 < 0.0508 AS updated,
                     ${NOW} - interval '30 days' * u17 AS updated_at
                FROM (
                  SELECT n, kind, u7, u8, u9, u11, u12, u13, u14, u15, u16, u17, u18, u19, u20,
                         u1 < 0.85 AS is_free,
                         1 + floor(8 * power(u2, 2.5))::int AS price_tier,
                         (${textArray(top.map((c) => c.slug))})[width_bucket(u3, ARRAY[${bounds.join(',')}]::float8[])] AS category,
                         published_at,
                         published_at - interval '1 day' * (1 + 30 * u21) AS created_at,
                         1 + floor(${DEVS} * u6 * u6)::int AS dev
                    FROM (
                      SELECT s.*, CASE WHEN n <= ${HEAD} THEN 'head' WHEN n <= ${HEAD + TORSO} THEN 'torso' WHEN u10 < 0.001 THEN 'rising' ELSE 'tail' END AS kind,
                             CASE WHEN u4 < 0.015 THEN ${NOW} - interval '30 days' * u5
                                  ELSE ${NOW} - interval '30 days' - interval '1065 days' * u5 END AS published_at
                        FROM (SELECT n, ${u} FROM generate_series(1, ${N}) n OFFSET 0) s
                    ) s2
                  OFFSET 0
                ) s3
              OFFSET 0
            ) s4
          OFFSET 0
        ) s5`);
    await db.query(`CREATE INDEX ON ba (n)`);
    await db.query(`ANALYZE ba`);
  });

  const apps = await withIndexesDropped(db, 'apps', false, () =>
    timed(`apps (${fmtInt(N)})`, async () => {
      const expected = `CASE kind WHEN 'head' THEN pop * ${cfacSum} * least(${D}, pub_t + 1)
                                 WHEN 'torso' THEN pop * ${cfacSum} * least(${D}, pub_t + 1) * presence
                                 WHEN 'rising' THEN pop * rise * 0.4 * (1 + 0.5 * ${C - 1})
                                 ELSE 1.3 * ${D * 0.005} * ${C} END * CASE WHEN g0 >= 0.03 THEN 0.4 ELSE 1 END`;
      const r = await db.query(`
        INSERT INTO apps (id, developer_id, bundle_id, name, subtitle, description, keywords, category, subcategory, age_rating,
                          is_free, status, revision, current_version, rating_count, rating_average, download_count,
                          created_at, updated_at, published_at)
        SELECT b.id, ${uuid7(`(${NOW} - interval '4 years' + b.dev * interval '1 hour')`, `'charts-dev-' || b.dev`)},
               'com.chartsbench.app' || b.n,
               (${textArray(ADJECTIVES)})[1 + b.n % ${ADJECTIVES.length}] || ' ' || (${textArray(NOUNS)})[1 + (b.n * 7 + b.n / ${ADJECTIVES.length}) % ${NOUNS.length}] || ' ' || b.n,
               NULL, 'A ' || lower(c.name) || ' app, number ' || b.n || ' of the charts bench.', '{}', b.category, b.subcategory, '4+',
               b.is_free, 'published', 1, CASE WHEN b.updated THEN '1.1.0' ELSE '1.0.0' END,
               b.rating_count, CASE WHEN b.rating_count > 0 THEN (b.rating_k * b.rating_count + b.rating_hi)::float8 / b.rating_count ELSE 0 END,
               round((${expected}) * greatest(1, sqrt(pub_t::float8 / ${D})))::int8,
               b.created_at, CASE WHEN b.updated THEN b.updated_at ELSE b.published_at END, b.published_at
          FROM ba b JOIN categories c ON c.slug = b.category`);
      return r.rowCount ?? 0;
    }),
  );

  await withIndexesDropped(db, 'app_versions', false, () =>
    timed('app versions (1.0.0 each, 1.1.0 for the updated)', async () => {
      await db.query(`
        INSERT INTO app_versions (id, app_id, version, release_notes, min_os_version, status, created_at, published_at, submitted_at, reviewed_at)
        SELECT ${uuid7('b.created_at', `'charts-v1-' || b.n`)}, b.id, '1.0.0', 'First release.', '15.0', 'published',
               b.created_at, b.published_at, b.published_at - interval '1 day', b.published_at - interval '1 hour'
          FROM ba b`);
      await db.query(`
        INSERT INTO app_versions (id, app_id, version, release_notes, min_os_version, status, created_at, published_at, submitted_at, reviewed_at)
        SELECT ${uuid7(`(b.updated_at - interval '2 days')`, `'charts-v2-' || b.n`)}, b.id, '1.1.0', 'Bug fixes and improvements.', '15.0', 'published',
               b.updated_at - interval '2 days', b.updated_at, b.updated_at - interval '1 day', b.updated_at - interval '1 hour'
          FROM ba b WHERE b.updated`);
    }),
  );

  await timed('prices of paid apps, rating summaries', async () => {
    const storefronts = (await db.query<{ country: string; currency: string }>(`SELECT country, currency FROM storefronts ORDER BY country`)).rows;
    const table = priceTable(storefronts);
    const values = table.flatMap((amounts, t) =>
      storefronts.map((sf, i) => `(${pg.escapeLiteral(sf.country)}, ${t + 1}, ${amounts[i]}::int8, ${pg.escapeLiteral(sf.currency)})`),
    );
    await db.query(`CREATE TEMP TABLE pt (country char(2), tier int, amount int8, currency char(3))`);
    await db.query(`INSERT INTO pt VALUES ${values.join(',')}`);
    await db.query(`
      INSERT INTO app_prices (app_id, country, tier, amount_milli, currency)
      SELECT b.id, pt.country, pt.tier, pt.amount, pt.currency
        FROM ba b JOIN pt ON pt.tier = b.price_tier
       WHERE NOT b.is_free AND pt.country IN (${countries.map((c) => pg.escapeLiteral(c.code)).join(',')})`);
    await db.query(`
      INSERT INTO app_rating_summaries (app_id, count, sum, c1, c2, c3, c4, c5, updated_at)
      SELECT b.id, b.rating_count, b.rating_k::int8 * b.rating_count + b.rating_hi,
             ${[1, 2, 3, 4, 5].map((s) => `CASE WHEN b.rating_k = ${s} THEN b.rating_count - b.rating_hi WHEN b.rating_k + 1 = ${s} THEN b.rating_hi ELSE 0 END`).join(', ')},
             ${NOW} - interval '1 hour' * (1 + 48 * b.u17)
        FROM ba b WHERE b.rating_count > 0`);
  });

  await timed('engagement (head and torso)', () =>
    db.query(`
      INSERT INTO app_engagement (app_id, dau, mau, day7_retention, avg_session_minutes, updated_at)
      SELECT id, round(mau * (0.05 + 0.45 * ${U('n', 201)}))::int, mau, (0.05 + 0.55 * ${U('n', 202)})::real,
             (1 + 19 * ${U('n', 203)})::real, ${NOW}
        FROM (SELECT id, n, greatest(20, round(pop * ${cfacSum} * (10 + 40 * ${U('n', 200)})))::int AS mau
                FROM ba WHERE kind <> 'tail' OFFSET 0) x`),
  );

  console.log(`daily statistics (${D} days to ${today}, ~${fmtInt(expectedRows)} rows expected)`);
  let dailyRows = 0;
  await withIndexesDropped(db, 'app_daily_stats', true, async () => {
    for (const [ci, c] of countries.entries()) {
      const nc = `(b.n::int8 * 16 + ${ci})`;
      const key = `(p.nc * 1024 + t)`;
      const lambda = D * 0.005 * c.presence;
      const weekend = `((${todayIsoDow - 1} - t) % 7 + 7) % 7 >= 5`;
      const rows = await timed(`${c.code}`, async () => {
        const r = await db.query(`
          INSERT INTO app_daily_stats (app_id, country, day, first_downloads, redownloads, updates, unique_downloaders,
                                       trusted_downloads, fresh_downloads, revenue_milli, active_users, sessions, session_seconds)
          SELECT id, '${c.code}', day, f, re, up, f + re + floor(up * 0.9)::int, (f * (0.9 + 0.1 * v2))::real, floor(f * 0.08 * v3)::int,
                 CASE WHEN NOT is_free THEN f::int8 * price
                      WHEN iap THEN floor(au * (0.002 + 0.02 * v6) * ${c.perUsd} * 1000)::int8 ELSE 0 END,
                 au, floor(au * (1.2 + 2.8 * v8))::int, floor(floor(au * (1.2 + 2.8 * v8)) * (60 + 840 * v9))::int8
            FROM (
              SELECT *, floor(f * (0.03 + 0.12 * v4))::int AS re,
                     CASE WHEN kind = 'tail' THEN floor(2 * v5 * v5)::int ELSE floor(f * (0.5 + 3 * v5))::int END AS up,
                     CASE WHEN kind = 'tail' THEN 0 ELSE floor(f * (5 + 25 * v7))::int END AS au
                FROM (
                  SELECT p.id, p.kind, p.is_free, p.iap, p.price, (DATE '${today}' - t) AS day,
                         CASE WHEN p.kind = 'tail' THEN 1 + floor(3 * power(${U(key, 41)}, 2))::int
                              ELSE greatest(1, round(p.pop * ${c.downloads} * p.aff
                                     * exp(-p.g * CASE WHEN p.kind = 'rising' THEN t ELSE least(t, p.rise) END)
                                     * CASE WHEN ${weekend} THEN 1.15 ELSE 1 END * (0.7 + 0.6 * ${U(key, 41)})))::int END AS f,
                         ${[2, 3, 4, 5, 6, 7, 8, 9].map((i) => `${U(key, 40 + i)} AS v${i}`).join(', ')}
                    FROM (
                      SELECT b.id, b.kind, b.pop, b.g, b.rise, b.is_free, b.iap, b.pub_t, coalesce(pt.amount, 0) AS price, ${nc} AS nc,
                             exp(1.2 * (${U(nc, 31)} + ${U(nc, 32)} + ${U(nc, 33)} - 1.5)) AS aff,
                             CASE b.kind WHEN 'head' THEN ${D}
                                         WHEN 'rising' THEN CASE WHEN ${ci} = 0 OR ${U(nc, 34)} < 0.5 THEN least(${D}, b.rise) ELSE 0 END
                                         WHEN 'torso' THEN least(${D}, floor(${D} * least(1.0, b.presence * ${c.presence}) + ${U(nc, 35)})::int)
                                         ELSE least(${D}, floor(${lambda} * -ln(1 - ${U(nc, 36)}) + ${U(nc, 35)})::int) END AS k,
                             CASE WHEN b.kind IN ('head', 'rising') THEN 0 ELSE floor(${D} * ${U(nc, 37)})::int END AS s0,
                             CASE WHEN b.kind IN ('head', 'rising') THEN 1 ELSE (ARRAY[${strides.join(',')}])[1 + floor(${strides.length} * ${U(nc, 38)})::int] END AS stride
                        FROM ba b LEFT JOIN pt ON NOT b.is_free AND pt.tier = b.price_tier AND pt.country = '${c.code}'
                      OFFSET 0
                    ) p
                    CROSS JOIN LATERAL generate_series(0, p.k - 1) j
                    CROSS JOIN LATERAL (SELECT (p.s0 + j * p.stride) % ${D} AS t) tt
                   WHERE tt.t <= p.pub_t
                  OFFSET 0
                ) r
              OFFSET 0
            ) r2`);
        return r.rowCount ?? 0;
      });
      dailyRows += rows;
      console.log(`    ${c.code}: ${fmtInt(rows)} rows (${fmtInt(dailyRows)} so far)`);
    }
  });

  await timed('VACUUM ANALYZE (so autovacuum stays quiet during the runs)', async () => {
    await db.query(`RESET session_replication_role`);
    for (const t of ['users', 'developers', 'apps', 'app_versions', 'app_prices', 'app_rating_summaries', 'app_engagement', 'app_daily_stats']) {
      await db.query(`VACUUM (ANALYZE) ${t}`);
    }
  });
  await db.query(`DROP TABLE ba, pt`);

  const marker: Marker = { v: MARKER_VERSION, apps, days: D, countries: C, dailyRows, endDay: today, generatedAt: new Date().toISOString() };
  await writeMarker(db, marker);
  console.log(`generated ${fmtInt(apps)} apps and ${fmtInt(dailyRows)} daily rows in ${secs(performance.now() - t0)}`);
  return marker;
}

/**
 * Drops a table's secondary indexes (and with `constraints`, its primary key / unique constraints) around a
 * bulk load and creates them again from their own definitions, timing each.
 */
async function withIndexesDropped<T>(db: pg.Client, table: string, constraints: boolean, load: () => Promise<T>): Promise<T> {
  const indexes = (
    await db.query<{ name: string; def: string }>(
      `SELECT i.relname AS name, pg_get_indexdef(i.oid) AS def
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = $1::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)`,
      [table],
    )
  ).rows;
  const keys = constraints
    ? (
        await db.query<{ name: string; def: string }>(
          `SELECT conname AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::regclass AND contype IN ('p', 'u')`,
          [table],
        )
      ).rows
    : [];
  for (const k of keys) await db.query(`ALTER TABLE ${table} DROP CONSTRAINT ${quoteIdent(k.name)}`);
  for (const i of indexes) await db.query(`DROP INDEX ${quoteIdent(i.name)}`);
  const result = await load();
  for (const k of keys) await timed(`${table}: ${k.def}`, () => db.query(`ALTER TABLE ${table} ADD CONSTRAINT ${quoteIdent(k.name)} ${k.def}`));
  if (indexes.length) {
    await timed(`${table}: ${indexes.length} indexes again`, async () => {
      for (const i of indexes) await db.query(i.def);
    });
  }
  return result;
}

// ---------------------------------------------------------------- rank

async function rankAvailable(): Promise<boolean> {
  const r = await orchard(['rank', '--help'], false);
  return r.code === 0 && !/unknown command/i.test(r.stdout);
}

async function rankPhase(db: pg.Client, marker: Marker | null) {
  console.log('\nrank');
  if (!(await rankAvailable())) {
    throw new Error('`node bin/orchard.js rank` does not exist yet (issue 7 is in progress): the dataset is ready, run again once it does (--reuse)');
  }
  if (marker && marker.endDay !== new Date().toISOString().slice(0, 10)) {
    console.log(`  note: the daily statistics end on ${marker.endDay}, not today (generated ${marker.generatedAt}); the charts decay them to now`);
  }
  if (!flags['skip-rebuild']) {
    const rebuild = await orchard(['rank', '--rebuild-signals']);
    if (rebuild.code !== 0) throw new Error(`orchard rank --rebuild-signals failed (exit ${rebuild.code})`);
    console.log(`  rank --rebuild-signals: ${secs(rebuild.ms)} wall time`);
  }
  const times: number[] = [];
  for (let i = 1; i <= opts.runs; i++) {
    const r = await orchard(['rank']);
    if (r.code !== 0) throw new Error(`orchard rank failed (exit ${r.code})`);
    times.push(r.ms);
    console.log(`  rank #${i}: ${secs(r.ms)} wall time`);
  }
  console.log(`  rank wall time: min ${secs(Math.min(...times))}, median ${secs(median(times))} (target ≤ 60 s)`);

  const q = async <T extends pg.QueryResultRow>(sql: string, p: unknown[] = []) => (await db.query<T>(sql, p)).rows;
  const [{ entries, runs }] = await q<{ entries: string; runs: string }>(
    `SELECT (SELECT count(*) FROM chart_entries) AS entries, (SELECT count(*) FROM chart_runs WHERE status = 'done') AS runs`,
  );
  const last = (
    await q<{ id: string; n: string; charts: string }>(
      `SELECT r.id, count(e.*) AS n, count(DISTINCT (e.country, e.category, e.chart)) AS charts
       FROM (SELECT id FROM chart_runs WHERE status = 'done' ORDER BY finished_at DESC LIMIT 1) r
       LEFT JOIN chart_entries e ON e.run_id = r.id GROUP BY r.id`,
    )
  )[0];
  console.log(
    `  chart_entries: ${fmtInt(Number(entries))} rows over ${runs} done run(s); the last run: ${fmtInt(Number(last?.n ?? 0))} entries in ${fmtInt(Number(last?.charts ?? 0))} charts`,
  );
  if (!last) return;
  for (const chart of ['top-free', 'top-paid', 'top-grossing', 'trending', 'new']) {
    const rows = await q<Record<string, string | number>>(
      `SELECT e.rank, a.name, a.category, e.score, e.downloads, e.rating, e.engagement, e.revenue, e.freshness, a.published_at::date::text AS published
         FROM chart_entries e JOIN apps a ON a.id = e.app_id
        WHERE e.run_id = $1 AND e.country = 'US' AND e.category = '' AND e.chart = $2 ORDER BY e.rank LIMIT 5`,
      [last.id, chart],
    );
    console.log(`  US ${chart}, overall:`);
    for (const r of rows) {
      const f = (k: string) => Number(r[k]).toFixed(3);
      console.log(
        `    ${String(r.rank).padStart(2)}. ${String(r.name).padEnd(26)} ${String(r.category).padEnd(18)} score ${f('score')}  ` +
          `dl ${f('downloads')} rating ${f('rating')} eng ${f('engagement')} rev ${f('revenue')} fresh ${f('freshness')}  published ${r.published}`,
      );
    }
  }
}

// ---------------------------------------------------------------- HTTP

/**
 * bench/run.ts keeps the search index snapshot in .bench/data/search whatever DATABASE_URL is: a snapshot of
 * another database would be loaded (and caught up only by updated_at) as if it were this one's. This file says
 * which database and dataset the snapshot there was built from; any other snapshot is removed before the run,
 * and ours after it unless --keep-search-snapshot (then the next charts run starts faster, but a bench on
 * another database would load it).
 */
const SNAPSHOT_DIR = path.join(DATA_DIR, 'search');
const SNAPSHOT_OWNER = path.join(ROOT, '.bench', 'charts-search-snapshot.json');

async function httpPhase(apps: number, marker: Marker | null) {
  const owner = JSON.stringify({ db: benchUrl, generatedAt: marker?.generatedAt ?? null });
  const current = existsSync(SNAPSHOT_OWNER) ? readFileSync(SNAPSHOT_OWNER, 'utf8') : null;
  if (existsSync(SNAPSHOT_DIR) && current !== owner) {
    await rm(SNAPSHOT_DIR, { recursive: true, force: true });
    console.log(`removed the search snapshot in ${path.relative(ROOT, SNAPSHOT_DIR)}: it was not built from this dataset`);
  }
  await rm(SNAPSHOT_OWNER, { force: true });
  console.log(`\nHTTP: npm run bench -- --apps ${apps} --scenarios hello,charts --duration ${opts.duration}`);
  const r = await run('npm', ['run', 'bench', '--', '--apps', String(apps), '--scenarios', 'hello,charts', '--duration', String(opts.duration)], {
    ...process.env,
    DATABASE_URL: benchUrl,
  });
  if (flags['keep-search-snapshot'] && existsSync(SNAPSHOT_DIR)) await writeFile(SNAPSHOT_OWNER, owner);
  else await rm(SNAPSHOT_DIR, { recursive: true, force: true });
  if (r.code !== 0) throw new Error(`the HTTP bench failed (exit ${r.code})`);
  const report = JSON.parse(readFileSync(path.join(ROOT, '.bench', 'last.json'), 'utf8')) as {
    results: { scenario: string; requestsPerSecond: number; p99Ms: number; non2xx: number }[];
  };
  const hello = report.results.find((x) => x.scenario === 'hello');
  const charts = report.results.find((x) => x.scenario === 'charts');
  const cold = report.results.find((x) => x.scenario === 'charts:cold');
  if (!hello || !charts) throw new Error('.bench/last.json has no hello or charts row');
  const ratio = charts.requestsPerSecond / hello.requestsPerSecond;
  console.log(
    `\n  hello ${fmtInt(hello.requestsPerSecond)} req/s; charts ${fmtInt(charts.requestsPerSecond)} req/s (p99 ${charts.p99Ms} ms, non-2xx ${charts.non2xx})` +
      (cold ? `; charts:cold ${fmtInt(cold.requestsPerSecond)} req/s` : ''),
  );
  console.log(`  charts ÷ hello = ${(ratio * 100).toFixed(0)}% (target ≥ 50%)`);
}

// ---------------------------------------------------------------- main

async function main() {
  const exists = (await adminQuery(`SELECT 1 FROM pg_database WHERE datname = $1`, [dbName])).length > 0;
  if (!exists) await createDatabase();
  else if (flags.regenerate) {
    await dropDatabase();
    await createDatabase();
  }
  console.log(`database ${dbName}: migrating`);
  await migrate();

  let db = await connect();
  let marker = await readMarker(db);
  const have = await inventory(db);
  const wanted = { apps: opts.apps, days: opts.days, countries: opts.countries };
  const matches = marker && marker.apps === wanted.apps && marker.days === wanted.days && marker.countries === wanted.countries;
  const usable = have && have.apps >= opts.apps && have.anyDaily && have.dailyKey;
  let apps = have?.apps ?? 0;
  if (usable && (matches || flags.reuse)) {
    const rows = marker?.dailyRows ?? have.dailyRowsEstimate;
    console.log(
      `reusing the dataset: ${fmtInt(have.apps)} published apps, ${fmtInt(rows)} daily rows` +
        (marker ? ` (${marker.days} days to ${marker.endDay} in ${marker.countries} countries, generated ${marker.generatedAt})` : ' (no marker: an estimate)'),
    );
  } else {
    if (have && (have.apps > 0 || have.anyDaily)) {
      console.log(
        `the database holds another dataset (${fmtInt(have.apps)} apps${marker ? `, marker ${JSON.stringify(marker)}` : ', no complete generation'}): ` +
          `starting over (pass --reuse to keep whatever is there)`,
      );
      await db.end();
      await dropDatabase();
      await createDatabase();
      await migrate();
      db = await connect();
    }
    marker = await generate(db);
    apps = marker.apps;
  }

  try {
    if (!flags['skip-rank']) await rankPhase(db, marker);
  } finally {
    await db.end();
  }
  if (!flags['skip-http']) await httpPhase(apps, marker);
}

main().catch((err) => {
  console.error(`\n${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
