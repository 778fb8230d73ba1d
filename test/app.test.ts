import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildApp, createModules, startEvents, type Modules } from '../src/app.ts';
import { createTestInfra, kinds, type TestInfra } from './support/infra.ts';

for (const kind of kinds()) {
  describe(`platform http (${kind})`, () => {
    let infra: TestInfra;
    let app: FastifyInstance;
    let modules: Modules;
    before(async () => {
      infra = await createTestInfra(kind);
      modules = createModules(infra.config, infra);
      app = await buildApp(infra.config, infra, modules);
      await startEvents(infra, modules, { relay: true, consume: true });
    });
    after(async () => {
      await app?.close();
      await infra?.close();
    });

    test('health and readiness', async () => {
      assert.equal((await app.inject('/health')).statusCode, 200);
      // not ready before the search index is loaded (searches would come from the degraded fallback)
      const early = await app.inject('/ready');
      assert.equal(early.statusCode, 503, early.body);
      assert.equal(early.headers['retry-after'], '1');
      await modules.search.service.start();
      const ready = await app.inject('/ready');
      assert.equal(ready.statusCode, 200, ready.body);
      assert.deepEqual(ready.json().checks, { db: 'ok', search: 'ok', cache: 'ok', bus: 'ok', draining: 'no' });
    });

    test('unknown route: 404 in the error shape, with a request id', async () => {
      const res = await app.inject('/api/v1/nope');
      assert.equal(res.statusCode, 404);
      assert.equal(res.json().error.code, 'ROUTE_NOT_FOUND');
      assert.ok(res.headers['x-request-id']);
    });

    test('router-level rejections use the error shape too: bad percent-encoding, over-long segments', async () => {
      const bad = await app.inject('/api/v1/apps/%E0%A4%A');
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().error.code, 'BAD_URL');
      const long = await app.inject(`/api/v1/apps/${'x'.repeat(500)}`);
      assert.equal(long.statusCode, 414);
      assert.equal(long.json().error.code, 'URI_TOO_LONG');
    });

    test('a well-formed caller request id is echoed back', async () => {
      const res = await app.inject({ url: '/health', headers: { 'x-request-id': 'abc-123' } });
      assert.equal(res.headers['x-request-id'], 'abc-123');
    });

    test('metrics expose the request histogram', async () => {
      await app.inject('/health');
      const res = await app.inject('/metrics');
      assert.equal(res.statusCode, 200);
      assert.match(res.body, /http_request_duration_seconds_bucket\{[^}]*route="\/health"/);
    });

    test('OpenAPI document is served', async () => {
      const res = await app.inject('/docs/json');
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().info.title, 'Orchard API');
    });
  });
}
