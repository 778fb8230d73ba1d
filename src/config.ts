import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Db } from './platform/db/index.ts';
import { createPostgresDb } from './platform/db/postgres.ts';
import { createReadDb } from './platform/db/read.ts';
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
  /** The primary; several hosts (`postgres://u@h1:5432,h2:5433/db`) are tried in order for the writable one. */
  databaseUrl?: string;
  /** A read replica for the reads that tolerate a little lag (DATABASE_REPLICA_URL). */
  databaseReplicaUrl?: string;
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
  /**
   * Receipt signing key and its chain (RECEIPT_SIGNING_KEY + RECEIPT_CERT_CHAIN or RECEIPT_LEAF_CERT, _INTERMEDIATE_CERT,
   * _ROOT_CERT; each also as *_FILE): every process signs under the same root. Absent: a set made once under <dataDir>/receipts/.
   * `origin` names the variables, for error messages.
   */
  receiptKeys?: { signingKey: string; chain: [leaf: string, intermediate: string, root: string]; origin?: string };
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

/** PEM text from NAME, or read from the file NAME_FILE names (never both). A one-line value with escaped newlines ("\\n") is accepted. */
function pemVariable(env: NodeJS.ProcessEnv, name: string): { text: string; from: string } | undefined {
  const inline = env[name] || undefined;
  const file = env[`${name}_FILE`] || undefined;
  if (inline && file) throw new Error(`receipt keys: set ${name} or ${name}_FILE, not both`);
  if (file) {
    try {
      return { text: readFileSync(file, 'utf8'), from: `${name}_FILE` };
    } catch (err) {
      throw new Error(`receipt keys: ${name}_FILE names ${file}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? err})`);
    }
  }
  if (inline) return { text: inline.includes('\n') ? inline : inline.replaceAll('\\n', '\n'), from: name };
  return undefined;
}

const CHAIN_PARTS = ['RECEIPT_LEAF_CERT', 'RECEIPT_INTERMEDIATE_CERT', 'RECEIPT_ROOT_CERT'] as const;

/**
 * The configured receipt key set, checked here so that a partial or inconsistent set stops the process at start with
 * the variable to fix: every variable present, the key readable, EC P-256 and the leaf's, leaf <- intermediate <- root
 * signed and CA flags right, each certificate valid now. (Loading the keys checks Apple's marker extensions too.)
 */
function receiptKeys(env: NodeJS.ProcessEnv): Config['receiptKeys'] {
  const key = pemVariable(env, 'RECEIPT_SIGNING_KEY');
  const chain = pemVariable(env, 'RECEIPT_CERT_CHAIN');
  const parts = CHAIN_PARTS.map((name) => pemVariable(env, name));
  if (!key && !chain && !parts.some(Boolean)) return undefined;
  const fail = (what: string): never => {
    throw new Error(`receipt keys: ${what}`);
  };
  if (chain && parts.some(Boolean)) fail('set RECEIPT_CERT_CHAIN or RECEIPT_LEAF_CERT, RECEIPT_INTERMEDIATE_CERT and RECEIPT_ROOT_CERT, not both');
  if (!key)
    fail('RECEIPT_SIGNING_KEY (or RECEIPT_SIGNING_KEY_FILE) is missing: set it with the certificates, or unset them all to use the keys under the data dir');
  if (!chain && !parts.every(Boolean)) {
    const missing = CHAIN_PARTS.filter((_, i) => !parts[i]);
    fail(`${missing.join(', ')} missing (or their _FILE variants): set RECEIPT_CERT_CHAIN, or all three certificates`);
  }
  const labels = ['leaf', 'intermediate', 'root'] as const;
  const certs = chain
    ? (() => {
        const blocks = chain.text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
        if (blocks.length !== 3) fail(`${chain.from} must hold three PEM certificates (leaf, intermediate, root, in that order); it holds ${blocks.length}`);
        return blocks.map((text, i) => ({ text, from: `${chain.from} (${labels[i]})` }));
      })()
    : (parts as { text: string; from: string }[]);
  let signingKey: KeyObject;
  try {
    signingKey = createPrivateKey(key!.text);
  } catch {
    return fail(`${key!.from} is not a readable PEM private key`);
  }
  if (signingKey.asymmetricKeyType !== 'ec' || signingKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    fail(`${key!.from} must be an EC P-256 key (ES256)`);
  const [leaf, intermediate, root] = certs.map((c, i) => {
    try {
      return new X509Certificate(c.text);
    } catch {
      return fail(`${c.from} is not a readable PEM certificate (the ${labels[i]})`);
    }
  });
  const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
  if (!spki(createPublicKey(signingKey)).equals(spki(leaf.publicKey))) fail(`${key!.from} is not the private key of the leaf certificate (${certs[0].from})`);
  if (!root.checkIssued(root) || !root.verify(root.publicKey)) fail(`${certs[2].from} is not a self-signed root certificate`);
  if (!intermediate.checkIssued(root) || !intermediate.verify(root.publicKey)) fail(`${certs[1].from} was not issued by the root (${certs[2].from})`);
  if (!leaf.checkIssued(intermediate) || !leaf.verify(intermediate.publicKey)) fail(`${certs[0].from} was not issued by the intermediate (${certs[1].from})`);
  if (!intermediate.ca) fail(`${certs[1].from} is not a CA certificate`);
  if (leaf.ca) fail(`${certs[0].from} is a CA certificate: the leaf must not be one`);
  const now = Date.now();
  [leaf, intermediate, root].forEach((cert, i) => {
    if (Date.parse(cert.validFrom) > now + 60_000 || Date.parse(cert.validTo) < now - 60_000) {
      fail(`${certs[i].from} is not valid now (valid from ${cert.validFrom} to ${cert.validTo})`);
    }
  });
  return {
    signingKey: key!.text,
    chain: [certs[0].text, certs[1].text, certs[2].text],
    origin: [key!.from, ...new Set(certs.map((c) => c.from.replace(/ \(.*\)$/, '')))].join(', '),
  };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const port = int(env.PORT, 3000, 'PORT');
  const host = env.HOST ?? '0.0.0.0';
  const config: Config = {
    host,
    port,
    dataDir: path.resolve(env.ORCHARD_DATA_DIR ?? 'data'),
    databaseUrl: env.DATABASE_URL || undefined,
    databaseReplicaUrl: env.DATABASE_REPLICA_URL || undefined,
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
    receiptKeys: receiptKeys(env),
  };
  return { ...config, ...overrides };
}

export interface Infra {
  /** The primary: every write, and every read that must see its own writes. */
  db: Db;
  /** Reads that tolerate a little lag: the replica when configured (falling back to the primary), else the primary. */
  readDb: Db;
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
  if (config.databaseReplicaUrl && !config.databaseUrl) throw new Error('DATABASE_REPLICA_URL needs DATABASE_URL (the embedded database has no replica)');
  const readDb = config.databaseReplicaUrl
    ? createReadDb(createPostgresDb(config.databaseReplicaUrl, { max: opts.dbPoolSize ?? config.databasePoolSize }), db)
    : db;
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
    readDb,
    cache,
    bus,
    blobs,
    logger,
    metrics,
    async close() {
      await bus.stop();
      await cache.close();
      await db.close();
      if (readDb !== db) await readDb.close();
    },
  };
}
