// The faults, one phase each. A phase runs while the purchase load goes on (every request is tagged with
// the phase it was sent in); it applies its fault, undoes it, says when the dependency was back
// (recovery is measured from there) and leaves a short recovery window before the next phase.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Environment } from './env.ts';
import type { PurchaseLoad, RequestRecord } from './load.ts';
import { waitHealthy, type Supervisor } from './procs.ts';

export interface Durations {
  baseline: number;
  /** Load before the fault, within a phase. */
  pre: number;
  /** Recovery window after the fault, within a phase. */
  post: number;
  pgResets: number;
  pgResetGap: number;
  pgStall: number;
  redisCut: number;
  amqpCut: number;
  /** Between kill -9 and the restart. */
  killGap: number;
  payments: number;
}

export const FULL: Durations = { baseline: 15, pre: 3, post: 8, pgResets: 3, pgResetGap: 1.5, pgStall: 5, redisCut: 15, amqpCut: 15, killGap: 1, payments: 15 };
export const QUICK: Durations = { baseline: 6, pre: 2, post: 5, pgResets: 2, pgResetGap: 1, pgStall: 4, redisCut: 6, amqpCut: 6, killGap: 0.5, payments: 10 };

export interface Ctx {
  sup: Supervisor;
  env: Environment;
  load: PurchaseLoad;
  ports: { a: number; b: number; pay: number };
  d: Durations;
  /** ms since the suite started. */
  now(): number;
  /** `serve` arguments (with --api-only when the CLI has it). */
  serveArgs: string[];
  childEnv(extra?: Record<string, string>): NodeJS.ProcessEnv;
}

export interface Outcome {
  faultEnd: number | null;
  recoveryPorts: number[];
  extra?: Record<string, unknown>;
  /** Figures that need every answer in (called after the load stopped and drained), merged into extra. */
  settle?(): Record<string, unknown>;
}

export interface Phase {
  name: string;
  what: string;
  run(c: Ctx, ev: (s: string) => void): Promise<Outcome>;
}

const s = (x: number) => sleep(x * 1000);
const both = (c: Ctx) => [c.ports.a, c.ports.b];

async function cut(c: Ctx, ev: (s: string) => void, which: 'redis' | 'amqp', seconds: number): Promise<Outcome> {
  await s(c.d.pre);
  const proxy = c.env.proxies[which];
  const n = await proxy.down();
  ev(`${which} down (${n} connections reset, new ones refused) at ${fmt(c.now())}`);
  await s(seconds);
  await proxy.resume();
  const faultEnd = c.now();
  ev(`${which} back at ${fmt(faultEnd)}`);
  await s(c.d.post);
  return { faultEnd, recoveryPorts: both(c) };
}

export const PAYMENTS_PHASE = 'payments-50%';
export const SIGTERM_PHASE = 'serve-sigterm';

export const PHASES: Phase[] = [
  {
    name: 'baseline',
    what: 'no fault',
    async run(c) {
      await s(c.d.baseline);
      return { faultEnd: null, recoveryPorts: [] };
    },
  },
  {
    name: 'pg-reset',
    what: 'PostgreSQL: every connection reset (a restart or failover), several times',
    async run(c, ev) {
      await s(c.d.pre);
      let last = 0;
      for (let i = 0; i < c.d.pgResets; i++) {
        if (i) await s(c.d.pgResetGap);
        const n = await c.env.proxies.pg.reset();
        last = c.now();
        ev(`reset #${i + 1} of ${n} connections at ${fmt(last)}`);
      }
      await s(c.d.post);
      return { faultEnd: last, recoveryPorts: both(c) };
    },
  },
  {
    name: 'pg-stall',
    what: 'PostgreSQL: every byte held (a network hang), then released',
    async run(c, ev) {
      await s(c.d.pre);
      const n = await c.env.proxies.pg.stall();
      ev(`${n} connections stalled at ${fmt(c.now())}`);
      await s(c.d.pgStall);
      await c.env.proxies.pg.resume();
      const faultEnd = c.now();
      ev(`resumed at ${fmt(faultEnd)}`);
      await s(c.d.post);
      return { faultEnd, recoveryPorts: both(c) };
    },
  },
  { name: 'redis-cut', what: 'Redis down (connections reset, new ones refused), then back', run: (c, ev) => cut(c, ev, 'redis', c.d.redisCut) },
  { name: 'rabbitmq-cut', what: 'RabbitMQ down, then back', run: (c, ev) => cut(c, ev, 'amqp', c.d.amqpCut) },
  {
    name: 'serve-kill',
    what: 'kill -9 of serve A, restarted; requests to its port meanwhile are connection errors',
    async run(c, ev) {
      await s(c.d.pre);
      const inFlight = c.load.inFlightTo(c.ports.a).length;
      await c.sup.signal('serve-a', 'SIGKILL', 'kill -9 (fault)');
      ev(`serve-a killed at ${fmt(c.now())} with ${inFlight} requests in flight`);
      await s(c.d.killGap);
      c.sup.restart('serve-a');
      const took = await waitHealthy(c.ports.a, 60_000, () => c.sup.running('serve-a'));
      const faultEnd = c.now();
      ev(`serve-a healthy again at ${fmt(faultEnd)} (${took} ms after restart)`);
      await s(c.d.post);
      return { faultEnd, recoveryPorts: both(c), extra: { inFlightAtKill: inFlight } };
    },
  },
  {
    name: 'worker-kill',
    what: 'kill -9 of the worker, restarted',
    async run(c, ev) {
      await s(c.d.pre);
      await c.sup.signal('worker', 'SIGKILL', 'kill -9 (fault)');
      ev(`worker killed at ${fmt(c.now())}`);
      await s(c.d.killGap);
      c.sup.restart('worker');
      const faultEnd = c.now();
      ev(`worker restarted at ${fmt(faultEnd)}`);
      await s(c.d.post);
      return { faultEnd, recoveryPorts: both(c) };
    },
  },
  {
    name: SIGTERM_PHASE,
    what: 'SIGTERM of serve B (graceful: in-flight requests complete, exit 0), restarted',
    async run(c, ev) {
      await s(c.d.pre);
      const inFlight: RequestRecord[] = c.load.inFlightTo(c.ports.b);
      const sentAt = c.now();
      const exit = await c.sup.signal('serve-b', 'SIGTERM', 'SIGTERM (fault)', 20_000);
      ev(
        `serve-b SIGTERM at ${fmt(sentAt)} with ${inFlight.length} in flight: exit code ${exit?.code} signal ${exit?.signal} after ${Math.round(c.now() - sentAt)} ms`,
      );
      c.sup.restart('serve-b');
      const took = await waitHealthy(c.ports.b, 60_000, () => c.sup.running('serve-b'));
      const faultEnd = c.now();
      ev(`serve-b healthy again at ${fmt(faultEnd)} (${took} ms after restart)`);
      await s(c.d.post);
      return {
        faultEnd,
        recoveryPorts: both(c),
        extra: { exitCode: exit?.code ?? null, exitSignal: exit?.signal ?? null, drainMs: exit ? Math.round(exit.at * 1000 - sentAt) : null },
        settle() {
          const answered = inFlight.filter((r) => r.status !== null);
          return {
            inFlight: inFlight.length,
            inFlightAnswered: answered.length,
            inFlight5xx: answered.filter((r) => r.status! >= 500).length,
            inFlightErrors: inFlight.filter((r) => r.netError).map((r) => r.netError),
          };
        },
      };
    },
  },
  {
    name: PAYMENTS_PHASE,
    what: 'a third serve, started with the others with SANDBOX_PAYMENTS_FAILURE_RATE=0.5, takes all the load',
    async run(c) {
      c.load.targets = [c.ports.pay];
      await s(c.d.payments);
      c.load.targets = both(c);
      return { faultEnd: null, recoveryPorts: [] };
    },
  },
];

export const fmt = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
