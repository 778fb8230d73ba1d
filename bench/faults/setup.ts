// Setting up a run of the fault suite or the failover drill: free ports, the CLI run to completion, API calls,
// buyers registered through the API and the catalog's purchasable apps.
import { spawn } from 'node:child_process';
import { appendFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Buyer, Item } from './load.ts';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Runs the CLI to completion (migrate, seed, serve --help); output to a log file, returns stdout+stderr. */
export function runCliIn(
  root: string,
  runDir: string,
  args: string[],
  childEnv: NodeJS.ProcessEnv,
  logName: string,
  timeoutMs: number,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [path.join(root, 'bin/orchard.js'), ...args], { cwd: root, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', (b) => (output += b));
    p.stderr.on('data', (b) => (output += b));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.once('error', reject);
    p.once('exit', async (code) => {
      clearTimeout(timer);
      await appendFile(path.join(runDir, logName), output).catch(() => {});
      resolve({ code, output });
    });
  });
}

export async function api(port: number, method: string, p: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    // keep text
  }
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text.slice(0, 300)}`);
  return json;
}

/** Buyers through the API (TRUST_PROXY=1: each from its own X-Forwarded-For, so the per-IP limit is not hit). */
export async function registerBuyers(ports: number[], n: number, id: string): Promise<Buyer[]> {
  const buyers: Buyer[] = new Array(n);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < n; i = next++) {
      const r = await api(
        ports[i % ports.length],
        'POST',
        '/api/v1/auth/register',
        { email: `buyer${i}.${id}@faults.orchard.test`, password: 'faults-password-1234', displayName: `Fault buyer ${i}`, country: 'US' },
        { 'x-forwarded-for': `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` },
      );
      buyers[i] = { token: r.session.token };
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return buyers;
}

/** Published apps with their US price (paid) or none (free), from the storefront API. */
export async function catalogItems(port: number): Promise<{ paid: Item[]; free: Item[] }> {
  const list = async (price: 'paid' | 'free', max: number) => {
    const out: Item[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await api(port, 'GET', `/api/v1/apps?price=${price}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      for (const a of page.items) {
        if (price === 'free') out.push({ appId: a.id, amountMilli: null });
        // prices ending in 2 or 5 milliunits are the sandbox's decline triggers: real prices end in 0
        else if (a.price?.currency === 'USD' && a.price.amountMilli > 0 && a.price.amountMilli % 10 === 0)
          out.push({ appId: a.id, amountMilli: a.price.amountMilli });
      }
      cursor = page.nextCursor;
    } while (cursor && out.length < max);
    return out.slice(0, max);
  };
  const paid = await list('paid', 100_000);
  const free = await list('free', Math.ceil(paid.length / 4));
  return { paid, free };
}
