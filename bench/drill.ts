// `npm run drill`: a failover drill on a real streaming replica. It makes a PostgreSQL 15 primary and a hot
// standby of it (pg_basebackup -R, synchronous replication) as two throwaway clusters on free ports, seeds a catalog, and runs
// `orchard serve` with DATABASE_URL listing both hosts (the first writable one is the primary) and
// DATABASE_REPLICA_URL on the standby. Under a read load and an open-loop purchase load it then stops the
// primary (immediate shutdown: a crash), checks that reads go on from the replica while writes answer 503
// with Retry-After, promotes the standby, and measures how long until purchases succeed again: the same
// process, no restart. Finally every purchase acknowledged with a 201 must be on the new primary.
// Prints a table per phase and PASS/FAIL lines; exit code 0 only when every check passes. Removes both
// clusters (and the Redis keys) afterwards.
//
//   npm run drill -- [--apps 1000] [--rate 40] [--reads 60] [--keep]
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { Redis } from 'ioredis';
import { Supervisor, waitHealthy } from './faults/procs.ts';
import { PurchaseLoad, type Item, type RequestRecord } from './faults/load.ts';
import { catalogItems, freePort, registerBuyers, runCliIn } from './faults/setup.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: argv } = parseArgs({
  options: {
    apps: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '40' },
    reads: { type: 'string', default: '60' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (argv.help) {
  console.log('npm run drill -- [--apps N (seeded, default 1000)] [--rate purchases/s (40)] [--reads reads/s (60)] [--keep (keep the clusters)]');
  process.exit(0);
}
const opts = { apps: Number(argv.apps), rate: Number(argv.rate), reads: Number(argv.reads), clientTimeoutMs: 10_000, timeoutS: 420 };
const PHASE_MS = { baseline: 10_000, primaryLost: 15_000, steady: 10_000 };
const REDIS_URL = process.env.DRILL_REDIS_URL ?? 'redis://127.0.0.1:6379';

const t0 = Date.now();
const now = () => Date.now() - t0;
const fmt = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const log = (line: string) => console.error(`[${fmt(now()).padStart(7)}] ${line}`);

// ---------------------------------------------------------------- PostgreSQL clusters of our own

const pgBin = (() => {
  const found = readdirSync('/usr/lib/postgresql')
    .filter((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`))
    .sort((a, b) => Number(b) - Number(a));
  if (!found.length) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql/<version>/bin');
  return `/usr/lib/postgresql/${found[0]}/bin`;
})();
const asRoot = process.getuid?.() === 0;

/** A PostgreSQL tool, run as the postgres user when we are root (the server refuses to run as root). */
function pgTool(tool: string, args: string[]): void {
  const [cmd, all] = asRoot ? ['runuser', ['-u', 'postgres', '--', path.join(pgBin, tool), ...args]] : [path.join(pgBin, tool), args];
  const r = spawnSync(cmd, all, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
}

interface Cluster {
  name: string;
  dir: string;
  port: number;
}
const pgCtl = (c: Cluster, ...args: string[]) => pgTool('pg_ctl', ['-D', c.dir, '-l', `${c.dir}.log`, ...args]);
const urlOf = (port: number, db = 'orchard') => `postgres://postgres@127.0.0.1:${port}/${db}`;

async function query<R extends pg.QueryResultRow>(port: number, sql: string, params: unknown[] = [], db = 'orchard'): Promise<R[]> {
  const c = new pg.Client({ connectionString: urlOf(port, db), connectionTimeoutMillis: 3000 });
  await c.connect();
  try {
    return (await c.query<R>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

async function makeClusters(base: string): Promise<{ primary: Cluster; standby: Cluster }> {
  const primary: Cluster = { name: 'primary', dir: path.join(base, 'primary'), port: await freePort() };
  const standby: Cluster = { name: 'standby', dir: path.join(base, 'standby'), port: await freePort() };
  if (asRoot) spawnSync('chown', ['postgres:postgres', base]);
  pgTool('initdb', ['-D', primary.dir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  const conf = (port: number) =>
    [
      `port = ${port}`,
      `listen_addresses = '127.0.0.1'`,
      `unix_socket_directories = '${base}'`,
      'wal_level = replica',
      'max_wal_senders = 5',
      'hot_standby = on',
      'shared_buffers = 64MB',
    ].join('\n') + '\n';
  await writeFile(path.join(primary.dir, 'conf.d.conf'), conf(primary.port));
  spawnSync('sh', ['-c', `echo "include 'conf.d.conf'" >> ${primary.dir}/postgresql.conf`]);
  if (asRoot) await chown(path.join(primary.dir, 'conf.d.conf'), uidOf('postgres'), gidOf('postgres'));
  pgCtl(primary, '-w', 'start');
  await query(primary.port, 'CREATE DATABASE orchard', [], 'postgres');
  return { primary, standby };
}

function startStandby(primary: Cluster, standby: Cluster, base: string): void {
  pgTool('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', standby.dir, '-R', '-X', 'stream', '-c', 'fast']);
  // its own port (the copied conf.d.conf names the primary's): the last setting wins
  spawnSync('sh', [
    '-c',
    `echo "port = ${standby.port}" >> ${standby.dir}/postgresql.conf && echo "unix_socket_directories = '${base}'" >> ${standby.dir}/postgresql.conf`,
  ]);
  pgCtl(standby, '-w', 'start');
}

function uidOf(user: string): number {
  return Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout.trim());
}
function gidOf(user: string): number {
  return Number(spawnSync('id', ['-g', user], { encoding: 'utf8' }).stdout.trim());
}

// ---------------------------------------------------------------- a read load beside the purchases

interface ReadRecord {
  phase: string;
  sentAt: number;
  status: number | null;
  latencyMs: number | null;
  netError: string | null;
}

/** Open loop: app pages (some past the cache: a fresh app each time), browse pages and searches. */
class ReadLoad {
  readonly records: ReadRecord[] = [];
  phase = 'setup';
  private timer: NodeJS.Timeout | null = null;
  private n = 0;
  constructor(
    private readonly port: number,
    private readonly rate: number,
    private readonly appIds: string[],
  ) {}
  start() {
    const every = 1000 / this.rate;
    this.timer = setInterval(() => void this.send(), every);
  }
  stop() {
    if (this.timer) clearInterval(this.timer);
  }
  private async send() {
    const i = this.n++;
    const paths = [
      `/api/v1/apps/${this.appIds[i % this.appIds.length]}`,
      `/api/v1/apps?limit=10&sort=${['newest', 'popular', 'rating', 'name'][i % 4]}&cursor=`,
      `/api/v1/search?q=${['photo', 'game', 'budget', 'music', 'notes'][i % 5]}&limit=10`,
    ];
    const rec: ReadRecord = { phase: this.phase, sentAt: now(), status: null, latencyMs: null, netError: null };
    this.records.push(rec);
    const started = performance.now();
    try {
      const res = await fetch(`http://127.0.0.1:${this.port}${paths[i % paths.length].replace('&cursor=', '')}`, {
        signal: AbortSignal.timeout(opts.clientTimeoutMs),
      });
      await res.arrayBuffer();
      rec.status = res.status;
    } catch (err) {
      const e = err as { name?: string; cause?: { code?: string } };
      rec.netError = e.name === 'TimeoutError' ? 'timeout' : (e.cause?.code ?? 'error');
    }
    rec.latencyMs = performance.now() - started;
  }
}

// ---------------------------------------------------------------- the report

const pct = (xs: number[], p: number) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]);
};
function readRow(phase: string, rs: ReadRecord[]) {
  const mine = rs.filter((r) => r.phase === phase);
  const ok = mine.filter((r) => r.status !== null && r.status < 400);
  return {
    phase,
    reads: mine.length,
    ok: ok.length,
    s503: mine.filter((r) => r.status === 503).length,
    s500: mine.filter((r) => r.status === 500).length,
    other: mine.filter((r) => r.status !== null && r.status >= 400 && r.status !== 503 && r.status !== 500).length,
    net: mine.filter((r) => r.netError).length,
    p99: pct(
      ok.map((r) => r.latencyMs!),
      99,
    ),
  };
}
function writeRow(phase: string, rs: RequestRecord[]) {
  const mine = rs.filter((r) => r.phase === phase);
  return {
    phase,
    writes: mine.length,
    ok: mine.filter((r) => r.status !== null && r.status < 300).length,
    s503ra: mine.filter((r) => r.status === 503 && r.retryAfter).length,
    s503: mine.filter((r) => r.status === 503 && !r.retryAfter).length,
    s500: mine.filter((r) => r.status === 500).length,
    c4xx: mine.filter((r) => r.status !== null && r.status >= 400 && r.status < 500).length,
    net: mine.filter((r) => r.netError && r.netError !== 'timeout').length,
    timeouts: mine.filter((r) => r.netError === 'timeout').length,
    p99: pct(
      mine.filter((r) => r.status !== null).map((r) => r.latencyMs!),
      99,
    ),
  };
}
function table(rows: Record<string, unknown>[]): string {
  const keys = Object.keys(rows[0]);
  const cells = [keys, ...rows.map((r) => keys.map((k) => String(r[k] ?? '-')))];
  const widths = keys.map((_, i) => Math.max(...cells.map((c) => c[i].length)));
  return cells.map((c) => c.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ')).join('\n');
}

// ---------------------------------------------------------------- the drill

async function main(): Promise<number> {
  const base = await mkdtemp(path.join(os.tmpdir(), 'orchard-drill-'));
  const dataDir = path.join(base, 'data');
  await mkdir(dataDir);
  const namespace = `orchard-drill-${randomBytes(4).toString('hex')}`;
  const phases: { name: string; ms: number }[] = [];
  let clusters: { primary: Cluster; standby: Cluster } | null = null;
  let sup: Supervisor | null = null;
  const hardTimer = setTimeout(() => {
    log(`!! overall timeout (${opts.timeoutS} s)`);
    sup?.killAll();
    process.exit(2);
  }, opts.timeoutS * 1000);
  hardTimer.unref();
  try {
    let at = now();
    const lap = (name: string) => {
      phases.push({ name, ms: now() - at });
      at = now();
    };
    clusters = await makeClusters(base);
    const { primary, standby } = clusters;
    log(`primary cluster on :${primary.port} (${pgBin})`);
    const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
      ...process.env,
      DATABASE_URL: urlOf(primary.port),
      REDIS_URL: REDIS_URL,
      AMQP_URL: '',
      ORCHARD_NAMESPACE: namespace,
      ORCHARD_DATA_DIR: dataDir,
      DOWNLOAD_URL_SECRET: 'orchard-drill-download-url-secret-0123456789',
      LOG_LEVEL: 'warn',
      TRUST_PROXY: '1',
      HOST: '127.0.0.1',
      DEMO_APPS: '0',
      DEMO_USERS: '0',
      ...extra,
    });
    const seeded = await runCliIn(ROOT, base, ['seed', '--apps', String(opts.apps), '--users', '0'], env(), 'seed.log', 240_000);
    if (seeded.code !== 0) throw new Error(`seed failed: ${seeded.output.slice(-500)}`);
    log(`seeded ${opts.apps} apps on the primary`);
    startStandby(primary, standby, base);
    const streaming = await query<{ n: number }>(primary.port, `SELECT count(*)::int AS n FROM pg_stat_replication WHERE state = 'streaming'`);
    if (streaming[0].n !== 1) throw new Error('the standby is not streaming from the primary');
    // Synchronous replication: a commit is acknowledged once the standby has it, so a promotion loses no
    // acknowledged purchase (with asynchronous replication the last moments before a crash could be lost).
    await query(primary.port, `ALTER SYSTEM SET synchronous_standby_names = '*'`, [], 'postgres');
    await query(primary.port, 'SELECT pg_reload_conf()', [], 'postgres');
    log(`standby on :${standby.port}, streaming from the primary`);
    lap('setup: two clusters, seed, base backup');

    const port = await freePort();
    sup = new Supervisor(ROOT, base, t0, log);
    const s = sup;
    const serveEnv = env({
      PORT: String(port),
      // both hosts, the writable one wins; reads that tolerate lag from the standby
      DATABASE_URL: `postgres://postgres@127.0.0.1:${primary.port},127.0.0.1:${standby.port}/orchard`,
      DATABASE_REPLICA_URL: urlOf(standby.port),
    });
    s.start('serve', ['serve', '--no-demo'], serveEnv, { port });
    await waitHealthy(port, 90_000, () => s.running('serve'));
    const buyers = await registerBuyers([port], 80, randomBytes(3).toString('hex'));
    const { paid, free } = await catalogItems(port);
    const items: Item[] = [...paid, ...free.slice(0, Math.ceil(paid.length / 4))];
    log(`serve :${port} ready; ${buyers.length} buyers, ${items.length} apps to buy`);
    lap('start: serve, buyers');

    const purchases = new PurchaseLoad({ rate: opts.rate, replayShare: 0.1, timeoutMs: opts.clientTimeoutMs, t0, buyers, items });
    purchases.targets = [port];
    const reads = new ReadLoad(
      port,
      opts.reads,
      items.map((i) => i.appId),
    );
    const phase = (name: string) => {
      purchases.phase = name;
      reads.phase = name;
    };
    phase('baseline');
    purchases.start();
    reads.start();
    await sleep(PHASE_MS.baseline);
    lap('baseline');

    phase('primary-lost');
    const lostAt = now();
    pgCtl(primary, '-m', 'immediate', 'stop');
    log('primary stopped (immediate: as a crash)');
    await sleep(PHASE_MS.primaryLost);
    lap('primary lost');

    phase('promoted');
    const promotedAt = now();
    pgCtl(standby, '-w', 'promote');
    log('standby promoted');
    const deadline = Date.now() + 60_000;
    let firstWrite: number | null = null;
    while (firstWrite === null && Date.now() < deadline) {
      await sleep(100);
      const done = purchases.records.find((r) => r.phase === 'promoted' && r.status === 201);
      if (done) firstWrite = done.sentAt + (done.latencyMs ?? 0);
    }
    lap('promotion to the first purchase');
    phase('steady');
    await sleep(PHASE_MS.steady);
    lap('steady on the new primary');
    purchases.stop();
    reads.stop();
    await purchases.drain(opts.clientTimeoutMs + 1000);
    await sleep(opts.clientTimeoutMs / 5);

    // every purchase acknowledged with a 201 is on the new primary
    const acked = purchases.records.filter((r) => r.status === 201 && r.transactionId).map((r) => r.transactionId!);
    const found = await query<{ n: number }>(standby.port, 'SELECT count(*)::int AS n FROM transactions WHERE id = ANY($1::bigint[])', [[...new Set(acked)]]);
    const lost = new Set(acked).size - found[0].n;

    const names = ['baseline', 'primary-lost', 'promoted', 'steady'];
    const readRows = names.map((n) => readRow(n, reads.records));
    const writeRows = names.map((n) => writeRow(n, purchases.records));
    const lostReads = readRows[1];
    const lostWrites = writeRows[1];
    const lastFailure = purchases.records.filter((r) => r.phase === 'promoted' && r.status !== 201 && r.status !== null && r.status >= 500).at(-1);
    console.log(
      `\nfailover drill: ${opts.apps} apps, ${opts.rate} purchases/s and ${opts.reads} reads/s offered (open loop), client timeout ${opts.clientTimeoutMs / 1000} s`,
    );
    console.log('\nreads (app pages, browse, search):');
    console.log(table(readRows));
    console.log('\npurchases (POST /api/v1/purchases; s503ra: 503 with Retry-After):');
    console.log(table(writeRows));
    console.log('\nphases:');
    for (const p of phases) console.log(`  ${p.name.padEnd(42)} ${fmt(p.ms)}`);
    const recovery = firstWrite === null ? null : firstWrite - promotedAt;
    console.log(
      `\nprimary lost at ${fmt(lostAt)}, standby promoted at ${fmt(promotedAt)}; first purchase answered 201 ${recovery === null ? 'never' : `${fmt(recovery)} after the promotion`}` +
        (lastFailure ? `; the last 5xx of a purchase was sent ${fmt(lastFailure.sentAt - promotedAt)} after it` : ''),
    );
    console.log(`acknowledged purchases: ${new Set(acked).size}, on the new primary: ${found[0].n}, lost: ${lost}`);

    const results: [string, boolean][] = [
      ['reads answered while the primary was lost (≥ 99% 2xx)', lostReads.reads > 0 && lostReads.ok / lostReads.reads >= 0.99],
      ['no 500 at all, reads or writes', [...readRows, ...writeRows].every((r) => r.s500 === 0)],
      ['writes while the primary was lost: 503 with Retry-After, none without', lostWrites.s503ra > 0 && lostWrites.s503 === 0],
      ['no request hung past the client timeout', writeRows.every((r) => r.timeouts === 0) && readRows.every((r) => r.net === 0)],
      ['purchases succeed again after the promotion, without a restart', recovery !== null && s.running('serve')],
      ['0 acknowledged purchases lost', lost === 0],
    ];
    console.log('');
    for (const [what, ok] of results) console.log(`${ok ? 'PASS' : 'FAIL'}  ${what}`);
    return results.every(([, ok]) => ok) ? 0 : 1;
  } finally {
    clearTimeout(hardTimer);
    await sup?.stopAll(10_000);
    if (clusters && !argv.keep) {
      for (const c of [clusters.primary, clusters.standby]) {
        try {
          pgCtl(c, '-m', 'immediate', 'stop');
        } catch {
          // already stopped
        }
      }
    }
    const r = new Redis(REDIS_URL);
    const keys = await r.keys(`${namespace}:*`).catch(() => []);
    if (keys.length) await r.del(...keys);
    await r.quit();
    if (!argv.keep) await rm(base, { recursive: true, force: true });
    else log(`kept ${base}`);
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
