// The primary found among several hosts, and a read replica: through TCP proxies in front of the real
// PostgreSQL, the host in use goes down and the next writable one takes over without a restart; with every
// primary host gone, reads go on from the replica while writes answer 503 with Retry-After; with the replica
// gone, reads go to the primary. (`npm run drill` does the same with a real streaming replica and a promotion.)
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { hostUrls } from '../src/platform/db/postgres.ts';
import { productionUrls, eventually } from './support/infra.ts';
import { createTestApp, makeAdmin, makeDeveloper, randomIp, type TestApp } from './support/app.ts';
import { publishApp, sender, type Send } from './support/catalog.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';

test('hostUrls splits a libpq-style multi-host URL into one URL per host', () => {
  assert.deepEqual(hostUrls('postgres://u:p@a:5432,b:5433/db?sslmode=disable'), [
    'postgres://u:p@a:5432/db?sslmode=disable',
    'postgres://u:p@b:5433/db?sslmode=disable',
  ]);
  assert.deepEqual(hostUrls('postgres://a,b/db'), ['postgres://a/db', 'postgres://b/db']);
  assert.deepEqual(hostUrls('postgres://u@a:5432/db'), ['postgres://u@a:5432/db']);
});

const skip = productionUrls.db ? false : 'needs ORCHARD_TEST_DATABASE_URL (see .ci/run)';

describe('several primary hosts and a read replica', { skip }, () => {
  let first: TcpProxy;
  let second: TcpProxy;
  let replica: TcpProxy;
  let t: TestApp;
  let send: Send;
  let appId: string;
  const register = () =>
    t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      remoteAddress: randomIp(),
      payload: { email: `r-${Math.random().toString(36).slice(2)}@example.test`, password: 'correct horse battery', displayName: 'R' },
    });
  const browse = () => t.app.inject({ url: '/api/v1/apps?limit=5&sort=name' });

  before(async () => {
    const pg = new URL(productionUrls.db!);
    [first, second, replica] = await Promise.all([0, 1, 2].map(() => startTcpProxy(pg.hostname, Number(pg.port))));
    const hosts = (url: string) => {
      const u = new URL(url);
      return url.replace(u.host, `127.0.0.1:${first.port},127.0.0.1:${second.port}`);
    };
    t = await createTestApp('production', { via: { db: hosts, replica: (url) => replica.url(url) } });
    send = sender(t.app);
    const dev = await makeDeveloper(t.app);
    const admin = await makeAdmin(t.infra, t.app);
    appId = (await publishApp(send, dev.token, admin.token, { name: 'Replicated' })).id;
    await t.modules.search.service.start(); // /ready waits for the index
  });
  after(async () => {
    for (const p of [first, second, replica]) p?.resume();
    await t?.close();
    await Promise.all([first, second, replica].map((p) => p?.close()));
  });

  test('the host in use goes down: a write answers 503 with Retry-After, then the next host takes the writes, without a restart', async () => {
    first.down();
    const during = await register();
    assert.ok(during.statusCode === 201 || during.statusCode === 503, `${during.statusCode} ${during.body}`);
    if (during.statusCode === 503) assert.ok(Number(during.headers['retry-after']) >= 1);
    await eventually(async () => (await register()).statusCode === 201, 10_000);
    assert.ok(second.connections() > 0, 'the writes go through the second host');
  });

  test('every primary host gone: reads answer from the replica, writes 503 with Retry-After, /ready stays ready; then writes resume', async () => {
    second.down();
    const statuses = new Set<number>();
    for (let i = 0; i < 5; i++) {
      const res = await register();
      statuses.add(res.statusCode);
      assert.equal(res.statusCode, 503, res.body);
      assert.ok(Number(res.headers['retry-after']) >= 1);
      assert.equal(res.json().error.code, 'SERVICE_UNAVAILABLE');
    }
    const page = await browse();
    assert.equal(page.statusCode, 200, page.body);
    assert.ok(page.json().items.length >= 1);
    await t.modules.catalog.service.cache.invalidate({ appId, categories: [] });
    const detail = await t.app.inject({ url: `/api/v1/apps/${appId}` });
    assert.equal(detail.statusCode, 200, detail.body);
    const ready = await t.app.inject({ url: '/ready' });
    assert.equal(ready.statusCode, 200, ready.body);
    assert.equal(ready.json().checks.replica, 'ok');
    assert.notEqual(ready.json().checks.db, 'ok');

    first.resume();
    await eventually(async () => (await register()).statusCode === 201, 10_000);
  });

  test('the replica gone: reads go to the primary', async () => {
    second.resume();
    replica.down();
    await t.modules.catalog.service.cache.invalidate({ appId, categories: ['productivity'] });
    const page = await t.app.inject({ url: '/api/v1/apps?limit=3&sort=newest' });
    assert.equal(page.statusCode, 200, page.body);
    const detail = await t.app.inject({ url: `/api/v1/apps/${appId}` });
    assert.equal(detail.statusCode, 200, detail.body);
    replica.resume();
  });
});
