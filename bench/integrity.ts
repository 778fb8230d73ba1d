// Integrity throughput: reviews scored per second by ONE `orchard worker` process on PostgreSQL.
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres AMQP_URL=amqp://guest:guest@127.0.0.1:5672 \
//     npx tsx bench/integrity.ts [--history 20000] [--reviews 20000] [--apps 2000] [--users 20000]
//
// Makes a fresh database `orchard_integrity_bench` next to DATABASE_URL's, seeds a catalog and users, starts
// one worker, and feeds it two batches of pending reviews with their review.created events (written straight
// to the tables, as the API would): the first builds history (windows, LSH bands), the second is measured.
// The measured batch's events are relayed to the bus by this process first (as the API processes that write
// them do), then a fresh worker scores the backlog. Rate = measured reviews / (last scored_at - first
// scored_at). The worker's peak RSS is printed.
// WORKER_NODE_FLAGS replaces the worker's node flags (default: the young generation the README recommends for
// workers; add e.g. --cpu-prof).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { createInfra, loadConfig } from '../src/config.ts';
import { migrationDirs } from '../src/app.ts';
import { migrate } from '../src/platform/db/index.ts';
import { seed } from '../src/seed/index.ts';
import { DEFAULT_OPTIONS, generateWorld } from '../src/labs/integrity-simulation/index.ts';

/** A larger young generation: scoring allocates many short-lived objects; the default makes V8 scavenge constantly. */
const WORKER_NODE_FLAGS = '--max-semi-space-size=64';
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { values: flags } = parseArgs({
  options: {
    history: { type: 'string', default: '20000' },
    reviews: { type: 'string', default: '20000' },
    apps: { type: 'string', default: '2000' },
    users: { type: 'string', default: '20000' },
  },
});
const n = (name: string, v: string | undefined) => {
  const x = Number(v);
  if (!Number.isInteger(x) || x < 1) throw new Error(`--${name} must be a positive integer`);
  return x;
};
const opts = { history: n('history', flags.history), reviews: n('reviews', flags.reviews), apps: n('apps', flags.apps), users: n('users', flags.users) };
const serverUrl = process.env.DATABASE_URL;
if (!serverUrl) throw new Error('set DATABASE_URL (PostgreSQL): this bench measures the production database');
if (!process.env.AMQP_URL) console.warn('AMQP_URL is not set: the worker uses the embedded bus, which delivers one event at a time');

const benchUrl = new URL(serverUrl);
benchUrl.pathname = '/orchard_integrity_bench';
const admin = new pg.Client({ connectionString: serverUrl });
await admin.connect();
await admin.query('DROP DATABASE IF EXISTS orchard_integrity_bench WITH (FORCE)');
await admin.query('CREATE DATABASE orchard_integrity_bench');
await admin.end();

const namespace = `orchard-integrity-bench-${Date.now().toString(36)}`;
const config = loadConfig({ ...process.env, DATABASE_URL: benchUrl.toString(), LOG_LEVEL: 'warn' }, { namespace, demo: { apps: 0, users: 0 } });
const infra = await createInfra(config, { dbPoolSize: 4 });
await migrate(infra.db, migrationDirs);
let t = performance.now();
await seed({ infra, apps: opts.apps, users: opts.users, progress: true });
console.log(`seeded ${opts.apps} apps and ${opts.users} users in ${((performance.now() - t) / 1000).toFixed(1)} s`);

const { rows: apps } = await infra.db.query<{ id: string; developer_id: string; current_version: string | null }>(
  `SELECT id, developer_id, current_version FROM apps WHERE status = 'published' ORDER BY id`,
);
const { rows: users } = await infra.db.query<{ id: string; created_at: Date }>(`SELECT id, created_at FROM users WHERE role = 'user' ORDER BY id`);

// Texts, ratings, apps and times from the simulator's organic model (plus its campaigns), mapped onto real rows.
const world = generateWorld({ ...DEFAULT_OPTIONS, apps: apps.length, days: 30, organicReviews: opts.history + opts.reviews });
const plan = world.reviews.slice(0, opts.history + opts.reviews);
const end = Date.now() - 3_600_000;
const start = end - world.durationMs;
const taken = new Set<string>();

async function insertBatch(batch: typeof plan): Promise<string[]> {
  const ids: string[] = [];
  const client = new pg.Client({ connectionString: benchUrl.toString() });
  await client.connect();
  await client.query('BEGIN');
  const chunk = 1000;
  for (let i = 0; i < batch.length; i += chunk) {
    const reviews: unknown[][] = [];
    const events: unknown[][] = [];
    for (const r of batch.slice(i, i + chunk)) {
      let userIndex = (r.account * 2654435761) % users.length;
      while (taken.has(`${userIndex}:${r.app % apps.length}`)) userIndex = (userIndex + 1) % users.length; // one review per user per app
      taken.add(`${userIndex}:${r.app % apps.length}`);
      const user = users[userIndex];
      const app = apps[r.app % apps.length]; // the world plans a few apps beyond the catalog (campaign targets)
      const at = new Date(start + r.at);
      const id = uuidv7({ msecs: at.getTime() });
      ids.push(id);
      const verified = r.kind === 'organic' && r.account % 7 !== 0;
      reviews.push([id, app.id, user.id, r.rating, r.title, r.body, app.current_version, verified, at.toISOString()]);
      const payload = {
        reviewId: id,
        appId: app.id,
        userId: user.id,
        developerId: app.developer_id,
        rating: r.rating,
        title: r.title,
        body: r.body,
        appVersion: app.current_version,
        revision: 1,
        verified,
        accountCreatedAt: new Date(user.created_at).toISOString(),
        writtenAt: at.toISOString(),
        createdAt: at.toISOString(),
      };
      events.push([uuidv7(), 'review.created', id, JSON.stringify(payload), new Date().toISOString()]);
    }
    await client.query(
      `INSERT INTO reviews (id, app_id, user_id, rating, title, body, app_version, verified, status, revision, created_at, updated_at)
       SELECT r[1]::uuid, r[2]::uuid, r[3]::uuid, r[4]::smallint, r[5], r[6], r[7], r[8]::boolean, 'pending', 1, r[9]::timestamptz, r[9]::timestamptz
         FROM jsonb_to_recordset($1::jsonb) AS x(r text[])`,
      [JSON.stringify(reviews.map((r) => ({ r: r.map((v) => (v === null ? null : String(v))) })))],
    );
    await client.query(
      `INSERT INTO outbox (id, type, aggregate_id, payload, occurred_at)
       SELECT (e->>0)::uuid, e->>1, e->>2, (e->>3)::jsonb, (e->>4)::timestamptz FROM jsonb_array_elements($1::jsonb) e`,
      [JSON.stringify(events)],
    );
  }
  await client.query('COMMIT');
  await client.end();
  return ids;
}

/** Pending reviews (only the bench writes reviews here): an index range of the pending ones, cheap to count. */
async function pending(): Promise<number> {
  const { rows } = await infra.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM reviews WHERE status = 'pending'`);
  return rows[0].n;
}

let worker: ReturnType<typeof spawn>;
let peakRss = 0;
function startWorker() {
  worker = spawn(
    process.execPath,
    [...(process.env.WORKER_NODE_FLAGS ?? WORKER_NODE_FLAGS).split(' ').filter(Boolean), '--import', 'tsx', 'src/main.ts', 'worker'],
    {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: benchUrl.toString(), ORCHARD_NAMESPACE: namespace, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
}
async function stopWorker() {
  const exited = new Promise((r) => worker.once('exit', r));
  worker.kill('SIGTERM');
  await exited;
}
const rssTimer = setInterval(async () => {
  try {
    const status = await import('node:fs/promises').then((fs) => fs.readFile(`/proc/${worker.pid}/status`, 'utf8'));
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    peakRss = Math.max(peakRss, kb * 1024);
  } catch {
    /* not up yet */
  }
}, 250);

async function drain(ids: string[], label: string) {
  for (;;) {
    const left = await pending();
    if (left === 0) return;
    process.stderr.write(`\r${label}: ${ids.length - left}/${ids.length} scored   `);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

try {
  startWorker();
  t = performance.now();
  const history = await insertBatch(plan.slice(0, opts.history));
  await drain(history, 'history');
  console.log(`\nhistory: ${history.length} reviews scored (${((performance.now() - t) / 1000).toFixed(1)} s including start-up)`);
  await stopWorker();
  // a database in service is vacuumed and analysed by autovacuum; one just filled is not yet
  await infra.db.query('VACUUM ANALYZE integrity_reviews, integrity_bands, reviews, outbox, processed_events');

  // In production the API processes relay the review.created events they write; here this process does,
  // before the worker starts, so that the worker's time is its scoring (and its own events' relaying).
  const measured = await insertBatch(plan.slice(opts.history));
  await infra.bus.start({ relay: true, consume: false });
  for (;;) {
    const { rows } = await infra.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL');
    if (rows[0].n === 0) break;
    infra.bus.nudge();
    await new Promise((r) => setTimeout(r, 200));
  }
  await infra.bus.stop();
  peakRss = 0;
  startWorker();
  await drain(measured, 'measured');
  const { rows } = await infra.db.query<{ first: Date; last: Date; approved: number; held: number; rejected: number }>(
    `SELECT min(scored_at) AS first, max(scored_at) AS last,
            count(*) FILTER (WHERE status = 'approved')::int AS approved, count(*) FILTER (WHERE status = 'held')::int AS held,
            count(*) FILTER (WHERE status = 'rejected')::int AS rejected
       FROM reviews WHERE id = ANY($1::uuid[])`,
    [measured],
  );
  const r = rows[0];
  const seconds = (new Date(r.last).getTime() - new Date(r.first).getTime()) / 1000;
  console.log(`\nmeasured: ${measured.length} reviews scored in ${seconds.toFixed(2)} s by one worker = ${Math.round(measured.length / seconds)} reviews/s`);
  console.log(
    `  actions: ${r.approved} approved, ${r.held} held, ${r.rejected} rejected;  worker peak RSS ${Math.round(peakRss / 2 ** 20)} MB;  bus ${process.env.AMQP_URL ? 'rabbitmq' : 'embedded'}`,
  );
} finally {
  clearInterval(rssTimer);
  await stopWorker();
  await infra.close();
}
