// Consumer side shared by both buses: the subscription registry, the exactly-once wrapper of
// durable handlers, and broadcast dispatch.
import type { Db, Queryable } from '../db/index.ts';
import type { Logger } from '../observability/logger.ts';
import type { BroadcastHandler, DurableBatchHandler, DurableHandler, OrchardEvent } from './index.ts';

export interface DurableSubscription {
  consumer: string;
  types: string[];
  /** One event per transaction; for a batch subscription, the batch handler given that one event. */
  handler: DurableHandler;
  batch?: { handler: DurableBatchHandler; maxBatch: number };
}

// Consumer names become queue names; types become routing keys, taken literally (no * or # wildcards,
// which the embedded bus could not honour).
const CONSUMER = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const TYPE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

export class Subscriptions {
  readonly durable = new Map<string, DurableSubscription>();
  private readonly broadcasts: { types: Set<string>; handler: BroadcastHandler }[] = [];
  private readonly gapHandlers: (() => void)[] = [];
  private frozen = false;

  subscribe(consumer: string, types: readonly string[], handler: DurableHandler): void {
    this.add({ consumer, types: [...types], handler });
  }

  subscribeBatch(consumer: string, types: readonly string[], handler: DurableBatchHandler, opts: { maxBatch: number }): void {
    if (!Number.isInteger(opts.maxBatch) || opts.maxBatch < 1) throw new Error('maxBatch must be a positive integer');
    this.add({ consumer, types: [...types], handler: (event, q) => handler([event], q), batch: { handler, maxBatch: opts.maxBatch } });
  }

  private add(sub: DurableSubscription): void {
    this.assertOpen();
    if (sub.consumer.length > 100 || !CONSUMER.test(sub.consumer)) throw new Error(`invalid consumer name "${sub.consumer}"`);
    if (this.durable.has(sub.consumer)) throw new Error(`consumer "${sub.consumer}" is already subscribed`);
    this.durable.set(sub.consumer, { ...sub, types: checkTypes(sub.types) });
  }

  broadcast(types: readonly string[], handler: BroadcastHandler): void {
    this.assertOpen();
    this.broadcasts.push({ types: new Set(checkTypes(types)), handler });
  }

  onGap(handler: () => void): void {
    this.gapHandlers.push(handler);
  }

  /** Tells broadcast-derived state that events may have been missed. */
  notifyGap(logger: Logger): void {
    for (const h of this.gapHandlers) {
      try {
        h();
      } catch (err) {
        logger.error({ err }, 'broadcast gap handler failed');
      }
    }
  }

  /** Subscriptions are fixed once the bus starts (RabbitMQ bindings are declared then). */
  freeze(): void {
    this.frozen = true;
  }

  get hasBroadcasts(): boolean {
    return this.broadcasts.length > 0;
  }

  broadcastTypes(): string[] {
    return [...new Set(this.broadcasts.flatMap((b) => [...b.types]))];
  }

  /** Runs this process's broadcast handlers for the event; failures are logged, never retried. */
  async runBroadcast(event: OrchardEvent, logger: Logger): Promise<void> {
    await Promise.all(
      this.broadcasts
        .filter((b) => b.types.has(event.type))
        .map(async (b) => {
          try {
            await b.handler(event);
          } catch (err) {
            logger.error({ err, eventId: event.id, type: event.type }, 'broadcast handler failed');
          }
        }),
    );
  }

  /**
   * Records the durable consumers and their types in bus_consumers (the deployment's view of who
   * wants what). Returns, per consumer, the types it took before and no longer does.
   */
  async register(db: Db): Promise<Map<string, string[]>> {
    const dropped = new Map<string, string[]>();
    for (const sub of this.durable.values()) {
      const old = await db.query<{ types: string[] }>('SELECT types FROM bus_consumers WHERE consumer = $1', [sub.consumer]);
      const gone = (old.rows[0]?.types ?? []).filter((t) => !sub.types.includes(t));
      if (gone.length) dropped.set(sub.consumer, gone);
      await db.query(
        `INSERT INTO bus_consumers (consumer, types) VALUES ($1, $2)
         ON CONFLICT (consumer) DO UPDATE SET types = EXCLUDED.types, updated_at = now()`,
        [sub.consumer, sub.types],
      );
    }
    return dropped;
  }

  private assertOpen(): void {
    if (this.frozen) throw new Error('subscribe and broadcast must be called before start()');
  }
}

function checkTypes(types: readonly string[]): string[] {
  if (!types.length) throw new Error('at least one event type is required');
  for (const t of types) if (!TYPE.test(t)) throw new Error(`invalid event type "${t}"`);
  return [...new Set(types)];
}

/**
 * The exactly-once step, inside the caller's transaction: records (consumer, event) as processed and,
 * only if it was not already, applies the handler. Both commit together or not at all.
 * Returns false when the event had already been processed (a redelivery).
 */
export async function processOnce(q: Queryable, consumer: string, event: OrchardEvent, handler: DurableHandler): Promise<boolean> {
  const first = await q.query('INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [consumer, event.id]);
  if (first.rowCount === 0) return false;
  await handler(event, q);
  return true;
}

/**
 * The exactly-once step for a batch, inside the caller's transaction: records every event as processed and
 * applies the handler to those not processed before, in the given order. Returns the ids applied now.
 */
export async function processBatchOnce(q: Queryable, consumer: string, events: OrchardEvent[], handler: DurableBatchHandler): Promise<Set<string>> {
  const { rows } = await q.query<{ event_id: string }>(
    `INSERT INTO processed_events (consumer, event_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING RETURNING event_id`,
    [consumer, events.map((e) => e.id)],
  );
  return applyFresh(q, events, new Set(rows.map((r) => r.event_id)), handler);
}

/** The handler over the events whose ids are in `fresh` (just recorded as processed), each once, in order. */
export async function applyFresh(q: Queryable, events: OrchardEvent[], fresh: Set<string>, handler: DurableBatchHandler): Promise<Set<string>> {
  const todo = events.filter((e) => fresh.delete(e.id)); // a message delivered twice in one batch is applied once
  for (const e of todo) fresh.add(e.id);
  if (todo.length) await handler(todo, q);
  return fresh;
}

export function applyOnce(db: Db, consumer: string, event: OrchardEvent, handler: DurableHandler): Promise<boolean> {
  return db.tx((q) => processOnce(q, consumer, event, handler));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (s: string) => UUID.test(s);

/** Decodes a message body, refusing anything that is not an OrchardEvent. */
export function parseEvent(body: Buffer | string): OrchardEvent {
  const e = JSON.parse(body.toString()) as Partial<OrchardEvent> | null;
  if (
    !e ||
    typeof e !== 'object' ||
    typeof e.id !== 'string' ||
    !isUuid(e.id) ||
    typeof e.type !== 'string' ||
    typeof e.occurredAt !== 'string' ||
    !e.payload ||
    typeof e.payload !== 'object'
  ) {
    throw new Error('message is not an Orchard event');
  }
  return { id: e.id, type: e.type, aggregateId: e.aggregateId ?? null, occurredAt: e.occurredAt, payload: e.payload };
}

/** Error text kept with a retry or dead letter. */
export function errorMessage(err: unknown): string {
  const text = err instanceof Error ? err.message || err.name : String(err);
  return text.length > 2000 ? text.slice(0, 2000) + '…' : text;
}
