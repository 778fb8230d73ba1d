import { Command, InvalidArgumentError } from 'commander';
import { loadConfig, createInfra, type Config, type Infra } from './config.ts';
import { buildApp, createModules, migrationDirs, moduleParts, startEvents, type Lifecycle, type Modules } from './app.ts';
import { migrate } from './platform/db/index.ts';
import { seed, DEMO_ACCOUNTS } from './seed/index.ts';
import { isPeriod } from './modules/payouts/index.ts';
import {
  SMALL_OPTIONS,
  aggregate,
  doneWhen,
  formatAggregate,
  formatMistake,
  formatReport,
  parseSeeds,
  randomOptions,
  runIntegritySimulation,
  type SimulationOptions,
  type SimulationReport,
} from './labs/integrity-simulation/index.ts';
import { rebuildSignals } from './modules/rankings/index.ts';
import { registerChartSimulation } from './labs/chart-simulation/index.ts';
import { evaluateRecommendations, formatEvaluation } from './labs/recommendations-evaluation/index.ts';
import { rotateReceiptLeaf } from './modules/purchases/index.ts';
import { backup, restore } from './ops/backup.ts';
import { serveMetrics } from './platform/observability/metrics-server.ts';
import path from 'node:path';

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
};

async function open(config: Config): Promise<Infra> {
  const infra = await createInfra(config);
  await migrate(infra.db, migrationDirs, (m) => infra.logger.info(m));
  return infra;
}

/**
 * SIGTERM/SIGINT: readiness turns red and responses ask keep-alive clients to reconnect elsewhere for
 * SHUTDOWN_GRACE_MS (so a load balancer stops sending and no connection is cut under a request), then
 * the server stops accepting, drains requests and consumers in flight, and pools close.
 */
function onShutdown(infra: Infra, close: () => Promise<void>, lifecycle?: Lifecycle) {
  let closing = false;
  const graceMs = Number(process.env.SHUTDOWN_GRACE_MS ?? 1_000);
  const handler = async (signal: string) => {
    if (closing) return;
    closing = true;
    infra.logger.info({ signal, graceMs }, 'shutting down: draining');
    const force = setTimeout(() => process.exit(1), 15_000 + graceMs).unref();
    try {
      if (lifecycle) {
        lifecycle.draining = true;
        if (graceMs > 0) await new Promise((r) => setTimeout(r, graceMs));
      }
      await close();
      await infra.close();
      clearTimeout(force);
      process.exit(0);
    } catch (err) {
      infra.logger.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void handler('SIGTERM'));
  process.once('SIGINT', () => void handler('SIGINT'));
}

/**
 * A long-running process logs a promise nobody awaited instead of dying of it: one request's or job's
 * stray failure must not take every other request down with it (Node's default is to exit).
 */
function keepRunningOnStrayRejections(infra: Infra) {
  const stray = infra.metrics.counter('orchard_unhandled_rejections_total', 'Promise rejections no code handled (each is a bug to fix)');
  process.on('unhandledRejection', (err) => {
    stray.inc();
    infra.logger.error({ err }, 'unhandled promise rejection');
  });
}

/** Event consumers (bus) and the periodic jobs of every module: what `worker` runs, and `serve` unless --api-only. */
async function startWorkers(infra: Infra, modules: Modules, relay: boolean) {
  await startEvents(infra, modules, { relay, consume: true });
  modules.scheduler.start(moduleParts(modules).flatMap((m) => m.jobs ?? []));
  return async () => {
    await modules.scheduler.stop();
    for (const m of moduleParts(modules)) await m.drain?.();
  };
}

const program = new Command('orchard').description('Orchard, the open-source App Store backend');

program
  .command('serve')
  .description('HTTP API, event consumers and scheduled jobs (with --api-only and AMQP_URL: the HTTP API alone, beside `orchard worker` processes)')
  .option('--no-demo', 'do not seed demo data into an empty catalog')
  .option(
    '--api-only',
    'serve HTTP only; run `orchard worker` for consumers and jobs (needs AMQP_URL: the embedded bus has no other process to hand events to)',
  )
  .action(async (opts: { demo: boolean; apiOnly?: boolean }) => {
    const config = loadConfig();
    const infra = await open(config);
    keepRunningOnStrayRejections(infra);
    const modules = createModules(config, infra);
    if (opts.demo && config.demo.apps > 0) {
      const result = await seed({ infra, apps: config.demo.apps, users: config.demo.users, onlyIfEmpty: true, progress: true });
      if (result) infra.logger.info({ apps: result.apps, users: result.users, seconds: result.seconds }, 'demo catalog seeded');
    }
    const lifecycle: Lifecycle = { draining: false };
    const app = await buildApp(config, infra, modules, lifecycle);
    // A lone serve never leaves events unconsumed: it runs the workers too unless told a worker does.
    const apiOnly = opts.apiOnly === true && infra.bus.kind === 'rabbitmq';
    if (opts.apiOnly && !apiOnly) infra.logger.warn('--api-only ignored: the embedded bus delivers events only inside this process');
    const stopWorkers = apiOnly ? null : await startWorkers(infra, modules, true);
    if (apiOnly) await startEvents(infra, modules, { relay: true, consume: false });
    await app.listen({ host: config.host, port: config.port });
    onShutdown(
      infra,
      async () => {
        await app.close();
        await stopWorkers?.();
      },
      lifecycle,
    );
    console.log(`\nOrchard is up: ${config.publicBaseUrl}  (API docs: ${config.publicBaseUrl}/docs)`);
    console.log('Demo accounts (password for all: ' + DEMO_ACCOUNTS[0].password + '):');
    for (const a of DEMO_ACCOUNTS) console.log(`  ${a.role.padEnd(9)} ${a.email}`);
  });

program
  .command('worker')
  .description('event consumers and scheduled jobs only (no HTTP API)')
  .option('--metrics-port <n>', 'answer GET /metrics and /health on this port, for Prometheus (also METRICS_PORT)', positiveInt)
  .action(async (opts: { metricsPort?: number }) => {
    const config = loadConfig();
    const infra = await open(config);
    keepRunningOnStrayRejections(infra);
    const modules = createModules(config, infra);
    const stopWorkers = await startWorkers(infra, modules, true);
    const metricsPort = opts.metricsPort ?? (process.env.METRICS_PORT ? positiveInt(process.env.METRICS_PORT) : undefined);
    const metrics = metricsPort ? await serveMetrics(infra.metrics, infra.bus, config.host, metricsPort) : null;
    onShutdown(infra, async () => {
      metrics?.close();
      await stopWorkers();
    });
    infra.logger.info({ metricsPort }, 'worker running');
  });

program
  .command('migrate')
  .description('apply pending database migrations')
  .action(async () => {
    const infra = await open(loadConfig());
    await infra.close();
  });

program
  .command('seed')
  .description('deterministic synthetic catalog')
  .option('--apps <n>', 'apps to create', positiveInt, 3000)
  .option('--users <n>', 'users to create', positiveInt, 200)
  .option('--rng-seed <n>', 'random seed', positiveInt, 42)
  .action(async (opts: { apps: number; users: number; rngSeed: number }) => {
    const config = loadConfig();
    const infra = await open(config);
    createModules(config, infra);
    const r = await seed({ infra, apps: opts.apps, users: opts.users, rngSeed: opts.rngSeed, progress: true });
    console.log(`seeded ${r?.apps ?? 0} apps and ${r?.users ?? 0} users in ${r?.seconds.toFixed(1)} s`);
    await infra.close();
  });

program
  .command('rank')
  .description('compute every chart now (the worker does it hourly); one run at a time across processes')
  .option('--rebuild-signals', 'first refold the running decayed signals from all daily statistics (after a bulk load, or to recover)')
  .action(async (opts: { rebuildSignals?: boolean }) => {
    const config = loadConfig();
    const infra = await open(config);
    try {
      const modules = createModules(config, infra);
      if (opts.rebuildSignals) {
        const r = await rebuildSignals(infra.db);
        console.log(
          `signals rebuilt from ${r.dailyRows.toLocaleString('en')} daily rows into ${r.pairs.toLocaleString('en')} (app, country) pairs in ${r.seconds.toFixed(1)} s`,
        );
      }
      const r = await modules.rankings.compute();
      if (r.status !== 'done') {
        console.log(`chart run skipped: ${r.reason}`);
        process.exitCode = 2;
        return;
      }
      console.log(`charts computed: ${r.charts!.toLocaleString('en')} charts, ${r.entries!.toLocaleString('en')} entries in ${r.seconds!.toFixed(1)} s`);
      console.log(
        `  phases (s): ${Object.entries(r.phases ?? {})
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
      // ranking.computed is in the outbox: a running serve or worker relays it, and every process reads the new run
    } finally {
      await infra.close();
    }
  });

const recs = program.command('recs').description('recommendations: the co-download batch job and its evaluation');
recs
  .command('precompute')
  .description("compute every similar list and signed-in user's rows that are due, until none is (workers do it every minute, a few minutes at a time)")
  .option('--json', 'print the totals as one JSON line (with the peak RSS)')
  .action(async (opts: { json?: boolean }) => {
    const config = loadConfig();
    const infra = await open(config);
    try {
      const modules = createModules(config, infra);
      const started = performance.now();
      await modules.search.service.start(); // content similarity comes from the index
      const indexSeconds = (performance.now() - started) / 1000;
      const totals = { similar: 0, users: 0, passes: 0, indexSeconds, seconds: 0 };
      for (let scan = true; ; scan = false) {
        const pass = await modules.recommendations.precompute({ scan, budgetMs: Infinity });
        if (pass.similar.skipped) throw new Error(`similar lists: ${pass.similar.skipped}`);
        totals.passes++;
        totals.similar += pass.similar.computed;
        totals.users += pass.users.computed;
        if (!pass.similar.computed && !pass.users.computed) break;
        if (!opts.json) console.log(`  pass ${totals.passes}: ${pass.similar.computed} similar lists, ${pass.users.computed} users' rows`);
      }
      totals.seconds = (performance.now() - started) / 1000;
      await modules.search.service.close();
      const maxRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
      if (opts.json) console.log(JSON.stringify({ ...totals, maxRssMb }));
      else
        console.log(
          `precomputed ${totals.similar.toLocaleString('en')} similar lists and ${totals.users.toLocaleString('en')} users' rows in ${totals.seconds.toFixed(1)} s ` +
            `(index ready in ${indexSeconds.toFixed(1)} s); peak RSS ${maxRssMb.toLocaleString('en')} MB`,
        );
    } finally {
      await infra.close();
    }
  });

recs
  .command('build')
  .description(
    "fold new acquisitions into every app's co-download neighbours, or rebuild them from all libraries (workers do it every 10 minutes, fully once a day)",
  )
  .option('--full', 'rebuild from every library even when an incremental build would do')
  .option('--json', 'print the result as one JSON line (with the peak RSS)')
  .action(async (opts: { full?: boolean; json?: boolean }) => {
    const config = loadConfig();
    const infra = await open(config);
    try {
      const r = await createModules(config, infra).recommendations.build({ full: opts.full });
      if (!r) {
        console.log('skipped: another build is running');
        process.exitCode = 2;
        return;
      }
      const maxRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
      if (opts.json) {
        console.log(JSON.stringify({ ...r, maxRssMb }));
        return;
      }
      const n = (x: number) => x.toLocaleString('en');
      if (r.kind === 'full')
        console.log(
          `full build (${r.reason}): ${n(r.neighbors)} neighbours for ${n(r.apps)} apps from ${n(r.libraries)} libraries in ${r.seconds.toFixed(1)} s`,
        );
      else
        console.log(
          `incremental build: ${n(r.acquisitions ?? 0)} new acquisitions in ${n(r.libraries)} libraries; ${n(r.apps)} apps' neighbours rewritten in ${r.seconds.toFixed(1)} s`,
        );
      console.log(
        `  phases (s): ${Object.entries(r.phases)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}; peak RSS ${n(maxRssMb)} MB`,
      );
    } finally {
      await infra.close();
    }
  });

recs
  .command('evaluate')
  .description("hide each synthetic user's most recent app; print recall@10 and NDCG@10 of our recommendations beside a popularity baseline")
  .option('--apps <n>', 'synthetic apps', positiveInt, 5000)
  .option('--users <n>', 'synthetic users', positiveInt, 20000)
  .option('--rng-seed <n>', 'random seed', positiveInt, 42)
  .action(async (opts: { apps: number; users: number; rngSeed: number }) => {
    const report = evaluateRecommendations({ apps: opts.apps, users: opts.users, seed: opts.rngSeed });
    for (const line of formatEvaluation(report)) console.log(line);
  });

program
  .command('payouts')
  .description('close a month: one payout per developer and currency of the unpaid Production proceeds (safe to rerun)')
  .requiredOption('--period <YYYY-MM>', 'the UTC month to close; it must be over', (v: string) => {
    if (!isPeriod(v)) throw new InvalidArgumentError('must be a month written YYYY-MM, e.g. 2025-04');
    return v;
  })
  .action(async (opts: { period: string }) => {
    const config = loadConfig();
    const infra = await open(config);
    try {
      const s = await createModules(config, infra).payouts.service.closePeriod(opts.period);
      const units = (milli: number) => `${Math.floor(milli / 1000)}.${String(milli % 1000).padStart(3, '0')}`; // payouts are positive
      console.log(`${s.period}: ${s.payouts} new payout(s)`);
      for (const t of s.totals) console.log(`  ${t.currency}  ${String(t.payouts).padStart(6)} payout(s)  ${units(t.amountMilli).padStart(18)}`);
      if (s.carriedForward) console.log(`  ${s.carriedForward} zero or negative balance(s) not paid: carried forward to the next period`);
      // the payout.created events are in the outbox: a running serve or worker relays them
    } finally {
      await infra.close();
    }
  });

const share = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('must be a share between 0 and 1');
  return n;
};
/** "a,b,c" -> the named non-negative integers. */
const counts =
  <K extends string>(...names: K[]) =>
  (v: string): Record<K, number> => {
    const parts = v.split(',').map(Number);
    if (parts.length !== names.length || parts.some((n) => !Number.isInteger(n) || n < 0)) {
      throw new InvalidArgumentError(`must be ${names.length} non-negative integers: ${names.join(',')}`);
    }
    return Object.fromEntries(names.map((n, i) => [n, parts[i]])) as Record<K, number>;
  };

const integrity = program.command('integrity').description('review integrity: learn from moderators, measure against simulated attacks');
registerChartSimulation(integrity);
integrity
  .command('train')
  .description("fit a model on moderators' decisions; once trained it scores new reviews instead of the seed weights")
  .action(async () => {
    const config = loadConfig();
    const infra = await open(config);
    try {
      const r = await createModules(config, infra).integrity.service.train();
      if (!r.trained) {
        console.log(
          `not enough labels yet: ${r.labels.genuine} genuine and ${r.labels.fake} fake (need ${r.needed.total} with ${r.needed.perClass} of each); reviews are still scored with the seed weights`,
        );
      } else {
        const m = r.metrics;
        console.log(`model logistic-v${r.version} trained on ${r.labels.genuine + r.labels.fake} labels (${r.labels.genuine} genuine, ${r.labels.fake} fake)`);
        console.log(`held-out: accuracy ${m.accuracy.toFixed(3)}  AUC ${m.auc.toFixed(3)}  log loss ${m.logLoss.toFixed(3)}`);
        // the integrity.model_trained event is in the outbox: running workers reload the model when it is relayed
      }
    } finally {
      await infra.close();
    }
  });
integrity
  .command('simulate')
  .description(
    'red team: organic reviews (with control groups) and attack families through a throwaway store (in memory), per seed and in aggregate. ' +
      'Every seed draws a different world. TUNING seeds are 1-5; REPORTING seeds are 101-110: tune the pipeline on the former only.',
  )
  .option('--small', 'the small world the tests use')
  .option('--seed <n>', 'one random seed (default 1)', positiveInt)
  .option('--seeds <list>', 'several seeds, e.g. 1-5 (tuning) or 101-110 (reporting); prints each and the aggregate')
  .option('--apps <n>', 'free apps of the organic world', positiveInt)
  .option('--days <n>', 'days of organic traffic', positiveInt)
  .option('--attack-days <n>', 'the last days, in which most attacks run', positiveInt)
  .option('--organic <n>', 'organic reviews besides the viral day', positiveInt)
  .option('--organic-new-share <x>', 'organic accounts younger than 30 days', share)
  .option('--organic-owner-share <x>', 'organic reviewers who own the app', share)
  .option('--viral <n>', 'reviews of the viral day', positiveInt)
  .option('--sleeper <campaigns,reviews,days>', 'aged accounts paraphrasing a brief on a paid app', counts('campaigns', 'reviews', 'days'))
  .option('--ring <rings,accounts,appsPerAccount>', "rings spinning one message across one developer's apps", counts('rings', 'accounts', 'appsPerAccount'))
  .option('--copy <n>', 'reviews copied from other apps', positiveInt)
  .option('--incentive <n>', 'incentivised reviews', positiveInt)
  .option('--bombing <campaigns,reviews,hours>', 'one-star bombing of popular apps by aged non-owners', counts('campaigns', 'reviews', 'hours'))
  .option('--farm <campaigns,reviews,hours>', 'fresh-account five-star farms on tail apps', counts('campaigns', 'reviews', 'hours'))
  .option('--explain', 'also print the mistakes (attack reviews approved, organic ones held or rejected) with their signals')
  .option('--json', 'print the reports as JSON')
  .action(async (opts: Record<string, any>) => {
    const seeds: number[] = opts.seeds ? parseSeeds(opts.seeds) : [opts.seed ?? (opts.small ? SMALL_OPTIONS.seed : 1)];
    const optionsFor = (seed: number): SimulationOptions => {
      const base = opts.small ? { ...SMALL_OPTIONS, seed } : randomOptions(seed);
      const ring = opts.ring ? { ...base.ring, ...opts.ring, developerApps: Math.max(base.ring.developerApps, opts.ring.appsPerAccount) } : base.ring;
      return {
        ...base,
        apps: opts.apps ?? base.apps,
        days: opts.days ?? base.days,
        attackDays: opts.attackDays ?? base.attackDays,
        organicReviews: opts.organic ?? base.organicReviews,
        organicNewAccountShare: opts.organicNewShare ?? base.organicNewAccountShare,
        organicOwnerShare: opts.organicOwnerShare ?? base.organicOwnerShare,
        viralDay: opts.viral ? { reviews: opts.viral } : base.viralDay,
        sleeper: { ...base.sleeper, ...opts.sleeper },
        ring,
        copy: { ...base.copy, ...(opts.copy ? { reviews: opts.copy } : {}) },
        incentive: { ...base.incentive, ...(opts.incentive ? { reviews: opts.incentive } : {}) },
        bombing: { ...base.bombing, ...opts.bombing },
        farm: { ...base.farm, ...opts.farm },
      };
    };
    const runs: { options: SimulationOptions; report: SimulationReport }[] = [];
    for (const seed of seeds) {
      const options = optionsFor(seed);
      if (options.attackDays < 2 || options.attackDays > options.days) throw new InvalidArgumentError('--attack-days must be between 2 and --days');
      const report = await runIntegritySimulation(options, opts.json ? undefined : (line) => console.error(line), !!opts.explain);
      runs.push({ options, report });
      if (opts.json) continue;
      console.log(`${formatReport(report)}\n`);
      for (const m of report.mistakes ?? []) console.log(`${formatMistake(m)}\n`);
    }
    const total = aggregate(runs.map((r) => r.report));
    if (opts.json)
      return console.log(
        JSON.stringify({ runs: runs.map((r) => ({ options: r.options, ...r.report })), aggregate: total, doneWhen: doneWhen(total.rows) }, null, 2),
      );
    console.log(formatAggregate(total));
  });

const dlq = program.command('dlq').description('dead-lettered events');
dlq
  .command('list')
  .option('--limit <n>', 'how many', positiveInt, 50)
  .action(async (opts: { limit: number }) => {
    const infra = await open(loadConfig());
    const letters = await infra.bus.listDeadLetters(opts.limit);
    if (!letters.length) console.log('no dead letters');
    for (const l of letters) {
      console.log(`${l.id}  ${l.consumer}  ${l.event.type}  attempts=${l.attempts}  ${l.failedAt}\n    ${l.error}`);
    }
    await infra.close();
  });
dlq
  .command('replay [ids...]')
  .description('send dead letters back to their consumer (all when no id is given)')
  .action(async (ids: string[]) => {
    const infra = await open(loadConfig());
    const n = await infra.bus.replayDeadLetters(ids.length ? ids : undefined);
    console.log(`replayed ${n} dead letter(s)`);
    await infra.close();
  });

program
  .command('backup <dest>')
  .description(
    'one consistent backup into a new directory: the database (PostgreSQL: pg_dump, while the store serves; embedded: PGlite, the store stopped), blobs, receipt keys, secrets, manifest.json with checksums',
  )
  .option('--force', 'embedded: back up even when it cannot be told whether another process has the database open')
  .action(async (dest: string, opts: { force?: boolean }) => {
    const m = await backup(loadConfig(), dest, { force: opts.force, log: (line) => console.log(line) });
    console.log(
      `backup ${dest}: ${m.totals.files} files, ${(m.totals.bytes / 1024 / 1024).toFixed(1)} MiB, database ${m.database.kind} at ${m.database.migrations.length} migrations, in ${m.seconds.total} s`,
    );
  });

program
  .command('restore <src>')
  .description(
    'restore a backup into an empty store (DATABASE_URL or the embedded database, and ORCHARD_DATA_DIR): checksums first; `serve` then migrates as usual',
  )
  .option('--force', 'replace a store that is not empty (drops the schema public / clears the data dir of Orchard files)')
  .option('--jobs <n>', 'pg_restore parallel jobs (PostgreSQL)', positiveInt, 2)
  .action(async (src: string, opts: { force?: boolean; jobs: number }) => {
    const r = await restore(loadConfig(), src, { force: opts.force, jobs: opts.jobs, migrationDirs, log: (line) => console.log(line) });
    console.log(`restored ${src} (made ${r.manifest.createdAt} by Orchard ${r.manifest.orchardVersion}) in ${r.seconds.total} s`);
    if (r.receiptRootFingerprint) console.log(`receipt root: SHA-256 ${r.receiptRootFingerprint}`);
    for (const n of r.manifest.notes) console.log(`note: ${n}`);
  });

const keys = program.command('keys').description('receipt signing keys');
keys
  .command('rotate-leaf')
  .description(
    'issue a new signing leaf under the same intermediate and root (needs intermediate.key.pem in the directory); receipts already issued keep verifying; restart processes to use it',
  )
  .option('--dir <dir>', 'the key set directory (default: <ORCHARD_DATA_DIR>/receipts)')
  .action(async (opts: { dir?: string }) => {
    const config = loadConfig();
    const r = await rotateReceiptLeaf(opts.dir ?? path.join(config.dataDir, 'receipts'));
    console.log(`new receipt signing leaf in ${r.dir} (valid ${r.validFrom} to ${r.validTo}), same intermediate and root`);
    console.log('restart every serve/worker using it: each loads the key at start');
    if (config.receiptKeys) console.log(`RECEIPT_* variables are set (${config.receiptKeys.origin}): put the new leaf.key.pem and leaf.pem into them`);
  });

program.parseAsync(process.argv).catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
