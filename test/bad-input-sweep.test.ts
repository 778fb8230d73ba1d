// Every route of the OpenAPI document, fed malformed input by each kind of caller: nothing may
// answer 5xx, and every error uses the one error shape. Routes added later are swept automatically.
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { importPKCS8, SignJWT } from 'jose';
import type { LightMyRequestResponse } from 'fastify';
import { createTestApp, makeAdmin, makeDeveloper, bearer, randomIp, type TestApp } from './support/app.ts';
import { PNG, createDraft, ok, sender } from './support/catalog.ts';

interface Route {
  method: string;
  url: string;
  operation: Operation;
}

interface Operation {
  parameters?: { in: string; name: string }[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
}

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: boolean | JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
}

const BAD_PARAMS = ['not-a-uuid', '00000000-0000-0000-0000-000000000000', '%00', '\u0000', 'x'.repeat(300), "1'OR'1'='1"];

const BAD_BODIES: { what: string; headers: Record<string, string>; payload: string | Buffer }[] = [
  { what: 'malformed JSON', headers: { 'content-type': 'application/json' }, payload: '{"name": ' },
  { what: 'JSON array', headers: { 'content-type': 'application/json' }, payload: '[1,2,3]' },
  { what: 'wrong types', headers: { 'content-type': 'application/json' }, payload: '{"name": 5, "amountMilli": "x", "prices": "none", "email": []}' },
  { what: 'unknown field', headers: { 'content-type': 'application/json' }, payload: '{"surprise": true}' },
  {
    what: 'negative and fractional money',
    headers: { 'content-type': 'application/json' },
    payload: '{"prices":[{"country":"US","amountMilli":-1,"currency":"USD"},{"country":"GB","amountMilli":0.5,"currency":"GBP"}]}',
  },
  {
    what: 'NUL characters',
    headers: { 'content-type': 'application/json' },
    payload: '{"name": "a\\u0000b", "email": "x\\u0000@example.test", "nested": [{"k\\u0000": "v"}]}',
  },
  { what: 'text/plain', headers: { 'content-type': 'text/plain' }, payload: 'hello' },
  { what: 'garbage bytes as an image', headers: { 'content-type': 'image/png' }, payload: Buffer.from('definitely not a png') },
  { what: 'oversized JSON', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ name: 'x'.repeat(1_100_000) }) },
];

const NUL_VALUE = 'a\u0000b';
const isApple = (url: string) => url.includes('/inApps/');

/** Every path to a string (or string enum) in a JSON schema: property names, and 0 for array items. */
function stringPaths(schema: JsonSchema | undefined, path: (string | number)[] = []): (string | number)[][] {
  if (!schema || typeof schema !== 'object') return [];
  const found: (string | number)[][] = [];
  for (const alternative of [...(schema.anyOf ?? []), ...(schema.oneOf ?? []), ...(schema.allOf ?? [])]) found.push(...stringPaths(alternative, path));
  if ([schema.type].flat().includes('string') || schema.enum?.some((v) => typeof v === 'string')) found.push(path);
  for (const [name, property] of Object.entries(schema.properties ?? {})) found.push(...stringPaths(property, [...path, name]));
  if (schema.items) found.push(...stringPaths(schema.items, [...path, 0]));
  if (typeof schema.additionalProperties === 'object') found.push(...stringPaths(schema.additionalProperties, [...path, 'someKey']));
  const seen = new Set<string>();
  return found.filter((p) => !seen.has(p.join('.')) && seen.add(p.join('.')));
}

/** The smallest JSON value with `value` at `path` (arrays where the path says 0). */
function bodyWith(path: (string | number)[], value: unknown): unknown {
  if (!path.length) return value;
  const [head, ...rest] = path;
  return typeof head === 'number' ? [bodyWith(rest, value)] : { [head]: bodyWith(rest, value) };
}

describe('bad-input sweep over every route (embedded)', () => {
  let t: TestApp;
  let routes: Route[];
  let callers: { who: string; headers: Record<string, string> }[];
  /** For requests that must get past authentication to reach input checks: the headers each route needs. */
  let privileged: (url: string) => Record<string, string>;
  let ownAppId: string;
  let ownToken: string;

  before(async () => {
    t = await createTestApp('embedded');
    const send = sender(t.app);
    const doc = (await t.app.inject('/docs/json')).json();
    routes = Object.entries(doc.paths as Record<string, Record<string, Operation>>).flatMap(([url, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ method: method.toUpperCase(), url, operation })),
    );
    // signing out would end the callers' sessions for every route swept after it
    routes.sort((a, b) => Number(a.url.endsWith('/auth/logout')) - Number(b.url.endsWith('/auth/logout')));
    const developer = await makeDeveloper(t.app);
    const admin = await makeAdmin(t.infra, t.app); // an admin without a developer profile
    callers = [
      { who: 'anonymous', headers: {} },
      { who: 'developer', headers: bearer(developer.token) },
      { who: 'admin', headers: bearer(admin.token) },
    ];

    // An admin who is also a developer passes every session guard; their app's SDK key and API key pass the others.
    const both = await makeDeveloper(t.app, 'Sweep Studio');
    await t.infra.db.query(`UPDATE users SET role = 'admin' WHERE id = $1`, [both.user.id]);
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: both.user.email, password: both.password },
      remoteAddress: randomIp(),
    });
    ownToken = ok(login).session.token; // a new session: the old one's cached principal still says developer
    const app = await createDraft(send, ownToken);
    ownAppId = app.id;
    const sdkKey = ok(await send('POST', `/developer/apps/${app.id}/sdk-keys`, { token: ownToken }), 201).key as string;
    const apiKey = ok(await send('POST', '/developer/api-keys', { token: ownToken }), 201);
    const now = Math.floor(Date.now() / 1000);
    const jwt = await new SignJWT({ bid: app.bundleId })
      .setProtectedHeader({ alg: 'ES256', kid: apiKey.keyId, typ: 'JWT' })
      .setIssuer(apiKey.issuerId)
      .setAudience('appstoreconnect-v1')
      .setIssuedAt(now)
      .setExpirationTime(now + 3000)
      .sign(await importPKCS8(apiKey.privateKey, 'ES256'));
    privileged = (url) => bearer(isApple(url) ? jwt : url.startsWith('/api/v1/sdk/') ? sdkKey : ownToken);
  });
  after(async () => t?.close());

  /** 400 naming the field, in Orchard's shape, or in Apple's on its paths; a description of what is wrong otherwise. */
  function refusedNaming(res: LightMyRequestResponse, url: string, field: string): string | null {
    if (res.statusCode !== 400) return `${res.statusCode}: ${res.body.slice(0, 200)}`;
    const body = res.json();
    const message: unknown = isApple(url) ? body.errorMessage : body.error?.code === 'INVALID_CHARACTER' && body.error.message;
    if (isApple(url) && body.errorCode !== 4000000) return `not Apple's GENERAL_BAD_REQUEST: ${res.body.slice(0, 200)}`;
    if (typeof message !== 'string' || !message.includes(field)) return `does not name ${field}: ${res.body.slice(0, 200)}`;
    return null;
  }

  test('the document lists the routes of every module', () => {
    assert.ok(routes.length >= 30, `only ${routes.length} routes documented`);
    for (const prefix of ['/api/v1/auth/', '/api/v1/developer/apps', '/api/v1/admin/', '/api/v1/apps']) {
      assert.ok(
        routes.some((r) => r.url.startsWith(prefix)),
        `no route under ${prefix}`,
      );
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
            else if (res.statusCode >= 400 && isApple(route.url)) {
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

  test('a NUL character in any string field of any JSON body is a 400 naming the field', async () => {
    const failures: string[] = [];
    let sent = 0;
    for (const route of routes) {
      const schema = route.operation.requestBody?.content['application/json']?.schema;
      if (!schema) continue;
      const url = route.url.replace(/\{[^}]+\}/g, ownAppId);
      const cases = [
        ...stringPaths(schema).map((path) => ({ field: ['body', ...path].join('.'), payload: bodyWith(path, NUL_VALUE) })),
        { field: 'body.a\\u0000b', payload: { [NUL_VALUE]: 'a field name' } },
      ];
      for (const { field, payload } of cases) {
        sent++;
        const res = await t.app.inject({
          method: route.method as 'POST',
          url,
          headers: { ...privileged(route.url), 'content-type': 'application/json', 'idempotency-key': randomUUID() },
          payload: JSON.stringify(payload),
          remoteAddress: randomIp(),
        });
        const wrong = refusedNaming(res, route.url, field);
        if (wrong) failures.push(`${route.method} ${route.url} ${JSON.stringify(payload)} -> ${wrong}`);
      }
    }
    assert.ok(sent >= 60, `only ${sent} bodies sent`);
    assert.deepEqual(failures, []);
  });

  test('a NUL character in any path parameter or query parameter is a 400 naming it', async () => {
    const failures: string[] = [];
    let sent = 0;
    for (const route of routes) {
      for (const param of route.operation.parameters ?? []) {
        if (param.in !== 'path' && param.in !== 'query') continue;
        const url =
          param.in === 'path'
            ? route.url.replace(`{${param.name}}`, '%00').replace(/\{[^}]+\}/g, ownAppId)
            : `${route.url.replace(/\{[^}]+\}/g, ownAppId)}?${param.name}=a%00b`;
        sent++;
        const res = await t.app.inject({ method: route.method as 'GET', url, headers: privileged(route.url), remoteAddress: randomIp() });
        const wrong = refusedNaming(res, route.url, `${param.in === 'path' ? 'params' : 'querystring'}.${param.name}`);
        if (wrong) failures.push(`${route.method} ${url} -> ${wrong}`);
      }
    }
    assert.ok(sent >= 80, `only ${sent} parameters sent`);
    assert.deepEqual(failures, []);
  });

  test("the operator's cases: by-bundle/%00, register and login with NUL, anonymous", async () => {
    const byBundle = await t.app.inject({ method: 'GET', url: '/api/v1/apps/by-bundle/%00' });
    assert.equal(byBundle.statusCode, 400, byBundle.body);
    assert.deepEqual(byBundle.json().error.code, 'INVALID_CHARACTER');
    assert.match(byBundle.json().error.message, /params\.bundleId must not contain the NUL character/);
    for (const [url, payload] of [
      ['/api/v1/auth/register', { email: 'nul@example.test', password: 'long enough password', displayName: 'Nul\u0000Byte' }],
      ['/api/v1/auth/login', { email: 'nul\u0000@example.test', password: 'whatever' }],
    ] as const) {
      const res = await t.app.inject({ method: 'POST', url, payload, remoteAddress: randomIp() });
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().error.code, 'INVALID_CHARACTER');
    }
  });

  test('raw bodies are not scanned: an image and a binary full of zero bytes upload', async () => {
    assert.ok(PNG.includes(0));
    const send = sender(t.app);
    ok(await send('PUT', `/developer/apps/${ownAppId}/icon`, { token: ownToken, body: PNG, headers: { 'content-type': 'image/png' } }));
    const version = ok(await send('POST', `/developer/apps/${ownAppId}/versions`, { token: ownToken, body: { version: '1.0', minOsVersion: '17.0' } }), 201);
    ok(
      await send('PUT', `/developer/apps/${ownAppId}/versions/${version.id}/binary`, {
        token: ownToken,
        body: Buffer.alloc(4096),
        headers: { 'content-type': 'application/octet-stream' },
      }),
    );
  });

  test('data headers: an Idempotency-Key with a NUL is refused by its shape check', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/purchases',
      headers: { ...bearer(ownToken), 'idempotency-key': 'a\u0000b' },
      payload: { appId: ownAppId },
      remoteAddress: randomIp(),
    });
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json().error.code, 'IDEMPOTENCY_KEY_INVALID');
  });
});
