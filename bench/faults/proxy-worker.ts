// Worker thread body: the TCP proxies of the fault suite (see proxies.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { startTcpProxy, type TcpProxy } from '../../test/support/tcp-proxy.ts';

const targets = workerData.targets as Record<string, { host: string; port: number }>;
const proxies: Record<string, TcpProxy> = {};
for (const [name, t] of Object.entries(targets)) proxies[name] = await startTcpProxy(t.host, t.port);

parentPort!.on('message', async (m: { id: number; name: string; cmd: string }) => {
  try {
    const p = proxies[m.name];
    if (!p) throw new Error(`no proxy ${m.name}`);
    const before = p.connections();
    switch (m.cmd) {
      case 'reset':
        p.reset();
        break;
      case 'stall':
        p.stall();
        break;
      case 'down':
        p.down();
        break;
      case 'resume':
        p.resume();
        break;
      case 'connections':
        break;
      case 'close':
        await p.close();
        break;
      default:
        throw new Error(`unknown command ${m.cmd}`);
    }
    parentPort!.postMessage({ type: 'reply', id: m.id, result: before });
  } catch (err) {
    parentPort!.postMessage({ type: 'reply', id: m.id, error: (err as Error).message });
  }
});
parentPort!.postMessage({ type: 'ready', ports: Object.fromEntries(Object.entries(proxies).map(([k, p]) => [k, p.port])) });
