import { Command, InvalidArgumentError } from 'commander';
import { loadConfig, createInfra, type Config, type Infra } from './config.ts';
import { buildApp, createModules, migrationDirs } from './app.ts';
import { migrate } from './platform/db/index.ts';
import { seed, DEMO_ACCOUNTS } from './seed/index.ts';
import { isPeriod } from './modules/payouts/index.ts';

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

/** SIGTERM/SIGINT: stop accepting, drain in-flight requests and consumers, close pools. */
function onShutdown(infra: Infra, close: () => Promise<void>) {
  let closing = false;
  const handler = async (signal: string) => {
    if (closing) return;
    closing = true;
    infra.logger.info({ signal }, 'shutting down: draining');
    const force = setTimeout(() => process.exit(1), 15_000).unref();
    try {
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

const program = new Command('orchard').description('Orchard, the open-source App Store backend');

program
  .command('serve')
  .description('HTTP API; in embedded mode (no AMQP_URL) also the workers, in-process')
  .option('--no-demo', 'do not seed demo data into an empty catalog')
  .action(async (opts: { demo: boolean }) => {
    const config = loadConfig();
    const infra = await open(config);
    const modules = createModules(config, infra);
    if (opts.demo && config.demo.apps > 0) {
      const result = await seed({ infra, apps: config.demo.apps, users: config.demo.users, onlyIfEmpty: true, progress: true });
      if (result) infra.logger.info({ apps: result.apps, users: result.users, seconds: result.seconds }, 'demo catalog seeded');
    }
    const app = await buildApp(config, infra, modules);
    await infra.bus.start({ relay: true, consume: infra.bus.kind === 'inprocess' });
    if (infra.bus.kind === 'inprocess') {
      modules.purchases.startJobs();
      modules.notifications.startWorker();
    }
    await app.listen({ host: config.host, port: config.port });
    onShutdown(infra, () => app.close());
    console.log(`\nOrchard is up: ${config.publicBaseUrl}  (API docs: ${config.publicBaseUrl}/docs)`);
    console.log('Demo accounts (password for all: ' + DEMO_ACCOUNTS[0].password + '):');
    for (const a of DEMO_ACCOUNTS) console.log(`  ${a.role.padEnd(9)} ${a.email}`);
  });

program
  .command('worker')
  .description('event consumers and scheduled jobs only (no HTTP)')
  .action(async () => {
    const config = loadConfig();
    const infra = await open(config);
    const modules = createModules(config, infra);
    await infra.bus.start({ relay: true, consume: true });
    modules.purchases.startJobs();
    modules.notifications.startWorker();
    onShutdown(infra, async () => {
      modules.purchases.stopJobs();
      await modules.notifications.stopWorker();
    });
    infra.logger.info('worker running');
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

program.parseAsync(process.argv).catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
