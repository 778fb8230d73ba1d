// The event bus on both adapter sets: embedded (PGlite + in-process) and production (PostgreSQL + RabbitMQ).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect, type ChannelModel } from 'amqplib';
import { recordEvent, type Bus, type OrchardEvent } from '../src/platform/bus/index.ts';
import { createInProcessBus } from '../src/platform/bus/inprocess.ts';
import { createRabbitBus, type RabbitBusOptions } from '../src/platform/bus/rabbitmq.ts';
import type { DeliveryOutcome } from '../src/platform/bus/options.ts';
import type { Db, Queryable } from '../src/platform/db/index.ts';
import { createTestInfra, eventually, kinds, productionUrls, type TestInfra } from './support/infra.ts';

type Options = Omit<RabbitBusOptions, 'db' | 'url' | 'namespace' | 'logger'>;

/** A bus of the suite's kind on the infra's database (and RabbitMQ namespace); small delays for tests. */
function makeBus(infra: TestInfra, options: Options = {}): Bus {
  const o = { pollMs: 50, retry: { maxAttempts: 3, delaysMs: [20, 40], jitter: 0.2 }, deleteTopologyOnStop: true, ...options };
  return infra.kind === 'production'
    ? createRabbitBus({ db: infra.db, url: productionUrls.amqp!, namespace: infra.config.namespace, logger: infra.logger, ...o })
    : createInProcessBus({ db: infra.db, logger: infra.logger, ...o });
}

async function withInfra(kind: TestInfra['kind'], fn: (infra: TestInfra) => Promise<void>): Promise<void> {
  const infra = await createTestInfra(kind);
  try {
    await infra.db.query('CREATE TABLE effects (consumer text NOT NULL, event_id uuid NOT NULL)');
    await fn(infra);
  } finally {
    await infra.close();
  }
}

/** A durable handler whose effect is one row in `effects`, in the delivery's transaction. */
const effect = (consumer: string) => async (e: OrchardEvent, q: Queryable) => {
  await q.query('INSERT INTO effects (consumer, event_id) VALUES ($1, $2)', [consumer, e.id]);
};

async function effects(db: Db, consumer?: string): Promise<{ total: number; distinct: number }> {
  const { rows } = await db.query<{ total: number; distinct: number }>(
    `SELECT count(*)::int AS total, count(DISTINCT event_id)::int AS distinct FROM effects WHERE $1::text IS NULL OR consumer = $1`,
    [consumer ?? null],
  );
  return rows[0];
}

const publish = (db: Db, type: string, payload: Record<string, unknown> = {}) => db.tx((q) => recordEvent(q, type, payload, null));

const unpublished = async (db: Db) => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL')).rows[0].n;

/** Counts onDelivery outcomes. */
function outcomes() {
  const counts: Record<DeliveryOutcome, number> = { applied: 0, duplicate: 0, retry: 0, dead: 0 };
  return { counts, onDelivery: (_c: string, _e: OrchardEvent, outcome: DeliveryOutcome) => void counts[outcome]++ };
}

for (const kind of kinds()) {
  describe(`bus (${kind})`, () => {
    test('an event is published only after its transaction commits', () =>
      withInfra(kind, async (infra) => {
        const bus = makeBus(infra);
        const seen: string[] = [];
        bus.subscribe('audit', ['thing.done'], effect('audit'));
        bus.broadcast(['thing.done'], async (e) => void seen.push(e.payload.name as string));
        await bus.start({ relay: true, consume: true });

        await assert.rejects(
          infra.db.tx(async (q) => {
            await recordEvent(q, 'thing.done', { name: 'rolled back' });
            throw new Error('abort');
          }),
          /abort/,
        );
        const marker = await publish(infra.db, 'thing.done', { name: 'committed' });
        bus.nudge();
        await eventually(async () => seen.includes('committed'));
        await eventually(async () => (await effects(infra.db)).total === 1);
        assert.deepEqual(seen, ['committed']);
        const { rows } = await infra.db.query<{ event_id: string }>('SELECT event_id FROM effects');
        assert.deepEqual(
          rows.map((r) => r.event_id),
          [marker.id],
        );
        assert.equal((await infra.db.query('SELECT * FROM outbox')).rows.length, 1);
        await bus.stop();
      }));

    test('a durable consumer applies each effect once under redelivery', () =>
      withInfra(kind, async (infra) => {
        const seen = outcomes();
        const bus = makeBus(infra, { hooks: { onDelivery: seen.onDelivery } });
        bus.subscribe('counter', ['n.inc'], effect('counter'));
        bus.subscribe('other', ['n.inc'], effect('other'));
        await bus.start({ relay: true, consume: true });
        for (let i = 0; i < 5; i++) await publish(infra.db, 'n.inc', { i });
        bus.nudge();
        await eventually(async () => (await effects(infra.db)).total === 10);

        // Redeliver everything: the relay publishes the same events again.
        await infra.db.query('UPDATE outbox SET published_at = NULL');
        bus.nudge();
        await eventually(async () => seen.counts.duplicate === 10);
        assert.equal(seen.counts.applied, 10);
        assert.deepEqual(await effects(infra.db, 'counter'), { total: 5, distinct: 5 });
        assert.deepEqual(await effects(infra.db, 'other'), { total: 5, distinct: 5 });
        await bus.stop();
      }));

    test('a batch consumer applies events in batches, once each under redelivery; a bad event fails alone', () =>
      withInfra(kind, async (infra) => {
        const seen = outcomes();
        const bus = makeBus(infra, { hooks: { onDelivery: seen.onDelivery } });
        const sizes: number[] = [];
        bus.subscribeBatch(
          'batched',
          ['b.item'],
          async (events, q) => {
            sizes.push(events.length);
            if (events.some((e) => e.payload.poison)) throw new Error('poison in the batch');
            for (const e of events) await effect('batched')(e, q);
          },
          { maxBatch: 8 },
        );
        // everything in the outbox before the bus starts, so the consumer finds a backlog
        await infra.db.tx(async (q) => {
          for (let i = 0; i < 20; i++) await recordEvent(q, 'b.item', { i, poison: i === 13 }, null);
        });
        await bus.start({ relay: true, consume: true });
        bus.nudge();
        await eventually(async () => (await effects(infra.db)).total === 19 && (await bus.listDeadLetters()).length === 1, 15_000);
        assert.ok(
          sizes.some((n) => n > 1),
          `batches of ${sizes.join(', ')}`,
        );
        assert.ok(sizes.every((n) => n <= 8));
        const [letter] = await bus.listDeadLetters();
        assert.equal(letter.event.payload.i, 13); // only the poisoned event failed; its batch-mates were applied alone

        await infra.db.query('UPDATE outbox SET published_at = NULL');
        bus.nudge();
        await eventually(async () => seen.counts.duplicate >= 19);
        assert.deepEqual(await effects(infra.db, 'batched'), { total: 19, distinct: 19 });
        await bus.stop();
      }));

    test('a failing handler is retried with backoff, dead-lettered, listed, and replayed once fixed', () =>
      withInfra(kind, async (infra) => {
        const seen = outcomes();
        const bus = makeBus(infra, { hooks: { onDelivery: seen.onDelivery } });
        let broken = true;
        let calls = 0;
        bus.subscribe('fragile', ['x.happened'], async (e, q) => {
          calls++;
          if (broken) throw new Error('boom: dependency down');
          await effect('fragile')(e, q);
        });
        await bus.start({ relay: true, consume: true });
        const event = await publish(infra.db, 'x.happened', { v: 1 });
        bus.nudge();

        const [letter] = await eventually(async () => {
          const l = await bus.listDeadLetters();
          return l.length ? l : null;
        });
        assert.equal(calls, 3);
        assert.equal(seen.counts.retry, 2);
        assert.equal(seen.counts.dead, 1);
        assert.equal(letter.consumer, 'fragile');
        assert.equal(letter.event.id, event.id);
        assert.equal(letter.event.type, 'x.happened');
        assert.deepEqual(letter.event.payload, { v: 1 });
        assert.equal(letter.attempts, 3);
        assert.match(letter.error, /boom/);
        assert.ok(!Number.isNaN(Date.parse(letter.failedAt)));
        // Listing does not consume, and works from a bus that was never started (`orchard dlq list`).
        assert.deepEqual(
          (await bus.listDeadLetters()).map((l) => l.id),
          [letter.id],
        );
        const cli = makeBus(infra, { deleteTopologyOnStop: false });
        assert.deepEqual(
          (await cli.listDeadLetters(10)).map((l) => [l.id, l.consumer]),
          [[letter.id, 'fragile']],
        );
        await cli.stop();
        assert.equal((await effects(infra.db)).total, 0);

        broken = false;
        assert.equal(await bus.replayDeadLetters(['not-a-known-id']), 0);
        assert.equal(await bus.replayDeadLetters([letter.id]), 1);
        await eventually(async () => (await effects(infra.db)).total === 1);
        assert.deepEqual(await bus.listDeadLetters(), []);
        assert.equal(calls, 4);
        await bus.stop();
      }));

    test('broadcast reaches every bus sharing the database; durable handlers wait for a consuming bus', () =>
      withInfra(kind, async (infra) => {
        // Two "processes" in API mode: relay, no durable consumers.
        const a = makeBus(infra, { deleteTopologyOnStop: false });
        const b = makeBus(infra);
        const seenA: string[] = [];
        const seenB: string[] = [];
        let durableRuns = 0;
        for (const [bus, seen] of [
          [a, seenA],
          [b, seenB],
        ] as const) {
          bus.broadcast(['app.changed'], async (e) => void seen.push(e.id));
          bus.broadcast(['app.changed'], async () => {
            throw new Error('a failing cache handler is only logged');
          });
          bus.subscribe('indexer', ['app.changed'], async () => void durableRuns++);
        }
        await a.start({ relay: true, consume: false });
        await b.start({ relay: false, consume: false });
        const ids: string[] = [];
        for (let i = 0; i < 3; i++) ids.push((await publish(infra.db, 'app.changed', { i })).id);
        a.nudge();
        await eventually(async () => seenA.length === 3 && seenB.length === 3);
        assert.deepEqual(seenA, ids);
        assert.deepEqual(seenB, ids);
        assert.equal(durableRuns, 0);

        // A worker starting later applies what the API processes left.
        await a.stop();
        const worker = makeBus(infra);
        worker.subscribe('indexer', ['app.changed'], effect('indexer'));
        await worker.start({ relay: true, consume: true });
        await eventually(async () => (await effects(infra.db)).total === 3);
        await worker.stop();
        await b.stop();
      }));

    test('two relays on one database deliver each event once', () =>
      withInfra(kind, async (infra) => {
        const seen = outcomes();
        const buses = [makeBus(infra, { deleteTopologyOnStop: false, batchSize: 7, hooks: seen }), makeBus(infra, { batchSize: 7, hooks: seen })];
        const broadcasts = buses.map(() => [] as string[]);
        buses.forEach((bus, i) => {
          bus.subscribe('counter', ['n.inc'], effect('counter'));
          bus.broadcast(['n.inc'], async (e) => void broadcasts[i].push(e.id));
        });
        for (const bus of buses) await bus.start({ relay: true, consume: true });
        const ids = new Set<string>();
        await Promise.all(
          Array.from({ length: 5 }, async () => {
            for (let i = 0; i < 10; i++) ids.add((await publish(infra.db, 'n.inc', { i })).id);
            buses.forEach((b) => b.nudge());
          }),
        );
        await eventually(async () => (await effects(infra.db)).total === 50 && broadcasts.every((b) => b.length === 50), 10_000);
        await eventually(async () => (await unpublished(infra.db)) === 0);
        for (const b of broadcasts) assert.deepEqual(new Set(b), ids);
        assert.deepEqual(await effects(infra.db), { total: 50, distinct: 50 });
        assert.equal(seen.counts.duplicate, 0, 'no event was published twice');
        for (const bus of buses) await bus.stop();
      }));

    test('stop() drains handlers in flight, and a fresh bus finishes the rest exactly once', () =>
      withInfra(kind, async (infra) => {
        let started = 0;
        let finished = 0;
        const slow = async (e: OrchardEvent, q: Queryable) => {
          started++;
          await new Promise((r) => setTimeout(r, 150));
          await effect('slow')(e, q);
          finished++;
        };
        const first = makeBus(infra, { deleteTopologyOnStop: false });
        first.subscribe('slow', ['job.queued'], slow);
        await first.start({ relay: true, consume: true });
        for (let i = 0; i < 10; i++) await publish(infra.db, 'job.queued', { i });
        first.nudge();
        await eventually(async () => started > 0);
        await first.stop();
        assert.equal(finished, started, 'every handler that started has finished');
        assert.equal((await effects(infra.db)).total, finished, 'and its effect is committed');
        await first.stop(); // idempotent

        const second = makeBus(infra);
        second.subscribe('slow', ['job.queued'], slow);
        await second.start({ relay: true, consume: true });
        await eventually(async () => (await effects(infra.db)).total === 10, 10_000);
        await second.stop();
        assert.deepEqual(await effects(infra.db), { total: 10, distinct: 10 });
      }));

    test('a relay killed between publishing and marking loses nothing and applies nothing twice', () =>
      withInfra(kind, async (infra) => {
        const N = 20;
        const seen = outcomes();
        let crashed = false;
        const doomed: Bus = makeBus(infra, {
          deleteTopologyOnStop: false,
          hooks: {
            onDelivery: seen.onDelivery,
            afterPublish() {
              // The process dies here: the batch is with the transport, the outbox rows are not marked.
              crashed = true;
              void doomed.stop();
              throw new Error('simulated crash after publish');
            },
          },
        });
        doomed.subscribe('ledger', ['money.moved'], effect('ledger'));
        for (let i = 0; i < N; i++) await publish(infra.db, 'money.moved', { i });
        await doomed.start({ relay: true, consume: true });
        await eventually(async () => crashed);
        await doomed.stop();
        assert.equal(await unpublished(infra.db), N, 'the batch was rolled back');

        const fresh = makeBus(infra, { hooks: { onDelivery: seen.onDelivery } });
        fresh.subscribe('ledger', ['money.moved'], effect('ledger'));
        await fresh.start({ relay: true, consume: true });
        await eventually(async () => (await effects(infra.db)).total >= N && (await unpublished(infra.db)) === 0, 10_000);
        // RabbitMQ got the batch twice (before the crash and from the fresh relay): wait for both copies.
        const copies = kind === 'production' ? 2 * N : N;
        await eventually(async () => seen.counts.applied + seen.counts.duplicate >= copies, 10_000);
        await fresh.stop();
        assert.deepEqual(await effects(infra.db), { total: N, distinct: N });
        assert.equal(seen.counts.applied, N);
      }));

    test('stop() is idempotent and safe before start; ping', () =>
      withInfra(kind, async (infra) => {
        const idle = makeBus(infra);
        await idle.stop();
        await idle.stop();
        await assert.rejects(idle.start({ relay: true, consume: true }), /stopped/);

        const bus = makeBus(infra);
        await bus.ping();
        await bus.start({ relay: true, consume: true });
        await bus.ping();
        assert.throws(() => bus.subscribe('late', ['x.y'], async () => {}), /before start/);
        await Promise.all([bus.stop(), bus.stop()]);
        assert.throws(() => makeBus(infra).subscribe('bad name!', ['x.y'], async () => {}), /invalid consumer/);
        assert.throws(() => makeBus(infra).subscribe('ok', ['x.*'], async () => {}), /invalid event type/);
      }));

    if (kind === 'production') {
      test('ping fails when RabbitMQ is unreachable', () =>
        withInfra(kind, async (infra) => {
          const bus = createRabbitBus({ db: infra.db, url: 'amqp://guest:guest@127.0.0.1:1', namespace: infra.config.namespace, logger: infra.logger });
          await assert.rejects(bus.ping());
          await bus.start({ relay: true, consume: true }); // keeps retrying in the background
          await assert.rejects(bus.ping(), /not connected/);
          await publish(infra.db, 'x.y');
          bus.nudge();
          await new Promise((r) => setTimeout(r, 100));
          assert.equal(await unpublished(infra.db), 1, 'events wait in the outbox');
          await bus.stop();
        }));

      test('reconnects after the connection drops; events wait in the outbox meanwhile', () =>
        withInfra(kind, async (infra) => {
          const connections: { close(): Promise<void> }[] = [];
          const bus = makeBus(infra, { hooks: { onConnect: (c) => void connections.push(c) } });
          bus.subscribe('counter', ['n.inc'], effect('counter'));
          let gaps = 0;
          bus.onBroadcastGap(() => gaps++);
          await bus.start({ relay: true, consume: true });
          await publish(infra.db, 'n.inc');
          bus.nudge();
          await eventually(async () => (await effects(infra.db)).total === 1);

          await connections[0].close();
          await publish(infra.db, 'n.inc');
          bus.nudge();
          await eventually(async () => connections.length === 2, 10_000);
          await eventually(async () => (await effects(infra.db)).total === 2, 10_000);
          assert.equal(gaps, 2, 'broadcast state is dropped when the link goes and again when it is back');
          await bus.ping();
          await bus.stop();
        }));

      test('AMQP_URL may list several brokers: each connect tries them in order and uses the first that answers', () =>
        withInfra(kind, async (infra) => {
          const url = `amqp://guest:guest@127.0.0.1:1, ${productionUrls.amqp}`; // a node down, then a live one
          const bus = createRabbitBus({ db: infra.db, url, namespace: infra.config.namespace, logger: infra.logger, pollMs: 50, deleteTopologyOnStop: true });
          bus.subscribe('counter', ['n.inc'], effect('counter'));
          await bus.ping();
          await bus.start({ relay: true, consume: true });
          await publish(infra.db, 'n.inc');
          bus.nudge();
          await eventually(async () => (await effects(infra.db)).total === 1);
          await bus.stop();
        }));

      test('durable queues are quorum queues (with retries and dead letters); the broadcast queue is classic and exclusive; stop() deletes them', () =>
        withInfra(kind, async (infra) => {
          const ns = infra.config.namespace;
          const bus = makeBus(infra);
          bus.subscribe('audit', ['thing.done'], effect('audit'));
          bus.broadcast(['thing.done'], async () => {});
          await bus.start({ relay: true, consume: true });
          const { queues, bindings } = await brokerState();
          const ours = queues.filter((q) => q.name.startsWith(`${ns}.`));
          assert.deepEqual(ours.map((q) => q.name).sort(), [
            `${ns}.quorum.audit`,
            `${ns}.quorum.audit.dlq`,
            `${ns}.quorum.audit.retry.20ms`,
            `${ns}.quorum.audit.retry.40ms`,
          ]);
          for (const q of ours) assert.deepEqual([q.name, q.type, q.durable], [q.name, 'quorum', true]);
          const args = (name: string) => Object.fromEntries(ours.find((q) => q.name === name)!.arguments.map(([k, , v]) => [k, v]));
          assert.deepEqual(args(`${ns}.quorum.audit`), {
            'x-queue-type': 'quorum',
            'x-delivery-limit': 20,
            'x-dead-letter-exchange': `${ns}.dead`,
            'x-dead-letter-routing-key': 'audit',
            'x-dead-letter-strategy': 'at-least-once',
            'x-overflow': 'reject-publish',
          });
          assert.deepEqual(args(`${ns}.quorum.audit.retry.40ms`), {
            'x-queue-type': 'quorum',
            'x-message-ttl': 40,
            'x-dead-letter-exchange': '',
            'x-dead-letter-routing-key': `${ns}.quorum.audit`,
            'x-dead-letter-strategy': 'at-least-once',
            'x-overflow': 'reject-publish',
          });
          // The broadcast queue is server-named: found through its binding to the events exchange.
          const bound = new Set(bindings.filter((b) => b.source_name === `${ns}.events`).map((b) => b.destination_name));
          const broadcast = queues.filter((q) => bound.has(q.name) && !q.name.startsWith(`${ns}.`));
          assert.equal(broadcast.length, 1);
          assert.deepEqual([broadcast[0].type, broadcast[0].durable, broadcast[0].exclusive, broadcast[0].auto_delete], ['classic', false, true, true]);
          await bus.stop();
          assert.deepEqual(
            (await brokerState()).queues.filter((q) => q.name.startsWith(`${ns}.`) || q.name === broadcast[0].name),
            [],
            'stop() with deleteTopologyOnStop deleted every queue it declared',
          );
        }));

      test('upgrade: the classic queues of an earlier version are emptied into the quorum ones and deleted once unused; each event applied once', () =>
        withInfra(kind, async (infra) => {
          const ns = infra.config.namespace;
          const old = { queue: `${ns}.ledger`, retry: (ms: number) => `${ns}.ledger.retry.${ms}ms`, dlq: `${ns}.ledger.dlq` };
          const conn = await connect(productionUrls.amqp!);
          try {
            // The topology as the earlier version declared it (classic queues), with a process of that version
            // consuming the queue and holding one message (in flight when the new version starts).
            const ch = await conn.createConfirmChannel();
            await ch.assertExchange(`${ns}.events`, 'topic', { durable: true });
            await ch.assertExchange(`${ns}.dead`, 'direct', { durable: true });
            await ch.assertQueue(old.queue, { durable: true });
            await ch.bindQueue(old.queue, `${ns}.events`, 'money.moved');
            for (const ms of [20, 40, 125_000]) {
              await ch.assertQueue(old.retry(ms), {
                durable: true,
                arguments: { 'x-message-ttl': ms, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': old.queue },
              });
            }
            await ch.assertQueue(old.dlq, { durable: true });
            await ch.bindQueue(old.dlq, `${ns}.dead`, 'ledger');
            const send = async (exchange: string, key: string, e: OrchardEvent, headers: Record<string, unknown> = {}, expiration?: string) => {
              ch.publish(exchange, key, Buffer.from(JSON.stringify(e)), { persistent: true, messageId: e.id, type: e.type, headers, expiration });
              await ch.waitForConfirms();
            };
            // events the earlier version's relay published (marked published in the outbox)
            const events: OrchardEvent[] = [];
            for (let i = 0; i < 4; i++) events.push(await publish(infra.db, 'money.moved', { i }));
            await infra.db.query('UPDATE outbox SET published_at = now()');
            await infra.db.query(`INSERT INTO bus_consumers (consumer, types) VALUES ('ledger', ARRAY['money.moved'])`); // registered by it
            const [held, inQueue, inRetry, inDlq] = events;
            const oldWorker = await conn.createChannel();
            await oldWorker.prefetch(1);
            let holding = false;
            await oldWorker.consume(old.queue, () => void (holding = true)); // never acks
            await send(`${ns}.events`, 'money.moved', held);
            await eventually(async () => holding);
            await send(`${ns}.events`, 'money.moved', inQueue);
            await send('', old.retry(125_000), inRetry, { 'x-orchard-attempt': 2, 'x-orchard-error': 'boom' }, '125000');
            await send('', old.dlq, inDlq, {
              'x-orchard-consumer': 'ledger',
              'x-orchard-attempt': 3,
              'x-orchard-error': 'kaput',
              'x-orchard-failed-at': new Date().toISOString(),
              'x-orchard-dead-letter-id': 'dl-1',
            });

            // `orchard dlq list` of the new version sees the old DLQ before any worker moved it
            const cli = makeBus(infra, { deleteTopologyOnStop: false });
            assert.deepEqual(
              (await cli.listDeadLetters()).map((l) => [l.id, l.consumer, l.event.id, l.error]),
              [['dl-1', 'ledger', inDlq.id, 'kaput']],
            );
            await cli.stop();

            const seen = outcomes();
            const bus = makeBus(infra, { upgradeRecheckMs: 100, hooks: { onDelivery: seen.onDelivery } });
            bus.subscribe('ledger', ['money.moved'], effect('ledger'));
            await bus.start({ relay: true, consume: true });
            // the waiting event and the retry (its delay is no longer configured: straight to the queue) are applied
            await eventually(async () => (await effects(infra.db)).total === 2, 10_000);
            const exists = async (queue: string) => {
              const probe = await conn.createChannel();
              probe.on('error', () => {});
              try {
                await probe.checkQueue(queue);
                return true;
              } catch {
                return false;
              } finally {
                await probe.close().catch(() => {});
              }
            };
            assert.ok(await exists(old.queue), 'kept while a process of the earlier version consumes it');
            // a new event reaches the quorum queue only
            const fresh = await publish(infra.db, 'money.moved', { i: 4 });
            bus.nudge();
            await eventually(async () => (await effects(infra.db)).total === 3);

            // The old process stops without acking: its message goes back to the old queue, is moved and applied.
            await oldWorker.close();
            await eventually(async () => (await effects(infra.db)).total === 4, 10_000);
            await eventually(async () => !(await exists(old.queue)), 10_000);
            for (const q of [old.retry(20), old.retry(40), old.retry(125_000), old.dlq]) assert.equal(await exists(q), false, `${q} deleted`);

            const letters = await bus.listDeadLetters();
            assert.deepEqual(
              letters.map((l) => [l.id, l.event.id, l.attempts, l.error]),
              [['dl-1', inDlq.id, 3, 'kaput']],
              'the dead letter moved to the quorum DLQ, headers intact',
            );
            assert.equal(await bus.replayDeadLetters(['dl-1']), 1);
            await eventually(async () => (await effects(infra.db)).total === 5);
            assert.deepEqual(await effects(infra.db), { total: 5, distinct: 5 });
            assert.deepEqual(
              (await infra.db.query<{ event_id: string }>('SELECT event_id FROM effects ORDER BY event_id')).rows.map((r) => r.event_id),
              [held, inQueue, inRetry, inDlq, fresh].map((e) => e.id).sort(),
            );
            assert.equal(seen.counts.duplicate, 0);
            await bus.stop();
          } finally {
            const ch = await conn.createChannel();
            ch.on('error', () => {});
            for (const q of [old.queue, old.retry(20), old.retry(40), old.retry(125_000), old.dlq]) await ch.deleteQueue(q).catch(() => {});
            await conn.close().catch(() => {});
          }
        }));

      test('a message returned unacked too often (its consumer keeps dying) is dead-lettered by RabbitMQ and listed', () =>
        withInfra(kind, async (infra) => {
          const ns = infra.config.namespace;
          const bus = makeBus(infra);
          bus.subscribe('doomed', ['x.crash'], effect('doomed'));
          await bus.start({ relay: false, consume: false }); // declares, consumes nothing
          const event: OrchardEvent = {
            id: '0190a0c0-0000-7000-8000-000000000001',
            type: 'x.crash',
            aggregateId: null,
            occurredAt: new Date().toISOString(),
            payload: {},
          };
          const conn: ChannelModel = await connect(productionUrls.amqp!);
          try {
            const ch = await conn.createConfirmChannel();
            ch.publish('', `${ns}.quorum.doomed`, Buffer.from(JSON.stringify(event)), { persistent: true, messageId: event.id, type: event.type });
            await ch.waitForConfirms();
            // a consumer that dies holding it, over and over: every return counts
            for (let i = 0; i <= 20; i++) {
              const m = await ch.get(`${ns}.quorum.doomed`, { noAck: false });
              if (!m) break;
              ch.nack(m, false, true);
            }
            const [letter] = await eventually(async () => {
              const l = await bus.listDeadLetters();
              return l.length ? l : null;
            });
            assert.equal(letter.consumer, 'doomed');
            assert.equal(letter.event.id, event.id);
            assert.match(letter.error, /delivery limit/);
            assert.ok(!Number.isNaN(Date.parse(letter.failedAt)));
          } finally {
            await conn.close().catch(() => {});
          }
          await bus.stop();
        }));
    }
  });
}

interface BrokerQueue {
  name: string;
  type: string;
  durable: boolean;
  exclusive: boolean | '';
  auto_delete: boolean;
  arguments: [string, string, unknown][];
}

/** Queues and bindings as RabbitMQ lists them (rabbitmqctl, on the machine running the broker). */
async function brokerState(): Promise<{ queues: BrokerQueue[]; bindings: { source_name: string; destination_name: string }[] }> {
  const run = promisify(execFile);
  const list = async <T>(...args: string[]) => JSON.parse((await run('rabbitmqctl', ['-q', ...args, '--formatter', 'json'])).stdout) as T;
  return {
    queues: await list<BrokerQueue[]>('list_queues', 'name', 'type', 'durable', 'exclusive', 'auto_delete', 'arguments'),
    bindings: await list('list_bindings', 'source_name', 'destination_name'),
  };
}
