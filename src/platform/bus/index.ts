import { v7 as uuidv7 } from 'uuid';
import type { Queryable } from '../db/index.ts';
import type { BusHealth } from './health.ts';

export type { BusHealth, ConsumerHealth } from './health.ts';

export interface OrchardEvent<P = Record<string, unknown>, T extends string = string> {
  id: string; // UUIDv7: time-ordered, also the dedupe key of consumers
  type: T; // 'app.changed', 'user.registered', ...
  aggregateId: string | null;
  occurredAt: string; // ISO 8601
  payload: P;
}

/**
 * An event catalogue: each event's name and payload type. Every module declares the events it publishes as
 * one (its events.ts, exported from its index.ts); src/events.ts joins them. Modules publish through
 * eventRecorder and subscribe through an EventBus typed by the catalogues they listen to, so a misspelt
 * name or a wrong payload field fails the typecheck.
 */
export type EventMap = object;
/** The events named K of catalogue M, as a union: `switch (event.type)` narrows the payload. */
export type EventIn<M extends EventMap, K extends keyof M = keyof M> = { [T in K & string]: OrchardEvent<M[T], T> }[K & string];

/** The bus, typed by a catalogue: what modules are given (the adapters implement the untyped Bus). */
export interface EventBus<M extends EventMap> extends Omit<Bus, 'subscribe' | 'subscribeBatch' | 'broadcast'> {
  subscribe<K extends keyof M & string>(consumer: string, types: readonly K[], handler: (event: EventIn<M, K>, q: Queryable) => Promise<void>): void;
  subscribeBatch<K extends keyof M & string>(
    consumer: string,
    types: readonly K[],
    handler: (events: EventIn<M, K>[], q: Queryable) => Promise<void>,
    opts: { maxBatch: number },
  ): void;
  broadcast<K extends keyof M & string>(types: readonly K[], handler: (event: EventIn<M, K>) => Promise<void>): void;
}

/**
 * A module's reaction to events, declared among its parts (platform/module.ts); the application registers every
 * module's consumers before the bus starts (registerConsumers). durable: applied once per event, in a
 * transaction (the name is its queue). batch: the same, many events per transaction. broadcast: every process,
 * no transaction (caches, in-memory indexes).
 */
export type Consumer =
  | { kind: 'durable'; name: string; events: readonly string[]; handle: DurableHandler }
  | { kind: 'batch'; name: string; events: readonly string[]; handle: DurableBatchHandler; maxBatch: number }
  | { kind: 'broadcast'; events: readonly string[]; handle: BroadcastHandler };

/** Consumers typed by the catalogue(s) M a module listens to: a misspelt event or a wrong payload field fails the typecheck. */
export function consumersOf<M extends EventMap>() {
  return {
    durable: <K extends keyof M & string>(name: string, events: readonly K[], handle: (event: EventIn<M, K>, q: Queryable) => Promise<void>): Consumer => ({
      kind: 'durable',
      name,
      events,
      handle: handle as DurableHandler,
    }),
    batch: <K extends keyof M & string>(
      name: string,
      events: readonly K[],
      handle: (events: EventIn<M, K>[], q: Queryable) => Promise<void>,
      opts: { maxBatch: number },
    ): Consumer => ({ kind: 'batch', name, events, handle: handle as DurableBatchHandler, maxBatch: opts.maxBatch }),
    broadcast: <K extends keyof M & string>(events: readonly K[], handle: (event: EventIn<M, K>) => Promise<void>): Consumer => ({
      kind: 'broadcast',
      events,
      handle: handle as BroadcastHandler,
    }),
  };
}

/** Subscribes each consumer; call before bus.start(). */
export function registerConsumers(bus: Bus, consumers: Consumer[]): void {
  for (const c of consumers) {
    if (c.kind === 'durable') bus.subscribe(c.name, c.events, c.handle);
    else if (c.kind === 'batch') bus.subscribeBatch(c.name, c.events, c.handle, { maxBatch: c.maxBatch });
    else bus.broadcast(c.events, c.handle);
  }
}

/** The bus as modules see it, typed by the catalogue M. Only a type: the adapters route any event name. */
export function typedBus<M extends EventMap>(bus: Bus): EventBus<M> {
  return bus as unknown as EventBus<M>;
}

/** recordEvent and recordEvents bound to a module's catalogue (see EventMap). */
export function eventRecorder<M extends EventMap>() {
  return {
    record: <K extends keyof M & string>(q: Queryable, type: K, payload: M[K], aggregateId: string | null = null) =>
      recordEvent(q, type, payload as Record<string, unknown>, aggregateId) as Promise<OrchardEvent<M[K], K>>,
    recordMany: <K extends keyof M & string>(q: Queryable, events: { type: K; payload: M[K]; aggregateId: string | null }[]) =>
      recordEvents(q, events as { type: K; payload: Record<string, unknown>; aggregateId: string | null }[]),
  };
}

/** Effect of a durable consumer: runs inside the transaction that also records the event as processed. */
export type DurableHandler = (event: OrchardEvent<any>, q: Queryable) => Promise<void>;
/**
 * Effect of a durable consumer over several events at once (in delivery order), inside the one transaction that
 * records them all as processed. Redeliveries are left out before the handler sees them. If a batch fails, each
 * of its events is retried alone (with the usual backoff and dead-lettering), so one bad event never holds up
 * the others.
 */
export type DurableBatchHandler = (events: OrchardEvent<any>[], q: Queryable) => Promise<void>;
/** Per-process reaction (cache invalidation, in-memory indexes): no transaction, every process gets it. */
export type BroadcastHandler = (event: OrchardEvent<any>) => Promise<void>;

export interface DeadLetter {
  id: string;
  consumer: string;
  event: OrchardEvent<any>;
  error: string;
  attempts: number;
  failedAt: string;
}

export interface Bus {
  readonly kind: 'rabbitmq' | 'inprocess';
  /** Each event of these types is applied once per consumer name, whatever the number of processes and redeliveries. */
  subscribe(consumer: string, types: readonly string[], handler: DurableHandler): void;
  /**
   * As subscribe, with up to maxBatch events per transaction: for consumers whose cost is per transaction and per
   * statement rather than per event (one commit and a few set-based statements for a whole batch).
   */
  subscribeBatch(consumer: string, types: readonly string[], handler: DurableBatchHandler, opts: { maxBatch: number }): void;
  /** Every running process receives each event of these types. */
  broadcast(types: readonly string[], handler: BroadcastHandler): void;
  /**
   * Called when this process may have missed broadcasts (its broker connection dropped, and again once
   * it is back): whoever keeps per-process state derived from broadcasts (an L1 cache) should drop it.
   * The embedded bus never misses any.
   */
  onBroadcastGap(handler: () => void): void;
  /** relay: move committed outbox rows to the transport; consume: run this process's durable handlers.
   *  Broadcast handlers run in every started process, whatever consume says. */
  start(opts: { relay: boolean; consume: boolean }): Promise<void>;
  /** Wake the relay now (after a commit in this process) instead of at its next poll. */
  nudge(): void;
  ping(): Promise<void>;
  /** Relay, outbox backlog and durable consumers: for the detailed health view and metrics. */
  health(): Promise<BusHealth>;
  /** Stops relaying and taking new messages, waits for handlers in flight, closes connections. */
  stop(): Promise<void>;
  listDeadLetters(limit?: number): Promise<DeadLetter[]>;
  /** Sends dead letters back to their consumer; all when ids is omitted. Returns how many. */
  replayDeadLetters(ids?: string[]): Promise<number>;
}

/** Writes an event to the outbox inside the caller's transaction: it is published only if that commits. */
export async function recordEvent<P extends Record<string, unknown>>(
  q: Queryable,
  type: string,
  payload: P,
  aggregateId: string | null = null,
): Promise<OrchardEvent<P>> {
  const event: OrchardEvent<P> = { id: uuidv7(), type, aggregateId, occurredAt: new Date().toISOString(), payload };
  await q.query('INSERT INTO outbox (id, type, aggregate_id, payload, occurred_at) VALUES ($1, $2, $3, $4, $5)', [
    event.id,
    type,
    aggregateId,
    JSON.stringify(payload),
    event.occurredAt,
  ]);
  return event;
}

/** recordEvent for many events in one statement (same transaction rule). */
export async function recordEvents<P extends Record<string, unknown>>(
  q: Queryable,
  events: { type: string; payload: P; aggregateId: string | null }[],
): Promise<OrchardEvent<P>[]> {
  if (!events.length) return [];
  const occurredAt = new Date().toISOString();
  const recorded = events.map((e): OrchardEvent<P> => ({ id: uuidv7(), type: e.type, aggregateId: e.aggregateId, occurredAt, payload: e.payload }));
  await q.query(
    `INSERT INTO outbox (id, type, aggregate_id, payload, occurred_at)
     SELECT id, type, aggregate_id, payload, $5 FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[]) AS e(id, type, aggregate_id, payload)`,
    [recorded.map((e) => e.id), recorded.map((e) => e.type), recorded.map((e) => e.aggregateId), recorded.map((e) => JSON.stringify(e.payload)), occurredAt],
  );
  return recorded;
}
