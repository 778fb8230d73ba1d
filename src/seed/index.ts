// The seed: a deterministic synthetic store (accounts, developers, apps with versions and their builds, icons, prices,
// in-app products and rating summaries) written straight into the tables with COPY. No events: nothing goes to the outbox.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import cliProgress from 'cli-progress';
import type { Infra } from '../config.ts';
import type { Db } from '../platform/db/index.ts';
import type { Blobs } from '../platform/blobs/index.ts';
import type { Logger } from '../platform/observability/logger.ts';
import { seedStatistics } from './statistics.ts';
import { hashPassword } from '../modules/identity/index.ts';
import {
  COLUMNS,
  DEFAULT_BASE_TIME,
  DEMO_ACCOUNTS,
  DEMO_PASSWORD,
  app,
  demoAccounts,
  developer,
  developerCount,
  developerSkew,
  emptyRows,
  user,
  type AppContext,
  type Build,
  type DeveloperInfo,
  type Icon,
  type Plan,
  type Rows,
  type Table,
} from './generate.ts';
import { ICON_COUNT, icon } from './icons.ts';
import { BINARY_COUNT, binary } from './binaries.ts';
import { priceTable, type Storefront } from './prices.ts';

export { DEMO_ACCOUNTS };

export interface SeedOptions {
  infra: Infra;
  apps: number;
  users: number;
  /** Same seed, same data (default 42). */
  rngSeed?: number;
  /** Do nothing (and return null) when the catalog already has apps. */
  onlyIfEmpty?: boolean;
  /** A progress bar on a TTY stderr; log lines otherwise. */
  progress?: boolean;
  /** The synthetic "now" every timestamp is relative to (default: a fixed date, so runs are reproducible). */
  baseTime?: Date;
}

export interface SeedResult {
  apps: number;
  /** Every account written: demo accounts, regular users and developers' users. */
  users: number;
  seconds: number;
}

/** Rows per COPY batch of users/developers, and apps per batch (each app brings ~15 rows of children). */
const ACCOUNT_BATCH = 10_000;
const APP_BATCH = 2_000;
/** Batches being written at once: two keep PostgreSQL busy on both cores of a small machine; more contend. */
const PARALLEL_BATCHES = 2;

export async function seed(opts: SeedOptions): Promise<SeedResult | null> {
  const started = performance.now();
  const { db, blobs, logger } = opts.infra;
  if (opts.onlyIfEmpty && (await db.query('SELECT 1 FROM apps LIMIT 1')).rows.length > 0) return null;
  const existing = await db.query('SELECT 1 FROM users WHERE lower(email) = $1', [DEMO_ACCOUNTS[0].email]);
  if (existing.rows.length > 0) {
    throw new Error(`this database is already seeded (${DEMO_ACCOUNTS[0].email} exists): seed into an empty database`);
  }

  const storefronts = (await db.query<Storefront>('SELECT country, currency FROM storefronts ORDER BY country')).rows;
  const developers = developerCount(opts.apps);
  const plan: Plan = {
    seed: opts.rngSeed ?? 42,
    baseTime: opts.baseTime?.getTime() ?? DEFAULT_BASE_TIME,
    apps: opts.apps,
    users: opts.users,
    developers,
    // One argon2 hash for every account (hashing is deliberately slow). Its salt is random, so this
    // column is the only one that differs between two runs with the same seed.
    passwordHash: await hashPassword(DEMO_PASSWORD),
    storefronts,
    prices: priceTable(storefronts),
    icons: await storeIcons(blobs),
  };

  const progress = createProgress(!!opts.progress, plan.users + developers + plan.apps, logger);
  const writer = new BatchWriter(db, PARALLEL_BATCHES);
  try {
    let rows = emptyRows();
    const flush = async (n: number) => {
      await writer.write(rows, () => progress.add(n));
      rows = emptyRows();
    };
    // Accounts: demo accounts (in the first batch), users, then developers (a user plus a developers row each).
    const demo = demoAccounts(plan, rows);
    await generate(plan.users, ACCOUNT_BATCH, (i) => user(plan, i, rows), flush);
    const devs: DeveloperInfo[] = [demo.developer];
    await generate(developers, ACCOUNT_BATCH, (i) => devs.push(developer(plan, i + 1, rows)), flush);
    await writer.drain(); // apps reference developers

    const binaries = await storeBinaries(blobs, plan.seed);
    const ctx: AppContext = { plan, demo, developers: devs, developerSkew: developerSkew(developers), bundleIds: new Set(), binaries };
    await generate(plan.apps, APP_BATCH, (i) => app(ctx, i, rows), flush);
    await writer.drain();
  } finally {
    progress.stop();
  }
  await db.query(`ANALYZE ${Object.keys(COLUMNS).join(', ')}`);
  await seedStatistics(db);

  const seconds = (performance.now() - started) / 1000;
  const users = DEMO_ACCOUNTS.length + plan.users + developers;
  logger.info({ apps: plan.apps, users, developers, seconds: Math.round(seconds * 10) / 10 }, 'seed complete');
  logger.debug({ copySeconds: writer.seconds }, 'seed: time in COPY per table');
  return { apps: plan.apps, users, seconds };
}

/** Calls make(i) for i in [0, count), handing over a full batch every batchSize items. */
async function generate(count: number, batchSize: number, make: (i: number) => unknown, flush: (n: number) => Promise<void>) {
  let inBatch = 0;
  for (let i = 0; i < count; i++) {
    make(i);
    if (++inBatch === batchSize || i === count - 1) {
      await flush(inBatch);
      inBatch = 0;
    } else if (i % 250 === 0) {
      await yieldToEventLoop(); // let the previous batch's COPY stream while this one is generated
    }
  }
  if (count === 0) await flush(0);
}

/** Parents before children; tables of one stage are loaded in parallel. */
const STAGES: Table[][] = [
  ['users'],
  ['developers'],
  ['apps'],
  ['app_versions', 'app_media', 'app_prices', 'in_app_products', 'app_rating_summaries'],
  ['in_app_prices'],
];

/**
 * Writes batches in the background while the caller generates the next ones, at most `parallel` at a
 * time (batches are independent of each other; within one, STAGES keeps parents first).
 */
class BatchWriter {
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;

  constructor(
    private readonly db: Db,
    private readonly parallel: number,
  ) {}

  async write(rows: Rows, done: () => void): Promise<void> {
    while (this.inFlight.size >= this.parallel) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
    const p: Promise<void> = this.copy(rows)
      .then(done, (err) => void (this.failure ??= err))
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  async drain(): Promise<void> {
    await Promise.all(this.inFlight);
    if (this.failure) throw this.failure;
  }

  /** Seconds spent in COPY per table (stages overlap, so they do not add up to the wall time). */
  readonly seconds: Partial<Record<Table, number>> = {};

  private async copy(rows: Rows) {
    for (const stage of STAGES) {
      await Promise.all(
        stage
          .filter((t) => rows[t].length > 0)
          .map(async (t) => {
            const started = performance.now();
            await this.db.copyRows(t, [...COLUMNS[t]], rows[t]);
            this.seconds[t] = (this.seconds[t] ?? 0) + (performance.now() - started) / 1000;
          }),
      );
    }
  }
}

/** The fixed icon set, stored once in the blob store (content-addressed: re-seeding stores nothing new). */
async function storeIcons(blobs: Blobs): Promise<Icon[]> {
  const icons: Icon[] = [];
  for (let i = 0; i < ICON_COUNT; i++) {
    const png = icon(i);
    icons.push(await blobs.put(Readable.from([png]), { maxBytes: png.length }));
  }
  return icons;
}

/** The fixed set of demo builds, smallest first; a build already in the blob store is not written again. */
async function storeBinaries(blobs: Blobs, seed: number): Promise<Build[]> {
  const builds: Build[] = [];
  for (let i = 0; i < BINARY_COUNT; i++) {
    const bytes = binary(seed, i);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const known = (await blobs.stat(sha256))?.size === bytes.length;
    builds.push(known ? { sha256, size: bytes.length } : await blobs.put(Readable.from([bytes]), { maxBytes: bytes.length }));
  }
  return builds.sort((a, b) => a.size - b.size);
}

function createProgress(enabled: boolean, total: number, logger: Logger) {
  let done = 0;
  if (enabled && process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: 'seeding |{bar}| {percentage}% {value}/{total} accounts+apps  eta {eta}s', hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0);
    return { add: (n: number) => bar.increment(n), stop: () => bar.stop() };
  }
  let nextLog = 0.1;
  return {
    add(n: number) {
      done += n;
      if (total > 0 && done / total >= nextLog) {
        logger.info({ done, total }, `seeding: ${Math.floor((done / total) * 100)}%`);
        while (done / total >= nextLog) nextLog += 0.1;
      }
    },
    stop() {},
  };
}
