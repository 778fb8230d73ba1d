// The bus's RabbitMQ topology: names, queue types and arguments, and the upgrade from the classic queues of
// earlier versions. rabbitmq.ts declares and uses it. Needs RabbitMQ 3.10 or later (message TTL and
// at-least-once dead-lettering on quorum queues).
//
// Under the namespace ns:
//   ${ns}.events                     topic exchange, durable; routing key = event type
//   ${ns}.dead                       direct exchange, durable; routing key = consumer
//   ${ns}.quorum.${c}                quorum queue of durable consumer c, bound to its event types
//   ${ns}.quorum.${c}.retry.${N}ms   quorum queue: message TTL N ms, then dead-lettered (at least once) to c's queue
//   ${ns}.quorum.${c}.dlq            quorum queue of c's dead letters, bound to ${ns}.dead with key c
//   amq.gen-… (server-named)         classic, exclusive, auto-delete: one process's broadcast queue, gone with it
// Quorum queues are replicated (Raft) on every node of a cluster and must be durable; they take no exclusive,
// auto-delete or priority arguments. A queue's arguments are fixed when it is first declared (redeclaring it
// with others fails), which is why a retry queue's name carries its delay.
import type { ChannelModel, ConfirmChannel, GetMessage, Options, Replies } from 'amqplib';
import type { Logger } from '../observability/logger.ts';

export function topologyNames(ns: string) {
  return {
    events: `${ns}.events`,
    dead: `${ns}.dead`,
    queue: (c: string) => `${ns}.quorum.${c}`,
    retry: (c: string, ms: number) => `${ns}.quorum.${c}.retry.${ms}ms`,
    dlq: (c: string) => `${ns}.quorum.${c}.dlq`,
    /** The classic queues of earlier versions (see upgradeLegacyQueues). */
    legacy: {
      queue: (c: string) => `${ns}.${c}`,
      retry: (c: string, ms: number) => `${ns}.${c}.retry.${ms}ms`,
      dlq: (c: string) => `${ns}.${c}.dlq`,
    },
  };
}
export type TopologyNames = ReturnType<typeof topologyNames>;

/**
 * Returns of one message to a consumer's queue before RabbitMQ dead-letters it. Handler failures never count
 * here: we count those ourselves (the attempt header) and each retry is a new message, acked in the old one's
 * place. The broker's count grows only when a message goes back unacked: the process holding it died or lost
 * its connection, or its retry could not be published and it was requeued. Without a limit, a message that
 * kills its consumer would cycle through every worker for ever; with one, it lands in the DLQ after 20 such
 * returns (error "delivery limit", listed and replayed by `orchard dlq`). Messages prefetched with it may follow
 * it there: replayable, never lost. RabbitMQ 4.0+ applies a default limit of 20 anyway and *drops* a message
 * past it when the queue has no dead-letter exchange: declaring ours makes the limit explicit and lossless on
 * every version.
 */
export const DELIVERY_LIMIT = 20;

/**
 * The DLQ's limit: `orchard dlq list` reads dead letters and gives them back, and before RabbitMQ 4.3 each
 * give-back counts as a return, so 4.0–4.2's default of 20 would drop a dead letter after 20 listings. No
 * value means "unlimited" everywhere (4.x's -1 makes 3.10 drop a message at its first return, measured), so
 * a number nobody reaches.
 */
const DLQ_DELIVERY_LIMIT = 1_000_000;

/**
 * At-least-once dead-lettering: the source quorum queue keeps a dead-lettered message until the target queue
 * confirmed it (the default, at-most-once, loses it if the target is unavailable at that moment). It needs
 * reject-publish overflow, which only matters under a length limit (we set none; one added by policy then
 * refuses publishes, which the relay retries, instead of dropping messages).
 */
const atLeastOnce = { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' };

export const queueOptions = {
  /** A durable consumer's queue; broker dead letters (delivery limit) go to its DLQ. */
  consumer: (n: TopologyNames, c: string): Options.AssertQueue => ({
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-delivery-limit': DELIVERY_LIMIT,
      'x-dead-letter-exchange': n.dead,
      'x-dead-letter-routing-key': c,
      ...atLeastOnce,
    },
  }),
  /** Holds a retry for ms (the message's own expiration may be shorter: jitter), then hands it back to c's queue. */
  retry: (n: TopologyNames, c: string, ms: number): Options.AssertQueue => ({
    durable: true,
    arguments: { 'x-queue-type': 'quorum', 'x-message-ttl': ms, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': n.queue(c), ...atLeastOnce },
  }),
  dlq: (): Options.AssertQueue => ({ durable: true, arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': DLQ_DELIVERY_LIMIT } }),
  /** Classic said explicitly: a vhost whose default queue type is quorum would refuse an exclusive queue. */
  broadcast: (): Options.AssertQueue => ({ exclusive: true, autoDelete: true, durable: false, arguments: { 'x-queue-type': 'classic' } }),
};

/** A dead letter's error text when RabbitMQ, not our consumer, dead-lettered it (headers of the DLQ message). */
export function brokerDeathReason(headers: Record<string, unknown>): { error: string; failedAt: string } | null {
  const deaths = headers['x-death'];
  const death = Array.isArray(deaths) ? (deaths[0] as Record<string, unknown> | undefined) : undefined;
  if (!death) return null;
  const reason = String(death.reason ?? 'unknown');
  const time = death.time as number | { value?: number } | undefined;
  const seconds = typeof time === 'number' ? time : time?.value;
  const lastError = headers['x-orchard-error'];
  const why =
    reason === 'delivery_limit'
      ? `delivery limit: returned unacked ${DELIVERY_LIMIT} times (the process handling it died or lost its connection each time)`
      : `dead-lettered by RabbitMQ (${reason})`;
  return {
    error: lastError ? `${why}; last handler error: ${String(lastError)}` : why,
    failedAt: seconds ? new Date(seconds * 1000).toISOString() : '',
  };
}

// ---- Upgrade from the classic topology of earlier versions ----
//
// Earlier versions declared classic queues `${ns}.${c}`, `${ns}.${c}.retry.${N}ms` and `${ns}.${c}.dlq`. A
// queue's type cannot change: redeclaring one as quorum fails (PRECONDITION_FAILED, which also closes the
// channel). Deleting it to redeclare it under the same name would drop what it holds and, until it is bound
// again, every event published meanwhile (no other queue of that consumer would be bound). So the quorum
// queues take new names (`${ns}.quorum.…`) and a process that consumes moves the old contents over, without
// a moment when an event type has no bound queue or a message has no copy:
//   1. The quorum topology is declared and bound first (declare() runs before this): from then on every
//      event reaches it; while the old queue is bound too, both get a copy, and processed_events applies it once.
//   2. The old queue is unbound from the events exchange, the old DLQ from the dead-letter exchange.
//   3. Messages are moved: old DLQ -> new DLQ, old retry queues -> the new retry queue of the same delay (or
//      the consumer's queue, for a delay no longer configured), old queue -> the consumer's queue. Each batch
//      is published with confirms before the old copies are acked: a crash in between leaves two copies (the
//      event is applied once), never none.
//   4. Only when nobody consumes the old queue (a process of the earlier version still running could put
//      retries into the old retry queues, which expire into the old queue), the old queues are deleted, each
//      only if empty, in an order that leaves every message a destination: the retry queues (they dead-letter
//      into the old queue), the old DLQ, and the old queue last; then the retry queues are looked for once
//      more (an old process re-creating them in between). Until then (a rolling deploy) the caller repeats the
//      pass. An earlier-version process that (re)connects afterwards re-creates its classic queues; a newer
//      process's next pass (its next connect) moves their contents again.

export interface LegacyConsumer {
  consumer: string;
  /** Every type the old queue may be bound to: the consumer's types and those it dropped. */
  types: string[];
}

export interface UpgradeResult {
  /** Messages moved to the quorum topology. */
  moved: number;
  /** Consumers whose old queues are still there (in use by an earlier version, or not empty yet). */
  remaining: string[];
}

/**
 * One pass of the upgrade (see above) over the given consumers. `delaysMs` are the retry delays configured
 * now (their quorum retry queues exist); `legacyDelaysMs` the delays whose old retry queues are looked for.
 */
export async function upgradeLegacyQueues(
  conn: ChannelModel,
  n: TopologyNames,
  consumers: LegacyConsumer[],
  delays: { delaysMs: number[]; legacyDelaysMs: number[] },
  log: Logger,
  active: () => boolean,
): Promise<UpgradeResult> {
  const result: UpgradeResult = { moved: 0, remaining: [] };
  const current = new Set(delays.delaysMs);
  const legacyDelays = [...new Set([...delays.delaysMs, ...delays.legacyDelaysMs])];
  const move = async (from: string, to: string) => {
    const moved = await withChannel(conn, (ch) => moveAll(ch, from, to, active));
    if (moved) log.info({ from, to, moved }, 'moved messages from a classic queue of an earlier version to the quorum topology');
    result.moved += moved;
  };
  /** Moves the old retry queues' messages over; deletes the empty ones when asked. True when none is left. */
  const drainRetries = async (c: string, remove: boolean) => {
    let left = 0;
    for (const ms of legacyDelays) {
      const old = n.legacy.retry(c, ms);
      if (!(await probe(conn, old))) continue;
      await move(old, current.has(ms) ? n.retry(c, ms) : n.queue(c));
      if (!remove || !(await tryDelete(conn, old, { ifEmpty: true }))) left++;
    }
    return left === 0;
  };

  for (const { consumer: c, types } of consumers) {
    if (!active()) break;
    const oldQueue = n.legacy.queue(c);
    // Deleted last, so when it is gone the rest of the consumer's old topology is too (one probe a consumer).
    if (!(await probe(conn, oldQueue))) continue;
    log.info({ consumer: c, queue: oldQueue }, 'classic queue of an earlier version found; moving it to the quorum topology');
    const oldDlq = n.legacy.dlq(c);
    const hasOldDlq = !!(await probe(conn, oldDlq));
    await withChannel(conn, async (ch) => {
      for (const t of types) await ch.unbindQueue(oldQueue, n.events, t);
      if (hasOldDlq) await ch.unbindQueue(oldDlq, n.dead, c);
    });
    if (hasOldDlq) await move(oldDlq, n.dlq(c));
    await drainRetries(c, false);
    await move(oldQueue, n.queue(c));

    const unused = (await probe(conn, oldQueue))?.consumerCount === 0;
    const deleted =
      unused &&
      active() &&
      (await drainRetries(c, true)) &&
      (!hasOldDlq || (await tryDelete(conn, oldDlq, { ifEmpty: true }))) &&
      (await tryDelete(conn, oldQueue, { ifEmpty: true, ifUnused: true }));
    if (deleted && (await drainRetries(c, true))) log.info({ consumer: c }, 'classic queues of an earlier version deleted');
    else result.remaining.push(c);
  }
  return result;
}

/** The queue's counts, or null when it does not exist. (A failed check closes its channel: a throwaway one.) */
async function probe(conn: ChannelModel, queue: string): Promise<Replies.AssertQueue | null> {
  try {
    return await withChannel(conn, (ch) => ch.checkQueue(queue));
  } catch (err) {
    if ((err as { code?: number }).code === 404) return null;
    throw err;
  }
}

/** Deletes the queue if the conditions hold; false when they did not (PRECONDITION_FAILED). */
async function tryDelete(conn: ChannelModel, queue: string, opts: Options.DeleteQueue): Promise<boolean> {
  try {
    await withChannel(conn, (ch) => ch.deleteQueue(queue, opts));
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 406) return false;
    throw err;
  }
}

/** fn on a fresh confirm channel, closed afterwards (a failed operation closes it anyway). */
async function withChannel<T>(conn: ChannelModel, fn: (ch: ConfirmChannel) => Promise<T>): Promise<T> {
  const ch = await conn.createConfirmChannel();
  ch.on('error', () => {});
  try {
    return await fn(ch);
  } finally {
    // Messages fetched and not acked go back to their queue.
    await ch.close().catch(() => {});
  }
}

/** Moves every message of `from` to the queue `to`, in batches: published, confirmed, then acked. */
async function moveAll(ch: ConfirmChannel, from: string, to: string, active: () => boolean): Promise<number> {
  let moved = 0;
  while (active()) {
    const batch: GetMessage[] = [];
    while (batch.length < 100) {
      const m = await ch.get(from, { noAck: false });
      if (!m) break;
      batch.push(m);
    }
    if (!batch.length) break;
    for (const m of batch) ch.publish('', to, m.content, copyProperties(m));
    await ch.waitForConfirms();
    ch.ack(batch[batch.length - 1], true);
    moved += batch.length;
  }
  return moved;
}

function copyProperties(m: GetMessage): Options.Publish {
  const p = m.properties;
  const props: Options.Publish = {
    persistent: true,
    headers: p.headers,
    contentType: p.contentType,
    contentEncoding: p.contentEncoding,
    messageId: p.messageId,
    type: p.type,
    timestamp: p.timestamp,
    correlationId: p.correlationId,
    appId: p.appId,
    expiration: p.expiration,
  };
  for (const k of Object.keys(props) as (keyof Options.Publish)[]) if (props[k] === undefined) delete props[k];
  return props;
}
