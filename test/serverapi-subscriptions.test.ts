// The App Store Server API's Get All Subscription Statuses driven by Apple's own client library: the signed
// transaction and renewal info verify with Apple's SignedDataVerifier against Orchard's root, and follow
// the subscription through cancel and expiry.
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { APIError, APIException, AutoRenewStatus, Environment, ExpirationIntent, SignedDataVerifier, Status } from '@apple/app-store-server-library';
import { kinds } from './support/infra.ts';
import { OrchardClient, type CreatedKey } from './support/apple.ts';
import { createTestApp, makeAdmin, makeDeveloper, registerUser, type TestApp, type TestUser } from './support/app.ts';
import { LIMITS, ok, publishApp, sender, type Send } from './support/catalog.ts';

async function rejectsWith(fn: () => Promise<unknown>, status: number, apiError: APIError) {
  await assert.rejects(fn, (err: unknown) => {
    assert.ok(err instanceof APIException, `expected an APIException, got ${String(err)}`);
    assert.equal(err.httpStatusCode, status);
    assert.equal(err.apiError, apiError);
    return true;
  });
}

for (const kind of kinds()) {
  describe(`App Store Server API: subscription statuses (${kind})`, () => {
    let t: TestApp;
    let send: Send;
    let baseUrl: string;
    let dev: TestUser;
    let app: { id: string; bundleId: string };
    let otherApp: { id: string; bundleId: string };
    let key: CreatedKey;
    let rootDer: Buffer;

    const buy = async (token: string, body: Record<string, unknown>) =>
      ok(await send('POST', '/purchases', { token, body, headers: { 'idempotency-key': randomUUID() } }), 201).purchase;
    const verifier = () => new SignedDataVerifier([rootDer], false, Environment.PRODUCTION, app.bundleId, 1234567890);

    before(async () => {
      t = await createTestApp(kind, { config: { limits: LIMITS } });
      send = sender(t.app);
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const address = t.app.server.address();
      assert.ok(address && typeof address === 'object');
      baseUrl = `http://127.0.0.1:${address.port}`;

      dev = await makeDeveloper(t.app, 'Subscription Studio');
      const otherDev = await makeDeveloper(t.app, 'Elsewhere Studio');
      const admin = await makeAdmin(t.infra, t.app);
      app = await publishApp(send, dev.token, admin.token, { name: 'Pro Notes' });
      otherApp = await publishApp(send, otherDev.token, admin.token, { name: 'Elsewhere' });
      ok(
        await send('POST', `/developer/apps/${app.id}/products`, {
          token: dev.token,
          body: {
            productId: 'pro.monthly',
            referenceName: 'pro monthly',
            type: 'auto_renewable',
            subscriptionPeriod: 'P1M',
            subscriptionGroup: 'pro',
            prices: [{ country: 'US', currency: 'USD', amountMilli: 2990 }],
          },
        }),
        201,
      );
      key = ok(await send('POST', '/developer/api-keys', { token: dev.token }), 201);
      rootDer = (await t.app.inject({ method: 'GET', url: '/.well-known/orchard/receipt-root.cer' })).rawPayload;
    });
    after(async () => {
      await t?.close();
    });

    test('Get All Subscription Statuses: active, then auto-renew off after cancel, then expired by the customer', async () => {
      const user = await registerUser(t.app);
      const purchase = await buy(user.token, { appId: app.id, productId: 'pro.monthly', price: { amountMilli: 2990, currency: 'USD' } });
      const client = new OrchardClient(baseUrl, key, app.bundleId);

      const statuses = async (filter?: Status[]) => {
        const res = await client.getAllSubscriptionStatuses(purchase.transactionId, filter);
        assert.equal(res.bundleId, app.bundleId);
        assert.equal(res.environment, Environment.PRODUCTION);
        assert.equal(typeof res.appAppleId, 'number'); // Apple's StatusResponse carries it, as History does
        return res.data!;
      };
      const only = async () => {
        const data = await statuses();
        assert.equal(data.length, 1);
        assert.equal(data[0].subscriptionGroupIdentifier, 'pro');
        assert.equal(data[0].lastTransactions!.length, 1);
        const last = data[0].lastTransactions![0];
        assert.equal(last.originalTransactionId, purchase.transactionId);
        return {
          status: last.status,
          transaction: await verifier().verifyAndDecodeTransaction(last.signedTransactionInfo!),
          renewal: await verifier().verifyAndDecodeRenewalInfo(last.signedRenewalInfo!),
        };
      };

      let s = await only();
      assert.equal(s.status, Status.ACTIVE);
      assert.equal(s.transaction.transactionId, purchase.transactionId);
      assert.equal(s.transaction.productId, 'pro.monthly');
      assert.equal(s.renewal.autoRenewStatus, AutoRenewStatus.ON);
      assert.equal(s.renewal.originalTransactionId, purchase.transactionId);
      assert.equal(s.renewal.productId, 'pro.monthly');
      assert.equal(s.renewal.autoRenewProductId, 'pro.monthly');
      assert.equal(s.renewal.isInBillingRetryPeriod, false);
      assert.equal(s.renewal.expirationIntent, undefined);
      assert.equal(s.renewal.renewalDate, Date.parse(purchase.expiresDate));
      assert.equal(s.renewal.renewalPrice, 2990);
      assert.equal(s.renewal.currency, 'USD');
      assert.equal(s.renewal.environment, Environment.PRODUCTION);
      assert.equal((await statuses([Status.EXPIRED, Status.REVOKED])).length, 0);
      assert.equal((await statuses([Status.ACTIVE])).length, 1);

      ok(await send('POST', `/me/subscriptions/${purchase.subscriptionId}/cancel`, { token: user.token }));
      s = await only();
      assert.equal(s.status, Status.ACTIVE);
      assert.equal(s.renewal.autoRenewStatus, AutoRenewStatus.OFF);

      const sub = ok(await send('GET', `/me/subscriptions/${purchase.subscriptionId}`, { token: user.token }));
      await t.modules.purchases.subscriptions.runRenewals(new Date(Date.parse(sub.currentPeriodEnd) + 1000));
      s = await only();
      assert.equal(s.status, Status.EXPIRED);
      assert.equal(s.renewal.autoRenewStatus, AutoRenewStatus.OFF);
      assert.equal(s.renewal.expirationIntent, ExpirationIntent.CUSTOMER_CANCELLED);
      assert.equal(s.renewal.isInBillingRetryPeriod, undefined);
      assert.equal((await statuses([Status.ACTIVE])).length, 0);
    });

    test("a customer without subscriptions gets no groups; unknown, foreign and malformed ids get Apple's errors", async () => {
      const client = new OrchardClient(baseUrl, key, app.bundleId);
      const appBuyer = await registerUser(t.app);
      const download = await buy(appBuyer.token, { appId: app.id });
      assert.deepEqual((await client.getAllSubscriptionStatuses(download.transactionId)).data, []);

      await rejectsWith(() => client.getAllSubscriptionStatuses('999999999'), 404, APIError.TRANSACTION_ID_NOT_FOUND);
      const foreign = await buy((await registerUser(t.app)).token, { appId: otherApp.id });
      await rejectsWith(() => client.getAllSubscriptionStatuses(foreign.transactionId), 404, APIError.TRANSACTION_ID_NOT_FOUND);
      await rejectsWith(() => client.getAllSubscriptionStatuses('12ab'), 400, APIError.INVALID_TRANSACTION_ID);
      await rejectsWith(() => client.getAllSubscriptionStatuses(download.transactionId, [9 as Status]), 400, APIError.INVALID_STATUS);
    });
  });
}
