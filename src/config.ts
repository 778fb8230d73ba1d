import path from 'node:path';
import type { Db } from './platform/db/index.ts';
import { createPostgresDb } from './platform/db/postgres.ts';
import { createPgliteDb } from './platform/db/pglite.ts';
import type { Cache } from './platform/cache/index.ts';
import { createRedisCache } from './platform/cache/redis.ts';
import { createMemoryCache } from './platform/cache/memory.ts';
import { typedBus, type EventBus } from './platform/bus/index.ts';
import type { OrchardEvents } from './events.ts';
import { createInProcessBus } from './platform/bus/inprocess.ts';
import { createRabbitBus } from './platform/bus/rabbitmq.ts';
import type { Blobs } from './platform/blobs/index.ts';
import { createFsBlobs } from './platform/blobs/filesystem.ts';
import { createLogger, type Logger } from './platform/observability/logger.ts';
import { createMetrics, type Metrics } from './platform/observability/metrics.ts';

export interface Config {
  host: string;
  port: number;
  /** Embedded database, blobs and keys live here. */
  dataDir: string;
  databaseUrl?: string;
  /** PostgreSQL connections per process (DATABASE_POOL_SIZE, default 20). */
  databasePoolSize: number;
  redisUrl?: string;
  amqpUrl?: string;
  /** Prefix of Redis keys and RabbitMQ exchanges/queues: several deployments (or test runs) can share servers. */
  namespace: string;
  logLevel: string;
  prettyLogs: boolean;
  publicBaseUrl: string;
  limits: {
    bodyBytes: number;
    iconBytes: number;
    screenshotBytes: number;
    binaryBytes: number;
  };
  sessionTtlMs: number;
  /** Demo catalog seeded by `serve` when the catalog is empty (0 disables). */
  demo: { apps: number; users: number };
  /** Keep the search engine's answers per query while the index is unchanged (SEARCH_ANSWER_CACHE=off: never). */
  searchAnswerCache: boolean;
  /** Signs download URLs (at least 32 characters). Absent: a key made once under <dataDir>/keys/; set it when hosts do not share that dir. */
  downloadUrlSecret?: string;
  /** Chart signal weights: downloads, rating, engagement, revenue, freshness (ORCHARD_CHART_WEIGHTS="0.3,0.25,0.2,0.15,0.1"). */
  chartWeights: { downloads: number; rating: number; engagement: number; revenue: number; freshness: number };
}

const int = (v: string | undefined, fallback: number, name: string) => {
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${v}"`);
  return n;
};

/** Five non-negative numbers that sum to 1 (within rounding). */
const weights = (v: string | undefined) => {
  if (v === undefined || v === '') return { downloads: 0.3, rating: 0.25, engagement: 0.2, revenue: 0.15, freshness: 0.1 };
  const w = v.split(',').map((x) => Number(x.trim()));
  if (w.length !== 5 || w.some((x) => !Number.isFinite(x) || x < 0) || Math.abs(w.reduce((a, b) => a + b, 0) - 1) > 1e-6) {
    throw new Error(`ORCHARD_CHART_WEIGHTS must be five non-negative numbers summing to 1 (downloads,rating,engagement,revenue,freshness), got "${v}"`);
  }
  return { downloads: w[0], rating: w[1], engagement: w[2], revenue: w[3], freshness: w[4] };
};

const secret = (v: string | undefined, name: string) => {
  if (v === undefined || v === '') return undefined;
  if (v.length < 32) throw new Error(`${name} must be at least 32 characters long`);
  return v;
};

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const port = int(env.PORT, 3000, 'PORT');
  const host = env.HOST ?? '0.0.0.0';
  const config: Config = {
    host,
    port,
    dataDir: path.resolve(env.ORCHARD_DATA_DIR ?? 'data'),
    databaseUrl: env.DATABASE_URL || undefined,
    databasePoolSize: int(env.DATABASE_POOL_SIZE, 20, 'DATABASE_POOL_SIZE') || 20,
    redisUrl: env.REDIS_URL || undefined,
    amqpUrl: env.AMQP_URL || undefined,
    namespace: env.ORCHARD_NAMESPACE ?? 'orchard',
    logLevel: env.LOG_LEVEL ?? 'info',
    prettyLogs: env.LOG_PRETTY === '1',
    publicBaseUrl: env.PUBLIC_BASE_URL ?? `http://localhost:${port}`,
    limits: {
      bodyBytes: int(env.BODY_LIMIT_BYTES, 1024 ** 2, 'BODY_LIMIT_BYTES'),
      iconBytes: int(env.ICON_LIMIT_BYTES, 1024 ** 2, 'ICON_LIMIT_BYTES'),
      screenshotBytes: int(env.SCREENSHOT_LIMIT_BYTES, 8 * 1024 ** 2, 'SCREENSHOT_LIMIT_BYTES'),
      binaryBytes: int(env.BINARY_LIMIT_BYTES, 2 * 1024 ** 3, 'BINARY_LIMIT_BYTES'),
    },
    sessionTtlMs: int(env.SESSION_TTL_HOURS, 24 * 30, 'SESSION_TTL_HOURS') * 3_600_000,
    demo: { apps: int(env.DEMO_APPS, 3000, 'DEMO_APPS'), users: int(env.DEMO_USERS, 200, 'DEMO_USERS') },
    searchAnswerCache: env.SEARCH_ANSWER_CACHE !== 'off',
    downloadUrlSecret: secret(env.DOWNLOAD_URL_SECRET, 'DOWNLOAD_URL_SECRET'),
    chartWeights: weights(env.ORCHARD_CHART_WEIGHTS),
  };
  return { ...config, ...overrides };
}

export interface Infra {
  db: Db;
  cache: Cache;
  /** Typed by every module's events (src/events.ts). */
  bus: EventBus<OrchardEvents>;
  blobs: Blobs;
  logger: Logger;
  metrics: Metrics;
  close(): Promise<void>;
}

export interface InfraOptions {
  logger?: Logger;
  /** Embedded database in memory instead of under the data dir (tests). */
  inMemoryDb?: boolean;
  /** RabbitMQ: delete the exchanges and queues this process declared when it stops (tests). */
  deleteBusTopologyOnStop?: boolean;
  /** Database pool size (PostgreSQL). */
  dbPoolSize?: number;
}

/** The only place that chooses adapters: a URL present means the production part, absent means embedded. */
export async function createInfra(config: Config, opts: InfraOptions = {}): Promise<Infra> {
  const logger = opts.logger ?? createLogger(config.logLevel, config.prettyLogs);
  const db = config.databaseUrl
    ? createPostgresDb(config.databaseUrl, { max: opts.dbPoolSize ?? config.databasePoolSize })
    : await createPgliteDb(opts.inMemoryDb ? undefined : path.join(config.dataDir, 'pglite'));
  const cache = config.redisUrl ? createRedisCache(config.redisUrl, `${config.namespace}:`, { logger }) : createMemoryCache();
  const bus = typedBus<OrchardEvents>(
    config.amqpUrl
      ? createRabbitBus({ db, url: config.amqpUrl, namespace: config.namespace, logger, deleteTopologyOnStop: opts.deleteBusTopologyOnStop })
      : createInProcessBus({ db, logger }),
  );
  const blobs = createFsBlobs(path.join(config.dataDir, 'blobs'));
  const metrics = createMetrics();
  logger.info({ db: db.kind, cache: cache.kind, bus: bus.kind, dataDir: config.dataDir }, 'infrastructure ready');
  return {
    db,
    cache,
    bus,
    blobs,
    logger,
    metrics,
    async close() {
      await bus.stop();
      await cache.close();
      await db.close();
    },
  };
}
