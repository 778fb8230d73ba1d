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
import { BASELINE_HALF_LIFE_DAYS, COHORT_DISCOUNT, cohortBucket, inCohort, isThin, THIN_DISCOUNT } from './trust.ts';

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
        const counts = today.get(`${p.appId}|${account.country}|${p.day}`) ?? { fresh: 0, established: 0 };
        const fresh = ageDays < FRESH_ACCOUNT_DAYS;
        const before = otherApps.get(p.userId)?.shift() ?? 0;
        const isFlagged = flagged.has(p.userId);
        let w = accountTrust({ ageDays, otherApps: before, flagged: isFlagged });
        const thin = isThin(before);
        if (thin) w *= THIN_DISCOUNT;
        const cohortKey = `${p.appId}|${account.country}|${p.day}|${cohortBucket(account.createdAt)}`;
        const inBucket = (cohorts.get(cohortKey) ?? 0) + 1;
        cohorts.set(cohortKey, inBucket);
        const cohort = inCohort(inBucket, counts.fresh + counts.established + 1);
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

/** The day's fresh and established first downloads so far, for each (app, country, day) the batch touches. */
async function dayCounts(q: Queryable, keys: { appId: string; country: string; day: string }[]) {
  const out = new Map<string, { fresh: number; established: number }>();
  if (!keys.length) return out;
  const { rows } = await q.query<{ app_id: string; country: string; day: string; fresh: number; established: number }>(
    `SELECT s.app_id, s.country, to_char(s.day, 'YYYY-MM-DD') AS day, s.fresh_downloads AS fresh, s.first_downloads - s.fresh_downloads AS established
       FROM app_daily_stats s JOIN unnest($1::uuid[], $2::text[], $3::date[]) AS k (app_id, country, day)
         ON s.app_id = k.app_id AND s.country = k.country AND s.day = k.day`,
    [keys.map((k) => k.appId), keys.map((k) => k.country), keys.map((k) => k.day)],
  );
  for (const r of rows) out.set(`${r.app_id}|${r.country}|${r.day}`, { fresh: r.fresh, established: r.established });
  return out;
}

/**
 * Counts the batch's first-download accounts in their app's creation-hour buckets of the day (one statement) and
 * returns each bucket's count before the batch: the consumer adds the batch's own downloads one by one.
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
  const { rows } = await q.query<{ app_id: string; country: string; day: string; bucket: number; acquirers: number }>(
    `INSERT INTO chart_cohort_buckets AS c (app_id, country, day, bucket, acquirers)
     SELECT * FROM unnest($1::uuid[], $2::char(2)[], $3::date[], $4::int[], $5::int[])
     ON CONFLICT (app_id, country, day, bucket) DO UPDATE SET acquirers = c.acquirers + EXCLUDED.acquirers
     RETURNING app_id, country, to_char(day, 'YYYY-MM-DD') AS day, bucket, acquirers`,
    [list.map((k) => k.appId), list.map((k) => k.country), list.map((k) => k.day), list.map((k) => k.bucket), list.map((k) => k.n)],
  );
  for (const r of rows) {
    const key = `${r.app_id}|${r.country}|${r.day}|${r.bucket}`;
    out.set(key, r.acquirers - added.get(key)!.n);
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
  const sums = new Map<string, { appId: string; country: string; week: Decayed; fast: Decayed; revenue: Decayed; acqDay: Decayed; acqBase: Decayed }>();
  for (const r of rows) {
    if (r.trusted === 0 && r.revenue === 0 && r.acquirers === 0) continue;
    const key = `${r.appId}|${r.country}`;
    const day = dayNumber(r.day);
    const s = sums.get(key) ?? {
      appId: r.appId,
      country: r.country,
      week: { value: 0, lastDay: day },
      fast: { value: 0, lastDay: day },
      revenue: { value: 0, lastDay: day },
      acqDay: { value: 0, lastDay: day },
      acqBase: { value: 0, lastDay: day },
    };
    s.week = fold(s.week, day, r.trusted, HALF_LIFE_DAYS.downloads);
    s.fast = fold(s.fast, day, r.trusted, HALF_LIFE_DAYS.downloadsFast);
    s.revenue = fold(s.revenue, day, r.revenue, HALF_LIFE_DAYS.revenue);
    s.acqDay = fold(s.acqDay, day, r.acquirers, HALF_LIFE_DAYS.downloadsFast);
    s.acqBase = fold(s.acqBase, day, r.acquirers, BASELINE_HALF_LIFE_DAYS);
    sums.set(key, s);
  }
  if (!sums.size) return;
  const list = [...sums.values()];
  await q.query(
    `INSERT INTO app_chart_signals AS s (app_id, country, last_day, downloads_week, downloads_day, revenue_week, acquirers_day, acquirers_base)
     SELECT app_id, country, date '1970-01-01' + day, week, fast, revenue, acq_day, acq_base
       FROM unnest($1::uuid[], $2::char(2)[], $3::int[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::float8[])
         AS u (app_id, country, day, week, fast, revenue, acq_day, acq_base)
     ON CONFLICT (app_id, country) DO UPDATE SET
       last_day = greatest(s.last_day, EXCLUDED.last_day),
       downloads_week = ${foldSql('downloads_week', HALF_LIFE_DAYS.downloads)},
       downloads_day = ${foldSql('downloads_day', HALF_LIFE_DAYS.downloadsFast)},
       revenue_week = ${foldSql('revenue_week', HALF_LIFE_DAYS.revenue)},
       acquirers_day = ${foldSql('acquirers_day', HALF_LIFE_DAYS.downloadsFast)},
       acquirers_base = ${foldSql('acquirers_base', BASELINE_HALF_LIFE_DAYS)}`,
    [
      list.map((s) => s.appId),
      list.map((s) => s.country),
      list.map((s) => s.week.lastDay),
      list.map((s) => s.week.value),
      list.map((s) => s.fast.value),
      list.map((s) => s.revenue.value),
      list.map((s) => s.acqDay.value),
      list.map((s) => s.acqBase.value),
    ],
  );
}

/** signals.ts fold() in SQL: both sums brought to the later of their two days, then added. */
function foldSql(column: string, halfLife: number): string {
  return `s.${column} * ${halvingSql('greatest(EXCLUDED.last_day - s.last_day, 0)', halfLife)}
        + EXCLUDED.${column} * ${halvingSql('greatest(s.last_day - EXCLUDED.last_day, 0)', halfLife)}`;
}
