import { Redis } from 'ioredis';
import type { Cache } from './index.ts';
import { createResilientCache, type CacheLogger } from './resilient.ts';

const DEL_IF_EQUALS = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const INCR_WINDOW = `local c = redis.call('incr', KEYS[1])
if c == 1 then redis.call('pexpire', KEYS[1], ARGV[1]) end
local ttl = redis.call('pttl', KEYS[1])
if ttl < 0 then redis.call('pexpire', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {c, ttl}`;

export interface RedisCacheOptions {
  logger?: CacheLogger;
  /** A command with no answer within this fails (and the cache is served without Redis for a while). */
  commandTimeoutMs?: number;
}

/**
 * keyPrefix isolates deployments (and test runs) sharing one Redis. Fail-soft (see resilient.ts): when
 * Redis is down or hangs, calls answer at once without it, and Redis is used again as soon as it is back.
 */
export function createRedisCache(url: string, keyPrefix = 'orchard:', opts: RedisCacheOptions = {}): Cache {
  const redis = new Redis(url, {
    keyPrefix,
    enableAutoPipelining: true,
    lazyConnect: false,
    // Never hold commands while disconnected; a command cut by a lost connection fails, it is not resent later
    // (a write resent after the lost-key cleanup could bring a stale entry back).
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: opts.commandTimeoutMs ?? 250,
    connectTimeout: 1000,
    // A connection that stops answering (a network hang) is replaced, rather than waiting for TCP to notice.
    socketTimeout: 2000,
    retryStrategy: (times) => Math.min(100 * times, 500),
  });
  redis.on('error', () => {}); // reconnects by itself; the resilient layer logs outages once each

  const direct: Cache = {
    kind: 'redis',
    get: (key) => redis.get(key),
    getBuffer: (key) => redis.getBuffer(key),
    async set(key, value, ttlMs) {
      if (ttlMs) await redis.set(key, value, 'PX', ttlMs);
      else await redis.set(key, value);
    },
    async del(...keys) {
      if (keys.length) await redis.del(...keys);
    },
    async setIfAbsent(key, value, ttlMs) {
      return (await redis.set(key, value, 'PX', ttlMs, 'NX')) === 'OK';
    },
    async delIfEquals(key, value) {
      return (await redis.eval(DEL_IF_EQUALS, 1, key, value)) === 1;
    },
    async incr(key, windowMs) {
      const [count, ttl] = (await redis.eval(INCR_WINDOW, 1, key, String(windowMs))) as [number, number];
      return { count, resetInMs: ttl };
    },
    async ping() {
      await redis.ping();
    },
    status: () => ({ degraded: redis.status !== 'ready', degradedCalls: 0 }),
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };

  const cache = createResilientCache(direct, {
    connected: () => redis.status === 'ready',
    flush: () => flushNamespace(redis, keyPrefix),
    logger: opts.logger,
  });
  redis.on('ready', () => void cache.recover());
  return cache;
}

/**
 * Deletes this namespace's cache entries, keeping rate-limit counters (`rl:`, not derived from anything
 * that can go stale; they expire with their window) and locks (`lock:`: deleting one would let a second
 * runner into a job that is still running; they expire by their TTL).
 */
export async function flushNamespace(redis: Redis, keyPrefix: string): Promise<void> {
  const match = `${keyPrefix.replace(/[*?[\]\\]/g, '\\$&')}*`; // SCAN patterns are not prefixed by ioredis
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = next;
    const doomed = keys.map((k) => k.slice(keyPrefix.length)).filter((k) => !k.startsWith('rl:') && !k.startsWith('lock:'));
    if (doomed.length) await redis.unlink(...doomed); // key arguments are prefixed again by ioredis
  } while (cursor !== '0');
}
