// Drives a simulated world through a running Orchard: accounts and ownership are set up (acquisitions backdated
// to their planned dates), then every review is sent through the HTTP API at its simulated time and the
// integrity pipeline (the real bus consumer) decides it. Measures what the pipeline did against what each
// review really was.
import type { FastifyInstance } from 'fastify';
import type { Db } from '../../platform/db/index.ts';
import { ATTACK_KINDS, generateWorld, ORGANIC_CONTROLS, type PlannedApp, type PlannedReview, type SimulationOptions, type World } from './world.ts';

export interface SimulationClock {
  set(ms: number): void;
}

export interface SimulationTarget {
  app: FastifyInstance;
  db: Db;
  /** Opens accounts without passwords (their sessions come from openSession). */
  createUser(input: { email: string; displayName: string; passwordHash: string; createdAt: Date }): Promise<{ id: string }>;
  openSession(userId: string): Promise<{ token: string }>;
  /** The clock the reviews module stamps reviews with. */
  clock: SimulationClock;
  /** Wakes the bus relay (after a burst of writes). */
  nudge(): void;
  log?(line: string): void;
}

/** A report row: 'organic' (all organic reviews), 'organic:<control>' (a control group), or an attack family. */
export interface KindRow {
  kind: string;
  reviews: number;
  approved: number;
  held: number;
  rejected: number;
}

export interface Mistake {
  kind: string;
  campaign: string;
  status: string;
  score: number;
  signals: { name: string; score: number }[];
  title: string;
  body: string;
}

export interface SimulationReport {
  seed: number;
  rows: KindRow[];
  attack: { reviews: number; caught: number; recall: number; precision: number; f1: number };
  organic: { reviews: number; rejectedShare: number; heldShare: number };
  seconds: { setup: number; submit: number; drain: number };
  /** With `explain`: the mistakes (attack reviews approved, organic ones held or rejected) with their signals. */
  mistakes?: Mistake[];
}

const HOUR = 3_600_000;
const NO_LOGIN = '!simulated-account'; // not an argon2 hash: these accounts cannot sign in with a password

export async function simulate(target: SimulationTarget, options: SimulationOptions, explain = false): Promise<SimulationReport> {
  const world = generateWorld(options);
  const log = target.log ?? (() => {});
  const t0 = Date.now() - world.durationMs - HOUR; // the simulated period ends just before now
  const started = performance.now();

  const apps = await resolveApps(target.db, world.apps);
  log(`world (seed ${options.seed}): ${world.accounts.length} accounts, ${world.reviews.length} reviews over ${options.days} days on ${apps.length} apps`);
  const sessions = await openAccounts(target, world, t0, apps);
  const setupSeconds = (performance.now() - started) / 1000;
  log(`accounts and ownership ready in ${setupSeconds.toFixed(1)} s`);

  const submitted = performance.now();
  const planned = new Map<string, PlannedReview>();
  for (const [i, r] of world.reviews.entries()) {
    target.clock.set(t0 + r.at);
    const res = await target.app.inject({
      method: 'PUT',
      url: `/api/v1/apps/${apps[r.app]}/reviews/mine`,
      headers: { authorization: `Bearer ${sessions[r.account]}` },
      payload: { rating: r.rating, title: r.title, body: r.body },
      remoteAddress: addressOf(r.account),
    });
    if (res.statusCode !== 200 && res.statusCode !== 201) throw new Error(`review ${i} (${r.kind}) refused: ${res.statusCode} ${res.body}`);
    planned.set(res.json().id, r);
    if (i % 500 === 499) log(`submitted ${i + 1}/${world.reviews.length}`);
  }
  const submitSeconds = (performance.now() - submitted) / 1000;

  const drained = performance.now();
  await waitForScores(target, world.reviews.length);
  const drainSeconds = (performance.now() - drained) / 1000;

  const { rows } = await target.db.query<{
    id: string;
    status: string;
    integrity_score: number;
    integrity_signals: { name: string; score: number }[];
    title: string;
    body: string;
  }>('SELECT id, status, integrity_score, integrity_signals, title, body FROM reviews WHERE id = ANY($1::uuid[])', [[...planned.keys()]]);
  const decided = rows.map((r) => ({ review: planned.get(r.id)!, status: r.status }));
  const seconds = { setup: setupSeconds, submit: submitSeconds, drain: drainSeconds };
  const report = { seed: options.seed, ...summarise(decided), seconds };
  if (!explain) return report;
  const mistakes = rows
    .filter((r) => (planned.get(r.id)!.kind === 'organic') !== (r.status === 'approved'))
    .map((r) => {
      const p = planned.get(r.id)!;
      return {
        kind: rowKindOf(p),
        campaign: p.campaign,
        status: r.status,
        score: r.integrity_score,
        signals: (r.integrity_signals ?? []).map((s) => ({ name: s.name, score: s.score })),
        title: r.title,
        body: r.body,
      };
    });
  return { ...report, mistakes };
}

interface CatalogApp {
  id: string;
  developer_id: string;
  is_free: boolean;
  amount_milli: number | null;
}

/**
 * Maps the planned apps onto published catalog apps: developer groups onto developers with enough apps, paid
 * targets onto the cheapest paid apps sold in the US storefront (the simulated accounts' default), the rest
 * onto free apps. Every app is obtained through the purchase API, paid ones with a sandbox charge.
 */
async function resolveApps(db: Db, planned: PlannedApp[]): Promise<string[]> {
  const { rows } = await db.query<CatalogApp>(
    `SELECT a.id, a.developer_id, a.is_free, p.amount_milli
       FROM apps a LEFT JOIN app_prices p ON p.app_id = a.id AND p.country = 'US'
      WHERE a.status = 'published' AND (a.is_free OR p.amount_milli IS NOT NULL)
      ORDER BY a.published_at, a.id`,
  );
  const used = new Set<string>();
  const ids: string[] = new Array(planned.length);
  const take = (app: CatalogApp, slot: number) => {
    used.add(app.id);
    ids[slot] = app.id;
  };

  const groups = groupBy(
    planned.filter((p) => p.developerGroup !== null),
    (p) => p.developerGroup!,
  );
  const byDeveloper = groupBy(rows, (r) => r.developer_id);
  const developers = [...byDeveloper.values()].sort((a, b) => a.length - b.length || a[0].id.localeCompare(b[0].id));
  for (const [group, slots] of groups) {
    const developer = developers.find((apps) => apps.filter((a) => !used.has(a.id)).length >= slots.length && !apps.some((a) => used.has(a.id)));
    if (!developer) throw new Error(`no developer in the catalog has ${slots.length} published apps for ring ${group}`);
    slots.forEach((slot, i) => take(developer[i], slot.key));
  }
  const paid = rows.filter((r) => !r.is_free && !used.has(r.id)).sort((a, b) => Number(a.amount_milli) - Number(b.amount_milli));
  for (const slot of planned.filter((p) => p.paid)) {
    const app = paid.shift();
    if (!app) throw new Error('the simulation needs more paid apps sold in the US storefront');
    take(app, slot.key);
  }
  const free = rows.filter((r) => r.is_free && !used.has(r.id));
  for (const slot of planned.filter((p) => !p.paid && p.developerGroup === null)) {
    const app = free.shift();
    if (!app) throw new Error(`the simulation needs more free published apps; the catalog has ${rows.filter((r) => r.is_free).length}`);
    take(app, slot.key);
  }
  return ids;
}

function groupBy<T, K>(items: T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

/**
 * Opens the accounts and gives them what they own, at the planned dates. Paid apps are bought through the purchase
 * API (a sandbox charge, then backdated); free apps are written as the purchase path records them (a Production
 * 'app' transaction at price 0, which is what entitlements and owned_apps read): buying thousands of free apps
 * through the API would take most of a run. Organic and attack accounts get their apps the same way.
 */
async function openAccounts(target: SimulationTarget, world: World, t0: number, apps: string[]): Promise<string[]> {
  const tokens: string[] = [];
  const run = `${Date.now().toString(36)}`;
  const bought: Acquisition[] = [];
  const written: Acquisition[] = [];
  const free = await freeApps(target.db, apps);
  for (const a of world.accounts) {
    const user = await target.createUser({
      email: `sim-${run}-${a.key}@simulation.invalid`,
      displayName: `Reviewer ${a.key}`,
      passwordHash: NO_LOGIN,
      createdAt: new Date(t0 + a.createdAt),
    });
    const { token } = await target.openSession(user.id);
    tokens.push(token);
    for (const o of a.owns) {
      const acquisition = { userId: user.id, appId: apps[o.app], at: new Date(t0 + o.at) };
      if (free.has(o.app)) {
        written.push(acquisition);
        continue;
      }
      await buy(target, token, `sim-${run}-${a.key}-${o.app}`, apps[o.app], addressOf(a.key));
      bought.push(acquisition);
    }
    if (a.key % 1000 === 999) target.log?.(`accounts: ${a.key + 1}/${world.accounts.length}`);
  }
  await backdateAcquisitions(target.db, bought);
  await writeFreeAcquisitions(target.db, written);
  target.log?.(`${bought.length} paid apps bought, ${written.length} free ones got`);
  return tokens;
}

interface Acquisition {
  userId: string;
  appId: string;
  at: Date;
}

const columnsOf = (part: Acquisition[]) => [part.map((p) => p.userId), part.map((p) => p.appId), part.map((p) => p.at.toISOString())];

/** The planned apps (indexes) that are free in the catalog. */
async function freeApps(db: Db, apps: string[]): Promise<Set<number>> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM apps WHERE id = ANY($1::uuid[]) AND is_free', [apps]);
  const ids = new Set(rows.map((r) => r.id));
  return new Set(apps.flatMap((id, i) => (ids.has(id) ? [i] : [])));
}

/** Free apps got at their planned dates, as the purchase path records them: a Production transaction of kind 'app' at price 0. */
async function writeFreeAcquisitions(db: Db, acquired: Acquisition[]): Promise<void> {
  for (let i = 0; i < acquired.length; i += 2000) {
    await db.query(
      `WITH d AS (SELECT nextval('transaction_ids') AS id, user_id, app_id, at
                    FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS u(user_id, app_id, at))
       INSERT INTO transactions (id, original_transaction_id, user_id, app_id, developer_id, product_id, bundle_id, kind, environment,
                                 storefront, currency, price_milli, purchase_date, original_purchase_date, transaction_reason, created_at)
       SELECT d.id, d.id, d.user_id, a.id, a.developer_id, a.bundle_id, a.bundle_id, 'app', 'Production', 'US', 'USD', 0, d.at, d.at, 'PURCHASE', d.at
         FROM d JOIN apps a ON a.id = d.app_id`,
      columnsOf(acquired.slice(i, i + 2000)),
    );
  }
}

/** Gets an app through the purchase API; a paid one at the price the store asks (sent back as PRICE_REQUIRED). */
async function buy(target: SimulationTarget, token: string, key: string, appId: string, remoteAddress: string): Promise<void> {
  const send = (payload: object) =>
    target.app.inject({
      method: 'POST',
      url: '/api/v1/purchases',
      headers: { authorization: `Bearer ${token}`, 'idempotency-key': key },
      payload,
      remoteAddress,
    });
  let res = await send({ appId });
  if (res.statusCode >= 300 && res.json()?.error?.code === 'PRICE_REQUIRED') res = await send({ appId, price: res.json().error.details });
  if (res.statusCode >= 300) throw new Error(`getting app ${appId} failed: ${res.statusCode} ${res.body}`);
}

/**
 * Purchases are stamped by the database's clock, not the modules' settable one: the lab moves each acquisition
 * (order and transaction) to its planned date, so owners look as long-standing as planned.
 */
async function backdateAcquisitions(db: Db, acquired: Acquisition[]): Promise<void> {
  for (let i = 0; i < acquired.length; i += 2000) {
    const params = columnsOf(acquired.slice(i, i + 2000));
    await db.query(
      `UPDATE transactions t SET purchase_date = d.at, original_purchase_date = d.at, created_at = d.at
         FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS d(user_id, app_id, at)
        WHERE t.user_id = d.user_id AND t.app_id = d.app_id AND t.kind = 'app'`,
      params,
    );
    await db.query(
      `UPDATE purchases p SET created_at = d.at, completed_at = d.at
         FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS d(user_id, app_id, at)
        WHERE p.user_id = d.user_id AND p.app_id = d.app_id AND p.kind = 'app'`,
      params,
    );
  }
}

/** Each simulated account has its own address, as real clients do (and per-address limits expect). */
function addressOf(key: number): string {
  return `10.${(key >> 16) & 255}.${(key >> 8) & 255}.${key & 255}`;
}

async function waitForScores(target: SimulationTarget, total: number): Promise<void> {
  let last = -1;
  let still = 0;
  for (;;) {
    target.nudge();
    const { rows } = await target.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM reviews WHERE status = 'pending'`);
    const pending = rows[0].n;
    if (pending === 0) return;
    target.log?.(`scored ${total - pending}/${total}`);
    still = pending === last ? still + 1 : 0;
    if (still > 60) throw new Error(`the integrity consumer stopped: ${pending} reviews still pending after a minute without progress`);
    last = pending;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// ---------- the report ----------

/** The report's rows, in order: organic, its control groups, then the attack families. */
export const ROW_KINDS: string[] = ['organic', ...ORGANIC_CONTROLS.map((c) => `organic:${c}`), ...ATTACK_KINDS];

function rowKindOf(r: Pick<PlannedReview, 'kind' | 'control'>): string {
  return r.control ? `organic:${r.control}` : r.kind;
}

function rowsOf(decided: { review: Pick<PlannedReview, 'kind' | 'control'>; status: string }[]): KindRow[] {
  const rows = new Map(ROW_KINDS.map((kind) => [kind, { kind, reviews: 0, approved: 0, held: 0, rejected: 0 }]));
  for (const d of decided) {
    const kinds = d.review.kind === 'organic' ? ['organic', ...(d.review.control ? [rowKindOf(d.review)] : [])] : [d.review.kind];
    for (const kind of kinds) {
      const row = rows.get(kind)!;
      row.reviews++;
      if (d.status === 'approved' || d.status === 'held' || d.status === 'rejected') row[d.status]++;
    }
  }
  return [...rows.values()];
}

function totals(rows: KindRow[]): Pick<SimulationReport, 'attack' | 'organic'> {
  const organic = rows.find((r) => r.kind === 'organic')!;
  const attacks = rows.filter((r) => (ATTACK_KINDS as string[]).includes(r.kind));
  const attackReviews = attacks.reduce((n, r) => n + r.reviews, 0);
  const caught = attacks.reduce((n, r) => n + r.held + r.rejected, 0);
  const organicCaught = organic.held + organic.rejected;
  const recall = attackReviews ? caught / attackReviews : 0;
  const precision = caught + organicCaught ? caught / (caught + organicCaught) : 0;
  return {
    attack: { reviews: attackReviews, caught, recall, precision, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0 },
    organic: {
      reviews: organic.reviews,
      rejectedShare: organic.reviews ? organic.rejected / organic.reviews : 0,
      heldShare: organic.reviews ? organic.held / organic.reviews : 0,
    },
  };
}

export function summarise(
  decided: { review: Pick<PlannedReview, 'kind' | 'control'>; status: string }[],
): Pick<SimulationReport, 'rows' | 'attack' | 'organic'> {
  const rows = rowsOf(decided);
  return { rows, ...totals(rows) };
}

export interface AggregateReport {
  seeds: number[];
  rows: KindRow[];
  attack: SimulationReport['attack'];
  organic: SimulationReport['organic'];
}

/** The rows of several seeds added up. */
export function aggregate(reports: SimulationReport[]): AggregateReport {
  const rows = ROW_KINDS.map((kind) => {
    const mine = reports.map((r) => r.rows.find((x) => x.kind === kind)!).filter(Boolean);
    const sum = (k: 'reviews' | 'approved' | 'held' | 'rejected') => mine.reduce((n, r) => n + r[k], 0);
    return { kind, reviews: sum('reviews'), approved: sum('approved'), held: sum('held'), rejected: sum('rejected') };
  });
  return { seeds: reports.map((r) => r.seed), rows, ...totals(rows) };
}

const caughtShare = (r: KindRow) => (r.reviews ? (r.held + r.rejected) / r.reviews : 0);
const rejectedShare = (r: KindRow) => (r.reviews ? r.rejected / r.reviews : 0);
const heldShare = (r: KindRow) => (r.reviews ? r.held / r.reviews : 0);

export interface Target {
  label: string;
  pass: boolean;
  value: number;
}

/**
 * When the red team is beaten: every family caught (held or rejected) ≥ 90%, farms and copies rejected outright
 * ≥ 50%, organic reviews ≤ 1% rejected and ≤ 5% held.
 */
export function doneWhen(rows: KindRow[]): Target[] {
  const row = (kind: string) => rows.find((r) => r.kind === kind)!;
  const organic = row('organic');
  return [
    ...ATTACK_KINDS.map((k) => ({ label: `${k} caught ≥ 90%`, value: caughtShare(row(k)), pass: caughtShare(row(k)) >= 0.9 })),
    ...(['farm', 'copy'] as const).map((k) => ({ label: `${k} rejected ≥ 50%`, value: rejectedShare(row(k)), pass: rejectedShare(row(k)) >= 0.5 })),
    { label: 'organic rejected ≤ 1%', value: rejectedShare(organic), pass: rejectedShare(organic) <= 0.01 },
    { label: 'organic held ≤ 5%', value: heldShare(organic), pass: heldShare(organic) <= 0.05 },
  ];
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function formatTable(rows: KindRow[]): string {
  return [
    '| reviews | n | approved | held | rejected | caught (held + rejected) | rejected outright |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((k) => {
      const share = (f: (r: KindRow) => number) => (k.reviews ? pct(f(k)) : '-');
      return `| ${k.kind} | ${k.reviews} | ${k.approved} | ${k.held} | ${k.rejected} | ${share(caughtShare)} | ${share(rejectedShare)} |`;
    }),
  ].join('\n');
}

function formatTotals(r: Pick<SimulationReport, 'attack' | 'organic'>): string[] {
  return [
    `attack reviews: ${r.attack.reviews}   precision ${r.attack.precision.toFixed(3)}   recall ${r.attack.recall.toFixed(3)}   F1 ${r.attack.f1.toFixed(3)}`,
    `organic reviews: ${r.organic.reviews}   rejected ${pct(r.organic.rejectedShare)}   held ${pct(r.organic.heldShare)}`,
  ];
}

export function formatReport(r: SimulationReport): string {
  return [
    `## seed ${r.seed}`,
    formatTable(r.rows),
    '',
    ...formatTotals(r),
    `time: setup ${r.seconds.setup.toFixed(1)} s, submit ${r.seconds.submit.toFixed(1)} s, drain ${r.seconds.drain.toFixed(1)} s`,
  ].join('\n');
}

export function formatAggregate(a: AggregateReport): string {
  const targets = doneWhen(a.rows).map((t) => `${t.pass ? 'PASS' : 'FAIL'}  ${t.label} (${pct(t.value)})`);
  const title = a.seeds.length > 1 ? `## all seeds (${a.seeds.join(', ')})` : `## done when (seed ${a.seeds[0]})`;
  return [title, ...(a.seeds.length > 1 ? [formatTable(a.rows), '', ...formatTotals(a)] : []), '', ...targets].join('\n');
}

export function formatMistake(m: Mistake): string {
  const signals = m.signals.map((s) => `${s.name} ${s.score.toFixed(2)}`).join(', ');
  return `${m.kind} (${m.campaign}) ${m.status} (score ${Number(m.score).toFixed(3)}): ${signals}\n  "${m.title}" ${m.body.slice(0, 160)}`;
}

/** "1-3", "1,4,7" or "101-105,110" -> the seeds. */
export function parseSeeds(spec: string): number[] {
  const seeds = spec.split(',').flatMap((part) => {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(part);
    if (!m) throw new Error(`not a seed or range: "${part}"`);
    const [from, to] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (to < from) throw new Error(`empty seed range: "${part}"`);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  });
  return [...new Set(seeds)];
}
