// Periodic jobs of every module, run by one scheduler per process that runs workers (`worker`, and `serve`
// unless --api-only). A job runs every `everyMs`; never twice at once in one process; with `exclusive` (the
// default) one runner at a time across all processes, through a cache lock held for the run (a process that
// cannot take it skips its turn). Each run's duration and outcome are metrics and failures are logged; stop()
// waits for the runs in flight (SIGTERM).
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Cache } from '../cache/index.ts';
import { withLock } from '../cache/index.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';

export interface Job {
  /** `<module>.<job>`, e.g. `purchases.renewals`: the lock, log and metric name. */
  name: string;
  everyMs: number;
  /** One runner at a time across processes (default true). Off for jobs that coordinate by themselves (row claims). */
  exclusive?: boolean;
  /** How long the cross-process lock may be held before another process may take it (a runner that died). Default 10 × everyMs, at least a minute. */
  lockMs?: number;
  /** Run once as soon as the scheduler starts (default false: the first run is one interval away). */
  runAtStart?: boolean;
  run(): Promise<unknown>;
}

export interface Scheduler {
  start(jobs: Job[]): void;
  /** Runs a job now (or right after the run in flight), e.g. after a commit that gave it work. */
  trigger(name: string): void;
  /** Stops the timers and waits for the runs in flight. */
  stop(): Promise<void>;
}

interface Running {
  job: Job;
  timer: NodeJS.Timeout;
  inFlight: Promise<void> | null;
  again: boolean;
}

export function createScheduler(deps: { cache: Cache; logger: Logger; metrics: Metrics }): Scheduler {
  const log = deps.logger.child({ component: 'jobs' });
  const metrics = jobMetrics(deps.metrics);
  const jobs = new Map<string, Running>();
  let stopping = false;

  async function runOnce(job: Job): Promise<void> {
    const started = process.hrtime.bigint();
    try {
      const ran =
        job.exclusive === false
          ? (await job.run(), true)
          : ((await withLock(deps.cache, `job:${job.name}`, job.lockMs ?? Math.max(60_000, job.everyMs * 10), async () => (await job.run(), true))) ?? false);
      if (!ran) {
        metrics.runs.inc({ job: job.name, outcome: 'skipped' });
        return;
      }
      metrics.runs.inc({ job: job.name, outcome: 'ok' });
      metrics.lastSuccess.set({ job: job.name }, Date.now() / 1000);
    } catch (err) {
      metrics.runs.inc({ job: job.name, outcome: 'failed' });
      log.error({ err, job: job.name }, 'job failed');
    } finally {
      metrics.duration.observe({ job: job.name }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  function tick(r: Running): void {
    if (stopping) return;
    if (r.inFlight) {
      r.again = true;
      return;
    }
    r.inFlight = (async () => {
      do {
        r.again = false;
        await runOnce(r.job);
      } while (r.again && !stopping);
    })().finally(() => {
      r.inFlight = null;
    });
  }

  return {
    start(list) {
      for (const job of list) {
        if (jobs.has(job.name)) throw new Error(`job ${job.name} is scheduled twice`);
        const r: Running = { job, timer: setInterval(() => tick(r), job.everyMs), inFlight: null, again: false };
        r.timer.unref();
        jobs.set(job.name, r);
        metrics.interval.set({ job: job.name }, job.everyMs / 1000);
        if (job.runAtStart) tick(r);
      }
    },
    trigger(name) {
      const r = jobs.get(name);
      if (r) tick(r);
    },
    async stop() {
      stopping = true;
      for (const r of jobs.values()) clearInterval(r.timer);
      await Promise.all([...jobs.values()].map((r) => r.inFlight));
    },
  };
}

const perRegistry = new WeakMap<Metrics, ReturnType<typeof createJobMetrics>>();
function jobMetrics(metrics: Metrics) {
  let m = perRegistry.get(metrics);
  if (!m) perRegistry.set(metrics, (m = createJobMetrics(metrics)));
  return m;
}
function createJobMetrics(metrics: Metrics) {
  const registers = [metrics.registry];
  return {
    runs: new Counter({
      name: 'orchard_job_runs_total',
      help: 'Periodic job runs by outcome (ok, failed, skipped: another process held the lock)',
      labelNames: ['job', 'outcome'],
      registers,
    }),
    duration: new Histogram({
      name: 'orchard_job_duration_seconds',
      help: 'Periodic job run duration',
      labelNames: ['job'],
      buckets: [0.01, 0.05, 0.25, 1, 5, 15, 60, 300, 900],
      registers,
    }),
    lastSuccess: new Gauge({
      name: 'orchard_job_last_success_timestamp_seconds',
      help: 'When each job last ran to completion in this process',
      labelNames: ['job'],
      registers,
    }),
    interval: new Gauge({ name: 'orchard_job_interval_seconds', help: 'How often each job is due', labelNames: ['job'], registers }),
  };
}
