import { Redis } from 'ioredis';
import type { Cache } from './index.ts';

const DEL_IF_EQUALS = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const INCR_WINDOW = `local c = redis.call('incr', KEYS[1])
if c == 1 then redis.call('pexpire', KEYS[1], ARGV[1]) end
local ttl = redis.call('pttl', KEYS[1])
if ttl < 0 then redis.call('pexpire', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {c, ttl}`;

/** keyPrefix isolates deployments (and test runs) sharing one Redis. */
export function createRedisCache(url: string, keyPrefix = 'orchard:'): Cache {
  const redis = new Redis(url, { keyPrefix, enableAutoPipelining: true, maxRetriesPerRequest: 2, lazyConnect: false });
  redis.on('error', () => {}); // reconnects by itself; callers see failed commands
  return {
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
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
