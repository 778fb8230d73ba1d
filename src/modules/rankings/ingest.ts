// The chart statistics consumer: turns downloads, sales and refunds into daily statistics per app, country and
// day, and folds them into the running decayed signals the hourly run reads. Batched: one transaction and a
// handful of statements for up to CONSUMER_BATCH events, whatever their mix.
//
// Manipulation resistance happens here, when a download is counted:
// - only first downloads feed charts (an account counts once per app; updates and re-downloads are counted apart);
// - each counts by the trust of its account (signals.ts accountTrust: new accounts, accounts with no other
//   activity and accounts flagged by review integrity weigh less);
// - fresh-account downloads arriving in a burst (many at once, outnumbering established accounts) count a
//   tenth of that again;
// - thin accounts (a whole history of at most two acquisitions) and lockstep cohorts (many of the app's
//   acquirers of the day created in the same hour: trust.ts) count a fifth and a tenth, however old they are;
// - only first downloads by accounts that are none of these (not fresh, thin, flagged or in a cohort) are
//   trusted acquirers, what trending counts.
import type { OrchardEvent } from '../../platform/bus/index.ts';
import type { Queryable } from '../../platform/db/index.ts';
import { accountFacts } from '../identity/index.ts';
import { flaggedAuthors } from '../reviews/index.ts';
import { halvingSql } from './compute.ts';
import { accountTrust, BURST_DISCOUNT, DAY_MS, fold, FRESH_ACCOUNT_DAYS, HALF_LIFE_DAYS, inBurst, type Decayed } from './signals.ts';
import {
  ACTIVATION_RATE_HALF_LIFE_DAYS,
  BASELINE_HALF_LIFE_DAYS,
  COHORT_DISCOUNT,
  COHORT_WINDOW_DAYS,
  cohortBucket,
  inCohort,
  isThin,
  THIN_DISCOUNT,
} from './trust.ts';

export const SIGNALS_CONSUMER = 'rankings.signals';
export const SIGNAL_EVENTS = ['app.downloaded', 'purchase.completed', 'subscription.renewed', 'transaction.revoked'] as const;
export const CONSUMER_BATCH = 200;

interface DayRow {
  appId: string;
  country: string;
  day: string;
  first: number;
  redownloads: number;
  updates: number;
  unique: number;
  trusted: number;
  fresh: number;
  acquirers: number;
  revenue: number;
}

const dayNumber = (day: string) => Math.floor(Date.parse(`${day}T00:00:00Z`) / DAY_MS);
const dayOf = (iso: string) => new Date(iso).toISOString().slice(0, 10);
const str = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** The durable batch handler, inside the transaction that marks the events processed. */
export async function applySignals(events: OrchardEvent<any>[], q: Queryable): Promise<void> {
  const userIds = events.map((e) => e.payload?.userId).filter(str);
  const accounts = await accountFacts(q, userIds);
  const rows = new Map<string, DayRow>();
  const row = (appId: string, country: string, day: string): DayRow => {
    const key = `${appId}|${country}|${day}`;
    let r = rows.get(key);
    if (!r) rows.set(key, (r = { appId, country, day, first: 0, redownloads: 0, updates: 0, unique: 0, trusted: 0, fresh: 0, acquirers: 0, revenue: 0 }));
    return r;
  };

  const downloads = events.filter((e) => e.type === 'app.downloaded');
  const firsts = downloads.filter((e) => e.payload.kind === 'first' && accounts.has(e.payload.userId));
  const flagged = await flaggedAuthors(
    q,
    firsts.map((e) => e.payload.userId),
  );
  const otherApps = await bumpAccounts(
    q,
    firsts.map((e) => e.payload.userId),
  );
  const today = await dayCounts(
    q,
    firsts.map((e) => ({ appId: e.payload.appId, country: accounts.get(e.payload.userId)!.country, day: e.payload.day })),
  );
  const cohorts = await bumpCohorts(
    q,
    firsts.map((e) => {
      const account = accounts.get(e.payload.userId)!;
      return { appId: e.payload.appId, country: account.country, day: e.payload.day, bucket: cohortBucket(account.createdAt) };
    }),
  );

  for (const e of events) {
    const p = e.payload ?? {};
    const account = str(p.userId) ? accounts.get(p.userId) : undefined;
    if (!str(p.appId) || !account) continue; // an account deleted since: nothing to attribute
    if (e.type === 'app.downloaded') {
      if (!str(p.day)) throw new Error(`malformed app.downloaded payload: ${JSON.stringify(p)}`);
      const r = row(p.appId, account.country, p.day);
      if (p.firstToday !== false) r.unique++;
      if (p.kind === 'redownload') r.redownloads++;
      else if (p.kind === 'update') r.updates++;
      else if (p.kind === 'first') {
        r.first++;
        const ageDays = (Date.parse(`${p.day}T12:00:00Z`) - account.createdAt.getTime()) / DAY_MS;
        const counts = today.get(`${p.appId}|${account.country}|${p.day}`) ?? { fresh: 0, established: 0, earlier: 0 };
        const fresh = ageDays < FRESH_ACCOUNT_DAYS;
        const before = otherApps.get(p.userId)?.shift() ?? 0;
        const isFlagged = flagged.has(p.userId);
        let w = accountTrust({ ageDays, otherApps: before, flagged: isFlagged });
        const thin = isThin(before);
        if (thin) w *= THIN_DISCOUNT;
        const cohortKey = `${p.appId}|${account.country}|${p.day}|${cohortBucket(account.createdAt)}`;
        const inBucket = (cohorts.get(cohortKey) ?? 0) + 1;
        cohorts.set(cohortKey, inBucket);
        const cohort = inCohort(inBucket, counts.earlier + counts.fresh + counts.established + 1);
        if (cohort) w *= COHORT_DISCOUNT;
        if (!fresh && !thin && !cohort && !isFlagged) r.acquirers++;
        if (fresh) {
          if (inBurst(counts.fresh, counts.established)) w *= BURST_DISCOUNT;
          counts.fresh++;
          r.fresh++;
        } else counts.established++;
        today.set(`${p.appId}|${account.country}|${p.day}`, counts);
        r.trusted += w;
      }
    } else {
      // sales and refunds: Production only, in the storefront's currency, on the day the event happened
      if (p.environment !== undefined && p.environment !== 'Production') continue;
      const price = Number(p.priceMilli);
      if (!Number.isSafeInteger(price) || price <= 0) continue;
      const r = row(p.appId, str(p.storefront) ? p.storefront : account.country, dayOf(e.occurredAt));
      r.revenue += e.type === 'transaction.revoked' ? -price : price;
    }
  }
  if (rows.size) await write(q, [...rows.values()]);
}

/**
 * Counts each account's first downloads in chart_accounts and returns, per account, how many apps it had got
 * before each of its downloads in this batch (in order): an account's first app is "no other activity".
 */
async function bumpAccounts(q: Queryable, userIds: string[]): Promise<Map<string, number[]>> {
  const added = new Map<string, number>();
  for (const id of userIds) added.set(id, (added.get(id) ?? 0) + 1);
  if (!added.size) return new Map();
  const ids = [...added.keys()].sort(); // a fixed lock order across concurrent batches
  const { rows } = await q.query<{ user_id: string; apps_downloaded: number }>(
    `INSERT INTO chart_accounts AS a (user_id, apps_downloaded)
     SELECT * FROM unnest($1::uuid[], $2::int[])
     ON CONFLICT (user_id) DO UPDATE SET apps_downloaded = a.apps_downloaded + EXCLUDED.apps_downloaded
     RETURNING user_id, apps_downloaded`,
    [ids, ids.map((id) => added.get(id)!)],
  );
  const before = new Map<string, number[]>();
  for (const r of rows) {
    const n = added.get(r.user_id)!;
    const start = r.apps_downloaded - n;
    before.set(
      r.user_id,
      Array.from({ length: n }, (_, i) => start + i),
    );
  }
  return before;
}

/**
 * The day's fresh and established first downloads so far, and the first downloads of the cohort window's earlier
 * days, for each (app, country, day) the batch touches.
 */
async function dayCounts(q: Queryable, all: { appId: string; country: string; day: string }[]) {
  const out = new Map<string, { fresh: number; established: number; earlier: number }>();
  const keys = [...new Map(all.map((k) => [`${k.appId}|${k.country}|${k.day}`, k])).values()];
  if (!keys.length) return out;
  const { rows } = await q.query<{ app_id: string; country: string; day: string; fresh: number; established: number; earlier: number }>(
    `SELECT k.app_id, k.country, to_char(k.day, 'YYYY-MM-DD') AS day,
            coalesce(sum(s.fresh_downloads) FILTER (WHERE s.day = k.day), 0)::int AS fresh,
            coalesce(sum(s.first_downloads - s.fresh_downloads) FILTER (WHERE s.day = k.day), 0)::int AS established,
            coalesce(sum(s.first_downloads) FILTER (WHERE s.day < k.day), 0)::int AS earlier
       FROM unnest($1::uuid[], $2::text[], $3::date[]) AS k (app_id, country, day)
       JOIN app_daily_stats s ON s.app_id = k.app_id AND s.country = k.country AND s.day BETWEEN k.day - $4::int AND k.day
      GROUP BY k.app_id, k.country, k.day`,
    [keys.map((k) => k.appId), keys.map((k) => k.country), keys.map((k) => k.day), COHORT_WINDOW_DAYS - 1],
  );
  for (const r of rows) out.set(`${r.app_id}|${r.country}|${r.day}`, { fresh: r.fresh, established: r.established, earlier: r.earlier });
  return out;
}

/**
 * Counts the batch's first-download accounts in their app's creation-hour buckets of the day (one statement) and
 * returns each bucket's count over the cohort window (COHORT_WINDOW_DAYS up to the day) before the batch: the
 * consumer adds the batch's own downloads one by one.
 */
async function bumpCohorts(q: Queryable, keys: { appId: string; country: string; day: string; bucket: number }[]): Promise<Map<string, number>> {
  const added = new Map<string, { appId: string; country: string; day: string; bucket: number; n: number }>();
  for (const k of keys) {
    const key = `${k.appId}|${k.country}|${k.day}|${k.bucket}`;
    const a = added.get(key);
    if (a) a.n++;
    else added.set(key, { ...k, n: 1 });
  }
  const out = new Map<string, number>();
  if (!added.size) return out;
  const list = [...added.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v); // a fixed lock order
  const { rows } = await q.query<{ app_id: string; country: string; day: string; bucket: number; acquirers: number; earlier: number }>(
    `WITH bumped AS (
       INSERT INTO chart_cohort_buckets AS c (app_id, country, day, bucket, acquirers)
       SELECT * FROM unnest($1::uuid[], $2::char(2)[], $3::date[], $4::int[], $5::int[])
       ON CONFLICT (app_id, country, day, bucket) DO UPDATE SET acquirers = c.acquirers + EXCLUDED.acquirers
       RETURNING app_id, country, day, bucket, acquirers
     )
     SELECT b.app_id, b.country, to_char(b.day, 'YYYY-MM-DD') AS day, b.bucket, b.acquirers,
            coalesce((SELECT sum(c.acquirers) FROM chart_cohort_buckets c
                       WHERE c.app_id = b.app_id AND c.country = b.country AND c.bucket = b.bucket
                         AND c.day BETWEEN b.day - $6::int AND b.day - 1), 0)::int AS earlier
       FROM bumped b`,
    [list.map((k) => k.appId), list.map((k) => k.country), list.map((k) => k.day), list.map((k) => k.bucket), list.map((k) => k.n), COHORT_WINDOW_DAYS - 1],
  );
  for (const r of rows) {
    const key = `${r.app_id}|${r.country}|${r.day}|${r.bucket}`;
    out.set(key, r.earlier + r.acquirers - added.get(key)!.n);
  }
  return out;
}

/** Adds the batch to the daily rows and folds it into the running signals (two statements). */
async function write(q: Queryable, rows: DayRow[]): Promise<void> {
  rows.sort((a, b) => (a.appId + a.country + a.day < b.appId + b.country + b.day ? -1 : 1));
  await q.query(
    `INSERT INTO app_daily_stats AS s (app_id, country, day, first_downloads, redownloads, updates, unique_downloaders, trusted_downloads, fresh_downloads, revenue_milli, trusted_acquirers)
     SELECT * FROM unnest($1::uuid[], $2::char(2)[], $3::date[], $4::int[], $5::int[], $6::int[], $7::int[], $8::real[], $9::int[], $10::bigint[], $11::int[])
     ON CONFLICT (app_id, country, day) DO UPDATE SET
       first_downloads = s.first_downloads + EXCLUDED.first_downloads, redownloads = s.redownloads + EXCLUDED.redownloads,
       updates = s.updates + EXCLUDED.updates, unique_downloaders = s.unique_downloaders + EXCLUDED.unique_downloaders,
       trusted_downloads = s.trusted_downloads + EXCLUDED.trusted_downloads, fresh_downloads = s.fresh_downloads + EXCLUDED.fresh_downloads,
       revenue_milli = s.revenue_milli + EXCLUDED.revenue_milli,
       trusted_acquirers = coalesce(s.trusted_acquirers, 0) + EXCLUDED.trusted_acquirers`,
    [
      rows.map((r) => r.appId),
      rows.map((r) => r.country),
      rows.map((r) => r.day),
      rows.map((r) => r.first),
      rows.map((r) => r.redownloads),
      rows.map((r) => r.updates),
      rows.map((r) => r.unique),
      rows.map((r) => r.trusted),
      rows.map((r) => r.fresh),
      rows.map((r) => r.revenue),
      rows.map((r) => r.acquirers),
    ],
  );
  // One fold per (app, country): a statement may not touch a row twice, so the batch's days are folded here first.
  const sums = new Map<
    string,
    { appId: string; country: string; week: Decayed; fast: Decayed; long: Decayed; revenue: Decayed; acqDay: Decayed; acqBase: Decayed }
  >();
  for (const r of rows) {
    if (r.trusted === 0 && r.revenue === 0 && r.acquirers === 0) continue;
    const key = `${r.appId}|${r.country}`;
    const day = dayNumber(r.day);
    const s = sums.get(key) ?? {
      appId: r.appId,
      country: r.country,
      week: { value: 0, lastDay: day },
      fast: { value: 0, lastDay: day },
      long: { value: 0, lastDay: day },
      revenue: { value: 0, lastDay: day },
      acqDay: { value: 0, lastDay: day },
      acqBase: { value: 0, lastDay: day },
    };
    s.week = fold(s.week, day, r.trusted, HALF_LIFE_DAYS.downloads);
    s.fast = fold(s.fast, day, r.trusted, HALF_LIFE_DAYS.downloadsFast);
    s.long = fold(s.long, day, r.trusted, ACTIVATION_RATE_HALF_LIFE_DAYS);
    s.revenue = fold(s.revenue, day, r.revenue, HALF_LIFE_DAYS.revenue);
    s.acqDay = fold(s.acqDay, day, r.acquirers, HALF_LIFE_DAYS.downloadsFast);
    s.acqBase = fold(s.acqBase, day, r.acquirers, BASELINE_HALF_LIFE_DAYS);
    sums.set(key, s);
  }
  if (!sums.size) return;
  const list = [...sums.values()];
  await q.query(
    `INSERT INTO app_chart_signals AS s (app_id, country, last_day, downloads_week, downloads_day, revenue_week, acquirers_day, acquirers_base, downloads_long)
     SELECT app_id, country, date '1970-01-01' + day, week, fast, revenue, acq_day, acq_base, long
       FROM unnest($1::uuid[], $2::char(2)[], $3::int[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::float8[])
         AS u (app_id, country, day, week, fast, revenue, acq_day, acq_base, long)
     ON CONFLICT (app_id, country) DO UPDATE SET
       ${foldSignalsSql()}`,
    [
      list.map((s) => s.appId),
      list.map((s) => s.country),
      list.map((s) => s.week.lastDay),
      list.map((s) => s.week.value),
      list.map((s) => s.fast.value),
      list.map((s) => s.revenue.value),
      list.map((s) => s.acqDay.value),
      list.map((s) => s.acqBase.value),
      list.map((s) => s.long.value),
    ],
  );
}

/** Every running sum of app_chart_signals and its half-life: all are "as of last_day", so every fold rebases them all. */
const SIGNAL_SUMS: [column: string, halfLifeDays: number][] = [
  ['downloads_week', HALF_LIFE_DAYS.downloads],
  ['downloads_day', HALF_LIFE_DAYS.downloadsFast],
  ['revenue_week', HALF_LIFE_DAYS.revenue],
  ['acquirers_day', HALF_LIFE_DAYS.downloadsFast],
  ['acquirers_base', BASELINE_HALF_LIFE_DAYS],
  ['downloads_long', ACTIVATION_RATE_HALF_LIFE_DAYS],
  ['activations_day', HALF_LIFE_DAYS.downloadsFast],
  ['activations_week', HALF_LIFE_DAYS.downloads],
  ['activations_long', ACTIVATION_RATE_HALF_LIFE_DAYS],
];

/** The ON CONFLICT assignments of an upsert into app_chart_signals (columns it does not insert are 0 in EXCLUDED). */
export function foldSignalsSql(): string {
  return ['last_day = greatest(s.last_day, EXCLUDED.last_day)', ...SIGNAL_SUMS.map(([c, h]) => `${c} = ${foldSql(c, h)}`)].join(',\n       ');
}

/** signals.ts fold() in SQL: both sums brought to the later of their two days, then added. */
function foldSql(column: string, halfLife: number): string {
  return `s.${column} * ${halvingSql('greatest(EXCLUDED.last_day - s.last_day, 0)', halfLife)}
        + EXCLUDED.${column} * ${halvingSql('greatest(s.last_day - EXCLUDED.last_day, 0)', halfLife)}`;
}

/**
 * Adds an app's new activations (installs' first attested sessions, per country and day of that session) to the
 * daily rows and folds them into the running signals (SDK ingestion calls it; two statements).
 */
export async function recordActivations(q: Queryable, appId: string, activations: { country: string; day: string; n: number }[]): Promise<void> {
  if (!activations.length) return;
  const rows = [...activations].sort((a, b) => (a.country + a.day < b.country + b.day ? -1 : 1));
  await q.query(
    `INSERT INTO app_daily_stats AS s (app_id, country, day, activations)
     SELECT $1::uuid, country, day, n FROM unnest($2::char(2)[], $3::date[], $4::int[]) AS u (country, day, n)
     ON CONFLICT (app_id, country, day) DO UPDATE SET activations = s.activations + EXCLUDED.activations`,
    [appId, rows.map((r) => r.country), rows.map((r) => r.day), rows.map((r) => r.n)],
  );
  const sums = new Map<string, { day: Decayed; week: Decayed; long: Decayed }>();
  for (const r of rows) {
    const day = dayNumber(r.day);
    const s = sums.get(r.country) ?? { day: { value: 0, lastDay: day }, week: { value: 0, lastDay: day }, long: { value: 0, lastDay: day } };
    s.day = fold(s.day, day, r.n, HALF_LIFE_DAYS.downloadsFast);
    s.week = fold(s.week, day, r.n, HALF_LIFE_DAYS.downloads);
    s.long = fold(s.long, day, r.n, ACTIVATION_RATE_HALF_LIFE_DAYS);
    sums.set(r.country, s);
  }
  const list = [...sums.entries()];
  await q.query(
    `INSERT INTO app_chart_signals AS s (app_id, country, last_day, activations_day, activations_week, activations_long)
     SELECT $1::uuid, country, date '1970-01-01' + day, act_day, act_week, act_long
       FROM unnest($2::char(2)[], $3::int[], $4::float8[], $5::float8[], $6::float8[]) AS u (country, day, act_day, act_week, act_long)
     ON CONFLICT (app_id, country) DO UPDATE SET
       ${foldSignalsSql()}`,
    [
      appId,
      list.map(([country]) => country),
      list.map(([, s]) => s.day.lastDay),
      list.map(([, s]) => s.day.value),
      list.map(([, s]) => s.week.value),
      list.map(([, s]) => s.long.value),
    ],
  );
}
