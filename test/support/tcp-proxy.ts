// A small TCP proxy for fault tests: put it between Orchard and PostgreSQL, Redis or RabbitMQ, then cut
// every connection (a restart or failover: the peer sees a reset), stall traffic (a network hang: bytes
// are held, nothing is closed), or refuse new connections (the service is down) and restore it again.
import net from 'node:net';

export type ProxyMode = 'open' | 'stalled' | 'down';

export interface TcpProxy {
  /** The local port clients connect to. */
  readonly port: number;
  /** A URL like `target` but pointing at the proxy (postgres://…, redis://…, amqp://…). */
  url(target: string): string;
  /** Resets every open connection (RST to both sides); new connections are still accepted unless down(). */
  reset(): void;
  /** Holds every byte in both directions until resume(); connections stay open. */
  stall(): void;
  /** Refuses new connections and resets the open ones (the service is gone). */
  down(): void;
  /** Back to forwarding: flushes what a stall held, accepts new connections. */
  resume(): void;
  mode(): ProxyMode;
  /** Connections currently open through the proxy. */
  connections(): number;
  close(): Promise<void>;
}

/** target (postgres://…, redis://…, amqp://…) pointed at a proxy listening on 127.0.0.1:port. */
export function proxyUrl(target: string, port: number): string {
  const u = new URL(target);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}

export async function startTcpProxy(targetHost: string, targetPort: number, listenPort = 0): Promise<TcpProxy> {
  let mode: ProxyMode = 'open';
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();

  const server = net.createServer((client) => {
    if (mode === 'down') {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    const pair = { client, upstream };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
    if (mode === 'stalled') {
      client.pause();
      upstream.pause();
    }
  });
  // A paused socket still reads what pipe() resumes; unpipe during a stall so nothing flows.
  const setFlow = (flowing: boolean) => {
    for (const { client, upstream } of pairs) {
      if (flowing) {
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
        upstream.resume();
      } else {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    }
  };
  const resetAll = () => {
    for (const { client, upstream } of [...pairs]) {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    pairs.clear();
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    url: (target) => proxyUrl(target, port),
    reset: resetAll,
    stall() {
      mode = 'stalled';
      setFlow(false);
    },
    down() {
      mode = 'down';
      resetAll();
    },
    resume() {
      const wasStalled = mode === 'stalled';
      mode = 'open';
      if (wasStalled) setFlow(true);
    },
    mode: () => mode,
    connections: () => pairs.size,
    close: () =>
      new Promise<void>((resolve) => {
        resetAll();
        server.close(() => resolve());
      }),
  };
}
