// Real `orchard` processes for tests that need them (several serves on one deployment, the CLI), and a Send
// (support/catalog.ts) that speaks HTTP to such a process instead of app.inject.
import { spawn, type ChildProcess } from 'node:child_process';
import type { LightMyRequestResponse } from 'fastify';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { bearer } from './app.ts';
import type { Send } from './catalog.ts';
import { eventually } from './infra.ts';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');

export async function freePort(): Promise<number> {
  const srv = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

export interface Served {
  child: ChildProcess;
  base: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
  /** SIGTERM, then SIGKILL if it has not exited within 15 s. */
  stop(): Promise<void>;
}

/** `orchard serve --no-demo` with this environment (on top of the test's), once /health answers. */
export async function spawnServe(env: Record<string, string>, args: string[] = []): Promise<Served> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin/orchard.js'), 'serve', '--no-demo', ...args], {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: String(port), HOST: '127.0.0.1', SHUTDOWN_GRACE_MS: '200' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  let gone = false;
  void exited.then(() => (gone = true));
  const base = `http://127.0.0.1:${port}`;
  try {
    await eventually(async () => {
      if (gone) throw new Error(`serve exited before answering: ${out}`);
      return (await fetch(`${base}/health`).catch(() => null))?.ok;
    }, 90_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    child,
    base,
    exited,
    output: () => out,
    async stop() {
      if (gone) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs `orchard <args>` to its end: exit code and everything it printed. */
export function runOrchard(args: string[], env: Record<string, string>, timeoutMs = 300_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/orchard.js'), ...args], {
      cwd: repoRoot,
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** A Send over real HTTP to `base` (JSON bodies as JSON; Buffers and strings as they are). */
export function httpSender(base: string): Send {
  return async (method, url, opts = {}) => {
    const headers: Record<string, string> = { ...(opts.token ? bearer(opts.token) : {}), ...opts.headers };
    let body: string | Buffer | undefined;
    if (opts.body !== undefined) {
      if (Buffer.isBuffer(opts.body) || typeof opts.body === 'string') body = opts.body;
      else {
        body = JSON.stringify(opts.body);
        headers['content-type'] ??= 'application/json';
      }
    }
    const res = await fetch(`${base}${url.startsWith('/api/') || url.startsWith('/.well-known') ? url : `/api/v1${url}`}`, {
      method: method as string,
      headers,
      body: body as BodyInit | undefined,
    });
    const raw = Buffer.from(await res.arrayBuffer());
    const text = raw.toString('utf8');
    return {
      statusCode: res.status,
      headers: Object.fromEntries(res.headers),
      body: text,
      rawPayload: raw,
      json: () => JSON.parse(text),
    } as unknown as LightMyRequestResponse;
  };
}

/** Makes a registered user an admin directly in the database (there is no public route for that). */
export async function promoteToAdmin(databaseUrl: string, userId: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`UPDATE users SET role = 'admin' WHERE id = $1`, [userId]);
  } finally {
    await client.end();
  }
}
