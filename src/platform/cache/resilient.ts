// The cache is an optimisation, never a dependency of correctness. This decorator answers every call
// without its backend while the backend is unreachable, instead of failing or waiting:
//   get / getBuffer   -> null (a miss: callers read the database)
//   set / del         -> nothing written, and the key is remembered: the entry Redis still holds may be stale
//                        (a session whose revocation tombstone was not written, an app detail not invalidated),
//                        so it is deleted when the backend is back, before anything is read from it again
//   setIfAbsent       -> false (a lock not taken: a job skips a turn; a value simply not cached)
//   delIfEquals       -> false (the lock expires by its TTL, and is released when the backend is back)
//   incr              -> a per-process fixed-window counter (rate limits hold within each process)
//   ping              -> throws: health checks must tell the truth
// After a failure the backend is not tried again for retryAfterMs (no timeout paid on each call); a timer
// then checks it, cleans the remembered keys and only then lets calls through again.
import type { Cache, CacheStatus } from './index.ts';
import { createMemoryCache } from './memory.ts';

export interface CacheLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface ResilientOptions {
  /** Cheap check of the connection (ioredis status 'ready'): calls skip the backend while it is false. */
  connected: () => boolean;
  /** Deletes every cache entry of this namespace: when more writes were lost than could be remembered. */
  flush: () => Promise<void>;
  logger?: CacheLogger;
  /** How long the backend is left alone after a failure before it is checked again. */
  retryAfterMs?: number;
  /** How many lost writes are remembered key by key; beyond that the namespace is flushed on recovery. */
  maxLostKeys?: number;
  /** Calls made before the first connection wait for it this long, then go without. */
  startupWaitMs?: number;
}

export interface ResilientCache extends Cache {
  /** Checks the backend now (e.g. on reconnection) and takes it back into use when it answers. */
  recover(): Promise<boolean>;
}

const CHUNK = 500;

export function createResilientCache(backend: Cache, opts: ResilientOptions): ResilientCache {
  const { connected, flush, logger } = opts;
  const retryAfterMs = opts.retryAfterMs ?? 500;
  const maxLostKeys = opts.maxLostKeys ?? 10_000;
  const local = createMemoryCache(10_000); // only its counters are used

  // 'down' from the start: the backend is taken into use by the first successful recover().
  let state: 'up' | 'down' | 'recovering' = 'down';
  let outage = { since: Date.now(), calls: 0, logged: false };
  let degradedCalls = 0;
  let recovering: Promise<boolean> | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let closed = false;
  // Calls made before the first connection wait a little for it instead of all missing.
  let firstUp: (() => void) | undefined;
  let starting: Promise<void> | undefined = new Promise<void>((resolve) => {
    setTimeout(resolve, opts.startupWaitMs ?? 500).unref();
    firstUp = resolve;
  }).then(() => {
    starting = undefined;
  });

  /**
   * Keys whose write was lost, and how to clean each when the backend is back: null = delete it;
   * a string = delete it only while it holds that value (our own lock or a value we may have set).
   */
  let lost = new Map<string, string | null>();
  let overflowed = false;

  function remember(key: string, value: string | null) {
    if (overflowed) return;
    const had = lost.get(key);
    if (had === null) return; // an unconditional delete covers everything
    if (had === undefined && lost.size >= maxLostKeys) {
      overflowed = true;
      lost = new Map();
      logger?.warn({ maxLostKeys }, 'cache: too many writes lost to remember them; the namespace will be flushed when it is back');
      return;
    }
    lost.set(key, value); // of two conditional deletes, the newest is kept; the older value expires by its TTL
  }

  async function usable(): Promise<boolean> {
    if (starting && state !== 'up') await starting;
    if (state !== 'up') return false;
    if (connected()) return true;
    markDown(new Error('not connected'));
    return false;
  }

  function degraded() {
    degradedCalls++;
    outage.calls++;
  }

  function markDown(err: unknown) {
    if (state === 'up') {
      state = 'down';
      outage = { since: Date.now(), calls: 0, logged: true };
      logger?.warn({ err }, 'cache unavailable: serving without it (reads miss, lost writes cleaned up on return, rate limits per process)');
    }
    scheduleRetry();
  }

  function scheduleRetry() {
    if (retryTimer || closed) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void recover();
    }, retryAfterMs);
    retryTimer.unref();
  }

  function recover(): Promise<boolean> {
    if (state === 'up' || closed) return Promise.resolve(state === 'up');
    recovering ??= attemptRecovery().finally(() => {
      recovering = undefined;
    });
    return recovering;
  }

  async function attemptRecovery(): Promise<boolean> {
    state = 'recovering';
    try {
      if (!connected()) throw new Error('not connected');
      await backend.ping();
      let cleaned = 0;
      // Calls stay degraded until the cleanup is done; writes lost meanwhile are cleaned by the next round.
      while (overflowed || lost.size) {
        if (overflowed) {
          overflowed = false;
          try {
            await flush();
          } catch (err) {
            overflowed = true;
            throw err;
          }
        } else {
          const batch = lost;
          lost = new Map();
          try {
            await clean(batch);
            cleaned += batch.size;
          } catch (err) {
            for (const [key, value] of batch) remember(key, value);
            throw err;
          }
        }
      }
      state = 'up';
      if (outage.logged) {
        logger?.info({ outageMs: Date.now() - outage.since, degradedCalls: outage.calls, cleanedKeys: cleaned }, 'cache back in use');
      }
      firstUp?.();
      firstUp = undefined;
      return true;
    } catch (err) {
      state = 'down';
      if (!outage.logged) {
        outage.logged = true; // unreachable from the start
        logger?.warn({ err }, 'cache unavailable: serving without it (reads miss, lost writes cleaned up on return, rate limits per process)');
      }
      scheduleRetry();
      return false;
    }
  }

  async function clean(batch: Map<string, string | null>) {
    const keys = [...batch].filter(([, v]) => v === null).map(([k]) => k);
    const owned = [...batch].filter(([, v]) => v !== null) as [string, string][];
    for (let i = 0; i < keys.length; i += CHUNK) await backend.del(...keys.slice(i, i + CHUNK));
    for (let i = 0; i < owned.length; i += CHUNK) {
      await Promise.all(owned.slice(i, i + CHUNK).map(([k, v]) => backend.delIfEquals(k, v)));
    }
  }

  /** Runs op on the backend when it is usable; otherwise, or when it fails, answers with fallback(attempted). */
  async function call<T>(op: () => Promise<T>, fallback: (attempted: boolean) => T | Promise<T>): Promise<T> {
    if (await usable()) {
      try {
        return await op();
      } catch (err) {
        markDown(err);
        degraded();
        return fallback(true);
      }
    }
    degraded();
    return fallback(false);
  }

  scheduleRetry(); // in case the connection is never reported ready: log it, keep trying

  return {
    kind: backend.kind,
    get: (key) =>
      call(
        () => backend.get(key),
        () => null,
      ),
    getBuffer: (key) =>
      call(
        () => backend.getBuffer(key),
        () => null,
      ),
    set: (key, value, ttlMs) =>
      call(
        () => backend.set(key, value, ttlMs),
        () => remember(key, null),
      ),
    async del(...keys) {
      if (keys.length)
        await call(
          () => backend.del(...keys),
          () => keys.forEach((k) => remember(k, null)),
        );
    },
    setIfAbsent: (key, value, ttlMs) =>
      call(
        () => backend.setIfAbsent(key, value, ttlMs),
        (attempted) => {
          if (attempted) remember(key, value); // it may have been set after all: undo it when back
          return false;
        },
      ),
    delIfEquals: (key, value) =>
      call(
        () => backend.delIfEquals(key, value),
        () => {
          remember(key, value); // release it when back, rather than waiting for its TTL
          return false;
        },
      ),
    incr: (key, windowMs) =>
      call(
        () => backend.incr(key, windowMs),
        () => local.incr(key, windowMs),
      ),
    ping: () => backend.ping(),
    status: (): CacheStatus => ({ degraded: state !== 'up' || !connected(), degradedCalls }),
    recover,
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      await local.close();
      await backend.close();
    },
  };
}
