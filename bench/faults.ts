// `npm run faults`: Orchard's own fault suite. Real PostgreSQL, Redis and RabbitMQ, each behind a TCP
// proxy this suite starts; two `serve` processes and a `worker` talk only through the proxies. An
// open-loop purchase load (with replays of earlier requests) runs through every phase: a baseline,
// then one fault each (PostgreSQL reset and stall, Redis and RabbitMQ cuts, kill -9 of a serve and of
// the worker, SIGTERM of a serve, 50% transient payment failures). Then the books are audited in SQL.
// Prints a table and PASS/FAIL lines; exit code 0 only when every check passes.
//
//   npm run faults -- [--quick] [--keep] [--rate 120] [--users N] [--apps N] [--out DIR] [--timeout S] [--api-only auto|on|off]

import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { createEnvironment, destroyEnvironment, DEFAULT_SERVERS, type Environment } from './faults/env.ts';
import { Supervisor, waitHealthy } from './faults/procs.ts';
import { PurchaseLoad, type Item } from './faults/load.ts';
import { audit, waitSettled, type AuditFigures } from './faults/audit.ts';
import { PHASES, FULL, QUICK, PAYMENTS_PHASE, SIGTERM_PHASE, fmt, type Ctx } from './faults/phases.ts';
import { Monitor } from './faults/monitor.ts';
import { checks, formatTable, phaseStats, type PhaseRun } from './faults/report.ts';
import { catalogItems, freePort, registerBuyers, runCliIn } from './faults/setup.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const { values: argv } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    rate: { type: 'string', default: '120' },
    users: { type: 'string' },
    apps: { type: 'string', default: '1000' },
    out: { type: 'string' },
    timeout: { type: 'string' },
    'api-only': { type: 'string', default: 'auto' },
    'lock-seconds': { type: 'string', default: '10' },
    'reconcile-seconds': { type: 'string', default: '5' },
    help: { type: 'boolean', default: false },
  },
});
if (argv.help) {
  console.log(`npm run faults -- [options]
  --quick               shorter phases (~4 min in all instead of ~6)
  --keep                keep the scratch database and data dir (Redis keys and RabbitMQ names are removed anyway)
  --rate N              purchase requests offered per second (default 120)
  --users N             buyers registered through the API (default 150; 100 with --quick)
  --apps N              catalog size seeded (default 1000; about a fifth are paid)
  --out DIR             run dir for logs and results.json (default: a new dir under ${os.tmpdir()})
  --timeout S           hard limit for the whole run in seconds (default 660; 420 with --quick)
  --api-only auto|on|off  start serve with --api-only (auto: when \`serve --help\` lists it)
  --lock-seconds N      PURCHASE_LOCK_SECONDS given to the processes (default 10)
  --reconcile-seconds N RECONCILE_INTERVAL_SECONDS given to the processes (default 5)
Servers: FAULTS_PG_URL, FAULTS_REDIS_URL, FAULTS_AMQP_URL (default: the local ones on their standard ports).`);
  process.exit(0);
}

const quick = argv.quick!;
const opts = {
  quick,
  keep: argv.keep!,
  rate: Number(argv.rate),
  users: Number(argv.users ?? (quick ? 100 : 150)),
  apps: Number(argv.apps),
  timeoutS: Number(argv.timeout ?? (quick ? 420 : 660)),
  apiOnly: argv['api-only'] as 'auto' | 'on' | 'off',
  lockS: Number(argv['lock-seconds']),
  reconcileS: Number(argv['reconcile-seconds']),
  replayShare: 0.2,
  clientTimeoutMs: 10_000,
  recoveryTargetMs: 3_000,
  paymentsTarget: 0.8,
  baselineTarget: 0.99,
};
const d = quick ? QUICK : FULL;
const t0 = Date.now();
const now = () => Date.now() - t0;

let runDir = '';
let suiteLog: ReturnType<typeof createWriteStream> | null = null;
function log(line: string) {
  const l = `[${fmt(now()).padStart(7)}] ${line}`;
  console.error(l);
  suiteLog?.write(l + '\n');
}

let env: Environment | null = null;
let sup: Supervisor | null = null;
let cleaning: Promise<void> | null = null;

async function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    if (sup) {
      log('stopping the processes');
      await sup.stopAll(10_000);
    }
    if (env) {
      log(
        `cleaning up: Redis keys ${env.namespace}:*, RabbitMQ ${env.namespace}.*, ${opts.keep ? `keeping database ${env.dbName}` : `dropping database ${env.dbName}`}`,
      );
      const problems = await destroyEnvironment(env, DEFAULT_SERVERS, { keep: opts.keep });
      for (const p of problems) log(`   cleanup: ${p}`);
    }
  })();
  return cleaning;
}

const hardTimer = setTimeout(() => {
  log(`!! overall timeout (${opts.timeoutS} s): killing every child and cleaning up`);
  sup?.killAll();
  void cleanup().finally(() => process.exit(2));
}, opts.timeoutS * 1000);
hardTimer.unref();
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`!! ${sig}: stopping`);
    sup?.killAll();
    void cleanup().finally(() => process.exit(130));
  });
}

const runCli = (args: string[], childEnv: NodeJS.ProcessEnv, logName: string, timeoutMs: number) => runCliIn(ROOT, runDir, args, childEnv, logName, timeoutMs);

async function main(): Promise<number> {
  runDir = argv.out ? path.resolve(argv.out) : await mkdtemp(path.join(os.tmpdir(), 'orchard-faults-'));
  await mkdir(runDir, { recursive: true });
  suiteLog = createWriteStream(path.join(runDir, 'suite.log'), { flags: 'a' });
  log(`run dir ${runDir} (${quick ? 'quick' : 'full'} run, ${opts.rate} purchases/s offered, ${Math.round(opts.replayShare * 100)}% replays)`);

  env = await createEnvironment(DEFAULT_SERVERS, runDir);
  const e = env;
  log(`database ${e.dbName}, namespace ${e.namespace}; proxies pg :${e.proxies.pg.port} redis :${e.proxies.redis.port} amqp :${e.proxies.amqp.port}`);
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(base)) if (k.startsWith('SANDBOX_PAYMENTS_') || k === 'PORT' || k === 'PUBLIC_BASE_URL') delete base[k];
  const childEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    ...base,
    DATABASE_URL: e.urls.db,
    REDIS_URL: e.urls.redis,
    AMQP_URL: e.urls.amqp,
    ORCHARD_NAMESPACE: e.namespace,
    ORCHARD_DATA_DIR: e.dataDir,
    DOWNLOAD_URL_SECRET: 'orchard-fault-suite-download-url-secret-0123456789',
    LOG_LEVEL: 'warn',
    TRUST_PROXY: '1',
    HOST: '127.0.0.1',
    DATABASE_POOL_SIZE: '10',
    DEMO_APPS: '0',
    DEMO_USERS: '0',
    PURCHASE_LOCK_SECONDS: String(opts.lockS),
    RECONCILE_INTERVAL_SECONDS: String(opts.reconcileS),
    ...extra,
  });

  // serve --api-only (API only, no consumers or jobs), when the CLI has it
  let apiOnly = opts.apiOnly === 'on';
  if (opts.apiOnly === 'auto') {
    const help = await runCli(['serve', '--help'], childEnv(), 'cli.log', 60_000);
    apiOnly = help.output.includes('--api-only');
  }
  const serveArgs = ['serve', '--no-demo', ...(apiOnly ? ['--api-only'] : [])];
  log(`serve arguments: ${serveArgs.join(' ')}`);

  log(`migrating and seeding ${opts.apps} apps through the proxies`);
  const seeded = await runCli(['seed', '--apps', String(opts.apps), '--users', '0'], childEnv(), 'seed.log', 240_000);
  if (seeded.code !== 0) throw new Error(`seed failed (code ${seeded.code}): see ${path.join(runDir, 'seed.log')}`);

  const ports = { a: await freePort(), b: await freePort(), pay: await freePort() };
  sup = new Supervisor(ROOT, runDir, t0, log);
  const s = sup;
  // serve A first: it creates the receipt keys under the shared data dir; then serve B and the worker
  s.start('serve-a', serveArgs, childEnv({ PORT: String(ports.a) }), { port: ports.a });
  await waitHealthy(ports.a, 90_000, () => s.running('serve-a'));
  s.start('serve-b', serveArgs, childEnv({ PORT: String(ports.b) }), { port: ports.b });
  s.start('worker', ['worker'], childEnv());
  // the payments phase sends all its load to a third serve whose sandbox provider fails half the calls
  s.start('serve-pay', serveArgs, childEnv({ PORT: String(ports.pay), SANDBOX_PAYMENTS_FAILURE_RATE: '0.5' }), { port: ports.pay });
  await waitHealthy(ports.b, 90_000, () => s.running('serve-b'));
  await waitHealthy(ports.pay, 90_000, () => s.running('serve-pay'));
  log(`serve-a :${ports.a}, serve-b :${ports.b}, serve-pay :${ports.pay} (50% payment failures) healthy; worker pid ${s.pid('worker')}`);

  const buyers = await registerBuyers([ports.a, ports.b], opts.users, e.id);
  const { paid, free } = await catalogItems(ports.a);
  if (!paid.length) throw new Error('the seeded catalog has no paid app with a US price');
  // four paid apps to one free one
  const items: Item[] = [];
  for (let i = 0, f = 0; i < paid.length; i++) {
    items.push(paid[i]);
    if (i % 4 === 3 && f < free.length) items.push(free[f++]);
  }
  log(
    `${buyers.length} buyers registered; ${paid.length} paid and ${free.length} free apps: ${(buyers.length * items.length).toLocaleString('en')} (buyer, app) pairs`,
  );

  const load = new PurchaseLoad({ rate: opts.rate, replayShare: opts.replayShare, timeoutMs: opts.clientTimeoutMs, t0, buyers, items });
  load.targets = [ports.a, ports.b];
  const ctx: Ctx = { sup: s, env: e, load, ports, d, now, serveArgs, childEnv };
  const runs: PhaseRun[] = [];
  const settlers: (() => void)[] = [];
  const monitor = new Monitor(() => Object.fromEntries(['serve-a', 'serve-b', 'worker', 'serve-pay'].filter((n) => s.running(n)).map((n) => [n, s.pid(n)])));
  load.phase = PHASES[0].name;
  load.start();
  for (const phase of PHASES) {
    const events: string[] = [];
    const ev = (line: string) => {
      events.push(line);
      log(`   ${phase.name}: ${line}`);
    };
    load.phase = phase.name;
    monitor.mark();
    const startedAt = now();
    log(`phase ${phase.name}: ${phase.what}`);
    const outcome = await phase.run(ctx, ev);
    const run: PhaseRun = {
      name: phase.name,
      what: phase.what,
      startedAt,
      endedAt: now(),
      faultEnd: outcome.faultEnd,
      recoveryPorts: outcome.recoveryPorts,
      events,
      extra: outcome.extra ?? {},
      machine: monitor.read(),
    };
    runs.push(run);
    if (outcome.settle) settlers.push(() => Object.assign(run.extra, outcome.settle!()));
  }
  load.stop();
  const loadEnd = now();
  if (load.exhausted) log('!! ran out of (buyer, app) pairs: raise --users or --apps');
  log(`load stopped after ${load.records.length} requests; waiting for answers in flight`);
  await load.drain(opts.clientTimeoutMs + 1000);
  for (const settle of settlers) settle();

  // the worker reconciles orders past their lock; the relay drains the outbox; consumers catch up
  const dueAt = loadEnd + (opts.lockS + opts.reconcileS + 2) * 1000;
  const settled = await waitSettled(e.directDbUrl, quick ? 45_000 : 90_000, log);
  if (now() < dueAt) await sleep(dueAt - now());
  log(`settled: ${settled.unpublished} outbox rows unpublished, ${settled.unprocessed} purchase events unprocessed`);

  let figures: AuditFigures | null = null;
  let auditError: string | null = null;
  const acked = load.records.filter((r) => r.status === 201 && r.transactionId).map((r) => r.transactionId!);
  try {
    figures = await audit(e.directDbUrl, acked, opts.reconcileS);
  } catch (err) {
    auditError = (err as Error).message;
  }

  const stats = runs.map((r) => phaseStats(r, load.records));
  const results = checks({
    phases: runs,
    stats,
    audit: figures,
    auditError,
    exits: s.exits,
    recoveryTargetMs: opts.recoveryTargetMs,
    baselinePhase: PHASES[0].name,
    baselineTarget: opts.baselineTarget,
    paymentsPhase: PAYMENTS_PHASE,
    paymentsTarget: opts.paymentsTarget,
    sigtermPhase: SIGTERM_PHASE,
    settled,
  });
  const pass = results.every((c) => c.pass);

  await cleanup();

  const out: string[] = [];
  out.push(
    '',
    `Orchard fault suite — ${quick ? 'quick' : 'full'} run, ${opts.rate} purchases/s offered (${Math.round(opts.replayShare * 100)}% replays), ` +
      `2 serve + 1 worker through TCP proxies; PURCHASE_LOCK_SECONDS=${opts.lockS}, RECONCILE_INTERVAL_SECONDS=${opts.reconcileS}`,
    '',
  );
  out.push(...formatTable(runs, stats));
  out.push(
    '',
    'columns: new = first requests of a key, replay = same key/body again; 503+RA = 503 with Retry-After; conn = connection refused/reset;',
    "         t/o = client timeout (10 s); ok new = 2xx share of new requests; p50/p99 of 2xx in ms; mism = replays answered unlike the key's first 2xx;",
    '         recovery = after the fault ended, ms to the first 201 of a new purchase on each serve port; req/s = requests sent per second',
  );
  if (figures) {
    out.push(
      '',
      `books: ${figures.completedPurchases} purchases completed, ${figures.succeededCharges} charges, ${figures.pending} pending, ` +
        `${figures.acknowledged} acknowledged (201) to clients`,
    );
  }
  const exits = s.exits.map((x) => `${x.name} ${x.code !== null ? `code ${x.code}` : x.signal} (${x.reason})`);
  out.push(`process exits: ${exits.join(', ') || 'none'}`, '');
  const w = Math.max(...results.map((c) => c.name.length));
  for (const c of results) out.push(`${c.pass ? 'PASS' : 'FAIL'}  ${c.name.padEnd(w)}  ${c.detail}`);
  out.push('', `${pass ? 'PASS' : 'FAIL'}: ${results.filter((c) => !c.pass).length} of ${results.length} checks failed — details in ${runDir}/results.json`);
  console.log(out.join('\n'));

  await writeFile(
    path.join(runDir, 'results.json'),
    JSON.stringify(
      {
        pass,
        options: opts,
        durations: d,
        serveArgs,
        database: e.dbName,
        namespace: e.namespace,
        ports,
        startedAt: new Date(t0).toISOString(),
        seconds: Math.round(now() / 1000),
        phases: runs,
        stats,
        audit: figures,
        auditError,
        settled,
        checks: results,
        exits: s.exits,
        requests: load.records.length,
      },
      null,
      2,
    ),
  );
  await writeFile(path.join(runDir, 'requests.ndjson'), load.records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return pass ? 0 : 1;
}

main()
  .then((code) => {
    suiteLog?.end();
    process.exit(code);
  })
  .catch(async (err) => {
    log(`!! the suite failed: ${(err as Error).stack ?? err}`);
    sup?.killAll();
    await cleanup().catch(() => {});
    console.log('\nFAIL: the fault suite could not complete (see above)');
    process.exit(2);
  });
