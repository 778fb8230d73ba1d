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

const run = (duration: number) =>
  autocannon({
    url: spec.url,
    connections: spec.connections,
    duration,
    timeout: 10,
    requests: [{ setupRequest: (req) => ({ ...req, ...pool[Math.floor(Math.random() * pool.length)] }) }],
  });

if (spec.warmupSeconds > 0) await run(spec.warmupSeconds);
const r = await run(spec.durationSeconds);
const result: LoadResult = {
  requestsPerSecond: r.requests.average,
  p50Ms: r.latency.p50,
  p99Ms: r.latency.p99,
  requests: r.requests.total,
  errors: r.errors,
  timeouts: r.timeouts,
  non2xx: r.non2xx,
  statusCodes: Object.fromEntries(Object.entries(r.statusCodeStats).map(([code, s]) => [code, s.count])),
  seconds: r.duration,
};
process.stdout.write(JSON.stringify(result) + '\n');
