// Embedded bus: the production outbox and relay, then dispatch inside this process.
//
// The relay turns each outbox row into one bus_deliveries row per durable consumer that takes its
// type (bus_consumers), in the same transaction that marks the row published. A delivery row is
// deleted in the transaction that applies the handler; a failure reschedules it with backoff, and the
// last failure moves it to dead_letters. Retries therefore live in the database and survive a crash.
// Broadcast handlers run after the relay commits, in every bus of this process sharing the same Db.
//
// Does NOT provide: delivery to other OS processes (broadcast stays in this process; a durable
// consumer runs only where it is subscribed and started), order across retries, or concurrency:
// deliveries run one at a time, and PGlite runs one statement at a time anyway.
import { v7 as uuidv7 } from 'uuid';
import type { Db, Queryable } from '../db/index.ts';
import type { Logger } from '../observability/logger.ts';
import type { Bus, DeadLetter, OrchardEvent } from './index.ts';
import { backoff, retryDelay } from './backoff.ts';
import { applyFresh, errorMessage, isUuid, processOnce, Subscriptions } from './consume.ts';
import { resolveOptions, type BusOptions, type DeliveryOutcome } from './options.ts';
import { createRelay, type Relay } from './relay.ts';
import { outboxBacklog, type BusHealth } from './health.ts';
import { InFlight, Serial, Waker } from './signal.ts';

export interface InProcessBusOptions extends BusOptions {
  db: Db;
  logger: Logger;
}

/** A started bus as its neighbours on the same Db see it. */
interface Peer {
  dispatch(events: OrchardEvent[]): void;
  wake(): void;
}
const peersByDb = new WeakMap<Db, Set<Peer>>();

interface DeliveryRow {
  consumer: string;
  event: OrchardEvent;
  attempts: number;
}

export function createInProcessBus(o: InProcessBusOptions): Bus {
  const { db } = o;
  const opts = resolveOptions(o);
  const log = o.logger.child({ component: 'bus' });
  const subs = new Subscriptions();
  const inflight = new InFlight();
  const broadcasts = new Serial();
  const waker = new Waker();
  let state: 'new' | 'started' | 'stopped' = 'new';
  let relay: Relay | null = null;
  let consumeLoop: Promise<void> | null = null;
  let stopped: Promise<void> | null = null;

  const peers = () => {
    let set = peersByDb.get(db);
    if (!set) peersByDb.set(db, (set = new Set()));
    return set;
  };
  const wakeAll = () => {
    for (const p of peers()) p.wake();
  };

  const peer: Peer = {
    dispatch(events) {
      if (!subs.hasBroadcasts) return;
      for (const e of events) void inflight.track(() => broadcasts.run(() => subs.runBroadcast(e, log)));
    },
    wake: () => waker.wake(),
  };

  async function fanOut(events: OrchardEvent[], q: Queryable): Promise<void> {
    await q.query(
      `INSERT INTO bus_deliveries (consumer, event_id, event)
       SELECT c.consumer, (e->>'id')::uuid, e
       FROM jsonb_array_elements($1::jsonb) AS e JOIN bus_consumers c ON (e->>'type') = ANY(c.types)
       ON CONFLICT DO NOTHING`,
      [JSON.stringify(events)],
    );
  }

  // enough rows for two full batches of every batch consumer
  let fetchSize = opts.batchSize;

  async function deliverDue(): Promise<number> {
    const { rows } = await db.query<DeliveryRow>(
      `SELECT consumer, event, attempts FROM bus_deliveries
       WHERE consumer = ANY($1::text[]) AND next_attempt_at <= now()
       ORDER BY next_attempt_at, event_id LIMIT $2`,
      [[...subs.durable.keys()], fetchSize],
    );
    // a batch consumer's rows go together (in their order); order across consumers was never promised
    const batched = new Map<string, DeliveryRow[]>();
    for (const row of rows) {
      if (state !== 'started') break;
      const batch = subs.durable.get(row.consumer)?.batch;
      if (batch) {
        const list = batched.get(row.consumer) ?? [];
        batched.set(row.consumer, list);
        list.push(row);
      } else {
        await inflight.track(() => deliver(row));
      }
    }
    // two batches of a consumer at once (on PostgreSQL one is written while the next is scored; PGlite
    // runs them one after the other anyway): batches of one consumer touch different events
    for (const [consumer, list] of batched) {
      const max = subs.durable.get(consumer)!.batch!.maxBatch;
      const groups: DeliveryRow[][] = [];
      for (let i = 0; i < list.length; i += max) groups.push(list.slice(i, i + max));
      const lane = async () => {
        for (let g = groups.shift(); g && state === 'started'; g = groups.shift()) {
          const group = g;
          await inflight.track(() => deliverBatch(group));
        }
      };
      await Promise.all([lane(), lane()]);
    }
    return rows.length;
  }

  /** Delivery rows of one batch consumer in one transaction; if that fails, each is delivered alone. */
  async function deliverBatch(group: DeliveryRow[]): Promise<void> {
    if (group.length === 1) return deliver(group[0]);
    const sub = subs.durable.get(group[0].consumer)!;
    let claimed: DeliveryRow[] = [];
    let applied = new Set<string>();
    try {
      await db.tx(async (q) => {
        // claim the rows and record their events as processed in one statement
        const { rows } = await q.query<{ claimed: string[] | null; fresh: string[] | null }>(
          `WITH claimed AS (
             DELETE FROM bus_deliveries d USING unnest($2::uuid[], $3::int[], $4::text[]) AS x(event_id, attempts, type)
              WHERE d.consumer = $1 AND d.event_id = x.event_id AND d.attempts = x.attempts AND d.next_attempt_at <= now()
             RETURNING d.event_id, x.type
           ), fresh AS (
             INSERT INTO processed_events (consumer, event_id)
             SELECT $1, event_id FROM claimed WHERE type = ANY($5::text[]) -- others: left over from an old subscription
             ON CONFLICT DO NOTHING RETURNING event_id
           )
           SELECT (SELECT array_agg(event_id) FROM claimed) AS claimed, (SELECT array_agg(event_id) FROM fresh) AS fresh`,
          [sub.consumer, group.map((r) => r.event.id), group.map((r) => r.attempts), group.map((r) => r.event.type), sub.types],
        );
        const mine = new Set(rows[0].claimed ?? []);
        claimed = group.filter((r) => mine.has(r.event.id) && sub.types.includes(r.event.type));
        applied = await applyFresh(
          q,
          claimed.map((r) => r.event),
          new Set(rows[0].fresh ?? []),
          sub.batch!.handler,
        );
      });
    } catch {
      for (const row of group) await deliver(row); // the transaction rolled back: every row is still there
      return;
    }
    for (const r of claimed) opts.hooks.onDelivery?.(r.consumer, r.event, applied.has(r.event.id) ? 'applied' : 'duplicate');
  }

  async function deliver(row: DeliveryRow): Promise<void> {
    const sub = subs.durable.get(row.consumer)!;
    const { event } = row;
    const key = [row.consumer, event.id, row.attempts];
    let outcome: DeliveryOutcome | null;
    try {
      outcome = await db.tx(async (q) => {
        // Claim: another bus on this database may hold this row or have rescheduled it.
        const claimed = await q.query('DELETE FROM bus_deliveries WHERE consumer = $1 AND event_id = $2 AND attempts = $3 AND next_attempt_at <= now()', key);
        if (!claimed.rowCount || !sub.types.includes(event.type)) return null;
        return (await processOnce(q, row.consumer, event, sub.handler)) ? 'applied' : 'duplicate';
      });
    } catch (err) {
      outcome = await recordFailure(row, err);
    }
    if (outcome) opts.hooks.onDelivery?.(row.consumer, event, outcome);
  }

  async function recordFailure(row: DeliveryRow, err: unknown): Promise<DeliveryOutcome> {
    const { event, consumer } = row;
    const attempt = row.attempts + 1;
    const ctx = { err, eventId: event.id, type: event.type, consumer, attempt };
    const key = [consumer, event.id, row.attempts];
    if (attempt >= opts.retry.maxAttempts) {
      await db.tx(async (q) => {
        const r = await q.query('DELETE FROM bus_deliveries WHERE consumer = $1 AND event_id = $2 AND attempts = $3', key);
        if (!r.rowCount) return;
        await q.query('INSERT INTO dead_letters (id, consumer, event, error, attempts) VALUES ($1, $2, $3, $4, $5)', [
          uuidv7(),
          consumer,
          JSON.stringify(event),
          errorMessage(err),
          attempt,
        ]);
      });
      log.error(ctx, 'event handler failed for the last time; dead-lettered');
      return 'dead';
    }
    const { ms } = retryDelay(opts.retry, attempt);
    await db.query(
      `UPDATE bus_deliveries SET attempts = $4, next_attempt_at = now() + $5 * interval '1 millisecond', last_error = $6
       WHERE consumer = $1 AND event_id = $2 AND attempts = $3`,
      [...key, attempt, ms, errorMessage(err)],
    );
    log.warn({ ...ctx, retryInMs: ms }, 'event handler failed; will retry');
    return 'retry';
  }

  async function runConsumers(): Promise<void> {
    let failures = 0;
    while (state === 'started') {
      try {
        const n = await deliverDue();
        failures = 0;
        if (n < fetchSize) await waker.wait(opts.pollMs);
      } catch (err) {
        failures++;
        if (failures === 1) log.warn({ err }, 'delivering events failed; retrying with backoff');
        await waker.wait(backoff(failures));
      }
    }
  }

  return {
    kind: 'inprocess',
    subscribe: (consumer, types, handler) => subs.subscribe(consumer, types, handler),
    subscribeBatch: (consumer, types, handler, opts) => subs.subscribeBatch(consumer, types, handler, opts),
    broadcast: (types, handler) => subs.broadcast(types, handler),
    onBroadcastGap: () => {}, // one process, in-memory dispatch: nothing is ever missed

    async start({ relay: withRelay, consume }) {
      if (state !== 'new') throw new Error(`bus already ${state}`);
      state = 'started';
      subs.freeze();
      await subs.register(db);
      peers().add(peer);
      if (withRelay) {
        relay = createRelay(
          db,
          log,
          {
            publish: fanOut,
            afterCommit(events) {
              for (const p of peers()) {
                p.dispatch(events);
                p.wake();
              }
            },
          },
          opts,
        );
        relay.start();
      }
      for (const sub of subs.durable.values()) if (sub.batch) fetchSize = Math.max(fetchSize, sub.batch.maxBatch * 4);
      if (consume && subs.durable.size) consumeLoop = runConsumers();
    },

    nudge() {
      relay?.nudge();
    },

    async ping() {},

    async health(): Promise<BusHealth> {
      const { rows } = await db.query<{ consumer: string; waiting: number; age: number | null; dead: number }>(
        `SELECT c.consumer,
                (SELECT count(*)::int FROM bus_deliveries d WHERE d.consumer = c.consumer) AS waiting,
                (SELECT extract(epoch FROM now() - min((d.event->>'occurredAt')::timestamptz))::float8 FROM bus_deliveries d WHERE d.consumer = c.consumer) AS age,
                (SELECT count(*)::int FROM dead_letters l WHERE l.consumer = c.consumer AND l.replayed_at IS NULL) AS dead
           FROM bus_consumers c ORDER BY c.consumer`,
      );
      return {
        transport: 'connected',
        relay: relay?.status() ?? null,
        outbox: await outboxBacklog(db),
        consumers: rows.map((r) => ({
          consumer: r.consumer,
          attached: consumeLoop && subs.durable.has(r.consumer) ? 1 : 0,
          waiting: r.waiting,
          oldestUnprocessedSeconds: r.age === null ? null : Math.max(0, Math.round(r.age)),
          deadLetters: r.dead,
        })),
      };
    },

    stop() {
      stopped ??= (async () => {
        const wasStarted = state === 'started';
        state = 'stopped';
        if (!wasStarted) return;
        peers().delete(peer);
        await relay?.stop();
        waker.wake();
        await consumeLoop;
        await inflight.drain();
      })();
      return stopped;
    },

    async listDeadLetters(limit = 50) {
      const { rows } = await db.query<{ id: string; consumer: string; event: OrchardEvent; error: string; attempts: number; failed_at: Date }>(
        `SELECT id, consumer, event, error, attempts, failed_at FROM dead_letters
         WHERE replayed_at IS NULL ORDER BY failed_at, id LIMIT $1`,
        [limit],
      );
      return rows.map(
        (r): DeadLetter => ({
          id: r.id,
          consumer: r.consumer,
          event: r.event,
          error: r.error,
          attempts: r.attempts,
          failedAt: new Date(r.failed_at).toISOString(),
        }),
      );
    },

    async replayDeadLetters(ids) {
      const wanted = ids?.filter(isUuid) ?? null;
      if (wanted && !wanted.length) return 0;
      const n = await db.tx(async (q) => {
        const { rows } = await q.query<{ consumer: string; event: OrchardEvent }>(
          `UPDATE dead_letters SET replayed_at = now()
           WHERE replayed_at IS NULL AND ($1::uuid[] IS NULL OR id = ANY($1::uuid[]))
           RETURNING consumer, event`,
          [wanted],
        );
        // The same event may have been dead-lettered twice for one consumer: one delivery is enough.
        const unique = new Map(rows.map((r) => [`${r.consumer} ${r.event.id}`, r]));
        for (const r of unique.values()) {
          await q.query(
            `INSERT INTO bus_deliveries (consumer, event_id, event) VALUES ($1, $2, $3)
             ON CONFLICT (consumer, event_id) DO UPDATE SET attempts = 0, next_attempt_at = now()`,
            [r.consumer, r.event.id, JSON.stringify(r.event)],
          );
        }
        return rows.length;
      });
      if (n && state === 'started') wakeAll();
      return n;
    },
  };
}
