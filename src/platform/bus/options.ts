import type { OrchardEvent } from './index.ts';
import { retryPolicy, type RetryPolicy } from './backoff.ts';

export type DeliveryOutcome = 'applied' | 'duplicate' | 'retry' | 'dead';

/** Seams for tests (fault injection, observation). Production code passes none. */
export interface BusHooks {
  /**
   * Runs inside the relay's transaction after the transport accepted a batch and before its rows are
   * marked published: throw here to simulate a crash at the worst moment. Must not use the Db
   * (on PGlite the open transaction holds it).
   */
  afterPublish?(events: OrchardEvent[]): void | Promise<void>;
  /** After each delivery to a durable consumer, with what became of it. */
  onDelivery?(consumer: string, event: OrchardEvent, outcome: DeliveryOutcome): void;
}

/** Optional tuning shared by both buses. */
export interface BusOptions {
  /** Relay poll interval when idle (nudge() wakes it sooner). Default 250 ms. */
  pollMs?: number;
  /** Outbox rows claimed per relay transaction. Default 100. */
  batchSize?: number;
  retry?: Partial<RetryPolicy>;
  /** Published outbox rows are deleted after this. Default 7 days. */
  retentionMs?: number;
  /** processed_events rows (and replayed dead letters) are deleted after this. Default 30 days. */
  processedRetentionMs?: number;
  /** How often a relay runs the retention deletes. Default 10 minutes. */
  cleanupEveryMs?: number;
  hooks?: BusHooks;
}

const DAY = 86_400_000;

export function resolveOptions(o: BusOptions) {
  return {
    pollMs: o.pollMs ?? 250,
    batchSize: o.batchSize ?? 100,
    retry: retryPolicy(o.retry),
    retentionMs: o.retentionMs ?? 7 * DAY,
    processedRetentionMs: o.processedRetentionMs ?? 30 * DAY,
    cleanupEveryMs: o.cleanupEveryMs ?? 10 * 60_000,
    hooks: o.hooks ?? {},
  };
}
export type ResolvedOptions = ReturnType<typeof resolveOptions>;
