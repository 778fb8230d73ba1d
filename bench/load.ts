// The load generator, always its own process (never inside the bench driver or the server):
//   node --import tsx bench/load.ts <spec.json>
// Runs autocannon for a warm-up, then for the measured run (or, for a scenario with a rate, an open-loop
// generator at that rate), drawing each request uniformly at random
// from the spec's pool; prints the measured result as one JSON object on stdout.
import { readFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import autocannon, { type Request } from 'autocannon';
import type { BenchRequest } from './scenarios.ts';

export interface LoadSpec {
  url: string;
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
  requests: BenchRequest[];
  /** Send every request of the pool once, in order, before the warm-up (fills caches); measured as `prime`. */
  prime?: boolean;
  /** Offered load (requests/s over all connections) for the warm-up and the measured run; unset: unlimited. */
  rate?: number;
  /** Send the pool in order (warm-up first, then the measured run) instead of drawing at random: for pools
   *  whose order means something (each purchase once, retries after their original). */
  sequential?: boolean;
}

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  seconds: number;
  /** The priming pass, when the spec asked for one: every request distinct, so every read is a cache miss. */
  prime?: Omit<LoadResult, 'prime'>;
}

const spec: LoadSpec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
// Only what a request sets: undefined fields would wipe autocannon's defaults.
const pool: Request[] = spec.requests.map((r) => {
  const req: Request = { method: r.method ?? 'GET', path: r.path };
  if (r.headers || r.body) req.headers = { ...(r.body ? { 'content-type': 'application/json' } : {}), ...r.headers };
  if (r.body) req.body = r.body;
  return req;
});
if (pool.length === 0) throw new Error('the scenario produced no requests');

const summarise = (r: autocannon.Result): Omit<LoadResult, 'prime'> => ({
  requestsPerSecond: r.requests.total / Math.max(r.duration, 0.001),
  p50Ms: r.latency.p50,
  p99Ms: r.latency.p99,
  requests: r.requests.total,
  errors: r.errors,
  timeouts: r.timeouts,
  non2xx: r.non2xx,
  statusCodes: Object.fromEntries(Object.entries(r.statusCodeStats).map(([code, s]) => [code, s.count])),
  seconds: r.duration,
});

let cursor = 0;
/** The next request: in pool order for a sequential spec (warning once if the pool runs out), else at random. */
function draw(): Request {
  if (!spec.sequential) return pool[Math.floor(Math.random() * pool.length)];
  if (cursor === pool.length) process.stderr.write(`warning: the pool of ${pool.length} requests ran out; it starts over\n`);
  return pool[cursor++ % pool.length];
}

const run = (duration: number) =>
  autocannon({
    url: spec.url,
    connections: spec.connections,
    duration,
    timeout: 10,
    requests: [{ setupRequest: (req) => ({ ...req, ...draw() }) }],
  });

let prime: LoadResult['prime'];
if (spec.prime) {
  let next = 0;
  prime = summarise(
    await autocannon({
      url: spec.url,
      connections: spec.connections,
      amount: pool.length,
      timeout: 10,
      requests: [{ setupRequest: (req) => ({ ...req, ...pool[next++ % pool.length] }) }],
    }),
  );
}
if (spec.rate) {
  if (spec.warmupSeconds > 0) await atRate(spec.rate, spec.warmupSeconds);
  const measured = await atRate(spec.rate, spec.durationSeconds);
  process.stdout.write(JSON.stringify({ ...measured, prime }) + '\n');
} else {
  if (spec.warmupSeconds > 0) await run(spec.warmupSeconds);
  const measured = await run(spec.durationSeconds);
  const result: LoadResult = { ...summarise(measured), requestsPerSecond: measured.requests.average, prime };
  process.stdout.write(JSON.stringify(result) + '\n');
}

/**
 * Open-loop load at a constant rate (autocannon's rate limit sends each second's quota in a burst):
 * request i is due at start + i/rate and its latency counts from then, so a slow answer delays no
 * later request and queueing shows in the figures (no coordinated omission).
 */
async function atRate(rate: number, seconds: number): Promise<Omit<LoadResult, 'prime'>> {
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections });
  const total = Math.round(rate * seconds);
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  let errors = 0,
    non2xx = 0,
    sent = 0,
    done = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const send = (due: number) => {
      const r = draw();
      const req = httpRequest(new URL(r.path ?? '/', spec.url), { method: r.method, headers: r.headers as Record<string, string>, agent }, (res) => {
        res.resume();
        res.on('end', () => {
          latencies.push(performance.now() - due);
          const code = String(res.statusCode);
          statusCodes[code] = (statusCodes[code] ?? 0) + 1;
          if ((res.statusCode ?? 0) >= 300) non2xx++;
          if (++done === total) resolve();
        });
      });
      req.on('error', () => {
        errors++;
        if (++done === total) resolve();
      });
      req.end(r.body);
    };
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + (sent * 1000) / rate <= now) send(start + (sent++ * 1000) / rate);
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
  const secondsTaken = (performance.now() - start) / 1000;
  return {
    requestsPerSecond: total / secondsTaken,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    requests: total,
    errors,
    timeouts: 0,
    non2xx,
    statusCodes,
    seconds: secondsTaken,
  };
}
