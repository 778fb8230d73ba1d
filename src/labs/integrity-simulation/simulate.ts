// Drives a simulated world through a running Orchard: accounts and ownership are set up, then every
// review is sent through the HTTP API at its simulated time and the integrity pipeline (the real bus
// consumer) decides it. Measures what the pipeline did against what each review really was.
import type { FastifyInstance } from 'fastify';
import type { Db } from '../../platform/db/index.ts';
import { ATTACK_KINDS, generateWorld, type Kind, type SimulationOptions, type World } from './world.ts';

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

export interface KindRow {
  kind: Kind;
  reviews: number;
  approved: number;
  held: number;
  rejected: number;
}

export interface SimulationReport {
  rows: KindRow[];
  attack: { reviews: number; caught: number; recall: number; precision: number; f1: number };
  organic: { reviews: number; rejectedShare: number; heldShare: number };
  seconds: { setup: number; submit: number; drain: number };
  /** With `explain`: the mistakes (attack reviews approved, organic ones held or rejected) with their signals. */
  mistakes?: { kind: Kind; status: string; score: number; signals: { name: string; score: number }[]; title: string; body: string }[];
}

const HOUR = 3_600_000;
const NO_LOGIN = '!simulated-account'; // not an argon2 hash: these accounts cannot sign in with a password

export async function simulate(target: SimulationTarget, options: SimulationOptions, explain = false): Promise<SimulationReport> {
  const world = generateWorld(options);
  const log = target.log ?? (() => {});
  const t0 = Date.now() - world.durationMs - HOUR; // the simulated period ends just before now
  const started = performance.now();

  const apps = await pickApps(target.db, options.apps);
  log(`world: ${world.accounts.length} accounts, ${world.reviews.length} reviews over ${options.days} days on ${apps.length} apps`);
  const sessions = await openAccounts(target, world, t0, apps);
  const setupSeconds = (performance.now() - started) / 1000;
  log(`accounts and ownership ready in ${setupSeconds.toFixed(1)} s`);

  const submitted = performance.now();
  const kindOf = new Map<string, Kind>();
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
    kindOf.set(res.json().id, r.kind);
    if (i % 200 === 199) log(`submitted ${i + 1}/${world.reviews.length}`);
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
  }>('SELECT id, status, integrity_score, integrity_signals, title, body FROM reviews WHERE id = ANY($1::uuid[])', [[...kindOf.keys()]]);
  const decided = rows.map((r) => ({ kind: kindOf.get(r.id)!, status: r.status }));
  const seconds = { setup: setupSeconds, submit: submitSeconds, drain: drainSeconds };
  if (!explain) return { ...summarise(decided), seconds };
  const mistakes = rows
    .filter((r) => (kindOf.get(r.id) === 'organic') !== (r.status === 'approved'))
    .map((r) => ({
      kind: kindOf.get(r.id)!,
      status: r.status,
      score: r.integrity_score,
      signals: r.integrity_signals.map((s) => ({ name: s.name, score: s.score })),
      title: r.title,
      body: r.body,
    }));
  return { ...summarise(decided), seconds, mistakes };
}

/** Free published apps: anyone can own them through the purchase API. */
async function pickApps(db: Db, n: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(`SELECT a.id FROM apps a WHERE a.status = 'published' AND a.is_free ORDER BY a.published_at, a.id LIMIT $1`, [
    n,
  ]);
  if (rows.length < n) throw new Error(`the simulation needs ${n} free published apps; the catalog has ${rows.length}`);
  return rows.map((r) => r.id);
}

async function openAccounts(target: SimulationTarget, world: World, t0: number, apps: string[]): Promise<string[]> {
  const tokens: string[] = [];
  const run = `${Date.now().toString(36)}`;
  for (const a of world.accounts) {
    const user = await target.createUser({
      email: `sim-${run}-${a.key}@simulation.invalid`,
      displayName: `Reviewer ${a.key}`,
      passwordHash: NO_LOGIN,
      createdAt: new Date(t0 + a.createdAt),
    });
    const { token } = await target.openSession(user.id);
    tokens.push(token);
    for (const app of a.owns) {
      const res = await target.app.inject({
        method: 'POST',
        url: '/api/v1/purchases',
        headers: { authorization: `Bearer ${token}`, 'idempotency-key': `sim-${run}-${a.key}-${app}` },
        payload: { appId: apps[app] },
        remoteAddress: addressOf(a.key),
      });
      if (res.statusCode >= 300) throw new Error(`getting app ${app} for account ${a.key} failed: ${res.statusCode} ${res.body}`);
    }
    if (a.key % 500 === 499) target.log?.(`accounts: ${a.key + 1}/${world.accounts.length}`);
  }
  return tokens;
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

export function summarise(decided: { kind: Kind; status: string }[]): Omit<SimulationReport, 'seconds'> {
  const rows: KindRow[] = (['organic', ...ATTACK_KINDS] as Kind[]).map((kind) => {
    const mine = decided.filter((d) => d.kind === kind);
    const count = (s: string) => mine.filter((d) => d.status === s).length;
    return { kind, reviews: mine.length, approved: count('approved'), held: count('held'), rejected: count('rejected') };
  });
  const organic = rows[0];
  const attacks = rows.slice(1);
  const attackReviews = attacks.reduce((n, r) => n + r.reviews, 0);
  const caught = attacks.reduce((n, r) => n + r.held + r.rejected, 0);
  const organicCaught = organic.held + organic.rejected;
  const recall = attackReviews ? caught / attackReviews : 0;
  const precision = caught + organicCaught ? caught / (caught + organicCaught) : 0;
  return {
    rows,
    attack: { reviews: attackReviews, caught, recall, precision, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0 },
    organic: {
      reviews: organic.reviews,
      rejectedShare: organic.reviews ? organic.rejected / organic.reviews : 0,
      heldShare: organic.reviews ? organic.held / organic.reviews : 0,
    },
  };
}

export function formatReport(r: SimulationReport): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const lines = [
    '| reviews | n | approved | held | rejected | caught (held + rejected) |',
    '|---|---|---|---|---|---|',
    ...r.rows.map(
      (k) => `| ${k.kind} | ${k.reviews} | ${k.approved} | ${k.held} | ${k.rejected} | ${k.reviews ? pct((k.held + k.rejected) / k.reviews) : '-'} |`,
    ),
    '',
    `attack reviews: ${r.attack.reviews}   precision ${r.attack.precision.toFixed(3)}   recall ${r.attack.recall.toFixed(3)}   F1 ${r.attack.f1.toFixed(3)}`,
    `organic reviews: ${r.organic.reviews}   rejected ${pct(r.organic.rejectedShare)}   held ${pct(r.organic.heldShare)}`,
    `time: setup ${r.seconds.setup.toFixed(1)} s, submit ${r.seconds.submit.toFixed(1)} s, drain ${r.seconds.drain.toFixed(1)} s`,
  ];
  return lines.join('\n');
}
