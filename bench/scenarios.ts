// Bench scenarios. Adding one is adding an object to SCENARIOS: which server it loads, and the pool of
// requests the load generator draws from uniformly at random (one draw per request sent).
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../src/platform/db/index.ts';
import { PURCHASE_SCENARIOS } from './commerce.ts';

export interface BenchRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/** Facts about the seeded catalog, read from the database before the server starts. */
export interface Sample {
  publishedAppIds: string[];
  topCategories: string[];
  /** Search queries: app names, words of names, and the catalog's most common words. */
  searchQueries?: string[];
}

export interface ScenarioContext {
  sample: Sample;
  /** The server under load, for scenarios that must prepare something first (log in, create a cart ...). */
  baseUrl: string;
  /** The bench database, for scenarios that prepare or check rows. */
  withDb<T>(fn: (db: Db) => Promise<T>): Promise<T>;
}

export interface Scenario {
  name: string;
  /** hello = the bare Fastify baseline; orchard = `orchard serve` on the seeded catalog. */
  target: 'hello' | 'orchard';
  what: string;
  /** Cache-backed reads: request the whole pool once first (reported as `<name>:cold`), then measure warm. */
  prime?: boolean;
  /** Offered load in requests/s for the warm-up and the measured run (default: as fast as the server answers). */
  rate?: number;
  /** Send the pool in order rather than at random (see LoadSpec.sequential). */
  sequential?: boolean;
  /** Run only when named in --scenarios (it needs data a seeded catalog does not have). */
  optIn?: boolean;
  /** Before the server starts and before `orchard recs precompute` (users signed in here get precomputed rows). */
  prepare?(ctx: Omit<ScenarioContext, 'baseUrl'>): Promise<void>;
  requests(ctx: ScenarioContext): BenchRequest[] | Promise<BenchRequest[]>;
  /** After the run: lines to print (consistency checks of what the load did). */
  check?(ctx: ScenarioContext): Promise<string[]>;
}

const SORTS = ['newest', 'popular', 'rating', 'name'];

export const SCENARIOS: Scenario[] = [
  {
    name: 'hello',
    target: 'hello',
    what: 'GET / on a bare Fastify server: the ceiling of this machine',
    requests: () => [{ path: '/' }],
  },
  {
    name: 'app-by-id',
    target: 'orchard',
    what: 'GET /api/v1/apps/:id, uniform over the published apps (a sample of 100,000 in a larger catalog)',
    prime: true,
    requests: ({ sample }) => sample.publishedAppIds.map((id) => ({ path: `/api/v1/apps/${id}` })),
  },
  {
    name: 'category-browse',
    target: 'orchard',
    what: 'GET /api/v1/apps?category=<top-level>&sort=<any>&limit=25',
    requests: ({ sample }) => sample.topCategories.flatMap((c) => SORTS.map((sort) => ({ path: `/api/v1/apps?category=${c}&sort=${sort}&limit=25` }))),
  },
  {
    name: 'search',
    target: 'orchard',
    what: 'GET /api/v1/search?q=<app name | word of a name | common word>&limit=20, once the index is ready',
    // engine answers and app summaries are cached per process: the priming pass (each query once, every
    // read a miss) is reported as search:cold, then the measured run is warm. SEARCH_ANSWER_CACHE=off
    // makes the engine answer every request (the figure for the engine path).
    prime: true,
    requests: searchPool,
  },
  {
    // the latency target is stated at a load (≥ 1,000 searches/s with p99 ≤ 25 ms): offer exactly that
    // load, so the p99 is the service time at that rate and not the queue of a saturated closed loop
    name: 'search-1000',
    target: 'orchard',
    what: 'the search pool at an offered 1,000 requests/s',
    rate: 1000,
    requests: searchPool,
  },
  {
    name: 'suggest',
    target: 'orchard',
    what: 'GET /api/v1/search/suggest?q=<first 2, 4 or 8 characters of a search query>, once the index is ready',
    requests: async ({ sample, baseUrl }) => {
      await searchIndexReady(baseUrl);
      const prefixes = new Set((sample.searchQueries ?? []).flatMap((q) => [2, 4, 8].map((n) => q.slice(0, n).trim().toLowerCase())));
      return [...prefixes].filter(Boolean).map((p) => ({ path: `/api/v1/search/suggest?q=${encodeURIComponent(p)}` }));
    },
  },
  {
    name: 'similar',
    target: 'orchard',
    what: 'GET /api/v1/apps/:id/similar?limit=10 over 2,000 published apps, once the index is ready',
    prime: true,
    requests: async ({ sample, baseUrl }) => {
      await searchIndexReady(baseUrl);
      const step = Math.max(1, Math.floor(sample.publishedAppIds.length / 2000));
      return sample.publishedAppIds
        .filter((_, i) => i % step === 0)
        .slice(0, 2000)
        .map((id) => ({ path: `/api/v1/apps/${id}/similar?limit=10` }));
    },
  },
  ...PURCHASE_SCENARIOS,
  {
    name: 'charts',
    target: 'orchard',
    what: 'GET /api/v1/charts?chart=<5 charts>&category=<overall | top-level>&country=<US GB DE JP>&limit=25 (and 100 overall), once the index is ready',
    prime: true,
    requests: chartsPool,
    check: chartsCheck,
  },
  {
    // bench/recs.ts runs this one on its dataset (users with libraries); a seeded catalog has no libraries
    name: 'recs',
    target: 'orchard',
    optIn: true,
    what: 'GET /api/v1/me/recommendations as BENCH_RECS_USERS (20,000) signed-in users with libraries and precomputed rows, once the index is ready and no chart run is pending',
    // the priming pass asks for each user once (summaries cold): recs:cold
    prime: true,
    prepare: signInRecsUsers,
    requests: recsPool,
    check: recsCheck,
  },
  {
    name: 'recs-cold-start',
    target: 'orchard',
    optIn: true,
    what: 'GET /api/v1/me/recommendations, each request a different user with a library signed in after the precompute (BENCH_RECS_COLD_USERS, 100,000): no rows yet, so the charts at once and theirs computed in the background',
    sequential: true,
    // an earlier run's users must not be signed in when the precompute runs
    prepare: ({ withDb }) => withDb(async (db) => void (await db.query('DELETE FROM sessions WHERE user_agent = $1', [RECS_COLD_SESSION_AGENT]))),
    requests: recsColdPool,
  },
];

/** The search scenarios' pool: every sample query, once the index is ready. */
async function searchPool({ sample, baseUrl }: ScenarioContext): Promise<BenchRequest[]> {
  await searchIndexReady(baseUrl);
  return (sample.searchQueries ?? []).map((q) => ({ path: `/api/v1/search?q=${encodeURIComponent(q)}&limit=20` }));
}

/** The index is built after the server listens (the database fallback answers meanwhile): wait for it. */
async function searchIndexReady(baseUrl: string, timeoutMs = 30 * 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${baseUrl}/api/v1/search?q=app&limit=1`);
    if (res.ok && (await res.json()).degraded === false) return;
    if (Date.now() > deadline) throw new Error('the search index was not ready in time');
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** At most this many published apps in the sample (a fixed pseudo-random subset of a larger catalog). */
const SAMPLE_APPS = 100_000;

export async function loadSample(db: Db): Promise<Sample> {
  const ids = await db.query<{ id: string }>(`SELECT id FROM apps WHERE status = 'published' ORDER BY md5(id::text) LIMIT ${SAMPLE_APPS}`);
  const categories = await db.query<{ slug: string }>('SELECT slug FROM categories WHERE parent_slug IS NULL ORDER BY position');
  return {
    publishedAppIds: ids.rows.map((r) => r.id),
    topCategories: categories.rows.map((r) => r.slug),
    searchQueries: await searchQueries(db),
  };
}

async function searchQueries(db: Db): Promise<string[]> {
  const { rows } = await db.query<{ name: string; keywords: string[] }>(`SELECT name, keywords FROM apps WHERE status = 'published' ORDER BY id LIMIT 2000`);
  const words = (s: string) => s.toLowerCase().match(/[\p{L}\p{N}]{3,}/gu) ?? [];
  const nameWords = new Set(rows.flatMap((r) => words(r.name)));
  const counts = new Map<string, number>();
  for (const r of rows) for (const w of [...words(r.name), ...r.keywords.flatMap(words)]) counts.set(w, (counts.get(w) ?? 0) + 1);
  const common = [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 100)
    .map(([w]) => w);
  // each query once (case-insensitively): the pool is drawn uniformly, duplicates would only skew it
  const seen = new Set<string>();
  return [...rows.slice(0, 500).map((r) => r.name), ...[...nameWords].slice(0, 500), ...common].filter((q) => {
    const k = q.toLowerCase();
    return !seen.has(k) && (seen.add(k), true);
  });
}

// ---------------------------------------------------------------- charts (bench/charts.ts runs this one on its dataset)

const CHARTS = ['top-free', 'top-paid', 'top-grossing', 'trending', 'new'];
const CHART_COUNTRIES = ['US', 'GB', 'DE', 'JP'];

/**
 * Every chart × (overall and each top-level category) × 4 countries at limit=25, and the overall charts at
 * limit=100: ~560 requests. Waits for the search index first: its build (minutes at 2M apps, in a worker thread)
 * would otherwise take a core from the measured run.
 */
async function chartsPool({ sample, baseUrl }: ScenarioContext): Promise<BenchRequest[]> {
  await searchIndexReady(baseUrl);
  const pool: BenchRequest[] = [];
  for (const country of CHART_COUNTRIES) {
    for (const chart of CHARTS) {
      for (const category of ['', ...sample.topCategories]) {
        pool.push({ path: `/api/v1/charts?chart=${chart}&country=${country}${category ? `&category=${category}` : ''}&limit=25` });
      }
      pool.push({ path: `/api/v1/charts?chart=${chart}&country=${country}&limit=100` });
    }
  }
  return pool;
}

/** After the run: how full the overall US charts are, and their number one. */
async function chartsCheck({ baseUrl }: ScenarioContext): Promise<string[]> {
  const lines: string[] = [];
  for (const chart of CHARTS) {
    const res = await fetch(`${baseUrl}/api/v1/charts?chart=${chart}&country=US&limit=100`);
    if (!res.ok) {
      lines.push(`${chart} US: HTTP ${res.status}`);
      continue;
    }
    const body = (await res.json()) as { computedAt?: string; items?: { rank: number; app?: { name?: string } }[] };
    const items = body.items ?? [];
    lines.push(`${chart} US overall: ${items.length} items${items[0] ? `, #1 ${items[0].app?.name}` : ''} (computed ${body.computedAt ?? '?'})`);
  }
  return lines;
}

// ---------------------------------------------------------------- recommendations (bench/recs.ts runs this one on its dataset)

const RECS_SESSION_AGENT = 'orchard-bench recs';
const RECS_COLD_SESSION_AGENT = 'orchard-bench recs-cold-start';
let recsStarted: Date | null = null;
let recsProbe: string | null = null;

let recsTokens: string[] = [];

/**
 * The recs scenario's users: a sample of users with a library (a fixed pseudo-random order of ids), each with a
 * session written straight into the database before the precompute, which computes their rows.
 */
async function signInRecsUsers({ withDb }: Omit<ScenarioContext, 'baseUrl'>): Promise<void> {
  const users = Number(process.env.BENCH_RECS_USERS ?? 20_000);
  recsTokens = await withDb(async (db) => {
    await db.query('DELETE FROM sessions WHERE user_agent = $1', [RECS_SESSION_AGENT]);
    return signIn(db, await usersWithLibraries(db, 0, users), RECS_SESSION_AGENT);
  });
}

/** One request per user of signInRecsUsers. Waits for the search index and for the chart run the server's worker schedules at start. */
async function recsPool({ baseUrl, withDb }: ScenarioContext): Promise<BenchRequest[]> {
  if (!recsTokens.length) throw new Error('the recs scenario signs its users in before the server starts (prepare)');
  await searchIndexReady(baseUrl);
  await withDb((db) => chartRunsSettled(db));
  recsStarted = new Date();
  recsProbe = recsTokens[0];
  return recsTokens.map((t) => ({ path: '/api/v1/me/recommendations', headers: { authorization: `Bearer ${t}` } }));
}

/** Other users with a library, signed in now (after the precompute), their stored rows (if any) dropped. */
async function recsColdPool({ baseUrl, withDb }: ScenarioContext): Promise<BenchRequest[]> {
  const users = Number(process.env.BENCH_RECS_COLD_USERS ?? 100_000);
  await searchIndexReady(baseUrl);
  return withDb(async (db) => {
    await chartRunsSettled(db);
    await db.query('DELETE FROM sessions WHERE user_agent = $1', [RECS_COLD_SESSION_AGENT]);
    const ids = await usersWithLibraries(db, Number(process.env.BENCH_RECS_USERS ?? 20_000) * 2, users);
    await db.query('DELETE FROM recs_user_rows WHERE user_id = ANY($1::uuid[])', [ids]);
    const tokens = await signIn(db, ids, RECS_COLD_SESSION_AGENT);
    return tokens.map((t) => ({ path: '/api/v1/me/recommendations', headers: { authorization: `Bearer ${t}` } }));
  });
}

/** Up to `count` users with a library, after skipping `skip` users of a fixed pseudo-random order. */
async function usersWithLibraries(db: Db, skip: number, count: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT u.id FROM (SELECT id FROM users WHERE role = 'user' ORDER BY md5(id::text) OFFSET $1 LIMIT $2) u
      WHERE EXISTS (SELECT 1 FROM owned_apps o WHERE o.user_id = u.id) LIMIT $3`,
    [skip, Math.ceil(count * 1.2) + 100, count],
  );
  if (!rows.length) throw new Error('the recs scenarios need users with libraries (owned_apps): run them through bench/recs.ts');
  return rows.map((r) => r.id);
}

/** A session for each user, written straight into the database; their bearer tokens. */
async function signIn(db: Db, userIds: string[], agent: string): Promise<string[]> {
  const tokens = userIds.map(() => `orc_${randomBytes(32).toString('base64url')}`);
  await db.query(
    `INSERT INTO sessions (id, user_id, token_hash, expires_at, user_agent)
     SELECT gen_random_uuid(), u, decode(h, 'hex'), now() + interval '1 day', $3 FROM unnest($1::uuid[], $2::text[]) AS s(u, h)`,
    [userIds, tokens.map((t) => createHash('sha256').update(t).digest('hex')), agent],
  );
  return tokens;
}

async function chartRunsSettled(db: Db, timeoutMs = 20 * 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM chart_runs WHERE status IN ('scheduled', 'running') AND slot > now() - interval '2 hours'`,
    );
    if (rows[0].n === 0) break;
    if (Date.now() > deadline) throw new Error('a chart run was still pending after 20 minutes');
    await new Promise((r) => setTimeout(r, 1000));
  }
  await new Promise((r) => setTimeout(r, 2000)); // ranking.computed reaches the server
}

/** After the run: a user's rows, and whether a chart run or a recommendations build ran meanwhile. */
async function recsCheck({ baseUrl, withDb }: ScenarioContext): Promise<string[]> {
  const lines: string[] = [];
  if (recsProbe) {
    const res = await fetch(`${baseUrl}/api/v1/me/recommendations`, { headers: { authorization: `Bearer ${recsProbe}` } });
    const body = (await res.json()) as { rows?: { title: string; items: unknown[] }[] };
    lines.push(`a user's rows: ${(body.rows ?? []).map((r) => `${r.title} (${r.items.length})`).join('; ') || `none (HTTP ${res.status})`}`);
  }
  const since = recsStarted ?? new Date();
  const { charts, builds } = await withDb(async (db) => ({
    charts: (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM chart_runs WHERE started_at >= $1`, [since])).rows[0].n,
    builds: (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM recs_builds WHERE built_at >= $1`, [since])).rows[0].n,
  }));
  if (charts || builds) lines.push(`⚠ during the measurement: ${charts} chart run(s), ${builds} recommendations build(s) (answers were recomputed)`);
  return lines;
}
