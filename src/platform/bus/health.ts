// What an operator needs to see of the bus: is the relay moving the outbox, does every durable consumer
// have a process attached, and how old is the oldest event a consumer has not applied yet.
import type { Db } from '../db/index.ts';
import type { RelayStatus } from './relay.ts';

export interface ConsumerHealth {
  consumer: string;
  /** Processes consuming it now (RabbitMQ: the queue's consumers; embedded: 1 when this process consumes). null: unknown (broker unreachable). */
  attached: number | null;
  /** Events delivered to it and not yet applied (RabbitMQ: ready messages in its queue). */
  waiting: number | null;
  /** Age of the oldest published event of its types that it has not applied (looked at over the last 6 hours). */
  oldestUnprocessedSeconds: number | null;
  deadLetters: number | null;
}

export interface BusHealth {
  transport: 'connected' | 'disconnected';
  /** null when this process does not relay. */
  relay: RelayStatus | null;
  outbox: { unpublished: number; oldestUnpublishedSeconds: number | null };
  consumers: ConsumerHealth[];
}

export async function outboxBacklog(db: Db): Promise<BusHealth['outbox']> {
  const { rows } = await db.query<{ n: number; age: number | null }>(
    `SELECT count(*)::int AS n, extract(epoch FROM now() - min(occurred_at))::float8 AS age FROM outbox WHERE published_at IS NULL`,
  );
  return { unpublished: rows[0].n, oldestUnpublishedSeconds: rows[0].age === null ? null : Math.max(0, Math.round(rows[0].age)) };
}

/** Per consumer: the oldest published event of its types with no processed_events row (RabbitMQ: the database is the only place that knows). */
export async function oldestUnprocessed(db: Db, consumers: { consumer: string; types: string[] }[]): Promise<Map<string, number | null>> {
  const out = new Map<string, number | null>();
  for (const { consumer, types } of consumers) {
    const { rows } = await db.query<{ age: number | null }>(
      `SELECT extract(epoch FROM now() - min(o.occurred_at))::float8 AS age FROM outbox o
        WHERE o.published_at > now() - interval '6 hours' AND o.type = ANY($2::text[])
          AND NOT EXISTS (SELECT 1 FROM processed_events p WHERE p.consumer = $1 AND p.event_id = o.id)`,
      [consumer, types],
    );
    out.set(consumer, rows[0].age === null ? null : Math.max(0, Math.round(rows[0].age)));
  }
  return out;
}
