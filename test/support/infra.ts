// Test infrastructure: the same suites run on the embedded adapters and, when the ORCHARD_TEST_*
// URLs are set (.ci/run sets them), on real PostgreSQL, Redis and RabbitMQ.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { createInfra, loadConfig, type Config, type Infra } from '../../src/config.ts';
import { migrate } from '../../src/platform/db/index.ts';
import { migrationDirs } from '../../src/app.ts';

export type Kind = 'embedded' | 'production';

export const productionUrls = {
  db: process.env.ORCHARD_TEST_DATABASE_URL,
  redis: process.env.ORCHARD_TEST_REDIS_URL,
  amqp: process.env.ORCHARD_TEST_AMQP_URL,
};

/** Adapter sets to run a suite against: embedded always, production when its URLs are set. */
export function kinds(): Kind[] {
  return productionUrls.db && productionUrls.redis && productionUrls.amqp ? ['embedded', 'production'] : ['embedded'];
}

const unique = () => `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

/** A throwaway database on the test server; dropped by the returned cleanup. */
export async function createScratchDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = new pg.Client({ connectionString: productionUrls.db });
  await admin.connect();
  const name = `orchard_${unique()}`;
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(productionUrls.db!);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: productionUrls.db });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export interface TestInfra extends Infra {
  config: Config;
  kind: Kind;
}

/**
 * Fresh, migrated infrastructure of one kind, isolated from every other test run
 * (own database, own Redis key prefix, own RabbitMQ names). close() removes what it made.
 */
export async function createTestInfra(
  kind: Kind,
  overrides: Partial<Config> = {},
  /** Production: rewrite a service's URL, e.g. to go through a fault-injecting TCP proxy. */
  via: { db?: (url: string) => string; redis?: (url: string) => string; amqp?: (url: string) => string; replica?: (url: string) => string } = {},
): Promise<TestInfra> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'orchard-test-'));
  const namespace = `orchard-${unique()}`;
  const config = loadConfig({}, { dataDir, namespace, logLevel: process.env.TEST_LOG_LEVEL ?? 'silent', demo: { apps: 0, users: 0 }, ...overrides });
  const cleanups: (() => Promise<void>)[] = [() => rm(dataDir, { recursive: true, force: true })];

  if (kind === 'production') {
    const scratch = await createScratchDatabase();
    cleanups.push(scratch.drop);
    config.databaseUrl = via.db ? via.db(scratch.url) : scratch.url;
    if (via.replica) config.databaseReplicaUrl = via.replica(scratch.url);
    config.redisUrl = overrides.redisUrl ?? (via.redis ? via.redis(productionUrls.redis!) : productionUrls.redis);
    config.amqpUrl = via.amqp ? via.amqp(productionUrls.amqp!) : productionUrls.amqp;
    cleanups.push(async () => {
      const r = new Redis(productionUrls.redis!);
      const keys = await r.keys(`${namespace}:*`);
      if (keys.length) await r.del(...keys);
      await r.quit();
    });
  }
  const infra = await createInfra(config, { inMemoryDb: true, deleteBusTopologyOnStop: true, dbPoolSize: 10 });
  await migrate(infra.db, migrationDirs);
  return {
    ...infra,
    kind,
    config,
    async close() {
      await infra.close();
      for (const c of cleanups.reverse()) await c().catch(() => {});
    },
  };
}

/** Polls until check() is truthy (events are asynchronous); throws after timeoutMs. */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
