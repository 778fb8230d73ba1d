import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryCache } from '../cache/memory.ts';
import { createLogger } from '../observability/logger.ts';
import { createMetrics } from '../observability/metrics.ts';
import { createScheduler, type Job } from './index.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const infra = () => ({ cache: createMemoryCache(), logger: createLogger('silent', false), metrics: createMetrics() });

test('an exclusive job runs in one process at a time; the others skip their turn and say so', async () => {
  const shared = infra(); // two processes sharing one cache (their lock)
  const bMetrics = createMetrics();
  const a = createScheduler(shared);
  const b = createScheduler({ ...shared, metrics: bMetrics });
  let running = 0;
  let most = 0;
  let runs = 0;
  const job = (): Job => ({
    name: 'test.exclusive',
    everyMs: 10,
    runAtStart: true,
    async run() {
      running++;
      most = Math.max(most, running);
      runs++;
      await sleep(30);
      running--;
    },
  });
  a.start([job()]);
  b.start([job()]);
  await sleep(200);
  await Promise.all([a.stop(), b.stop()]);
  assert.equal(most, 1);
  assert.ok(runs >= 3, `${runs} runs`);
  const outcomes =
    (await shared.metrics.registry.getSingleMetricAsString('orchard_job_runs_total')) +
    (await bMetrics.registry.getSingleMetricAsString('orchard_job_runs_total'));
  assert.match(outcomes, /outcome="ok"/);
  assert.match(outcomes, /outcome="skipped"/);
});

test('a run never overlaps itself; a trigger during a run runs it once more afterwards; stop waits for the run in flight', async () => {
  const s = createScheduler(infra());
  const events: string[] = [];
  let release!: () => void;
  s.start([
    {
      name: 'test.loop',
      everyMs: 60_000,
      exclusive: false,
      async run() {
        events.push('start');
        await new Promise<void>((r) => (release = r));
        events.push('end');
      },
    },
  ]);
  s.trigger('test.loop');
  await sleep(5);
  s.trigger('test.loop');
  s.trigger('test.loop');
  release();
  await sleep(5);
  const stopped = s.stop();
  release();
  await stopped;
  assert.deepEqual(events, ['start', 'end', 'start', 'end']);
});

test('a failing job is counted and logged, and runs again at its next turn', async () => {
  const i = infra();
  const s = createScheduler(i);
  let calls = 0;
  s.start([
    {
      name: 'test.failing',
      everyMs: 10,
      exclusive: false,
      runAtStart: true,
      async run() {
        calls++;
        throw new Error('boom');
      },
    },
  ]);
  await sleep(60);
  await s.stop();
  assert.ok(calls >= 2);
  const text = await i.metrics.registry.getSingleMetricAsString('orchard_job_runs_total');
  assert.match(text, /job="test.failing",outcome="failed"\} [2-9]/);
});
