// Reliability of one process when its dependencies fail, through real connections cut by a TCP proxy:
// a PostgreSQL reset (restart, failover) never kills the process and answers 503 with Retry-After;
// readiness follows what requests need (database, search index) and not the cache or the broker; the
// relay resumes soon after the broker is back; a draining server answers in our shape.
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { buildApp, createModules, startEvents, type Lifecycle } from '../src/app.ts';
import { productionUrls, createTestInfra, eventually, type TestInfra } from './support/infra.ts';
import { createTestApp, makeAdmin, makeDeveloper, registerUser, type TestApp, type TestUser } from './support/app.ts';
import { publishApp, sender, type Send } from './support/catalog.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';

const haveServices = !!(productionUrls.db && productionUrls.redis && productionUrls.amqp);
const skip = haveServices ? false : 'needs ORCHARD_TEST_DATABASE_URL, _REDIS_URL and _AMQP_URL (see .ci/run)';
const target = (url: string) => {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
};

describe('a PostgreSQL reset: 503 with Retry-After, never a crash or a 500, and back without a restart', { skip }, () => {
  let pgProxy: TcpProxy;
  let t: TestApp;
  let send: Send;
  let user: TestUser;
  const buyers: TestUser[] = [];
  let paid: { id: string };
  const buy = (appId: string, buyer = user) =>
    send('POST', '/purchases', {
      token: buyer.token,
      body: { appId, price: { amountMilli: 990, currency: 'USD' } },
      headers: { 'idempotency-key': randomUUID() },
    });

  before(async () => {
    const pgTarget = target(productionUrls.db!);
    pgProxy = await startTcpProxy(pgTarget.host, pgTarget.port);
    t = await createTestApp('production', { via: { db: (url) => pgProxy.url(url) } });
    send = sender(t.app);
    const dev = await makeDeveloper(t.app);
    const admin = await makeAdmin(t.infra, t.app);
    paid = await publishApp(send, dev.token, admin.token, { name: 'Reset Proof', isFree: false });
    user = await registerUser(t.app);
    for (let i = 0; i < 8; i++) buyers.push(await registerUser(t.app));
  });
  after(async () => {
    pgProxy?.resume();
    await t?.close();
    await pgProxy?.close();
  });

  test('connections reset under transactions in flight: the process lives, requests fail cleanly, then succeed again', async () => {
    // Many writes in flight (each a transaction on a checked-out client) when every connection is reset.
    const apps = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const dev = await makeDeveloper(t.app, `Studio ${i}`);
        const admin = await makeAdmin(t.infra, t.app);
        return publishApp(send, dev.token, admin.token, { name: `Reset ${i}`, isFree: false });
      }),
    );
    const inFlight = apps.map((a) => buy(a.id));
    await new Promise((r) => setTimeout(r, 5));
    pgProxy.down();
    const answers = await Promise.all(inFlight);
    for (const res of answers) assert.ok([201, 503].includes(res.statusCode), `${res.statusCode} ${res.body}`);

    const during = await send('GET', `/apps/${paid.id}/reviews`);
    assert.equal(during.statusCode, 503, during.body);
    assert.equal(during.json().error.code, 'SERVICE_UNAVAILABLE');
    assert.ok(Number(during.headers['retry-after']) >= 1);
    assert.doesNotMatch(during.body, /ECONN|terminated|pg|postgres/i); // nothing internal leaks
    assert.equal((await t.app.inject('/ready')).statusCode, 503);

    pgProxy.resume();
    const back = Date.now();
    // (each try is a new buyer: an order cut off mid-way is rightly "in progress" for its own buyer until reconciled)
    const res = await eventually(async () => {
      const r = await buy(paid.id, buyers.pop() ?? user);
      return r.statusCode === 201 ? r : null;
    }, 3_000);
    assert.equal(res.statusCode, 201);
    assert.ok(Date.now() - back < 3_000);
  });

  test('a reset with idle connections only: the next queries reconnect by themselves', async () => {
    pgProxy.reset();
    const res = await send('GET', `/apps/${paid.id}/reviews`);
    assert.ok([200, 503].includes(res.statusCode), res.body);
    await eventually(async () => (await send('GET', `/apps/${paid.id}/reviews`)).statusCode === 200, 3_000);
  });
});

describe('readiness: the database and the search index gate it; the cache and the broker do not', { skip }, () => {
  let redisProxy: TcpProxy;
  let amqpProxy: TcpProxy;
  let infra: TestInfra;
  let modules: ReturnType<typeof createModules>;
  let app: Awaited<ReturnType<typeof buildApp>>;
  const lifecycle: Lifecycle = { draining: false };

  before(async () => {
    const r = target(productionUrls.redis!);
    const a = target(productionUrls.amqp!);
    redisProxy = await startTcpProxy(r.host, r.port);
    amqpProxy = await startTcpProxy(a.host, a.port);
    infra = await createTestInfra('production', {}, { redis: (u) => redisProxy.url(u), amqp: (u) => amqpProxy.url(u) });
    modules = createModules(infra.config, infra);
    app = await buildApp(infra.config, infra, modules, lifecycle);
    await startEvents(infra, modules, { relay: true, consume: true });
  });
  after(async () => {
    redisProxy?.resume();
    amqpProxy?.resume();
    await app?.close();
    await infra?.close();
    await redisProxy?.close();
    await amqpProxy?.close();
  });

  test('not ready until the search index is loaded, then ready', async () => {
    const before = await app.inject('/ready');
    assert.equal(before.statusCode, 503);
    assert.notEqual(before.json().checks.search, 'ok');
    await modules.search.service.start();
    const ready = await app.inject('/ready');
    assert.equal(ready.statusCode, 200, ready.body);
    assert.equal(ready.json().checks.search, 'ok');
  });

  test('the broker down: still ready (events wait in the outbox), and the details show it; relaying resumes within 2 s of its return', async () => {
    await modules.search.service.start();
    amqpProxy.down();
    await eventually(async () => (await app.inject('/health/details')).json().bus.transport === 'disconnected', 5_000);
    const ready = await app.inject('/ready');
    assert.equal(ready.statusCode, 200, ready.body);
    assert.match(ready.json().checks.bus, /^down/);

    // An event written while the broker is away stays in the outbox...
    await infra.db.tx((q) => q.query(`INSERT INTO outbox (id, type, payload, occurred_at) VALUES ($1, 'reliability.probe', '{}', now())`, [randomUUID()]));
    await new Promise((r) => setTimeout(r, 1_500));
    const backlog = (await app.inject('/health/details')).json().bus.outbox;
    assert.ok(backlog.unpublished >= 1, JSON.stringify(backlog));
    // (the gauges say the same)
    const metrics = (await app.inject('/metrics')).body;
    assert.match(metrics, /orchard_outbox_unpublished [1-9]/);
    assert.match(metrics, /orchard_bus_connected 0/);

    // ...and is relayed soon after the broker is back (reconnects are capped at 1 s apart).
    amqpProxy.resume();
    const back = Date.now();
    await eventually(async () => {
      const { rows } = await infra.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL');
      return rows[0].n === 0;
    }, 10_000);
    assert.ok(Date.now() - back < 3_000, `relayed ${Date.now() - back} ms after the broker came back`);
  });

  test('the cache down: still ready', async () => {
    await modules.search.service.start();
    redisProxy.down();
    const ready = await app.inject('/ready');
    assert.equal(ready.statusCode, 200, ready.body);
    assert.match(ready.json().checks.cache, /^down/);
    redisProxy.resume();
  });

  test('the details view names every durable consumer with processes attached', async () => {
    await modules.search.service.start();
    const details = await eventually(async () => {
      const d = (await app.inject('/health/details')).json();
      return d.bus.transport === 'connected' && d.bus.consumers.every((c: { attached: number | null }) => c.attached !== null) ? d : null;
    }, 5_000);
    assert.ok(details.bus.consumers.length > 3);
    for (const c of details.bus.consumers) assert.ok(c.attached >= 1, JSON.stringify(c));
    assert.equal(details.bus.relay.failures, 0);
  });

  test('draining: not ready, and answers ask keep-alive clients to reconnect', async () => {
    await modules.search.service.start();
    lifecycle.draining = true;
    try {
      const ready = await app.inject('/ready');
      assert.equal(ready.statusCode, 503);
      assert.equal(ready.json().checks.draining, 'yes');
      const res = await app.inject('/health');
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers.connection, 'close');
    } finally {
      lifecycle.draining = false;
    }
  });
});

describe('closing: requests in flight finish, later ones get our 503 with Retry-After', () => {
  test('a keep-alive client sees a finished answer, then the error shape, never a reset mid-request', async () => {
    const infra = await createTestInfra('embedded');
    const modules = createModules(infra.config, infra);
    const app = await buildApp(infra.config, infra, modules, { draining: true });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let arrived!: () => void;
    const inFlight = new Promise<void>((r) => (arrived = r));
    app.get('/slow', async () => {
      arrived();
      await gate;
      return { done: true };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (path: string) =>
      new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
        http
          .get({ port, host: '127.0.0.1', path, agent }, (res) => {
            let body = '';
            res.on('data', (c) => (body += c));
            res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
          })
          .on('error', reject);
      });
    const slow = get('/slow');
    await inFlight; // in the handler (a fixed sleep was too short on a loaded host: the request then came after close)
    const closed = app.close();
    await new Promise((r) => setTimeout(r, 50));
    release();
    const first = await slow;
    assert.equal(first.status, 200);
    assert.deepEqual(JSON.parse(first.body), { done: true });
    assert.equal(first.headers.connection, 'close');
    await closed;
    agent.destroy();
    await infra.close();
  });

  test('closing with a keep-alive request in flight: a whole answer, then the connection ends (close() does not wait for keep-alive timeouts)', async () => {
    const infra = await createTestInfra('embedded');
    const app = await buildApp(infra.config, infra);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let arrived!: () => void;
    const holding = new Promise<void>((r) => (arrived = r));
    app.get('/hold', async () => {
      arrived();
      await gate;
      return { ok: true };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    // A keep-alive connection with a request in flight when close() begins, and a second request sent on it then.
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (c) => (received += c));
    const ended = new Promise<void>((r) => socket.on('close', () => r()));
    await new Promise((r) => socket.once('connect', r));
    socket.write('GET /hold HTTP/1.1\r\nHost: x\r\n\r\n');
    await holding;
    const closeStarted = Date.now();
    const closing = app.close();
    await new Promise((r) => setTimeout(r, 20));
    socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n'); // pipelined behind the one in flight
    await new Promise((r) => setTimeout(r, 20));
    release();
    await closing;
    await ended;
    assert.ok(Date.now() - closeStarted < 5_000, `close took ${Date.now() - closeStarted} ms`);
    const [first, second] = received.split(/(?=HTTP\/1\.1 )/);
    assert.match(first, /^HTTP\/1\.1 200/);
    assert.match(first, /connection: close/i);
    // The connection ends after the whole first answer; if the server still answered the second, it says why.
    if (second) {
      assert.match(second, /^HTTP\/1\.1 503/);
      assert.match(second, /retry-after: 1/i);
      assert.match(second, /"code":"SHUTTING_DOWN"/);
    }
    await infra.close();
  });
});
