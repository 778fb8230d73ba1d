import type { FastifyRequest } from 'fastify';
import type { Cache } from '../cache/index.ts';
import { limited } from '../errors.ts';

export interface Limit {
  name: string;
  max: number;
  windowMs: number;
}

/** Counts one hit against `limit` for `subject`; throws 429 with Retry-After once over the limit. */
export async function hit(cache: Cache, limit: Limit, subject: string): Promise<void> {
  const { count, resetInMs } = await cache.incr(`rl:${limit.name}:${subject}`, limit.windowMs);
  if (count > limit.max) {
    const retryAfter = Math.max(1, Math.ceil(resetInMs / 1000));
    throw limited('RATE_LIMITED', `Too many ${limit.name} attempts; retry in ${retryAfter} s.`, retryAfter);
  }
}

/** Clears subject's count for limit (e.g. a successful sign-in clears that account's failures). */
export async function resetHits(cache: Cache, limit: Limit, subject: string): Promise<void> {
  await cache.del(`rl:${limit.name}:${subject}`);
}

/** preHandler limiting by client IP. */
export const limitByIp = (cache: Cache, limit: Limit) => async (req: FastifyRequest) => hit(cache, limit, req.ip);
