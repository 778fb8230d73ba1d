// The event bus on both adapter sets: embedded (PGlite + in-process) and production (PostgreSQL + RabbitMQ).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
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
    }
  });
}
