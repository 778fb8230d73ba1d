/** Shared key/value cache, locks and counters. Values are strings: callers serialise. */
export interface Cache {
  readonly kind: 'redis' | 'memory';
  get(key: string): Promise<string | null>;
  /** The same value as bytes: for bodies sent as they are, with no decode and re-encode. */
  getBuffer(key: string): Promise<Buffer | null>;
  /** ttlMs omitted = no expiry. */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  del(...keys: string[]): Promise<void>;
  /** SET NX PX: true when this caller took the key (a lock). */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Deletes the key only while it still holds value (releasing one's own lock). */
  delIfEquals(key: string, value: string): Promise<boolean>;
  /** Fixed-window counter: increments, starting a window of windowMs on first hit. */
  incr(key: string, windowMs: number): Promise<{ count: number; resetInMs: number }>;
  /** Throws when the backend is unreachable (health checks), unlike every other call. */
  ping(): Promise<void>;
  /** For operators: whether calls are being served without the backend right now, and how many have been. */
  status(): CacheStatus;
  close(): Promise<void>;
}

export interface CacheStatus {
  degraded: boolean;
  /** Calls answered without the backend (a miss, a write not made, a per-process counter) since start. */
  degradedCalls: number;
}

/** Takes a lock, runs fn, releases it; returns undefined without running fn when someone else holds it. */
export async function withLock<T>(cache: Cache, key: string, ttlMs: number, fn: () => Promise<T>): Promise<T | undefined> {
  const token = `${process.pid}:${Math.random().toString(36).slice(2)}`;
  if (!(await cache.setIfAbsent(`lock:${key}`, token, ttlMs))) return undefined;
  try {
    return await fn();
  } finally {
    await cache.delIfEquals(`lock:${key}`, token);
  }
}
