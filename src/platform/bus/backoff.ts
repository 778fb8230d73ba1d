/** How a failing durable handler is retried before its message is dead-lettered. */
export interface RetryPolicy {
  /** Deliveries before dead-lettering, the first one included. */
  maxAttempts: number;
  /** Wait before retry n is delaysMs[n-1]; the last value repeats. RabbitMQ keeps one retry queue per value. */
  delaysMs: number[];
  /** Up to this fraction of a delay is removed at random, so retries of many messages spread out (0..1). */
  jitter: number;
}

/** Exponential: 1 s, 5 s, 25 s, 125 s, then dead-lettered at the 5th failure. */
export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 5, delaysMs: [1_000, 5_000, 25_000, 125_000], jitter: 0.2 };

export function retryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  const p = { ...defaultRetryPolicy, ...overrides };
  if (!Number.isInteger(p.maxAttempts) || p.maxAttempts < 1) throw new Error(`retry.maxAttempts must be a positive integer`);
  if (!p.delaysMs.length || p.delaysMs.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new Error('retry.delaysMs must be a non-empty list of positive integers');
  }
  if (!(p.jitter >= 0 && p.jitter < 1)) throw new Error('retry.jitter must be in [0, 1)');
  return p;
}

/**
 * Wait after failed attempt `attempt` (1-based): baseMs is the policy's step, ms the jittered wait.
 * Jitter only shortens the wait, so ms never exceeds the TTL of the RabbitMQ retry queue for baseMs.
 */
export function retryDelay(policy: RetryPolicy, attempt: number): { baseMs: number; ms: number } {
  const baseMs = policy.delaysMs[Math.min(Math.max(attempt, 1), policy.delaysMs.length) - 1];
  return { baseMs, ms: Math.max(1, Math.round(baseMs * (1 - policy.jitter * Math.random()))) };
}

/** Exponential backoff with jitter for infrastructure retries (reconnects, relay errors): 200 ms .. maxMs. */
export function backoff(attempt: number, baseMs = 200, maxMs = 10_000): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 20));
  return Math.round(cap / 2 + (Math.random() * cap) / 2);
}
