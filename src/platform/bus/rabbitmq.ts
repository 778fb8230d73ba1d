// Production bus: transactional outbox -> relay -> RabbitMQ, consumers across any number of processes.
//
// Topology under the namespace ns (names, queue types and arguments: rabbitmq-topology.ts):
//   ${ns}.events                     topic exchange; routing key = event type
//   ${ns}.quorum.${c}                durable consumer c's quorum queue, bound to its types (declared by every
//                                    process that subscribes, consuming or not, so nothing is published
//                                    before its queue exists)
//   ${ns}.quorum.${c}.retry.Nms      quorum retry queue per delay step: message TTL N ms, then dead-lettered
//                                    (default exchange, at least once) back to c's queue, so backoff survives
//                                    restarts; the attempt number travels in a header
//   ${ns}.dead                       direct dead-letter exchange, routing key = consumer
//   ${ns}.quorum.${c}.dlq            c's dead letters (quorum), with error, attempts and failure time
//   (server-named)                   per-process classic exclusive auto-delete queue for broadcast handlers
// Durable queues are quorum queues (replicated across a cluster's nodes); a consuming process moves what
// the classic queues of earlier versions (${ns}.${c}, …) still hold into them, then deletes them
// (upgradeLegacyQueues, repeated every upgradeRecheckMs while a process of the earlier version uses them).
// url may list several brokers, comma-separated (the nodes of a cluster): each (re)connect tries them in order.
// The relay publishes through a ConfirmChannel and marks rows published only after the broker
// confirmed them. Retries and dead letters are also confirmed before the original is acked.
// Consumers get `prefetch` unacked messages each. A dropped connection is re-established with
// backoff; meanwhile the relay fails its batches, which stay in the outbox.
// Not provided: broadcast events published while this process is disconnected are missed by it
// (its queue goes with the connection); order across retries.
import { connect, type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage, type GetMessage, type Options } from 'amqplib';
import { v7 as uuidv7 } from 'uuid';
import type { Db } from '../db/index.ts';
import type { Logger } from '../observability/logger.ts';
import type { Bus, DeadLetter, OrchardEvent } from './index.ts';
import { backoff, defaultRetryPolicy, retryDelay } from './backoff.ts';
import { applyOnce, errorMessage, parseEvent, processBatchOnce, Subscriptions, type DurableSubscription } from './consume.ts';
import { resolveOptions, type BusHooks, type BusOptions, type DeliveryOutcome } from './options.ts';
import { brokerDeathReason, queueOptions, topologyNames, upgradeLegacyQueues } from './rabbitmq-topology.ts';
import { createRelay, type Relay } from './relay.ts';
import { oldestUnprocessed, outboxBacklog, type BusHealth, type ConsumerHealth } from './health.ts';
import { InFlight, Serial, Waker } from './signal.ts';

/** Batches of one batch consumer being written at once: one fills up while another commits. */
const BATCHES_IN_FLIGHT = 2;

export interface RabbitBusOptions extends BusOptions {
  db: Db;
  /** amqp(s):// URL, or several comma-separated (a cluster's nodes), tried in order on each (re)connect. */
  url: string;
  namespace: string;
  logger: Logger;
  /** Tests: stop() deletes the exchanges and queues this bus declared. */
  deleteTopologyOnStop?: boolean;
  /** Unacked messages per consumer (batch consumers: four batches' worth). Default 16. */
  prefetch?: number;
  /** Longest wait for publisher confirms before a batch is rolled back. Default 10 s. */
  confirmTimeoutMs?: number;
  /** While classic queues of an earlier version are still in use, how often to try the upgrade again. Default 30 s. */
  upgradeRecheckMs?: number;
  hooks?: BusHooks & {
    /** Called with each new connection (tests close it to exercise reconnects). */
    onConnect?(connection: ChannelModel): void;
  };
}

const H = {
  attempt: 'x-orchard-attempt',
  error: 'x-orchard-error',
  failedAt: 'x-orchard-failed-at',
  deadLetterId: 'x-orchard-dead-letter-id',
  consumer: 'x-orchard-consumer',
};

/** One live connection with its channels: pub (confirms) publishes and declares, ch consumes. */
interface Link {
  conn: ChannelModel;
  pub: ConfirmChannel;
  ch: Channel;
  consumerTags: string[];
}

export function createRabbitBus(o: RabbitBusOptions): Bus {
  const opts = resolveOptions(o);
  const hooks = o.hooks ?? {};
  const prefetch = o.prefetch ?? 16;
  const confirmTimeoutMs = o.confirmTimeoutMs ?? 10_000;
  const log = o.logger.child({ component: 'bus', namespace: o.namespace });
  const upgradeRecheckMs = o.upgradeRecheckMs ?? 30_000;
  const names = topologyNames(o.namespace);
  const urls = o.url
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  if (!urls.length) throw new Error('no RabbitMQ URL');
  const subs = new Subscriptions();
  const inflight = new InFlight();
  const broadcasts = new Serial();
  const pause = new Waker(); // reconnect backoff, cut short by stop()
  const declaredQueues = new Set<string>();
  const declaredExchanges = new Set<string>();
  let state: 'new' | 'started' | 'stopping' = 'new';
  let consumeDurable = false;
  let droppedTypes = new Map<string, string[]>();
  let link: Link | null = null;
  let reconnecting: Promise<void> | null = null;
  let everConnected = false;
  let relay: Relay | null = null;
  let stopped: Promise<void> | null = null;
  let upgradeTimer: NodeJS.Timeout | undefined;

  /** The first of the URLs that accepts a connection, in the order given. */
  async function openConnection(): Promise<ChannelModel> {
    let lastErr: unknown;
    for (const url of urls) {
      try {
        const conn = await connect(url, { timeout: 5_000 });
        conn.on('error', (err) => log.warn({ err }, 'RabbitMQ connection error'));
        return conn;
      } catch (err) {
        lastErr = err;
        if (urls.length > 1) log.debug({ err, node: hostOf(url) }, 'cannot connect to this RabbitMQ node; trying the next');
      }
    }
    throw lastErr;
  }

  async function declare(ch: Channel): Promise<void> {
    const exchange = async (name: string, type: string) => {
      await ch.assertExchange(name, type, { durable: true });
      declaredExchanges.add(name);
    };
    const queue = async (name: string, options: Options.AssertQueue) => {
      await ch.assertQueue(name, options);
      declaredQueues.add(name);
    };
    await exchange(names.events, 'topic');
    if (!subs.durable.size) return;
    await exchange(names.dead, 'direct');
    for (const { consumer, types } of subs.durable.values()) {
      // the DLQ first: the consumer queue dead-letters into it (delivery limit)
      await queue(names.dlq(consumer), queueOptions.dlq());
      await ch.bindQueue(names.dlq(consumer), names.dead, consumer);
      const q = names.queue(consumer);
      await queue(q, queueOptions.consumer(names, consumer));
      for (const t of types) await ch.bindQueue(q, names.events, t);
      for (const t of droppedTypes.get(consumer) ?? []) await ch.unbindQueue(q, names.events, t);
      for (const ms of new Set(opts.retry.delaysMs)) await queue(names.retry(consumer, ms), queueOptions.retry(names, consumer, ms));
    }
  }

  /**
   * Moves what classic queues of an earlier version still hold into the quorum topology (rabbitmq-topology.ts),
   * in the background; again every upgradeRecheckMs while some are in use. Consuming processes only: the old
   * queues are unbound only once a process consumes the new ones.
   */
  function upgradeLegacy(l: Link): void {
    clearTimeout(upgradeTimer);
    const active = () => link === l && state === 'started';
    if (!active()) return;
    void inflight.track(async () => {
      let again = false;
      try {
        const legacy = [...subs.durable.values()]
          .filter((s) => !declaredQueues.has(names.legacy.queue(s.consumer))) // (a consumer named quorum.x: not a legacy queue)
          .map((s) => ({ consumer: s.consumer, types: [...s.types, ...(droppedTypes.get(s.consumer) ?? [])] }));
        const delays = { delaysMs: opts.retry.delaysMs, legacyDelaysMs: defaultRetryPolicy.delaysMs };
        const { remaining } = await upgradeLegacyQueues(l.conn, names, legacy, delays, log, active);
        if (remaining.length) log.info({ consumers: remaining, retryInMs: upgradeRecheckMs }, 'classic queues of an earlier version still in use');
        again = remaining.length > 0;
      } catch (err) {
        log.warn({ err }, 'could not move the classic queues of an earlier version yet');
        again = true;
      }
      if (again && active()) upgradeTimer = setTimeout(() => upgradeLegacy(l), upgradeRecheckMs).unref();
    });
  }

  /** Connects, declares the topology and starts consuming; the link becomes current only when all of it worked. */
  async function establish(): Promise<void> {
    const conn = await openConnection();
    try {
      const pub = await conn.createConfirmChannel();
      const ch = await conn.createChannel();
      const l: Link = { conn, pub, ch, consumerTags: [] };
      // Any channel closing (e.g. the server closed it over an error) rebuilds the whole link.
      for (const c of [pub, ch]) {
        c.on('error', (err: Error) => log.warn({ err }, 'RabbitMQ channel error'));
        c.on('close', () => void conn.close().catch(() => {}));
      }
      conn.on('close', () => onClosed(l));
      await declare(pub);
      if (consumeDurable) {
        for (const sub of subs.durable.values()) {
          // per consumer: a batch consumer holds two batches (one being written, the next filling up)
          await ch.prefetch(sub.batch ? sub.batch.maxBatch * BATCHES_IN_FLIGHT * 2 : prefetch);
          const { consumerTag } = await ch.consume(names.queue(sub.consumer), (m) => onDurable(l, sub, m));
          l.consumerTags.push(consumerTag);
        }
      }
      await ch.prefetch(prefetch);
      if (subs.hasBroadcasts) {
        const { queue } = await ch.assertQueue('', queueOptions.broadcast());
        for (const t of subs.broadcastTypes()) await ch.bindQueue(queue, names.events, t);
        l.consumerTags.push((await ch.consume(queue, (m) => onBroadcast(l, m))).consumerTag);
      }
      if (state !== 'started') throw new Error('bus stopping');
      const reconnected = everConnected;
      link = l;
      everConnected = true;
      // Broadcasts published while we had no queue are lost: derived state is dropped once more, now
      // that the new queue receives everything from here on.
      if (reconnected) subs.notifyGap(log);
      hooks.onConnect?.(conn);
      relay?.nudge();
      if (consumeDurable) upgradeLegacy(l);
    } catch (err) {
      await conn.close().catch(() => {});
      throw err;
    }
  }

  function onClosed(l: Link): void {
    if (link !== l) return;
    link = null;
    if (state !== 'started') return;
    log.warn('RabbitMQ connection lost; reconnecting');
    subs.notifyGap(log);
    reconnect();
  }

  function reconnect(): void {
    reconnecting ??= (async () => {
      for (let attempt = 1; state === 'started' && !link; attempt++) {
        try {
          await establish();
          log.info({ attempt }, 'connected to RabbitMQ');
        } catch (err) {
          if (state !== 'started') break;
          // Capped at 1 s: a connection attempt is cheap, and relaying must resume soon after the broker is back.
          const retryInMs = backoff(attempt, 250, 1_000);
          log.warn({ err, attempt, retryInMs }, 'cannot connect to RabbitMQ; retrying');
          await pause.wait(retryInMs);
        }
      }
    })().finally(() => {
      reconnecting = null;
    });
  }

  // Publishes through a confirm channel and resolves when the broker has confirmed (or rejects).
  function publishConfirmed(pub: ConfirmChannel, exchange: string, key: string, body: Buffer, props: Options.Publish): Promise<void> {
    return new Promise((resolve, reject) => {
      try {
        pub.publish(exchange, key, body, props, (err) => (err ? reject(err) : resolve()));
      } catch (err) {
        reject(err);
      }
    });
  }

  async function publishBatch(events: OrchardEvent[]): Promise<void> {
    const l = link;
    if (!l) throw new Error('not connected to RabbitMQ');
    const confirms = events.map((e) =>
      publishConfirmed(l.pub, names.events, e.type, Buffer.from(JSON.stringify(e)), {
        persistent: true,
        messageId: e.id,
        type: e.type,
        contentType: 'application/json',
        timestamp: Math.floor(Date.parse(e.occurredAt) / 1000),
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no publisher confirm within ${confirmTimeoutMs} ms`)), confirmTimeoutMs);
    });
    try {
      await Promise.race([Promise.all(confirms), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  function settle(l: Link, msg: ConsumeMessage, how: 'ack' | 'requeue'): void {
    try {
      if (how === 'ack') l.ch.ack(msg);
      else l.ch.nack(msg, false, true);
    } catch {
      // The channel is gone: the broker redelivers the message, which processed_events absorbs.
    }
  }

  function onDurable(l: Link, sub: DurableSubscription, msg: ConsumeMessage | null): void {
    if (!msg) {
      log.warn({ consumer: sub.consumer }, 'RabbitMQ cancelled the consumer; reconnecting');
      void l.conn.close().catch(() => {});
      return;
    }
    if (sub.batch) return queueForBatch(l, sub, msg);
    void inflight.track(() => handleDurable(l, sub, msg));
  }

  // Batch consumers: messages queue up while BATCHES_IN_FLIGHT batches are being written; when one is done,
  // everything queued (up to maxBatch) goes as the next, as the purchase writer's group commit does.
  const batchQueues = new Map<string, { l: Link; msg: ConsumeMessage }[]>();
  const batchesRunning = new Map<string, number>();

  function queueForBatch(l: Link, sub: DurableSubscription, msg: ConsumeMessage): void {
    let queue = batchQueues.get(sub.consumer);
    if (!queue) batchQueues.set(sub.consumer, (queue = []));
    queue.push({ l, msg });
    pumpBatches(sub);
  }

  function pumpBatches(sub: DurableSubscription): void {
    const queue = batchQueues.get(sub.consumer) ?? [];
    while ((batchesRunning.get(sub.consumer) ?? 0) < BATCHES_IN_FLIGHT && queue.length) {
      const batch = queue.splice(0, sub.batch!.maxBatch);
      batchesRunning.set(sub.consumer, (batchesRunning.get(sub.consumer) ?? 0) + 1);
      void inflight
        .track(() => handleBatch(sub, batch))
        .finally(() => {
          batchesRunning.set(sub.consumer, (batchesRunning.get(sub.consumer) ?? 1) - 1);
          pumpBatches(sub);
        });
    }
  }

  async function handleBatch(sub: DurableSubscription, batch: { l: Link; msg: ConsumeMessage }[]): Promise<void> {
    let events: OrchardEvent[] | null = null;
    try {
      events = batch.map(({ msg }) => parseEvent(msg.content));
      const wanted = events.filter((e) => sub.types.includes(e.type)); // others: left over from an old binding
      const applied = await o.db.tx((q) => processBatchOnce(q, sub.consumer, wanted, sub.batch!.handler));
      for (const { l, msg } of batch) settle(l, msg, 'ack');
      for (const e of wanted) hooks.onDelivery?.(sub.consumer, e, applied.has(e.id) ? 'applied' : 'duplicate');
    } catch (err) {
      // one at a time, each with its own retries: a bad event fails alone
      if (batch.length > 1) log.debug({ err, consumer: sub.consumer, size: batch.length }, 'batch failed; applying its events one by one');
      await Promise.all(batch.map(({ l, msg }) => handleDurable(l, sub, msg)));
    }
  }

  async function handleDurable(l: Link, sub: DurableSubscription, msg: ConsumeMessage): Promise<void> {
    const { consumer } = sub;
    const attempt = Math.max(1, Number(msg.properties.headers?.[H.attempt]) || 1);
    let event: OrchardEvent | null = null;
    let outcome: DeliveryOutcome;
    try {
      event = parseEvent(msg.content);
      if (!sub.types.includes(event.type)) return settle(l, msg, 'ack'); // left over from an old binding
      outcome = (await applyOnce(o.db, consumer, event, sub.handler)) ? 'applied' : 'duplicate';
    } catch (err) {
      const ctx = { err, eventId: event?.id ?? msg.properties.messageId, type: event?.type ?? msg.properties.type, consumer, attempt };
      const base = { persistent: true, messageId: msg.properties.messageId, type: msg.properties.type, contentType: 'application/json' };
      try {
        if (attempt >= opts.retry.maxAttempts || !event) {
          await publishConfirmed(l.pub, names.dead, consumer, msg.content, {
            ...base,
            headers: {
              [H.consumer]: consumer,
              [H.attempt]: attempt,
              [H.error]: errorMessage(err),
              [H.failedAt]: new Date().toISOString(),
              [H.deadLetterId]: uuidv7(),
            },
          });
          log.error(ctx, event ? 'event handler failed for the last time; dead-lettered' : 'unreadable message dead-lettered');
          outcome = 'dead';
        } else {
          const { baseMs, ms } = retryDelay(opts.retry, attempt);
          await publishConfirmed(l.pub, '', names.retry(consumer, baseMs), msg.content, {
            ...base,
            expiration: String(ms),
            headers: { [H.attempt]: attempt + 1, [H.error]: errorMessage(err) },
          });
          log.warn({ ...ctx, retryInMs: ms }, 'event handler failed; will retry');
          outcome = 'retry';
        }
      } catch (publishErr) {
        log.warn({ ...ctx, publishErr }, 'could not schedule the retry; message requeued');
        return settle(l, msg, 'requeue');
      }
    }
    settle(l, msg, 'ack');
    if (event) hooks.onDelivery?.(consumer, event, outcome);
  }

  function onBroadcast(l: Link, msg: ConsumeMessage | null): void {
    if (!msg) {
      void l.conn.close().catch(() => {});
      return;
    }
    void inflight.track(() =>
      broadcasts.run(async () => {
        try {
          await subs.runBroadcast(parseEvent(msg.content), log);
        } catch (err) {
          log.error({ err, eventId: msg.properties.messageId, type: msg.properties.type }, 'unreadable broadcast message dropped');
        }
        settle(l, msg, 'ack');
      }),
    );
  }

  /** Runs fn on the live connection, or on a short-lived one (e.g. `orchard dlq` without a started bus). */
  async function withConnection<T>(fn: (conn: ChannelModel) => Promise<T>): Promise<T> {
    if (link) return fn(link.conn);
    const conn = await openConnection();
    try {
      return await fn(conn);
    } finally {
      await conn.close().catch(() => {});
    }
  }

  /**
   * Runs fn on a fresh channel over each consumer's DLQ (and the classic DLQ of an earlier version, until a
   * consuming process has moved it); skips those that do not exist. fn returns false to stop.
   */
  async function overDlqs<C extends Channel>(open: (conn: ChannelModel) => Promise<C>, fn: (ch: C, consumer: string, dlq: string) => Promise<boolean>) {
    const { rows } = await o.db.query<{ consumer: string }>('SELECT consumer FROM bus_consumers');
    const consumers = [...new Set([...rows.map((r) => r.consumer), ...subs.durable.keys()])].sort();
    await withConnection(async (conn) => {
      for (const consumer of consumers) {
        for (const dlq of [names.dlq(consumer), names.legacy.dlq(consumer)]) {
          const ch = await open(conn);
          ch.on('error', () => {});
          try {
            await ch.checkQueue(dlq);
          } catch {
            continue; // a failed check closes the channel
          }
          try {
            if (!(await fn(ch, consumer, dlq))) return;
          } finally {
            // Messages fetched and not acked go back to the DLQ.
            await ch.close().catch(() => {});
          }
        }
      }
    });
  }

  function toDeadLetter(consumer: string, m: GetMessage): DeadLetter {
    const h = m.properties.headers ?? {};
    // Dead-lettered by RabbitMQ (delivery limit), not by handleDurable: no id, error or time of ours.
    const byBroker = h[H.deadLetterId] === undefined ? brokerDeathReason(h) : null;
    let event: OrchardEvent;
    try {
      event = parseEvent(m.content);
    } catch {
      event = {
        id: m.properties.messageId ?? '',
        type: m.properties.type ?? 'unknown',
        aggregateId: null,
        occurredAt: '',
        payload: { raw: m.content.toString() },
      };
    }
    return {
      id: String(h[H.deadLetterId] ?? m.properties.messageId),
      consumer,
      event,
      error: byBroker?.error ?? String(h[H.error] ?? ''),
      attempts: Number(h[H.attempt] ?? (byBroker ? 1 : 0)),
      failedAt: byBroker?.failedAt ?? String(h[H.failedAt] ?? ''),
    };
  }

  async function deleteTopology(): Promise<void> {
    await withConnection(async (conn) => {
      const ch = await conn.createChannel();
      ch.on('error', () => {});
      try {
        for (const q of declaredQueues) await ch.deleteQueue(q);
        for (const x of declaredExchanges) await ch.deleteExchange(x);
      } finally {
        await ch.close().catch(() => {});
      }
    });
  }

  return {
    kind: 'rabbitmq',
    subscribe: (consumer, types, handler) => subs.subscribe(consumer, types, handler),
    subscribeBatch: (consumer, types, handler, opts) => subs.subscribeBatch(consumer, types, handler, opts),
    broadcast: (types, handler) => subs.broadcast(types, handler),
    onBroadcastGap: (handler) => subs.onGap(handler),

    async start({ relay: withRelay, consume }) {
      if (state !== 'new') throw new Error(`bus already ${state === 'started' ? 'started' : 'stopped'}`);
      state = 'started';
      consumeDurable = consume;
      subs.freeze();
      droppedTypes = await subs.register(o.db);
      try {
        await establish();
      } catch (err) {
        log.warn({ err }, 'RabbitMQ unavailable at start; retrying in the background');
        reconnect();
      }
      if (withRelay) {
        relay = createRelay(o.db, log, { publish: publishBatch }, opts);
        relay.start();
      }
    },

    nudge() {
      relay?.nudge();
    },

    async ping() {
      const l = link;
      if (l) {
        const ch = await l.conn.createChannel();
        await ch.close();
        return;
      }
      if (state === 'started') throw new Error('not connected to RabbitMQ');
      const conn = await openConnection();
      await conn.close();
    },

    async health(): Promise<BusHealth> {
      const consumers = [...subs.durable.values()].map((s) => ({ consumer: s.consumer, types: s.types }));
      const queues = new Map<string, { attached: number; waiting: number; deadLetters: number }>();
      const l = link;
      if (l) {
        // checkQueue on a missing queue closes the channel it ran on: a throwaway one
        const ch = await l.conn.createChannel().catch(() => null);
        if (ch) {
          ch.on('error', () => {});
          try {
            for (const { consumer } of consumers) {
              const q = await ch.checkQueue(names.queue(consumer));
              const dlq = await ch.checkQueue(names.dlq(consumer));
              queues.set(consumer, { attached: q.consumerCount, waiting: q.messageCount, deadLetters: dlq.messageCount });
            }
          } catch {
            // a queue not declared yet: what was read so far is reported
          } finally {
            await ch.close().catch(() => {});
          }
        }
      }
      const ages = await oldestUnprocessed(o.db, consumers);
      return {
        transport: l ? 'connected' : 'disconnected',
        relay: relay?.status() ?? null,
        outbox: await outboxBacklog(o.db),
        consumers: consumers.map(
          ({ consumer }): ConsumerHealth => ({
            consumer,
            attached: queues.get(consumer)?.attached ?? null,
            waiting: queues.get(consumer)?.waiting ?? null,
            oldestUnprocessedSeconds: ages.get(consumer) ?? null,
            deadLetters: queues.get(consumer)?.deadLetters ?? null,
          }),
        ),
      };
    },

    stop() {
      stopped ??= (async () => {
        const wasStarted = state === 'started';
        state = 'stopping';
        if (!wasStarted) return;
        pause.wake();
        clearTimeout(upgradeTimer);
        await relay?.stop();
        await reconnecting;
        const l = link;
        // No new deliveries; the ones already delivered finish (and ack) before the connection closes.
        if (l) for (const tag of l.consumerTags) await l.ch.cancel(tag).catch(() => {});
        await inflight.drain();
        clearTimeout(upgradeTimer); // (a pass that ended while draining may have planned another)
        if (o.deleteTopologyOnStop) await deleteTopology().catch((err) => log.warn({ err }, 'could not delete the topology'));
        link = null;
        if (l) await l.conn.close().catch(() => {});
      })();
      return stopped;
    },

    async listDeadLetters(limit = 50) {
      const out: DeadLetter[] = [];
      await overDlqs(
        (conn) => conn.createChannel(),
        async (ch, consumer, dlq) => {
          while (out.length < limit) {
            const m = await ch.get(dlq, { noAck: false });
            if (!m) break;
            out.push(toDeadLetter(consumer, m));
          }
          return out.length < limit;
        },
      );
      return out;
    },

    async replayDeadLetters(ids) {
      const wanted = ids ? new Set(ids) : null;
      let replayed = 0;
      await overDlqs(
        (conn) => conn.createConfirmChannel(),
        async (ch, consumer, dlq) => {
          await ch.assertQueue(names.queue(consumer), queueOptions.consumer(names, consumer));
          for (;;) {
            const m = await ch.get(dlq, { noAck: false });
            if (!m) break;
            if (wanted && !wanted.has(toDeadLetter(consumer, m).id)) continue; // stays in the DLQ
            const { messageId, type } = m.properties;
            await publishConfirmed(ch, '', names.queue(consumer), m.content, {
              persistent: true,
              messageId,
              type,
              contentType: 'application/json',
              headers: { [H.attempt]: 1 },
            });
            ch.ack(m);
            replayed++;
            if (wanted && replayed === wanted.size) return false;
          }
          return true;
        },
      );
      return replayed;
    },
  };
}

/** host:port of a URL, for logs (never its credentials). */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'unparsable URL';
  }
}
