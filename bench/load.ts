// The load generator, always its own process (never inside the bench driver or the server):
//   node --import tsx bench/load.ts <spec.json>
// Runs autocannon for a warm-up, then for the measured run, drawing each request uniformly at random
// from the spec's pool; prints the measured result as one JSON object on stdout.
import { readFileSync } from 'node:fs';
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

const run = (duration: number) =>
  autocannon({
    url: spec.url,
    connections: spec.connections,
    duration,
    timeout: 10,
    requests: [{ setupRequest: (req) => ({ ...req, ...pool[Math.floor(Math.random() * pool.length)] }) }],
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
if (spec.warmupSeconds > 0) await run(spec.warmupSeconds);
const measured = await run(spec.durationSeconds);
const result: LoadResult = { ...summarise(measured), requestsPerSecond: measured.requests.average, prime };
process.stdout.write(JSON.stringify(result) + '\n');
