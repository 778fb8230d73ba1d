// The App Store Server API driven by Apple's own client library: API keys over HTTP, Get Transaction Info
// (verified by Apple's SignedDataVerifier against Orchard's root), Get Transaction History paging, and
// Apple-format errors for every way a request is refused.
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { importPKCS8, SignJWT } from 'jose';
import { APIError, APIException, Environment, GetTransactionHistoryVersion, Order, ProductType, SignedDataVerifier } from '@apple/app-store-server-library';
import { kinds } from './support/infra.ts';
import { OrchardClient, type CreatedKey } from './support/apple.ts';
import { createTestApp, makeAdmin, makeDeveloper, registerUser, type TestApp, type TestUser } from './support/app.ts';
import { LIMITS, expectError, ok, publishApp, sender, type Send } from './support/catalog.ts';

/** Runs fn, which must fail with Apple's APIException of this status (and code, when Apple defines one). */
async function rejectsWith(fn: () => Promise<unknown>, status: number, apiError: APIError | null) {
  await assert.rejects(fn, (err: unknown) => {
    assert.ok(err instanceof APIException, `expected an APIException, got ${String(err)}`);
    assert.equal(err.httpStatusCode, status);
    assert.equal(err.apiError, apiError);
    return true;
  });
}

for (const kind of kinds()) {
  describe(`App Store Server API (${kind})`, () => {
    let t: TestApp;
    let send: Send;
    let baseUrl: string;
    let dev: TestUser;
    let otherDev: TestUser;
    let app: { id: string; bundleId: string };
    let otherApp: { id: string; bundleId: string };
    let key: CreatedKey;
    let buyer: TestUser;
    let appTransactionId: string;
    let gemTransactionIds: string[];
    let rootDer: Buffer;

    const buy = async (token: string, body: Record<string, unknown>) =>
      ok(await send('POST', '/purchases', { token, body, headers: { 'idempotency-key': randomUUID() } }), 201).purchase.transactionId as string;
    const createKey = async (token: string) => ok(await send('POST', '/developer/api-keys', { token }), 201) as CreatedKey;
    const verifier = (bundleId: string) => new SignedDataVerifier([rootDer], false, Environment.PRODUCTION, bundleId, 1234567890); // Production needs an appAppleId; transactions never compare it
    /** A raw request with a token we sign ourselves, for claims Apple's client would never put in one. */
    const rawGet = (path: string, token: string) => fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const jwt = async (k: CreatedKey, claims: Record<string, unknown>, opts: { iat?: number; exp?: number } = {}) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: k.keyId, typ: 'JWT' })
        .setIssuer(k.issuerId)
        .setAudience('appstoreconnect-v1')
        .setIssuedAt(opts.iat ?? now)
        .setExpirationTime(opts.exp ?? now + 300)
        .sign(await importPKCS8(k.privateKey, 'ES256'));
    };

    before(async () => {
      t = await createTestApp(kind, { config: { limits: LIMITS } });
      send = sender(t.app);
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const address = t.app.server.address();
      assert.ok(address && typeof address === 'object');
      baseUrl = `http://127.0.0.1:${address.port}`;

      dev = await makeDeveloper(t.app, 'Server Studio');
      otherDev = await makeDeveloper(t.app, 'Other Studio');
      const admin = await makeAdmin(t.infra, t.app);
      app = await publishApp(send, dev.token, admin.token, { name: 'Gem Miner', isFree: false });
      otherApp = await publishApp(send, otherDev.token, admin.token, { name: 'Other Thing' });
      ok(
        await send('POST', `/developer/apps/${app.id}/products`, {
          token: dev.token,
          body: { productId: 'gems.10', referenceName: 'gems', type: 'consumable', prices: [{ country: 'US', currency: 'USD', amountMilli: 990 }] },
        }),
        201,
      );
      key = await createKey(dev.token);

      buyer = await registerUser(t.app);
      appTransactionId = await buy(buyer.token, { appId: app.id, price: { amountMilli: 990, currency: 'USD' } });
      gemTransactionIds = [];
      for (let i = 0; i < 24; i++)
        gemTransactionIds.push(await buy(buyer.token, { appId: app.id, productId: 'gems.10', price: { amountMilli: 990, currency: 'USD' } }));
      // another customer's purchase of the same app: never in the buyer's history
      await buy((await registerUser(t.app)).token, { appId: app.id, productId: 'gems.10', price: { amountMilli: 990, currency: 'USD' } });

      const cer = await t.app.inject({ method: 'GET', url: '/.well-known/orchard/receipt-root.cer' });
      rootDer = cer.rawPayload;
    });
    after(async () => {
      await t?.close();
    });

    test('API keys: created with a PKCS#8 private key shown once, listed without it, one issuer per developer, revoked only by their owner', async () => {
      assert.match(key.keyId, /^[A-Z0-9]{10}$/);
      assert.match(key.issuerId, /^[0-9a-f-]{36}$/);
      assert.match(key.privateKey, /^-----BEGIN PRIVATE KEY-----\n/);
      const second = await createKey(dev.token);
      assert.equal(second.issuerId, key.issuerId);
      assert.notEqual(second.keyId, key.keyId);

      const list = ok(await send('GET', '/developer/api-keys', { token: dev.token }));
      assert.deepEqual(new Set(list.items.map((k: { keyId: string }) => k.keyId)), new Set([key.keyId, second.keyId]));
      assert.ok(!JSON.stringify(list).includes('PRIVATE KEY'));
      assert.deepEqual(ok(await send('GET', '/developer/api-keys', { token: otherDev.token })).items, []);

      expectError(await send('DELETE', `/developer/api-keys/${second.keyId}`, { token: otherDev.token }), 404, 'NOT_FOUND');
      assert.equal((await send('DELETE', `/developer/api-keys/${second.keyId}`, { token: dev.token })).statusCode, 204);
      const revoked = ok(await send('GET', '/developer/api-keys', { token: dev.token })).items.find((k: { keyId: string }) => k.keyId === second.keyId);
      assert.equal(typeof revoked.revokedAt, 'string');
      expectError(await send('POST', '/developer/api-keys', { token: buyer.token }), 403, 'FORBIDDEN');
      expectError(await send('GET', '/developer/api-keys'), 401, 'UNAUTHENTICATED');
      // an admin passes the developer guard but has no keys of their own without a developer profile
      const admin = await makeAdmin(t.infra, t.app);
      expectError(await send('POST', '/developer/api-keys', { token: admin.token }), 403, 'NOT_A_DEVELOPER');
      expectError(await send('GET', '/developer/api-keys', { token: admin.token }), 403, 'NOT_A_DEVELOPER');
      expectError(await send('DELETE', `/developer/api-keys/${key.keyId}`, { token: admin.token }), 403, 'NOT_A_DEVELOPER');
    });

    test("Get Transaction Info: a signedTransactionInfo Apple's SignedDataVerifier accepts", async () => {
      const client = new OrchardClient(baseUrl, key, app.bundleId);
      const info = await client.getTransactionInfo(appTransactionId);
      const decoded = await verifier(app.bundleId).verifyAndDecodeTransaction(info.signedTransactionInfo!);
      assert.equal(decoded.transactionId, appTransactionId);
      assert.equal(decoded.bundleId, app.bundleId);
      assert.equal(decoded.price, 990);
      assert.equal(decoded.environment, 'Production');
    });

    test('Get Transaction History: pages of 20 through every transaction of the customer and app, both orders', async () => {
      const client = new OrchardClient(baseUrl, key, app.bundleId);
      const expected = [appTransactionId, ...gemTransactionIds];
      for (const sort of [Order.ASCENDING, Order.DESCENDING]) {
        const seen: string[] = [];
        let revision: string | null = null;
        let pages = 0;
        for (;;) {
          const page = await client.getTransactionHistory(gemTransactionIds[3], revision, { sort }, GetTransactionHistoryVersion.V2);
          pages++;
          assert.equal(page.bundleId, app.bundleId);
          assert.equal(page.environment, 'Production');
          for (const jws of page.signedTransactions!) seen.push((await verifier(app.bundleId).verifyAndDecodeTransaction(jws)).transactionId!);
          revision = page.revision!;
          if (!page.hasMore) break;
        }
        assert.equal(pages, 2);
        assert.deepEqual(seen, sort === Order.ASCENDING ? expected : [...expected].reverse());
      }
      // appAppleId, as in Apple's HistoryResponse: the one this app's notifications carry
      const { appAppleId } = ok(
        await send('PUT', `/developer/apps/${app.id}/notifications-url`, { token: dev.token, body: { url: 'https://example.test/hook' } }),
      );
      for (const version of [GetTransactionHistoryVersion.V1, GetTransactionHistoryVersion.V2]) {
        assert.equal((await client.getTransactionHistory(appTransactionId, null, {}, version)).appAppleId, appAppleId);
      }
      // the deprecated v1 path (the library's default) answers too, and filters narrow the history
      const consumables = await client.getTransactionHistory(appTransactionId, null, { productTypes: [ProductType.NON_CONSUMABLE] });
      assert.equal(consumables.signedTransactions!.length, 1);
      assert.equal(consumables.hasMore, false);
    });

    test("refused requests get Apple's errors: unknown or foreign transactions, malformed ids and revisions", async () => {
      const client = new OrchardClient(baseUrl, key, app.bundleId);
      await rejectsWith(() => client.getTransactionInfo('999999999'), 404, APIError.TRANSACTION_ID_NOT_FOUND);
      const foreign = await buy((await registerUser(t.app)).token, { appId: otherApp.id });
      await rejectsWith(() => client.getTransactionInfo(foreign), 404, APIError.TRANSACTION_ID_NOT_FOUND);
      await rejectsWith(() => client.getTransactionHistory(foreign, null, {}), 404, APIError.TRANSACTION_ID_NOT_FOUND);
      await rejectsWith(() => client.getTransactionInfo('12ab'), 400, APIError.INVALID_TRANSACTION_ID);
      await rejectsWith(() => client.getTransactionInfo('99999999999999999999999'), 400, APIError.INVALID_TRANSACTION_ID);
      await rejectsWith(() => client.getTransactionHistory(appTransactionId, 'not-a-revision', {}), 400, APIError.INVALID_REQUEST_REVISION);
      const res = await rawGet(`/inApps/v2/history/${appTransactionId}?sort=SIDEWAYS`, await jwt(key, { bid: app.bundleId }));
      assert.deepEqual([res.status, (await res.json()).errorCode], [400, APIError.INVALID_SORT]);
    });

    test("refused tokens get 401 (Apple defines no error code for it): revoked key, expired, too long-lived, another developer's bundle id, bad signature", async () => {
      const path = `/inApps/v1/transactions/${appTransactionId}`;
      const expect401 = async (token: string, why: RegExp) => {
        const res = await rawGet(path, token);
        const body = await res.json();
        assert.equal(res.status, 401, JSON.stringify(body));
        assert.equal(body.errorCode, undefined);
        assert.match(body.errorMessage, why);
      };
      const now = Math.floor(Date.now() / 1000);
      await expect401(await jwt(key, { bid: app.bundleId }, { iat: now - 3600, exp: now - 600 }), /rejected/);
      await expect401(await jwt(key, { bid: app.bundleId }, { iat: now, exp: now + 2 * 3600 }), /60 minutes/);
      await expect401(await jwt(key, { bid: app.bundleId }, { iat: now + 3600, exp: now + 3900 }), /rejected|future/);
      await expect401(await jwt(key, { bid: otherApp.bundleId }), /bundle id/);
      await expect401(await jwt(key, {}), /rejected/);
      await expect401(await jwt({ ...key, issuerId: randomUUID() }, { bid: app.bundleId }), /rejected/);
      const stranger = await createKey(otherDev.token);
      await expect401(await jwt({ ...stranger, keyId: key.keyId }, { bid: app.bundleId }), /rejected/); // right kid, wrong private key
      await expect401('not.a.jwt', /not a JWT|kid/);
      // a NUL character in the key id or bundle id never reaches the database
      await expect401(await jwt({ ...key, keyId: `${key.keyId.slice(0, 9)}\u0000` }, { bid: app.bundleId }), /kid/);
      await expect401(await jwt(key, { bid: `${app.bundleId}\u0000` }), /bundle id/);
      assert.equal((await fetch(`${baseUrl}${path}`)).status, 401);

      await rejectsWith(() => new OrchardClient(baseUrl, key, otherApp.bundleId).getTransactionInfo(appTransactionId), 401, null);
      const doomed = await createKey(dev.token);
      const client = new OrchardClient(baseUrl, doomed, app.bundleId);
      assert.ok((await client.getTransactionInfo(appTransactionId)).signedTransactionInfo);
      assert.equal((await send('DELETE', `/developer/api-keys/${doomed.keyId}`, { token: dev.token })).statusCode, 204);
      await rejectsWith(() => client.getTransactionInfo(appTransactionId), 401, null);
    });

    test("Sandbox: <baseUrl>/sandbox answers Sandbox transactions only and <baseUrl> Production ones only, as Apple's two hosts", async () => {
      const sandboxTransactionId = await buy(buyer.token, {
        appId: app.id,
        productId: 'gems.10',
        environment: 'Sandbox',
        price: { amountMilli: 990, currency: 'USD' },
      });
      const production = new OrchardClient(baseUrl, key, app.bundleId);
      const sandbox = new OrchardClient(`${baseUrl}/sandbox`, key, app.bundleId);
      await rejectsWith(() => production.getTransactionInfo(sandboxTransactionId), 404, APIError.TRANSACTION_ID_NOT_FOUND);
      await rejectsWith(() => production.getTransactionHistory(sandboxTransactionId, null, {}), 404, APIError.TRANSACTION_ID_NOT_FOUND);
      await rejectsWith(() => sandbox.getTransactionInfo(appTransactionId), 404, APIError.TRANSACTION_ID_NOT_FOUND);
      await rejectsWith(() => sandbox.getTransactionHistory(appTransactionId, null, {}), 404, APIError.TRANSACTION_ID_NOT_FOUND);

      const sandboxVerifier = new SignedDataVerifier([rootDer], false, Environment.SANDBOX, app.bundleId);
      const info = await sandbox.getTransactionInfo(sandboxTransactionId);
      assert.equal((await sandboxVerifier.verifyAndDecodeTransaction(info.signedTransactionInfo!)).transactionId, sandboxTransactionId);
      const history = await sandbox.getTransactionHistory(sandboxTransactionId, null, {}, GetTransactionHistoryVersion.V2);
      assert.equal(history.environment, 'Sandbox');
      assert.equal(history.signedTransactions!.length, 1);
      // the production history of the same customer never lists it
      const productionIds: string[] = [];
      for (let revision: string | null = null; ; ) {
        const page = await production.getTransactionHistory(appTransactionId, revision, {}, GetTransactionHistoryVersion.V2);
        for (const jws of page.signedTransactions!) productionIds.push((await verifier(app.bundleId).verifyAndDecodeTransaction(jws)).transactionId!);
        revision = page.revision!;
        if (!page.hasMore) break;
      }
      assert.ok(productionIds.includes(appTransactionId));
      assert.ok(!productionIds.includes(sandboxTransactionId));
      // unknown paths under /sandbox/inApps answer in Apple's format too
      const res = await rawGet('/sandbox/inApps/v1/nothing-here', await jwt(key, { bid: app.bundleId }));
      assert.equal(res.status, 404);
      assert.equal(typeof (await res.json()).errorMessage, 'string');
    });
  });
}
