// What the fault suite sets up on the real servers, and takes down again: a scratch database, a
// namespace (Redis key prefix, RabbitMQ exchange and queue names), a data dir, and a TCP proxy in front
// of each of PostgreSQL, Redis and RabbitMQ through which every Orchard process talks.
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { connect } from 'amqplib';
import { startProxyThread, type ProxyThread, type RemoteProxy } from './proxies.ts';
import { defaultRetryPolicy } from '../../src/platform/bus/backoff.ts';
import { topologyNames } from '../../src/platform/bus/rabbitmq-topology.ts';

export interface Servers {
  /** Admin URL of the PostgreSQL server (any existing database; the scratch one is created beside it). */
  pg: string;
  redis: string;
  amqp: string;
}

export const DEFAULT_SERVERS: Servers = {
  pg: process.env.FAULTS_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  redis: process.env.FAULTS_REDIS_URL ?? 'redis://127.0.0.1:6379',
  amqp: process.env.FAULTS_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
};

export interface Environment {
  id: string;
  dbName: string;
  /** The scratch database, directly (the audit; never through the proxy). */
  directDbUrl: string;
  namespace: string;
  dataDir: string;
  proxies: { pg: RemoteProxy; redis: RemoteProxy; amqp: RemoteProxy };
  proxyThread: ProxyThread;
  /** What the Orchard processes get: every URL through its proxy. */
  urls: { db: string; redis: string; amqp: string };
}

export async function createEnvironment(servers: Servers, runDir: string): Promise<Environment> {
  const id = randomBytes(4).toString('hex');
  const dbName = `orchard_faults_${id}`;
  const admin = new pg.Client({ connectionString: servers.pg });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${dbName}`);
  } finally {
    await admin.end();
  }
  const direct = new URL(servers.pg);
  direct.pathname = `/${dbName}`;
  const dataDir = path.join(runDir, 'data');
  await mkdir(dataDir, { recursive: true });

  const hostPort = (u: string) => {
    const x = new URL(u);
    return [x.hostname, Number(x.port)] as const;
  };
  const [pgHost, pgPort] = hostPort(servers.pg);
  const [redisHost, redisPort] = hostPort(servers.redis);
  const [amqpHost, amqpPort] = hostPort(servers.amqp);
  const proxyThread = await startProxyThread({
    pg: { host: pgHost, port: pgPort || 5432 },
    redis: { host: redisHost, port: redisPort || 6379 },
    amqp: { host: amqpHost, port: amqpPort || 5672 },
  });
  const proxies = proxyThread.proxies as Environment['proxies'];
  return {
    id,
    dbName,
    directDbUrl: direct.toString(),
    namespace: `orchard-faults-${id}`,
    dataDir,
    proxies,
    proxyThread,
    urls: { db: proxies.pg.url(direct.toString()), redis: proxies.redis.url(servers.redis), amqp: proxies.amqp.url(servers.amqp) },
  };
}

/**
 * Removes what the run made on the servers. RabbitMQ names come from the namespace (see the topology
 * comment in src/platform/bus/rabbitmq.ts): the durable consumers are read from bus_consumers before
 * the database goes. Each step is attempted whatever happened to the others; returns what went wrong.
 */
export async function destroyEnvironment(env: Environment, servers: Servers, opts: { keep: boolean }): Promise<string[]> {
  const problems: string[] = [];
  const attempt = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      problems.push(`${what}: ${(err as Error).message}`);
    }
  };
  await attempt('proxy close', () => env.proxyThread.close());

  let consumers: string[] = [];
  await attempt('read bus_consumers', async () => {
    const c = new pg.Client({ connectionString: env.directDbUrl });
    await c.connect();
    try {
      consumers = (await c.query<{ consumer: string }>('SELECT consumer FROM bus_consumers')).rows.map((r) => r.consumer);
    } finally {
      await c.end();
    }
  });

  await attempt('redis cleanup', async () => {
    const r = new Redis(servers.redis, { lazyConnect: true, maxRetriesPerRequest: 2 });
    await r.connect();
    try {
      let cursor = '0';
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', `${env.namespace}:*`, 'COUNT', 1000);
        if (keys.length) await r.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    } finally {
      r.disconnect();
    }
  });

  await attempt('rabbitmq cleanup', async () => {
    const conn = await connect(servers.amqp);
    try {
      const names = topologyNames(env.namespace);
      const delays = [...new Set(defaultRetryPolicy.delaysMs)];
      // the quorum queues, and the classic ones of earlier versions in case a run left them
      const queues = consumers.flatMap((c) => [
        names.queue(c),
        names.dlq(c),
        ...delays.map((ms) => names.retry(c, ms)),
        names.legacy.queue(c),
        names.legacy.dlq(c),
        ...delays.map((ms) => names.legacy.retry(c, ms)),
      ]);
      // A channel dies on the first broker error: one channel per name keeps the others going.
      for (const q of queues) {
        const ch = await conn.createChannel();
        ch.on('error', () => {});
        await ch.deleteQueue(q).catch(() => {});
        await ch.close().catch(() => {});
      }
      for (const x of [names.events, names.dead]) {
        const ch = await conn.createChannel();
        ch.on('error', () => {});
        await ch.deleteExchange(x).catch(() => {});
        await ch.close().catch(() => {});
      }
    } finally {
      await conn.close().catch(() => {});
    }
  });

  if (!opts.keep) {
    await attempt('drop database', async () => {
      const c = new pg.Client({ connectionString: servers.pg });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${env.dbName} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    });
    await attempt('remove data dir', () => rm(env.dataDir, { recursive: true, force: true }));
  }
  return problems;
}
