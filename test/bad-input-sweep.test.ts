// Every route of the OpenAPI document, fed malformed input by each kind of caller: nothing may
// answer 5xx, and every error uses the one error shape. Routes added later are swept automatically.
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, makeAdmin, makeDeveloper, bearer, randomIp, type TestApp } from './support/app.ts';

interface Route {
  method: string;
  url: string;
}

const BAD_PARAMS = ['not-a-uuid', '00000000-0000-0000-0000-000000000000', '%00', 'x'.repeat(300), "1'OR'1'='1"];

const BAD_BODIES: { what: string; headers: Record<string, string>; payload: string | Buffer }[] = [
  { what: 'malformed JSON', headers: { 'content-type': 'application/json' }, payload: '{"name": ' },
  { what: 'JSON array', headers: { 'content-type': 'application/json' }, payload: '[1,2,3]' },
  { what: 'wrong types', headers: { 'content-type': 'application/json' }, payload: '{"name": 5, "amountMilli": "x", "prices": "none", "email": []}' },
  { what: 'unknown field', headers: { 'content-type': 'application/json' }, payload: '{"surprise": true}' },
  { what: 'negative and fractional money', headers: { 'content-type': 'application/json' }, payload: '{"prices":[{"country":"US","amountMilli":-1,"currency":"USD"},{"country":"GB","amountMilli":0.5,"currency":"GBP"}]}' },
  { what: 'text/plain', headers: { 'content-type': 'text/plain' }, payload: 'hello' },
  { what: 'garbage bytes as an image', headers: { 'content-type': 'image/png' }, payload: Buffer.from('definitely not a png') },
  { what: 'oversized JSON', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ name: 'x'.repeat(1_100_000) }) },
];

describe('bad-input sweep over every route (embedded)', () => {
  let t: TestApp;
  let routes: Route[];
  let callers: { who: string; headers: Record<string, string> }[];

  before(async () => {
    t = await createTestApp('embedded');
    const doc = (await t.app.inject('/docs/json')).json();
    routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([url, methods]) =>
      Object.keys(methods).map((method) => ({ method: method.toUpperCase(), url })),
    );
    const developer = await makeDeveloper(t.app);
    const admin = await makeAdmin(t.infra, t.app);
    callers = [
      { who: 'anonymous', headers: {} },
      { who: 'developer', headers: bearer(developer.token) },
      { who: 'admin', headers: bearer(admin.token) },
    ];
  });
  after(async () => t?.close());

  test('the document lists the routes of every module', () => {
    assert.ok(routes.length >= 30, `only ${routes.length} routes documented`);
    for (const prefix of ['/api/v1/auth/', '/api/v1/developer/apps', '/api/v1/admin/', '/api/v1/apps']) {
      assert.ok(routes.some((r) => r.url.startsWith(prefix)), `no route under ${prefix}`);
    }
  });

  test('no malformed request answers 5xx, and every 4xx has the error shape', async () => {
    const failures: string[] = [];
    let sent = 0;
    for (const route of routes) {
      const urls = BAD_PARAMS.map((bad) => route.url.replace(/\{[^}]+\}/g, encodeURIComponent(bad)));
      const withBody = route.method === 'POST' || route.method === 'PUT' || route.method === 'PATCH';
      for (const caller of callers) {
        for (const url of route.url.includes('{') ? urls : [route.url + '?limit=-5&cursor=%%%&sort=sideways&category=nope']) {
          const bodies = withBody ? BAD_BODIES : [{ what: 'no body', headers: {}, payload: undefined }];
          for (const body of bodies) {
            sent++;
            const res = await t.app.inject({
              method: route.method as 'GET',
              url,
              headers: { ...caller.headers, ...body.headers, 'if-match': '"garbage"' },
              payload: body.payload,
              remoteAddress: randomIp(),
            });
            const where = `${caller.who} ${route.method} ${url.slice(0, 80)} [${body.what}] -> ${res.statusCode}`;
            if (res.statusCode >= 500) failures.push(`${where}: ${res.body.slice(0, 200)}`);
            else if (res.statusCode >= 400 && route.url.startsWith('/inApps/')) {
              // Apple's App Store Server API answers in Apple's own error format, which its client libraries parse
              const body = res.json();
              if (typeof body?.errorMessage !== 'string' || !['undefined', 'number'].includes(typeof body.errorCode)) {
                failures.push(`${where}: not Apple's error format: ${res.body.slice(0, 200)}`);
              }
            } else if (res.statusCode >= 400) {
              const err = res.json().error;
              if (typeof err?.code !== 'string' || typeof err?.message !== 'string') failures.push(`${where}: not the error shape: ${res.body.slice(0, 200)}`);
            }
          }
        }
      }
    }
    assert.ok(sent > 500, `only ${sent} requests sent`);
    assert.deepEqual(failures, []);
  });
});
