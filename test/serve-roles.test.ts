// The `serve` process as an operator starts it, on PostgreSQL, Redis and RabbitMQ: a lone serve consumes
// events and runs jobs (nothing waits silently for a worker that is not there), `--api-only` leaves that
// to workers, and SIGTERM drains and exits 0.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { createInfra, loadConfig } from '../src/config.ts';
import { createModules, startEvents } from '../src/app.ts';
import { createScratchDatabase, eventually, productionUrls } from './support/infra.ts';

const skip =
  productionUrls.db && productionUrls.redis && productionUrls.amqp ? false : 'needs ORCHARD_TEST_DATABASE_URL, _REDIS_URL and _AMQP_URL (see .ci/run)';
const root = path.resolve(import.meta.dirname, '..');

async function freePort(): Promise<number> {
  const srv = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

interface Served {
  child: ChildProcess;
  base: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

async function serve(env: Record<string, string>, args: string[]): Promise<Served> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(root, 'bin/orchard.js'), 'serve', '--no-demo', ...args], {
    cwd: root,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', SHUTDOWN_GRACE_MS: '200' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const base = `http://127.0.0.1:${port}`;
  await eventually(async () => (await fetch(`${base}/health`).catch(() => null))?.ok, 60_000);
  return { child, base, exited, output: () => out };
}

describe('serve on the production adapters', { skip }, () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });

  async function deployment() {
    const scratch = await createScratchDatabase();
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'orchard-serve-'));
    const namespace = `orchard-serve-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const env = {
      DATABASE_URL: scratch.url,
      REDIS_URL: productionUrls.redis!,
      AMQP_URL: productionUrls.amqp!,
      ORCHARD_NAMESPACE: namespace,
      ORCHARD_DATA_DIR: dataDir,
      DEMO_APPS: '0',
    };
    cleanups.push(async () => {
      // The same modules declare the same queues: a bus that deletes what it declared removes them.
      const config = loadConfig(env, { logLevel: 'silent' });
      const infra = await createInfra(config, { deleteBusTopologyOnStop: true });
      await startEvents(infra, createModules(config, infra), { relay: false, consume: false });
      await infra.close();
      await scratch.drop();
      await rm(dataDir, { recursive: true, force: true });
    });
    return env;
  }

  const consumersOf = async (base: string) =>
    (await (await fetch(`${base}/health/details`)).json()).bus.consumers as { consumer: string; attached: number | null }[];

  test('a lone serve consumes every durable queue; SIGTERM drains and exits 0', async () => {
    const s = await serve(await deployment(), []);
    try {
      const consumers = await eventually(async () => {
        const c = await consumersOf(s.base);
        return c.length && c.every((x) => (x.attached ?? 0) >= 1) ? c : null;
      }, 20_000);
      assert.ok(consumers.length > 3);
      s.child.kill('SIGTERM');
      const { code } = await s.exited;
      assert.equal(code, 0, s.output());
    } finally {
      s.child.kill('SIGKILL');
    }
  });

  test('worker --metrics-port answers /metrics (jobs, bus) and /health for Prometheus, and stops on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [path.join(root, 'bin/orchard.js'), 'worker', '--metrics-port', String(port)], {
      cwd: root,
      env: { ...process.env, ...(await deployment()), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (c) => (out += c));
    child.stderr!.on('data', (c) => (out += c));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const text = await eventually(async () => {
        const res = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => null);
        const body = res?.ok ? await res.text() : '';
        return body.includes('orchard_job_interval_seconds') && body.includes('orchard_outbox_') ? body : null;
      }, 60_000);
      assert.match(text, /# TYPE orchard_job_runs_total counter/);
      assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200);
      assert.equal((await fetch(`http://127.0.0.1:${port}/api/v1/apps`)).status, 404);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, out);
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('serve --api-only consumes nothing (a worker does)', async () => {
    const s = await serve(await deployment(), ['--api-only']);
    try {
      const consumers = await eventually(async () => {
        const c = await consumersOf(s.base);
        return c.length && c.every((x) => x.attached !== null) ? c : null;
      }, 20_000);
      for (const c of consumers) assert.equal(c.attached, 0, JSON.stringify(c));
      s.child.kill('SIGTERM');
      assert.equal((await s.exited).code, 0, s.output());
    } finally {
      s.child.kill('SIGKILL');
    }
  });
});
