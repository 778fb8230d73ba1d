// The three TCP proxies (test/support/tcp-proxy.ts) run in a worker thread of their own: the load
// generator's work (sending, parsing answers) then never delays a database, cache or bus byte, and the
// proxies never delay the load's clock. The main thread drives them with messages.
import { Worker } from 'node:worker_threads';
import { proxyUrl } from '../../test/support/tcp-proxy.ts';

export type ProxyCommand = 'reset' | 'stall' | 'down' | 'resume' | 'connections';

export interface RemoteProxy {
  readonly port: number;
  /** A URL like target but pointing at the proxy. */
  url(target: string): string;
  /** Each returns the number of connections open just before the command. */
  reset(): Promise<number>;
  stall(): Promise<number>;
  down(): Promise<number>;
  resume(): Promise<number>;
  connections(): Promise<number>;
}

export interface ProxyThread {
  proxies: Record<string, RemoteProxy>;
  close(): Promise<void>;
}

// The thread runs TypeScript: tsx is registered there (module hooks of the main thread do not reach workers).
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
import('tsx/esm/api').then((m) => m.register()).then(() => import(workerData.url));`;

export async function startProxyThread(targets: Record<string, { host: string; port: number }>): Promise<ProxyThread> {
  const worker = new Worker(BOOTSTRAP, { eval: true, workerData: { url: new URL('./proxy-worker.ts', import.meta.url).href, targets } });
  let nextId = 0;
  const pending = new Map<number, { resolve: (v: number) => void; reject: (e: Error) => void }>();
  const ports = await new Promise<Record<string, number>>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`proxy thread exited (${code})`)));
    worker.on('message', (m: { type: string; ports?: Record<string, number>; id?: number; result?: number; error?: string }) => {
      if (m.type === 'ready') resolve(m.ports!);
      else if (m.type === 'reply') {
        const p = pending.get(m.id!);
        pending.delete(m.id!);
        if (m.error) p?.reject(new Error(m.error));
        else p?.resolve(m.result ?? 0);
      }
    });
  });
  worker.removeAllListeners('error').removeAllListeners('exit');
  worker.on('error', (err) => console.error('proxy thread failed:', err));

  const send = (name: string, cmd: ProxyCommand | 'close') =>
    new Promise<number>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, name, cmd });
    });

  const proxies: Record<string, RemoteProxy> = {};
  for (const [name, port] of Object.entries(ports)) {
    proxies[name] = {
      port,
      url: (target) => proxyUrl(target, port),
      reset: () => send(name, 'reset'),
      stall: () => send(name, 'stall'),
      down: () => send(name, 'down'),
      resume: () => send(name, 'resume'),
      connections: () => send(name, 'connections'),
    };
  }
  return {
    proxies,
    async close() {
      for (const name of Object.keys(ports)) await send(name, 'close').catch(() => 0);
      await worker.terminate();
    },
  };
}
