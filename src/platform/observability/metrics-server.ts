// A worker has no HTTP API, but Prometheus scrapes it too (its jobs, consumers and bus gauges live there):
// `orchard worker --metrics-port N` answers GET /metrics and GET /health on a listener of its own.
import http from 'node:http';
import type { Bus } from '../bus/index.ts';
import { busHealth } from './health.ts';
import type { Metrics } from './metrics.ts';

export async function serveMetrics(metrics: Metrics, bus: Bus, host: string, port: number): Promise<http.Server> {
  busHealth(bus, metrics);
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        () => res.writeHead(503, { 'retry-after': '1' }).end(),
      );
    } else if (req.method === 'GET' && path === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"NOT_FOUND","message":"Only GET /metrics and GET /health here."}}');
    }
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, () => resolve()));
  return server;
}
