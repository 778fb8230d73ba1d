// Drives a chart world (world.ts) through a running Orchard: organic history straight into the daily statistics
// (as a bulk load would), campaign acquisitions of past days as the library's app.downloaded events (through the
// real statistics consumer), today's through the purchase and download API (which issues install tokens; the
// genuine rise's earlier installs get the token the library issued with their download, on its day), fabricated
// and genuine SDK sessions through the ingestion endpoint, then the chart run and the charts read through the
// rankings service.
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { recordEvents } from '../../platform/bus/index.ts';
import type { Db } from '../../platform/db/index.ts';
import { mulberry32 } from '../../platform/rng.ts';
import { rebuildSignals, type RankingsService, type RunResult } from '../../modules/rankings/index.ts';
import {
  ATTACK_FAMILIES,
  CAMPAIGN_DAYS,
  generateWorld,
  type AccountPlan,
  type AppPlan,
  type CampaignPlan,
  type ChartWorld,
  type Family,
  type FabricatedSession,
} from './world.ts';

export interface ChartSimulationTarget {
  app: FastifyInstance;
  db: Db;
  openSession: (userId: string) => Promise<{ token: string }>;
  /**
   * The install token the library issued with a download of `appId` at `issuedAtMs` (the library's own issuer): the
   * genuine rise's downloads of past days are recorded as their events, their SDKs report with these tokens.
   */
  installToken: (appId: string, issuedAtMs: number) => Promise<string>;
  rankings: { compute(): Promise<RunResult>; service: RankingsService };
  nudge: () => void;
  log?: (line: string) => void;
}

export interface SessionCounts {
  sent: number;
  accepted: number;
  refused: number;
  duplicates: number;
  byReason: Record<string, number>;
}

export interface FamilyOutcome {
  family: Family;
  volume: number;
  /** Rank in the category's top free (null: not charted). */
  topFree: number | null;
  trendingCategory: number | null;
  trendingOverall: number | null;
  /** What the statistics consumer made of the target's week (campaign and organic): trusted acquirers (trending counts them) and trusted downloads. */
  week: { firstDownloads: number; trustedAcquirers: number; trustedDownloads: number };
  /** Fabricated sessions for attacks; the real installs' sessions for the genuine rise. */
  sessions: SessionCounts;
}

export interface DoneWhen {
  name: string;
  pass: boolean;
}

export interface ChartSimulationReport {
  seed: number;
  category: string;
  incumbents: number;
  fifthVolume: number;
  families: FamilyOutcome[];
  doneWhen: DoneWhen[];
  seconds: number;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const COUNTRY = 'US';
const DECOYS = 4;
const EVENT_BATCH = 500;
const SESSION_BATCH = 500;
const TOP = 10;

export async function simulateCharts(target: ChartSimulationTarget, seed: number): Promise<ChartSimulationReport> {
  const started = performance.now();
  const log = target.log ?? (() => {});
  const world = generateWorld(seed);
  const now = Date.now();
  const store = await setUpStore(target.db, world, now);
  log(`seed ${seed}: ${world.incumbents.length} incumbents in '${store.category}', #5 weekly volume ${Math.round(world.fifthVolume)}`);

  const campaigns = world.campaigns.map((plan) => ({ plan, appId: store.tails[plan.target] }));
  const accounts = new Map<CampaignPlan, string[]>();
  for (const { plan } of campaigns) accounts.set(plan, await insertAccounts(target.db, plan.accounts, now));
  await recordEventAcquisitions(target.db, campaigns, accounts, store);
  target.nudge();

  await waitForSignals(target, world, campaigns, (plan, a) => !viaApi(plan, a));
  log(`seed ${seed}: event acquisitions counted (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  const tokens = new Map<CampaignPlan, { own: Map<number, string>; otherApp: string[] }>();
  for (const { plan, appId } of campaigns) tokens.set(plan, await acquireThroughApi(target, plan, accounts.get(plan)!, appId, store.decoys, now));
  await waitForSignals(target, world, campaigns, () => true);
  log(`seed ${seed}: API acquisitions counted (${((performance.now() - started) / 1000).toFixed(1)} s)`);

  const sessions = new Map<CampaignPlan, SessionCounts>();
  for (const { plan, appId } of campaigns) {
    const key = await sdkKey(target, appId);
    const own = tokens.get(plan)!;
    const batch = plan.family === 'genuine-rise' ? genuineSessions(plan, own.own, now) : fabricate(plan.fabricated, own.otherApp, now);
    sessions.set(plan, await report(target.app, key, batch));
  }

  const run = await target.rankings.compute();
  if (run.status !== 'done') throw new Error(`the chart run was skipped: ${run.reason}`);
  const charts = {
    topFree: await target.rankings.service.chartIds('top-free', COUNTRY, store.category),
    trendingCategory: await target.rankings.service.chartIds('trending', COUNTRY, store.category),
    trendingOverall: await target.rankings.service.chartIds('trending', COUNTRY),
  };
  const rankIn = (ids: string[], id: string) => (ids.includes(id) ? ids.indexOf(id) + 1 : null);
  const weeks = await weekFigures(
    target.db,
    campaigns.map((c) => c.appId),
  );
  const families = campaigns.map(
    ({ plan, appId }): FamilyOutcome => ({
      family: plan.family,
      volume: plan.volume,
      topFree: rankIn(charts.topFree, appId),
      trendingCategory: rankIn(charts.trendingCategory, appId),
      trendingOverall: rankIn(charts.trendingOverall, appId),
      week: weeks.get(appId) ?? { firstDownloads: 0, trustedAcquirers: 0, trustedDownloads: 0 },
      sessions: sessions.get(plan)!,
    }),
  );
  return {
    seed,
    category: store.category,
    incumbents: world.incumbents.length,
    fifthVolume: Math.round(world.fifthVolume),
    families,
    doneWhen: doneWhen(families),
    seconds: Math.round(performance.now() - started) / 1000,
  };
}

// ---------------------------------------------------------------- outcomes

const inTop = (rank: number | null) => rank !== null && rank <= TOP;

export function doneWhen(families: FamilyOutcome[]): DoneWhen[] {
  const attacks = families.filter((f) => (ATTACK_FAMILIES as readonly string[]).includes(f.family));
  const genuine = families.find((f) => f.family === 'genuine-rise');
  return [
    {
      name: `no attack target in its category top ${TOP} or any trending top ${TOP}`,
      pass: attacks.every((f) => !inTop(f.topFree) && !inTop(f.trendingCategory) && !inTop(f.trendingOverall)),
    },
    { name: 'all fabricated sessions refused', pass: attacks.every((f) => f.sessions.accepted === 0 && f.sessions.refused === f.sessions.sent) },
    { name: `genuine-rise enters the category top ${TOP}`, pass: !!genuine && inTop(genuine.topFree) },
  ];
}

// ---------------------------------------------------------------- the store

interface Store {
  category: string;
  incumbents: string[];
  tails: string[];
  decoys: string[];
  /** Current version id of each app the simulation downloads. */
  versions: Map<string, string>;
}

const dayAgo = (now: number, n: number) => new Date(now - n * DAY_MS).toISOString().slice(0, 10);

/** Picks the world's apps among the seeded free apps, moves them into the target category and writes their history. */
async function setUpStore(db: Db, world: ChartWorld, now: number): Promise<Store> {
  const { rows: categories } = await db.query<{ slug: string }>('SELECT slug FROM categories WHERE parent_slug IS NULL ORDER BY slug');
  const category = categories[world.categoryIndex % categories.length].slug;
  const { rows: free } = await db.query<{ id: string; category: string; version_id: string }>(
    `SELECT a.id, a.category, v.id AS version_id FROM apps a JOIN app_versions v ON v.app_id = a.id AND v.version = a.current_version AND v.status = 'published'
      WHERE a.status = 'published' AND a.is_free AND v.binary_sha256 IS NOT NULL ORDER BY a.id`,
  );
  const worldApps = [...world.incumbents, ...world.tails];
  const picked = free.slice(0, worldApps.length);
  const decoys = free
    .slice(worldApps.length)
    .filter((a) => a.category !== category)
    .slice(0, DECOYS);
  if (picked.length < worldApps.length || decoys.length < DECOYS) {
    throw new Error(`the chart simulation needs ${worldApps.length + DECOYS} free published apps; the catalog has ${free.length}`);
  }
  const ids = picked.map((a) => a.id);
  await db.query(
    `UPDATE apps a SET category = $1, rating_count = p.count, rating_average = p.average, published_at = now() - interval '400 days'
       FROM unnest($2::uuid[], $3::int[], $4::float8[]) AS p (id, count, average) WHERE a.id = p.id`,
    [category, ids, worldApps.map((a) => a.ratingCount), worldApps.map((a) => a.ratingAverage)],
  );
  await db.query(`UPDATE app_versions SET published_at = now() - interval '400 days' WHERE app_id = ANY($1::uuid[])`, [ids]);
  // the category is the world's alone: other seeded apps in it stop charting, the world's seeded figures go
  const inCategory = `SELECT id FROM apps WHERE category = $1`;
  await db.query(`DELETE FROM app_daily_stats WHERE app_id IN (${inCategory})`, [category]);
  await db.query(`DELETE FROM app_engagement WHERE app_id IN (${inCategory})`, [category]);
  await writeOrganic(db, ids, worldApps, now, world.seed);
  await rebuildSignals(db, dayAgo(now, 0));
  return {
    category,
    incumbents: ids.slice(0, world.incumbents.length),
    tails: ids.slice(world.incumbents.length),
    decoys: decoys.map((a) => a.id),
    versions: new Map([...picked, ...decoys].map((a) => [a.id, a.version_id])),
  };
}

/**
 * Organic history (every first download a trusted acquirer, 50-80% of them activated: the apps use the SDK), an
 * organic engagement row per app, and the tail apps' raw SDK sessions (organicSessions).
 */
async function writeOrganic(db: Db, ids: string[], apps: AppPlan[], now: number, seed: number): Promise<void> {
  // deterministic per app: activation rate 0.5-0.8, dau/mau 0.1-0.3, retention 0.2-0.4, 3-8 minutes a session
  const unit = (i: number, salt: number) => (((Math.sin((seed + 1) * 12.9898 + i * 78.233 + salt) * 43758.5453) % 1) + 1) % 1;
  const rows = ids.flatMap((appId, i) =>
    apps[i].daily.map((n, daysAgo) => ({ appId, day: dayAgo(now, daysAgo), n, activations: Math.round(n * (0.5 + 0.3 * unit(i, 4))) })).filter((r) => r.n > 0),
  );
  await db.query(
    `INSERT INTO app_daily_stats (app_id, country, day, first_downloads, unique_downloaders, trusted_downloads, trusted_acquirers, activations)
     SELECT app_id, $1, day, n, n, n, n, activations FROM unnest($2::uuid[], $3::date[], $4::int[], $5::int[]) AS r (app_id, day, n, activations)`,
    [COUNTRY, rows.map((r) => r.appId), rows.map((r) => r.day), rows.map((r) => r.n), rows.map((r) => r.activations)],
  );
  await db.query(
    `INSERT INTO app_engagement (app_id, dau, mau, day7_retention, avg_session_minutes)
     SELECT id, round(mau * ratio)::int, mau, retention, minutes FROM unnest($1::uuid[], $2::int[], $3::float8[], $4::float8[], $5::float8[])
       AS e (id, mau, ratio, retention, minutes)`,
    [
      ids,
      apps.map((a) => Math.max(10, Math.round(a.daily.reduce((x, y) => x + y, 0) * 2))),
      ids.map((_, i) => 0.1 + 0.2 * unit(i, 1)),
      ids.map((_, i) => 0.2 + 0.2 * unit(i, 2)),
      ids.map((_, i) => 3 + 5 * unit(i, 3)),
    ],
  );
  const tails = ids.map((appId, i) => ({ appId, i })).filter(({ i }) => apps[i].role === 'tail');
  await writeSessions(
    db,
    tails.flatMap(({ appId, i }) =>
      organicSessions(
        appId,
        rows.filter((r) => r.appId === appId),
        now,
        seed * 1000 + i,
        0.1 + 0.2 * unit(i, 1),
        (3 + 5 * unit(i, 3)) * 60,
      ),
    ),
  );
}

/** Raw sessions are loaded for the last this many days (the aggregation reads 31 back at most). */
const ORGANIC_SESSION_DAYS = 31;

interface OrganicInstall {
  installKey: string;
  firstDay: string;
  sessions: { day: string; startedAt: Date; seconds: number }[];
}

/**
 * A tail app's organic installs as its SDK reported them, as a bulk load of the raw sessions would write them: each
 * activation of the history an install, opened on its day and on each later day with probability `activeShare`
 * (about its DAU/MAU and day-7 retention), sessions of about `seconds`. Without them, the hourly aggregation would
 * recompute the engagement of an app whose SDK reports today (the genuine rise) from today's sessions alone: zero.
 */
function organicSessions(
  appId: string,
  days: { day: string; activations: number }[],
  now: number,
  seed: number,
  activeShare: number,
  seconds: number,
): (OrganicInstall & { appId: string })[] {
  const r = mulberry32(seed);
  const today = Date.parse(`${dayAgo(now, 0)}T00:00:00Z`);
  const at = (daysAgo: number) => {
    const start = today - daysAgo * DAY_MS;
    return new Date(start + r() * Math.max((daysAgo === 0 ? now - 60_000 : start + DAY_MS) - start, 0));
  };
  const installs: (OrganicInstall & { appId: string })[] = [];
  for (const { day, activations } of days) {
    const first = Math.round((today - Date.parse(`${day}T00:00:00Z`)) / DAY_MS);
    for (let k = 0; k < activations; k++) {
      const active = [first, ...Array.from({ length: first }, (_, j) => first - 1 - j).filter(() => r() < activeShare)];
      installs.push({
        appId,
        installKey: randomUUID(),
        firstDay: day,
        sessions: active
          .filter((d) => d < ORGANIC_SESSION_DAYS)
          .map((d) => ({ day: dayAgo(now, d), startedAt: at(d), seconds: Math.round(seconds * (0.5 + r())) })),
      });
    }
  }
  return installs;
}

async function writeSessions(db: Db, installs: (OrganicInstall & { appId: string })[]): Promise<void> {
  await db.query('INSERT INTO engagement_installs (app_id, install_key, first_day) SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::date[])', [
    installs.map((i) => i.appId),
    installs.map((i) => i.installKey),
    installs.map((i) => i.firstDay),
  ]);
  const sessions = installs.flatMap((i) => i.sessions.map((s) => ({ ...s, appId: i.appId, installKey: i.installKey })));
  for (let k = 0; k < sessions.length; k += 5000) {
    const batch = sessions.slice(k, k + 5000);
    await db.query(
      `INSERT INTO engagement_sessions (app_id, session_key, install_key, country, day, started_at, seconds)
       SELECT app_id, session_key, install_key, $1, day, started_at, seconds
         FROM unnest($2::uuid[], $7::uuid[], $3::uuid[], $4::date[], $5::timestamptz[], $6::int[]) AS s (app_id, session_key, install_key, day, started_at, seconds)`,
      [
        COUNTRY,
        batch.map((s) => s.appId),
        batch.map((s) => s.installKey),
        batch.map((s) => s.day),
        batch.map((s) => s.startedAt),
        batch.map((s) => s.seconds),
        batch.map(() => randomUUID()),
      ],
    );
  }
}

/** The campaign's accounts, written as a bulk load would (their past: creation time and earlier apps). */
async function insertAccounts(db: Db, plans: AccountPlan[], now: number): Promise<string[]> {
  const ids = plans.map(() => randomUUID());
  const hour = Math.floor(now / HOUR_MS) * HOUR_MS;
  await db.query(
    `INSERT INTO users (id, email, display_name, password_hash, country, created_at)
     SELECT id, id || '@chart-simulation.invalid', 'Simulated', '!simulated-account', $1, created FROM unnest($2::uuid[], $3::timestamptz[]) AS u (id, created)`,
    [COUNTRY, ids, plans.map((p) => new Date(hour - p.createdHoursAgo * HOUR_MS + p.minute * 60_000))],
  );
  const prior = plans.map((p, i) => ({ id: ids[i], n: p.priorApps })).filter((p) => p.n > 0);
  if (prior.length) {
    await db.query('INSERT INTO chart_accounts (user_id, apps_downloaded) SELECT * FROM unnest($1::uuid[], $2::int[])', [
      prior.map((p) => p.id),
      prior.map((p) => p.n),
    ]);
  }
  return ids;
}

/**
 * Today's acquisitions of the genuine rise go through the purchase and download API: their install tokens are what
 * its SDK reports sessions with. Every other acquisition is recorded as the library's first-download event.
 */
const viaApi = (plan: CampaignPlan, a: AccountPlan) => plan.family === 'genuine-rise' && a.acquireDaysAgo === 0;

/** Acquisitions not made through the API, oldest day first, as the library's first-download events (a decoy app first where planned). */
async function recordEventAcquisitions(
  db: Db,
  campaigns: { plan: CampaignPlan; appId: string }[],
  accounts: Map<CampaignPlan, string[]>,
  store: Store,
): Promise<void> {
  const now = Date.now();
  const download = (appId: string, userId: string, daysAgo: number) => ({
    type: 'app.downloaded',
    aggregateId: appId,
    payload: { appId, versionId: store.versions.get(appId)!, userId, kind: 'first', day: dayAgo(now, daysAgo), firstToday: true },
  });
  const dated = campaigns.flatMap(({ plan, appId }) =>
    plan.accounts.flatMap((a, i) => {
      if (viaApi(plan, a)) return [];
      const userId = accounts.get(plan)![i];
      const decoy = store.decoys[i % store.decoys.length];
      return [...(a.decoyFirst ? [download(decoy, userId, a.acquireDaysAgo)] : []), download(appId, userId, a.acquireDaysAgo)].map((e) => ({
        daysAgo: a.acquireDaysAgo,
        e,
      }));
    }),
  );
  const events = dated.sort((x, y) => y.daysAgo - x.daysAgo).map((d) => d.e); // stable: decoys stay first
  for (let i = 0; i < events.length; i += EVENT_BATCH) await db.tx((q) => recordEvents(q, events.slice(i, i + EVENT_BATCH)));
  // the library's record of those downloads: a later download by the same account is a re-download
  await db.query(
    `INSERT INTO app_user_downloads (user_id, app_id, last_version, first_downloaded_at, last_downloaded_at)
     SELECT u.user_id, u.app_id, a.current_version, u.day, u.day FROM unnest($1::uuid[], $2::uuid[], $3::date[]) AS u (user_id, app_id, day)
       JOIN apps a ON a.id = u.app_id
     ON CONFLICT DO NOTHING`,
    [events.map((e) => e.payload.userId), events.map((e) => e.payload.appId), events.map((e) => e.payload.day)],
  );
}

/**
 * The genuine rise's reported installs' tokens, by account: today's get the app (POST /purchases) and download it
 * through the API; the earlier ones (acquired on their day, recorded as events) have the token the library issued
 * with that download (downloadedAt). Attack campaigns get decoy apps through the API, after their target, for real
 * tokens of another app to forge sessions with.
 */
async function acquireThroughApi(
  target: ChartSimulationTarget,
  plan: CampaignPlan,
  userIds: string[],
  appId: string,
  decoys: string[],
  now: number,
): Promise<{ own: Map<number, string>; otherApp: string[] }> {
  const own = new Map<number, string>();
  const otherApp: string[] = [];
  for (const [i, a] of plan.accounts.entries()) {
    if (!viaApi(plan, a)) {
      if (a.activeDaysAgo.length) own.set(i, await target.installToken(appId, downloadedAt(now, a.acquireDaysAgo, i)));
      continue;
    }
    const { token } = await target.openSession(userIds[i]);
    own.set(i, await getAndDownload(target.app, token, appId, i));
  }
  if (plan.family !== 'genuine-rise') {
    // the campaign's first account (its target already counted) gets two decoys
    const { token } = await target.openSession(userIds[0]);
    for (const decoy of decoys.slice(0, 2)) otherApp.push(await getAndDownload(target.app, token, decoy, 0));
  }
  return { own, otherApp };
}

async function getAndDownload(app: FastifyInstance, token: string, appId: string, key: number): Promise<string> {
  const headers = { authorization: `Bearer ${token}` };
  const remoteAddress = `10.${(key >> 16) & 255}.${(key >> 8) & 255}.${key & 255}`;
  const got = await app.inject({
    method: 'POST',
    url: '/api/v1/purchases',
    headers: { ...headers, 'idempotency-key': randomUUID() },
    payload: { appId },
    remoteAddress,
  });
  if (got.statusCode >= 300) throw new Error(`getting ${appId} failed: ${got.statusCode} ${got.body}`);
  const link = await app.inject({ method: 'POST', url: `/api/v1/apps/${appId}/download`, headers, remoteAddress });
  if (link.statusCode >= 300) throw new Error(`downloading ${appId} failed: ${link.statusCode} ${link.body}`);
  return link.json().installToken as string;
}

/** Waits until the statistics consumer has counted the campaigns' acquisitions (those `counted` says, and the organic ones). */
async function waitForSignals(
  target: ChartSimulationTarget,
  world: ChartWorld,
  campaigns: { plan: CampaignPlan; appId: string }[],
  counted: (plan: CampaignPlan, a: AccountPlan) => boolean,
) {
  const ids = campaigns.map((c) => c.appId);
  const organic = campaigns.reduce((n, c) => n + world.tails[c.plan.target].daily.slice(0, CAMPAIGN_DAYS).reduce((a, b) => a + b, 0), 0);
  const expected = organic + campaigns.reduce((n, c) => n + c.plan.accounts.filter((a) => counted(c.plan, a)).length, 0);
  const since = dayAgo(Date.now(), CAMPAIGN_DAYS - 1);
  let last = -1;
  let still = 0;
  for (;;) {
    target.nudge();
    const { rows } = await target.db.query<{ n: number }>(
      'SELECT coalesce(sum(first_downloads), 0)::int AS n FROM app_daily_stats WHERE app_id = ANY($1::uuid[]) AND day >= $2::date',
      [ids, since],
    );
    if (rows[0].n >= expected) return;
    still = rows[0].n === last ? still + 1 : 0;
    if (still > 300) throw new Error(`the statistics consumer stopped at ${rows[0].n}/${expected} acquisitions`);
    last = rows[0].n;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function weekFigures(db: Db, appIds: string[]): Promise<Map<string, FamilyOutcome['week']>> {
  const { rows } = await db.query<{ app_id: string; first: number; acquirers: number; trusted: number }>(
    `SELECT app_id, sum(first_downloads)::int AS first, coalesce(sum(trusted_acquirers), 0)::int AS acquirers, sum(trusted_downloads)::float8 AS trusted
       FROM app_daily_stats WHERE app_id = ANY($1::uuid[]) AND day >= $2::date GROUP BY app_id`,
    [appIds, dayAgo(Date.now(), CAMPAIGN_DAYS - 1)],
  );
  return new Map(rows.map((r) => [r.app_id, { firstDownloads: r.first, trustedAcquirers: r.acquirers, trustedDownloads: Math.round(r.trusted) }]));
}

// ---------------------------------------------------------------- SDK sessions

/** A new SDK key of the app, made by its developer through the developer API. */
async function sdkKey(target: ChartSimulationTarget, appId: string): Promise<string> {
  const { rows } = await target.db.query<{ user_id: string }>('SELECT d.user_id FROM apps a JOIN developers d ON d.id = a.developer_id WHERE a.id = $1', [
    appId,
  ]);
  const { token } = await target.openSession(rows[0].user_id);
  const res = await target.app.inject({ method: 'POST', url: `/api/v1/developer/apps/${appId}/sdk-keys`, headers: { authorization: `Bearer ${token}` } });
  if (res.statusCode !== 201) throw new Error(`SDK key for ${appId}: ${res.statusCode} ${res.body}`);
  return res.json().key as string;
}

interface Session {
  sessionId: string;
  installId: string;
  installToken?: string;
  country: string;
  startedAt: string;
  durationSeconds: number;
}

const sdkId = () => randomBytes(12).toString('base64url');

/** A token of the right shape that this store never issued. */
export function forgedToken(): string {
  return `${randomBytes(37).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
}

/** A real token with one character of its MAC changed. */
export function tamperedToken(token: string): string {
  const i = token.length - 5;
  return token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
}

/** Sessions of installs that never downloaded the app: each names a new install. */
function fabricate(plans: FabricatedSession[], otherAppTokens: string[], now: number): Session[] {
  return plans.map((p, i) => {
    const real = otherAppTokens[i % otherAppTokens.length];
    const installToken = p.token === 'missing' ? undefined : p.token === 'forged' ? forgedToken() : p.token === 'tampered' ? tamperedToken(real) : real;
    return {
      sessionId: sdkId(),
      installId: sdkId(),
      ...(installToken === undefined ? {} : { installToken }),
      country: COUNTRY,
      startedAt: new Date(now - p.minutesAgo * 60_000).toISOString(),
      durationSeconds: p.seconds,
    };
  });
}

/** When an earlier genuine install was downloaded: in the first hours of its day (its sessions come later). */
function downloadedAt(now: number, daysAgo: number, i: number): number {
  return Date.parse(`${dayAgo(now, daysAgo)}T00:00:00Z`) + ((i * 37) % 7200) * 1000;
}

/**
 * The real installs' sessions: one on each day the install is active, on that day (reported late by the SDK: a
 * batch now), never before its token's download: today's at the last minute, earlier days' from the third hour on
 * (after downloadedAt).
 */
function genuineSessions(plan: CampaignPlan, installTokens: Map<number, string>, now: number): Session[] {
  const reported = Date.now();
  return [...installTokens].flatMap(([i, installToken]) =>
    plan.accounts[i].activeDaysAgo.map((daysAgo, k) => ({
      sessionId: sdkId(),
      installId: sdkId(),
      installToken,
      country: COUNTRY,
      startedAt: new Date(
        daysAgo === 0
          ? reported - ((i * 7 + k * 3) % 60) * 1000
          : Date.parse(`${dayAgo(now, daysAgo)}T03:00:00Z`) + ((i * 7919 + k * 613) % (20 * 3600)) * 1000,
      ).toISOString(),
      durationSeconds: 180 + ((i * 7 + k * 13) % 600),
    })),
  );
}

async function report(app: FastifyInstance, key: string, sessions: Session[]): Promise<SessionCounts> {
  const counts: SessionCounts = { sent: 0, accepted: 0, refused: 0, duplicates: 0, byReason: {} };
  for (let i = 0; i < sessions.length; i += SESSION_BATCH) {
    const batch = sessions.slice(i, i + SESSION_BATCH);
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/sdk/engagement',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ sessions: batch }),
    });
    if (res.statusCode !== 202) throw new Error(`SDK batch refused whole: ${res.statusCode} ${res.body}`);
    const answer = res.json() as { accepted: number; duplicates: number; refused: number; refusals: { reason: string }[] };
    counts.sent += batch.length;
    counts.accepted += answer.accepted;
    counts.duplicates += answer.duplicates;
    counts.refused += answer.refused;
    for (const r of answer.refusals) counts.byReason[r.reason] = (counts.byReason[r.reason] ?? 0) + 1;
  }
  return counts;
}

// ---------------------------------------------------------------- report

const rankText = (rank: number | null) => (rank === null ? '-' : inTop(rank) ? `**${rank}**` : String(rank));

export function formatReports(reports: ChartSimulationReport[]): string {
  const lines = [
    '| seed | family | volume | week: first dl / trusted acq. / trusted dl | top free (cat.) | trending (cat.) | trending (store) | sessions sent | refused | accepted |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of reports) {
    for (const f of r.families) {
      lines.push(
        `| ${r.seed} | ${f.family} | ${f.volume} | ${f.week.firstDownloads} / ${f.week.trustedAcquirers} / ${f.week.trustedDownloads} | ${rankText(f.topFree)} | ${rankText(f.trendingCategory)} | ${rankText(f.trendingOverall)} | ${f.sessions.sent} | ${f.sessions.refused} | ${f.sessions.accepted} |`,
      );
    }
  }
  lines.push(
    '',
    `ranks in bold are in a top ${TOP}; '-' is not charted. week figures include the tail app's organic downloads; genuine-rise sessions are real installs' (accepted is right).`,
  );
  for (const r of reports) {
    lines.push(`seed ${r.seed} ('${r.category}', ${r.incumbents} incumbents, #5 weekly volume ${r.fifthVolume}, ${r.seconds.toFixed(1)} s):`);
    for (const d of r.doneWhen) lines.push(`  ${d.pass ? 'PASS' : 'FAIL'}  ${d.name}`);
  }
  if (reports.length > 1) {
    lines.push('all seeds:');
    for (const [i, d] of reports[0].doneWhen.entries()) {
      const passed = reports.filter((r) => r.doneWhen[i].pass).length;
      lines.push(`  ${passed === reports.length ? 'PASS' : 'FAIL'}  ${d.name} (${passed}/${reports.length} seeds)`);
    }
  }
  return lines.join('\n');
}
