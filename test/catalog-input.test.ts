// Catalog: bad input of every kind is a 4xx in the one error shape, with a message that says what to fix.
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { kinds } from './support/infra.ts';
import { createTestApp, makeDeveloper, registerUser, type TestApp, type TestUser } from './support/app.ts';
import { LIMITS, JPEG, PNG, createDraft, expectError, ok, sender, uniqueBundleId, type Send } from './support/catalog.ts';

for (const kind of kinds()) {
  describe(`catalog input (${kind})`, () => {
    let t: TestApp;
    let send: Send;
    let dev: TestUser;
    let appId: string;
    let paidId: string;
    let versionId: string;
    const json = { 'content-type': 'application/json' };

    before(async () => {
      t = await createTestApp(kind, { config: { limits: LIMITS } });
      send = sender(t.app);
      dev = await makeDeveloper(t.app);
      appId = (await createDraft(send, dev.token)).id;
      paidId = (await createDraft(send, dev.token, { isFree: false })).id;
      versionId = ok(await send('POST', `/developer/apps/${appId}/versions`, { token: dev.token, body: { version: '1.0', minOsVersion: '17' } }), 201).id;
    });
    after(async () => {
      await t?.close();
    });

    test('create app: malformed JSON, wrong types, unknown and missing fields', async () => {
      const post = (body: unknown, headers = json) => send('POST', '/developer/apps', { token: dev.token, body, headers });
      expectError(await post('{"bundleId": "com.x.y",'), 400, 'INVALID_JSON');
      expectError(await post(''), 400, 'INVALID_JSON');
      expectError(await post('[]'), 400, 'VALIDATION_FAILED');
      const base = { bundleId: uniqueBundleId(), name: 'Valid', category: 'games' };
      const cases: [unknown, RegExp][] = [
        [{ ...base, name: 5 }, /name must be string/],
        [{ ...base, isFree: 'yes' }, /isFree must be boolean/],
        [{ ...base, keywords: 'a,b' }, /keywords must be array/],
        [{ ...base, color: 'red' }, /unknown field 'color'/],
        [{ name: 'x', category: 'games' }, /missing required field 'bundleId'/],
        [{ ...base, ageRating: '21+' }, /ageRating must be one of/],
        [{ ...base, name: '' }, /name/],
        [{ ...base, name: 'x'.repeat(51) }, /name/],
      ];
      for (const [body, message] of cases) assert.match(expectError(await post(JSON.stringify(body)), 400, 'VALIDATION_FAILED').message, message);
      expectError(await post(JSON.stringify({ ...base, name: '   ' })), 400, 'VALIDATION_FAILED');
      expectError(await post(JSON.stringify({ ...base, name: 'ok' }), { 'content-type': 'text/plain' }), 415);
    });

    test('create app: bundle id rules, uniqueness, categories, roles', async () => {
      const post = (body: object, token = dev.token) => send('POST', '/developer/apps', { token, body: { name: 'N', category: 'games', ...body } });
      for (const bundleId of ['noDots', 'com..x', 'com.ex ample', '1com.x', 'com.x-', 'com.x/y']) {
        assert.match(expectError(await post({ bundleId }), 400, 'INVALID_BUNDLE_ID').message, /reverse-DNS/);
      }
      const bundleId = uniqueBundleId();
      ok(await post({ bundleId }), 201);
      assert.match(expectError(await post({ bundleId }), 409, 'BUNDLE_ID_TAKEN').message, new RegExp(bundleId.replace(/\./g, '\\.')));
      assert.match(expectError(await post({ bundleId: uniqueBundleId(), category: 'cooking' }), 400, 'UNKNOWN_CATEGORY').message, /cooking/);
      expectError(await post({ bundleId: uniqueBundleId(), category: 'games-puzzle' }), 400, 'UNKNOWN_CATEGORY');
      expectError(await post({ bundleId: uniqueBundleId(), category: 'games', subcategory: 'nope' }), 400, 'UNKNOWN_CATEGORY');
      expectError(await post({ bundleId: uniqueBundleId(), category: 'finance', subcategory: 'games-puzzle' }), 400, 'SUBCATEGORY_MISMATCH');
      const plain = await registerUser(t.app);
      expectError(await post({ bundleId: uniqueBundleId() }, plain.token), 403, 'FORBIDDEN');
      expectError(await send('POST', '/developer/apps', { body: { bundleId: uniqueBundleId(), name: 'N', category: 'games' } }), 401, 'UNAUTHENTICATED');
      expectError(await send('POST', '/developer/apps', { body: {}, headers: { authorization: 'Bearer nope' } }), 401, 'UNAUTHENTICATED');
    });

    test('bad uuids and unknown ids', async () => {
      expectError(await send('GET', '/apps/not-a-uuid'), 400, 'VALIDATION_FAILED');
      expectError(await send('GET', '/developer/apps/123', { token: dev.token }), 400, 'VALIDATION_FAILED');
      expectError(await send('GET', `/developer/apps/${appId}/versions/x/binary`, { token: dev.token }), 404, 'ROUTE_NOT_FOUND');
      expectError(
        await send('PUT', `/developer/apps/${appId}/versions/nope/binary`, {
          token: dev.token,
          body: Buffer.from('x'),
          headers: { 'content-type': 'application/octet-stream' },
        }),
        400,
      );
      expectError(await send('GET', '/apps/01900000-0000-7000-8000-000000000000'), 404, 'NOT_FOUND');
      expectError(await send('GET', '/apps/by-bundle/com.nobody.nothing'), 404, 'NOT_FOUND');
      expectError(await send('PUT', `/developer/apps/${appId}/screenshots/iphone/order`, { token: dev.token, body: { ids: ['x'] } }), 400, 'VALIDATION_FAILED');
      expectError(await send('GET', '/media/abc'), 400, 'VALIDATION_FAILED');
      expectError(await send('GET', `/media/${'a'.repeat(64)}`), 404, 'NOT_FOUND');
    });

    test('money: integer milliunits ≥ 0 in the storefront currency, known countries only', async () => {
      const put = (prices: unknown) => send('PUT', `/developer/apps/${paidId}/prices`, { token: dev.token, body: { prices } });
      const price = (over: object) => [{ country: 'US', currency: 'USD', amountMilli: 990, ...over }];
      for (const amountMilli of [-1, 9.5, '990', null, 1e13, true]) {
        expectError(await put(price({ amountMilli })), 400, 'VALIDATION_FAILED');
      }
      expectError(await put(price({ amountMilli: undefined })), 400, 'VALIDATION_FAILED');
      expectError(await put(price({ price: 0.99 })), 400, 'VALIDATION_FAILED');
      expectError(await put(price({ country: 'us' })), 400, 'VALIDATION_FAILED');
      assert.match(expectError(await put(price({ country: 'XX' })), 422, 'UNKNOWN_COUNTRY').message, /XX/);
      assert.match(expectError(await put(price({ currency: 'EUR' })), 422, 'CURRENCY_MISMATCH').message, /USD, not EUR/);
      expectError(await put([...price({}), ...price({ amountMilli: 5 })]), 422, 'DUPLICATE_COUNTRY');
      expectError(await put('free'), 400, 'VALIDATION_FAILED');
      expectError(await send('PUT', `/developer/apps/${paidId}/prices`, { token: dev.token, body: '{"prices": [', headers: json }), 400, 'INVALID_JSON');
      // nothing stuck
      assert.deepEqual(ok(await send('GET', `/developer/apps/${paidId}`, { token: dev.token })).prices, []);
      ok(await put(price({ amountMilli: 0 })));
      const product = (prices: unknown) =>
        send('POST', `/developer/apps/${paidId}/products`, {
          token: dev.token,
          body: { productId: `p${Math.random().toString(36).slice(2)}`, referenceName: 'P', type: 'consumable', prices },
        });
      expectError(await product(price({ amountMilli: -5 })), 400, 'VALIDATION_FAILED');
      expectError(await product(price({ currency: 'GBP' })), 422, 'CURRENCY_MISMATCH');
      expectError(
        await send('POST', `/developer/apps/${paidId}/products`, { token: dev.token, body: { productId: 'bad id', referenceName: 'P', type: 'consumable' } }),
        400,
        'INVALID_PRODUCT_ID',
      );
      expectError(
        await send('POST', `/developer/apps/${paidId}/products`, { token: dev.token, body: { productId: 'x', referenceName: 'P', type: 'gift' } }),
        400,
        'VALIDATION_FAILED',
      );
      expectError(
        await send('PUT', `/developer/apps/${paidId}/products/01900000-0000-7000-8000-000000000000/prices`, { token: dev.token, body: { prices: [] } }),
        404,
      );
    });

    test('versions: dotted numeric strings and valid permissions', async () => {
      const other = (await createDraft(send, dev.token)).id;
      const post = (body: object) =>
        send('POST', `/developer/apps/${other}/versions`, { token: dev.token, body: { version: '1.0', minOsVersion: '17.0', ...body } });
      for (const version of ['1.0-beta', 'v1', '1..0', '01.0', '1.2.3.4.5', ' 1.0', '']) {
        const err = expectError(await post({ version }), 400);
        assert.ok(['INVALID_VERSION', 'VALIDATION_FAILED'].includes((err as { code: string }).code));
      }
      assert.match(expectError(await post({ version: 'latest' }), 400, 'INVALID_VERSION').message, /dotted numeric/);
      expectError(await post({ minOsVersion: 'seventeen' }), 400, 'INVALID_VERSION');
      expectError(await post({ version: 1.0 }), 400, 'VALIDATION_FAILED');
      expectError(await post({ permissions: ['Camera'] }), 400, 'INVALID_PERMISSION');
      expectError(await post({ permissions: 'camera' }), 400, 'VALIDATION_FAILED');
      expectError(await post({ notes: 'x' }), 400, 'VALIDATION_FAILED');
      ok(await post({}), 201);
    });

    test('PATCH: empty or unknown fields, malformed If-Match', async () => {
      const patch = (body: unknown, ifMatch = '"1"') => send('PATCH', `/developer/apps/${appId}`, { token: dev.token, body, headers: { 'if-match': ifMatch } });
      expectError(await patch({}), 400, 'VALIDATION_FAILED');
      expectError(await patch({ bundleId: 'com.change.me' }), 400, 'VALIDATION_FAILED');
      expectError(await patch({ status: 'published' }), 400, 'VALIDATION_FAILED');
      expectError(await patch({ subtitle: 7 }), 400, 'VALIDATION_FAILED');
      expectError(await patch({ category: 'nope' }), 400, 'UNKNOWN_CATEGORY');
      expectError(await patch({ name: 'x' }, 'W/"1"'), 412, 'PRECONDITION_FAILED');
      expectError(await patch({ name: 'x' }, 'garbage'), 412, 'PRECONDITION_FAILED');
      assert.equal(ok(await send('GET', `/developer/apps/${appId}`, { token: dev.token })).revision, 1);
    });

    test('uploads: content type (415), size (413), bytes that are not the declared image (400)', async () => {
      const icon = (body: unknown, headers: Record<string, string>) => send('PUT', `/developer/apps/${appId}/icon`, { token: dev.token, body, headers });
      expectError(await icon(JSON.stringify({ png: true }), json), 415, 'UNSUPPORTED_MEDIA_TYPE');
      expectError(await icon(PNG, { 'content-type': 'image/gif' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
      expectError(await icon(PNG, { 'content-type': 'application/octet-stream' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
      expectError(await icon(PNG, { 'content-type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
      expectError(await icon(PNG, {}), 415);
      assert.match(
        expectError(await icon(Buffer.from('<html>not an image</html>'), { 'content-type': 'image/png' }), 400, 'INVALID_IMAGE').message,
        /not a PNG image/,
      );
      assert.match(
        expectError(await icon(JPEG, { 'content-type': 'image/png' }), 400, 'INVALID_IMAGE').message,
        /image\/jpeg but Content-Type says image\/png/,
      );
      expectError(await icon(Buffer.alloc(0), { 'content-type': 'image/png' }), 400, 'INVALID_IMAGE');

      // too big: refused on the declared length, and also when streamed without one
      const big = Buffer.concat([PNG, Buffer.alloc(LIMITS.iconBytes)]);
      expectError(await icon(big, { 'content-type': 'image/png' }), 413, 'PAYLOAD_TOO_LARGE');
      const streamed = await t.app.inject({
        method: 'PUT',
        url: `/api/v1/developer/apps/${appId}/icon`,
        headers: { authorization: `Bearer ${dev.token}`, 'content-type': 'image/png' },
        payload: Readable.from([PNG, Buffer.alloc(LIMITS.iconBytes)]),
      });
      expectError(streamed, 413, 'PAYLOAD_TOO_LARGE');
      const shot = await send('POST', `/developer/apps/${appId}/screenshots/iphone`, {
        token: dev.token,
        body: Buffer.concat([PNG, Buffer.alloc(LIMITS.screenshotBytes)]),
        headers: { 'content-type': 'image/png' },
      });
      expectError(shot, 413, 'PAYLOAD_TOO_LARGE');
      expectError(
        await send('POST', `/developer/apps/${appId}/screenshots/iphone`, {
          token: dev.token,
          body: Buffer.from('GIF89a....'),
          headers: { 'content-type': 'image/jpeg' },
        }),
        400,
        'INVALID_IMAGE',
      );

      // binaries: octet-stream only, capped
      const binary = (body: unknown, headers: Record<string, string>) =>
        send('PUT', `/developer/apps/${appId}/versions/${versionId}/binary`, { token: dev.token, body, headers });
      expectError(await binary(PNG, { 'content-type': 'image/png' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
      expectError(await binary('{}', json), 415, 'UNSUPPORTED_MEDIA_TYPE');
      expectError(await binary(Buffer.alloc(LIMITS.binaryBytes + 1), { 'content-type': 'application/octet-stream' }), 413, 'PAYLOAD_TOO_LARGE');

      // nothing was recorded by the failures; then a good upload works
      assert.deepEqual(ok(await send('GET', `/developer/apps/${appId}/media`, { token: dev.token })).items, []);
      const okIcon = ok(await icon(JPEG, { 'content-type': 'image/jpeg; charset=binary' }));
      assert.equal(okIcon.contentType, 'image/jpeg');
      assert.equal(okIcon.sizeBytes, JPEG.length);
      const stored = ok(await binary(Readable.from([Buffer.alloc(1000, 1), Buffer.alloc(24, 2)]), { 'content-type': 'application/octet-stream' }));
      assert.equal(stored.binary.sizeBytes, 1024);
      assert.match(stored.binary.sha256, /^[0-9a-f]{64}$/);
    });

    test('admin routes: reject needs a reason; unknown apps are 404', async () => {
      const { makeAdmin } = await import('./support/app.ts');
      const admin = await makeAdmin(t.infra, t.app);
      expectError(await send('POST', `/admin/apps/${appId}/reject`, { token: admin.token, body: { reason: 'x', extra: 1 } }), 400, 'VALIDATION_FAILED');
      expectError(await send('POST', `/admin/apps/${appId}/reject`, { token: admin.token }), 400);
      expectError(await send('POST', `/admin/apps/${appId}/approve`, { token: admin.token }), 409, 'NOT_IN_REVIEW');
      expectError(await send('POST', '/admin/apps/01900000-0000-7000-8000-000000000000/approve', { token: admin.token }), 404, 'NOT_FOUND');
      expectError(await send('GET', '/admin/review-queue?cursor=zzz', { token: admin.token }), 400, 'BAD_CURSOR');
      expectError(await send('GET', '/developer/apps?limit=1000', { token: dev.token }), 400, 'VALIDATION_FAILED');
    });
  });
}
