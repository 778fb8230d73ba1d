// Embedded adapter: an in-process LRU with TTL.
// Does NOT provide: sharing between processes (each API process has its own cache, locks and
// rate-limit counters), persistence across restarts.
import { LRUCache } from 'lru-cache';
import type { Cache } from './index.ts';

export function createMemoryCache(maxEntries = 200_000): Cache {
  const lru = new LRUCache<string, string>({ max: maxEntries, ttlAutopurge: false });
  const counters = new Map<string, { count: number; resetAt: number }>();

  return {
    kind: 'memory',
    async get(key) {
      return lru.get(key) ?? null;
    },
    async getBuffer(key) {
      const v = lru.get(key);
      return v === undefined ? null : Buffer.from(v);
    },
    async set(key, value, ttlMs) {
      lru.set(key, value, ttlMs ? { ttl: ttlMs } : undefined);
    },
    async del(...keys) {
      for (const k of keys) {
        lru.delete(k);
        counters.delete(k);
      }
    },
    async setIfAbsent(key, value, ttlMs) {
      if (lru.has(key)) return false;
      lru.set(key, value, { ttl: ttlMs });
      return true;
    },
    async delIfEquals(key, value) {
      if (lru.get(key) !== value) return false;
      lru.delete(key);
      return true;
    },
    async incr(key, windowMs) {
      const now = Date.now();
      let c = counters.get(key);
      if (!c || c.resetAt <= now) {
        c = { count: 0, resetAt: now + windowMs };
        counters.set(key, c);
        if (counters.size > maxEntries) sweep(now);
      }
      c.count++;
      return { count: c.count, resetInMs: c.resetAt - now };
    },
    async ping() {},
    status: () => ({ degraded: false, degradedCalls: 0 }),
    async close() {
      lru.clear();
      counters.clear();
    },
  };

  function sweep(now: number) {
    for (const [k, c] of counters) if (c.resetAt <= now) counters.delete(k);
  }
}
