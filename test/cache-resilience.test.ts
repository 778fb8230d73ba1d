// Issue 17, item 2: the cache is an optimisation, never a dependency of correctness. The whole app runs
// with the real Redis behind a TCP proxy; the proxy then refuses connections (Redis down) or holds every
// byte (a network hang) while requests are made, and Redis comes back with no restart.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { LightMyRequestResponse } from 'fastify';
import { createModules } from '../src/app.ts';
import { createScratchDatabase, eventually, productionUrls } from './support/infra.ts';
import { createTestApp, makeAdmin, makeDeveloper, randomIp, registerUser, type TestApp, type TestUser } from './support/app.ts';
import { LIMITS, ok, publishApp, sender, type Send } from './support/catalog.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';
import { flushNamespace } from '../src/platform/cache/redis.ts';

const redisUrl = productionUrls.redis;
const PURCHASE_MAX = 3;
/** Every request must answer within this while Redis is gone (the operator saw 10 s and more). */
const BUDGET_MS = 1500;

describe('Redis outages: requests keep working without the cache', {
  skip: !redisUrl && 'ORCHARD_TEST_REDIS_URL is unset: this suite needs a real Redis',
}, () => {
  let proxy: TcpProxy;
  let t: TestApp;
  let send: Send;
  let direct: Redis; // straight to Redis, past the proxy: what the cache really holds
  let dropDb: (() => Promise<void>) | undefined;
  let dev: TestUser;
  let freeApp: { id: string; bundleId: string };

  before(async () => {
    const target = new URL(redisUrl!);
    proxy = await startTcpProxy(target.hostname, Number(target.port || 6379));
    // Only Redis is required: it goes through the proxy; PostgreSQL and RabbitMQ are used when their
    // URLs are set (the embedded parts otherwise), so the URLs are passed as overrides.
    const scratch = productionUrls.db ? await createScratchDatabase() : undefined;
    dropDb = scratch?.drop;
    t = await createTestApp('embedded', {
      config: { limits: LIMITS, redisUrl: proxy.url(redisUrl!), databaseUrl: scratch?.url, amqpUrl: productionUrls.amqp },
      modules: (infra) =>
        createModules(infra.config, infra, { purchases: { limits: { purchases: { name: 'purchase', max: PURCHASE_MAX, windowMs: 60_000 } } } }),
    });
    direct = new Redis(redisUrl!, { keyPrefix: `${t.infra.config.namespace}:` });
    send = sender(t.app);
    dev = await makeDeveloper(t.app);
    const admin = await makeAdmin(t.infra, t.app);
    freeApp = await publishApp(send, dev.token, admin.token, { name: 'Free Tool' });
  });

  after(async () => {
    proxy?.resume();
    await t?.close();
    await dropDb?.();
    if (direct) {
      const keys = await direct.keys(`${t.infra.config.namespace}:*`);
      if (keys.length) await direct.del(...keys.map((k) => k.slice(t.infra.config.namespace.length + 1)));
      await direct.quit();
    }
    await proxy?.close();
  });

  /** The request answers within the budget and is not a 5xx. */
  async function quick(what: string, request: Promise<LightMyRequestResponse>): Promise<LightMyRequestResponse> {
    const res = await answered(what, request);
    assert.ok(res.statusCode < 500, `${what}: ${res.statusCode} ${res.body}`);
    return res;
  }

  async function answered(what: string, request: Promise<LightMyRequestResponse>): Promise<LightMyRequestResponse> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer in 5 s`)), 5000);
    });
    try {
      const res = await Promise.race([request, hang]);
      const ms = performance.now() - started;
      assert.ok(ms < BUDGET_MS, `${what} took ${Math.round(ms)} ms`);
      return res;
    } finally {
      clearTimeout(timer);
    }
  }

  const buy = (user: TestUser, key: string) =>
    send('POST', '/purchases', { token: user.token, body: { appId: freeApp.id }, headers: { 'idempotency-key': key } });
  const login = (user: TestUser) =>
    t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: user.user.email, password: user.password }, remoteAddress: randomIp() });

  test("flushing a namespace (too many lost writes) deletes its entries, keeps its counters and locks, and no one else's", async () => {
    const ns = `${t.infra.config.namespace}-flush*:`; // a glob character in the prefix must not widen the match
    const mine = new Redis(redisUrl!, { keyPrefix: ns });
    const neighbour = new Redis(redisUrl!, { keyPrefix: `${t.infra.config.namespace}-flushX:` });
    try {
      const fill = mine.pipeline();
      for (let i = 0; i < 2500; i++) fill.set(`cat:app:${i}`, 'x', 'PX', 60_000); // several SCAN pages
      await fill.exec();
      await mine.set('rl:login:a', '3', 'PX', 60_000);
      await mine.set('lock:job', 'token', 'PX', 60_000);
      await neighbour.set('cat:app:1', 'theirs', 'PX', 60_000);
      await flushNamespace(mine, ns);
      assert.deepEqual((await mine.keys(`${ns.replace('*', '\\*')}*`)).sort(), [`${ns}lock:job`, `${ns}rl:login:a`]);
      assert.equal(await neighbour.get('cat:app:1'), 'theirs');
    } finally {
      await mine.del('rl:login:a', 'lock:job');
      await neighbour.del('cat:app:1');
      await Promise.all([mine.quit(), neighbour.quit()]);
    }
  });

  for (const fault of ['down', 'stall'] as const) {
    test(`Redis ${fault === 'down' ? 'refusing connections' : 'hanging (bytes held)'}: login, auth, purchases, replays, limits, revocation, invalidation`, async () => {
      // ---- before: Redis holds cached principals, an idempotent response and an app detail
      const alice = await registerUser(t.app);
      const bob = await registerUser(t.app);
      const carol = await registerUser(t.app);
      const second = ok(await login(alice)).session.token as string; // revoked during the outage
      ok(await send('GET', '/me', { token: alice.token }));
      ok(await send('GET', '/me', { token: second }));
      ok(await send('GET', '/me', { token: bob.token }));
      ok(await send('GET', '/me', { token: carol.token }));
      const firstKey = randomUUID();
      const first = await buy(alice, firstKey);
      assert.equal(first.statusCode, 201, first.body);
      const { name: nameBefore } = ok(await send('GET', `/apps/${freeApp.id}`));
      assert.ok(await direct.get(`cat:app:${freeApp.id}`), 'the detail is in Redis before the outage');
      const etag = String((await send('GET', `/developer/apps/${freeApp.id}`, { token: dev.token })).headers.etag);

      // ---- Redis goes away
      if (fault === 'down') proxy.down();
      else proxy.stall();

      const relogin = await quick('login', login(alice));
      assert.equal(relogin.statusCode, 200, relogin.body);
      const fresh = relogin.json().session.token as string;
      assert.equal((await quick('GET /me (new session)', send('GET', '/me', { token: fresh }))).statusCode, 200);
      assert.equal((await quick('GET /me (cached session)', send('GET', '/me', { token: alice.token }))).json().id, alice.user.id);
      const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => quick(`GET /me #${i}`, send('GET', '/me', { token: alice.token }))));
      assert.ok(burst.every((r) => r.statusCode === 200));

      const bought = await quick('purchase (new key)', buy(bob, randomUUID()));
      assert.equal(bought.statusCode, 201, bought.body);
      const replay = await quick('purchase replay', buy(alice, firstKey));
      assert.equal(replay.statusCode, 201, replay.body);
      assert.equal(replay.headers['idempotent-replayed'], 'true');
      assert.deepEqual(replay.json(), first.json());

      // the per-process limiter takes over: PURCHASE_MAX attempts pass (one buys, the rest are 409), then 429
      for (let i = 0; i < PURCHASE_MAX; i++) {
        const r = await quick(`purchase attempt ${i + 1}`, buy(carol, randomUUID()));
        assert.equal(r.statusCode, i === 0 ? 201 : 409, r.body);
      }
      const limited = await quick('purchase over the limit', buy(carol, randomUUID()));
      assert.equal(limited.statusCode, 429, limited.body);
      assert.ok(Number(limited.headers['retry-after']) >= 1);

      assert.equal((await quick('logout', send('POST', '/auth/logout', { token: second }))).statusCode, 204);
      assert.equal((await quick('GET /me (revoked)', send('GET', '/me', { token: second }))).statusCode, 401);

      const renamed = `${nameBefore} ${fault}`;
      const patched = await quick(
        'PATCH app',
        send('PATCH', `/developer/apps/${freeApp.id}`, { token: dev.token, body: { name: renamed }, headers: { 'if-match': etag } }),
      );
      assert.equal(patched.statusCode, 200, patched.body);
      assert.equal((await quick('GET app detail', send('GET', `/apps/${freeApp.id}`))).json().name, renamed);

      assert.equal(t.infra.cache.status().degraded, true);
      const ready = await answered('GET /ready', t.app.inject({ method: 'GET', url: '/ready' }));
      assert.equal(ready.statusCode, 503, 'health checks still tell the truth');
      assert.match(ready.json().checks.cache, /^down/);

      // ---- Redis is back: used again within 2 s, with nothing stale left behind
      const resumed = performance.now();
      proxy.resume();
      await eventually(async () => {
        const probe = randomUUID();
        await t.infra.cache.set('probe', probe, 10_000);
        return (await direct.get('probe')) === probe;
      }, 2000);
      assert.ok(performance.now() - resumed < 2000);
      assert.equal(t.infra.cache.status().degraded, false);
      assert.ok(t.infra.cache.status().degradedCalls > 0);

      assert.equal((await send('GET', '/me', { token: second })).statusCode, 401, 'a session revoked during the outage stays revoked');
      const cached = await direct.get(`cat:app:${freeApp.id}`);
      assert.ok(cached === null || JSON.parse(cached).name === renamed, `stale detail left in Redis: ${cached}`);
      t.modules.catalog.service.cache.clearLocal(); // what another process sees: the shared cache, then the database
      assert.equal(ok(await send('GET', `/apps/${freeApp.id}`)).name, renamed);
      assert.equal(ok(await send('GET', '/me', { token: fresh })).id, alice.user.id);
    });
  }
});
