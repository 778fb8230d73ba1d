// The outbox relay shared by both buses. Any number of relays may run on one database: each batch is
// claimed with FOR UPDATE SKIP LOCKED, handed to the transport, then marked published in the same
// transaction. A crash between hand-over and commit leaves the rows unpublished, so they are sent
// again later (redelivery, which consumers absorb), never lost.
import type { Db, Queryable } from '../db/index.ts';
import type { Logger } from '../observability/logger.ts';
import type { OrchardEvent } from './index.ts';
import type { ResolvedOptions } from './options.ts';
import { backoff } from './backoff.ts';
import { Waker } from './signal.ts';

export interface RelayTransport {
  /** Resolves once the transport holds the batch durably; throws to roll the batch back. */
  publish(events: OrchardEvent[], q: Queryable): Promise<void>;
  /** After the batch committed. */
  afterCommit?(events: OrchardEvent[]): void;
}

export interface RelayStatus {
  running: boolean;
  /** Batches failed in a row (0: healthy). */
  failures: number;
  lastError: string | null;
  /** When a batch was last handed to the transport (or found nothing to send). */
  lastSuccessAt: string | null;
}

export interface Relay {
  start(): void;
  status(): RelayStatus;
  nudge(): void;
  /** Finishes the batch in progress, then stops. */
  stop(): Promise<void>;
}

interface OutboxRow {
  id: string;
  type: string;
  aggregate_id: string | null;
  payload: Record<string, unknown>;
  occurred_at: Date | string;
}

const CLEANUP_CHUNK = 10_000;

export function createRelay(db: Db, logger: Logger, transport: RelayTransport, opts: ResolvedOptions): Relay {
  const waker = new Waker();
  let loop: Promise<void> | null = null;
  let stopping = false;

  // What the failing batch held, for the log line.
  let failed: { eventId: string; type: string; events: number } | undefined;
  let failures = 0;
  let lastError: string | null = null;
  let lastSuccessAt: Date | null = null;

  async function relayBatch(): Promise<number> {
    failed = undefined;
    const events = await db.tx(async (q) => {
      const { rows } = await q.query<OutboxRow>(
        `SELECT id, type, aggregate_id, payload, occurred_at FROM outbox
         WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [opts.batchSize],
      );
      if (!rows.length) return [];
      const batch = rows.map(toEvent);
      try {
        await transport.publish(batch, q);
        await opts.hooks.afterPublish?.(batch);
      } catch (err) {
        failed = { eventId: batch[0].id, type: batch[0].type, events: batch.length };
        throw err;
      }
      await q.query('UPDATE outbox SET published_at = now() WHERE id = ANY($1::uuid[])', [batch.map((e) => e.id)]);
      return batch;
    });
    if (events.length) transport.afterCommit?.(events);
    return events.length;
  }

  async function deleteOld(sql: string, ageMs: number): Promise<void> {
    for (let n = CLEANUP_CHUNK; n === CLEANUP_CHUNK && !stopping; ) {
      n = (await db.query(sql, [ageMs, CLEANUP_CHUNK])).rowCount;
    }
  }

  async function cleanup(): Promise<void> {
    const age = `now() - $1 * interval '1 millisecond'`;
    try {
      await deleteOld(`DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE published_at < ${age} LIMIT $2)`, opts.retentionMs);
      await deleteOld(
        `DELETE FROM processed_events WHERE (consumer, event_id) IN
           (SELECT consumer, event_id FROM processed_events WHERE processed_at < ${age} LIMIT $2)`,
        opts.processedRetentionMs,
      );
      await deleteOld(`DELETE FROM dead_letters WHERE id IN (SELECT id FROM dead_letters WHERE replayed_at < ${age} LIMIT $2)`, opts.processedRetentionMs);
    } catch (err) {
      logger.warn({ err }, 'outbox retention cleanup failed');
    }
  }

  async function run(): Promise<void> {
    failures = 0;
    // Spread the first cleanup so processes started together do not all delete at once.
    let nextCleanup = Date.now() + Math.random() * Math.min(opts.cleanupEveryMs, 60_000);
    while (!stopping) {
      let full = false;
      try {
        full = (await relayBatch()) === opts.batchSize;
        if (failures) logger.info({ failures }, 'relay recovered');
        failures = 0;
        lastError = null;
        lastSuccessAt = new Date();
      } catch (err) {
        failures++;
        lastError = err instanceof Error ? err.message : String(err);
        const ctx = { err, failures, ...failed };
        if (failures === 1) logger.warn(ctx, 'relay failed, the batch stays in the outbox; retrying with backoff');
        else logger.debug(ctx, 'relay still failing');
        await waker.wait(backoff(failures, 200, 2_000)); // short: relaying resumes soon after the database or broker is back
        continue;
      }
      if (Date.now() >= nextCleanup) {
        nextCleanup = Date.now() + opts.cleanupEveryMs;
        await cleanup();
      }
      if (!full) await waker.wait(opts.pollMs);
    }
  }

  return {
    start() {
      if (loop) return;
      stopping = false;
      loop = run();
    },
    nudge() {
      waker.wake();
    },
    status: () => ({ running: loop !== null && !stopping, failures, lastError, lastSuccessAt: lastSuccessAt?.toISOString() ?? null }),
    async stop() {
      stopping = true;
      waker.wake();
      await loop;
      loop = null;
    },
  };
}

function toEvent(r: OutboxRow): OrchardEvent {
  return {
    id: r.id,
    type: r.type,
    aggregateId: r.aggregate_id,
    occurredAt: new Date(r.occurred_at).toISOString(),
    payload: r.payload,
  };
}
