// Limits that count failures only (wrong passwords, say), unlike `hit`, which counts every attempt:
// `checkFailures` before an attempt refuses while the subject is blocked, `countFailure` after a failed
// one counts it and blocks the subject for the rest of the window once `max` is reached, and
// `clearFailures` forgets the subject (after a success, when that should reset it).
import type { Cache } from '../cache/index.ts';
import { limited } from '../errors.ts';
import type { Limit } from './rate-limit.ts';

export interface FailureLimit extends Limit {
  /** The 429's message, given the seconds until the block ends. */
  message(retryAfterSeconds: number): string;
}

const countKey = (limit: Limit, subject: string) => `fl:${limit.name}:${subject}`;
const blockKey = (limit: Limit, subject: string) => `fl:${limit.name}:${subject}:blocked`;

/** Throws 429 RATE_LIMITED with Retry-After while subject is blocked. */
export async function checkFailures(cache: Cache, limit: FailureLimit, subject: string): Promise<void> {
  const until = Number(await cache.get(blockKey(limit, subject))); // the block holds its own end time
  const left = until - Date.now();
  if (left > 0) {
    const retryAfter = Math.max(1, Math.ceil(left / 1000));
    throw limited('RATE_LIMITED', limit.message(retryAfter), retryAfter);
  }
}

export async function countFailure(cache: Cache, limit: FailureLimit, subject: string): Promise<void> {
  const { count, resetInMs } = await cache.incr(countKey(limit, subject), limit.windowMs);
  if (count >= limit.max && resetInMs > 0) await cache.set(blockKey(limit, subject), String(Date.now() + resetInMs), resetInMs);
}

export async function clearFailures(cache: Cache, limit: FailureLimit, subject: string): Promise<void> {
  await cache.del(countKey(limit, subject), blockKey(limit, subject));
}
