// App Store Server Notifications V2 end to end: a developer sets a URL, a real HTTP receiver gets
// SUBSCRIBED, DID_RENEW and REFUND in that order (the first attempt refused with a 500 and retried), each
// verified by Apple's SignedDataVerifier against Orchard's root; history and test notifications through
// Apple's own AppStoreServerAPIClient.
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { Environment, NotificationTypeV2, SignedDataVerifier, type ResponseBodyV2DecodedPayload } from '@apple/app-store-server-library';
import { createModules } from '../src/app.ts';
import { kinds } from './support/infra.ts';
import { OrchardClient, type CreatedKey } from './support/apple.ts';
import { createTestApp, makeAdmin, makeDeveloper, registerUser, type TestApp, type TestUser } from './support/app.ts';
import { LIMITS, expectError, ok, publishApp, sender, type Send } from './support/catalog.ts';

async function eventually<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const kind of kinds()) {
  describe(`App Store Server Notifications (${kind})`, () => {
    let t: TestApp;
    let send: Send;
    let baseUrl: string;
    let dev: TestUser;
    let otherDev: TestUser;
    let admin: TestUser;
    let app: { id: string; bundleId: string };
    let rootDer: Buffer;
    let receiver: http.Server;
    let receiverUrl: string;
    /** Every POST the receiver got, in arrival order, with the status it answered. */
    const received: { body: { signedPayload: string }; status: number }[] = [];
    let refuseNext = 1;

    before(async () => {
      t = await createTestApp(kind, {
        config: { limits: LIMITS },
        modules: (infra) =>
          createModules(infra.config, infra, {
            notifications: { retryScheduleMs: [150, 300, 600], pollMs: 50, timeoutMs: 2000, settleMs: 300, allowPrivateAddresses: true },
          }),
      });
      t.modules.scheduler.start(t.modules.notifications.jobs);
      send = sender(t.app);
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const address = t.app.server.address();
      assert.ok(address && typeof address === 'object');
      baseUrl = `http://127.0.0.1:${address.port}`;

      receiver = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
          const status = refuseNext > 0 ? (refuseNext--, 500) : 200;
          received.push({ body: JSON.parse(Buffer.concat(chunks).toString()), status });
          res.writeHead(status).end();
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/apple/notifications`;

      dev = await makeDeveloper(t.app, 'Notify Studio');
      otherDev = await makeDeveloper(t.app, 'Other Studio');
      admin = await makeAdmin(t.infra, t.app);
      app = await publishApp(send, dev.token, admin.token, { name: 'Notified Pro', isFree: false });
      ok(
        await send('POST', `/developer/apps/${app.id}/products`, {
          token: dev.token,
          body: {
            productId: 'pro.monthly',
            referenceName: 'pro',
            type: 'auto_renewable',
            subscriptionPeriod: 'P1M',
            subscriptionGroup: 'pro',
            prices: [{ country: 'US', currency: 'USD', amountMilli: 2990 }],
          },
        }),
        201,
      );
      rootDer = (await t.app.inject({ method: 'GET', url: '/.well-known/orchard/receipt-root.cer' })).rawPayload;
    });
    after(async () => {
      await t?.modules.scheduler.stop();
      await t?.close();
      await new Promise((resolve) => receiver?.close(resolve));
    });

    test('notification URL: owner only, http(s) only, removable', async () => {
      const path = `/developer/apps/${app.id}/notifications-url`;
      expectError(await send('PUT', path, { token: otherDev.token, body: { url: receiverUrl } }), 404, 'NOT_FOUND');
      expectError(await send('PUT', path, { token: dev.token, body: { url: 'ftp://example.test/x' } }), 400);
      expectError(await send('PUT', path, { token: dev.token, body: { url: `https://example.test/${'a'.repeat(2000)}` } }), 400);
      const buyer = await registerUser(t.app);
      expectError(await send('PUT', path, { token: buyer.token, body: { url: receiverUrl } }), 403);
      const first = ok(await send('PUT', path, { token: dev.token, body: { url: 'https://example.test/hook' } }));
      assert.equal(typeof first.appAppleId, 'number');
      expectError(await send('DELETE', path, { token: otherDev.token }), 404, 'NOT_FOUND');
      // admins included: like every developer route, another developer's app is not found (admins have admin routes)
      expectError(await send('PUT', path, { token: admin.token, body: { url: 'https://attacker.example/hook' } }), 404, 'NOT_FOUND');
      expectError(await send('DELETE', path, { token: admin.token }), 404, 'NOT_FOUND');
      const { rows } = await t.infra.db.query<{ url: string }>('SELECT url FROM notification_endpoints WHERE app_id = $1', [app.id]);
      assert.equal(rows[0].url, 'https://example.test/hook');
      assert.equal((await send('DELETE', path, { token: dev.token })).statusCode, 204);
    });

    test('SUBSCRIBED, DID_RENEW, REFUND arrive in order, signed so Apple verifies them; a refused attempt is retried; history shows both', async () => {
      const { appAppleId } = ok(await send('PUT', `/developer/apps/${app.id}/notifications-url`, { token: dev.token, body: { url: receiverUrl } }));
      const verifier = new SignedDataVerifier([rootDer], false, Environment.PRODUCTION, app.bundleId, appAppleId);

      const buyer = await registerUser(t.app);
      const purchase = ok(
        await send('POST', '/purchases', {
          token: buyer.token,
          body: { appId: app.id, productId: 'pro.monthly', price: { amountMilli: 2990, currency: 'USD' } },
          headers: { 'idempotency-key': randomUUID() },
        }),
        201,
      ).purchase;
      const original = purchase.transactionId as string;
      const { rows } = await t.infra.db.query<{ end: Date }>('SELECT current_period_end AS end FROM subscriptions WHERE original_transaction_id = $1', [
        original,
      ]);
      const renewals = await t.modules.purchases.subscriptions.runRenewals(new Date(new Date(rows[0].end).getTime() + 1000));
      assert.equal(renewals.renewed, 1);
      ok(
        await send('POST', `/admin/transactions/${original}/refund`, { token: admin.token, body: { reason: 1 }, headers: { 'idempotency-key': randomUUID() } }),
      );

      await eventually('four deliveries', () => (received.length >= 4 ? true : undefined));
      await new Promise((r) => setTimeout(r, 300)); // nothing more should come
      assert.equal(received.length, 4);
      const decoded: ResponseBodyV2DecodedPayload[] = [];
      for (const r of received) decoded.push(await verifier.verifyAndDecodeNotification(r.body.signedPayload));
      assert.deepEqual(
        decoded.map((d) => [d.notificationType, d.subtype]),
        [
          ['SUBSCRIBED', 'INITIAL_BUY'],
          ['SUBSCRIBED', 'INITIAL_BUY'],
          ['DID_RENEW', undefined],
          ['REFUND', undefined],
        ],
      );
      assert.deepEqual(
        received.map((r) => r.status),
        [500, 200, 200, 200],
      );
      assert.equal(received[0].body.signedPayload, received[1].body.signedPayload); // a retry re-sends the same notification
      assert.equal(decoded[0].version, '2.0');
      assert.equal(decoded[0].data?.environment, 'Production');
      assert.equal(decoded[0].data?.status, 1);
      assert.equal(decoded[3].data?.status, 5);
      assert.equal(new Set(decoded.slice(1).map((d) => d.notificationUUID)).size, 3);

      const txs = [];
      for (const d of decoded.slice(1)) txs.push(await verifier.verifyAndDecodeTransaction(d.data!.signedTransactionInfo!));
      assert.deepEqual(
        txs.map((x) => x.originalTransactionId),
        [original, original, original],
      );
      assert.equal(txs[0].transactionId, original);
      assert.notEqual(txs[1].transactionId, original);
      assert.equal(txs[1].transactionReason, 'RENEWAL');
      assert.equal(txs[2].transactionId, original);
      assert.equal(typeof txs[2].revocationDate, 'number');
      // subscription notifications carry the renewal info, signed and verifiable too
      for (const d of decoded.slice(1)) {
        const renewal = await verifier.verifyAndDecodeRenewalInfo(d.data!.signedRenewalInfo!);
        assert.equal(renewal.originalTransactionId, original);
      }

      const key = ok(await send('POST', '/developer/api-keys', { token: dev.token }), 201) as CreatedKey;
      const client = new OrchardClient(baseUrl, key, app.bundleId);
      const history = await client.getNotificationHistory(null, { startDate: Date.now() - 3_600_000, endDate: Date.now() + 60_000 });
      assert.equal(history.hasMore, false);
      assert.equal(history.notificationHistory!.length, 3);
      const [subscribed, renewed, refunded] = history.notificationHistory!;
      assert.equal(subscribed.signedPayload, received[0].body.signedPayload);
      assert.deepEqual(
        subscribed.sendAttempts!.map((a) => a.sendAttemptResult),
        ['UNSUCCESSFUL_HTTP_RESPONSE_CODE', 'SUCCESS'],
      );
      assert.ok(subscribed.sendAttempts![0].attemptDate! <= subscribed.sendAttempts![1].attemptDate!);
      assert.deepEqual(
        renewed.sendAttempts!.map((a) => a.sendAttemptResult),
        ['SUCCESS'],
      );
      assert.equal(refunded.signedPayload, received[3].body.signedPayload);

      const refunds = await client.getNotificationHistory(null, {
        startDate: Date.now() - 3_600_000,
        endDate: Date.now() + 60_000,
        notificationType: NotificationTypeV2.REFUND,
      });
      assert.deepEqual(
        refunds.notificationHistory!.map((h) => h.signedPayload),
        [received[3].body.signedPayload],
      );
      const byTransaction = await client.getNotificationHistory(null, {
        startDate: Date.now() - 3_600_000,
        endDate: Date.now() + 60_000,
        transactionId: txs[1].transactionId,
      });
      assert.equal(byTransaction.notificationHistory!.length, 3);
      const failures = await client.getNotificationHistory(null, { startDate: Date.now() - 3_600_000, endDate: Date.now() + 60_000, onlyFailures: true });
      assert.equal(failures.notificationHistory!.length, 1);
      await assert.rejects(
        () => client.getNotificationHistory(null, { startDate: Date.now(), endDate: Date.now() - 1000 }),
        (err: { httpStatusCode?: number; apiError?: number }) => err.httpStatusCode === 400 && err.apiError === 4000013,
      );

      // Request a Test Notification, then its status
      const { testNotificationToken } = await client.requestTestNotification();
      assert.ok(testNotificationToken);
      await eventually('the TEST notification', () => (received.length >= 5 ? true : undefined));
      const testPayload = await verifier.verifyAndDecodeNotification(received[4].body.signedPayload);
      assert.equal(testPayload.notificationType, 'TEST');
      const status = await eventually('the TEST attempt', async () => {
        const s = await client.getTestNotificationStatus(testNotificationToken!);
        return s.sendAttempts?.length ? s : undefined;
      });
      assert.equal(status.signedPayload, received[4].body.signedPayload);
      assert.deepEqual(
        status.sendAttempts!.map((a) => a.sendAttemptResult),
        ['SUCCESS'],
      );
      await assert.rejects(
        () => client.getTestNotificationStatus('nope'),
        (err: { httpStatusCode?: number }) => err.httpStatusCode === 404,
      );
    });

    test("Sandbox and Production notifications are kept apart: each base URL's history and test notifications are its own", async () => {
      const since = Date.now() - 1000;
      const { appAppleId } = ok(await send('PUT', `/developer/apps/${app.id}/notifications-url`, { token: dev.token, body: { url: receiverUrl } }));
      const buyApp = async (environment: 'Sandbox' | 'Production') =>
        ok(
          await send('POST', '/purchases', {
            token: (await registerUser(t.app)).token,
            body: { appId: app.id, environment, price: { amountMilli: 990, currency: 'USD' } },
            headers: { 'idempotency-key': randomUUID() },
          }),
          201,
        ).purchase.transactionId as string;
      const sandboxTransaction = await buyApp('Sandbox');
      const productionTransaction = await buyApp('Production');
      for (const id of [sandboxTransaction, productionTransaction]) {
        await eventually(`the notification of ${id}`, async () => {
          const { rows } = await t.infra.db.query('SELECT 1 FROM notifications WHERE transaction_id = $1 AND signed_payload IS NOT NULL', [id]);
          return rows.length ? true : undefined;
        });
      }

      const key = ok(await send('POST', '/developer/api-keys', { token: dev.token }), 201) as CreatedKey;
      const production = new OrchardClient(baseUrl, key, app.bundleId);
      const sandbox = new OrchardClient(`${baseUrl}/sandbox`, key, app.bundleId);
      const verifiers = {
        Production: new SignedDataVerifier([rootDer], false, Environment.PRODUCTION, app.bundleId, appAppleId),
        Sandbox: new SignedDataVerifier([rootDer], false, Environment.SANDBOX, app.bundleId),
      };
      /** The transaction ids of every notification in one base URL's history, each verified for that environment. */
      const history = async (client: OrchardClient, environment: 'Production' | 'Sandbox') => {
        const ids: string[] = [];
        for (let token: string | null = null; ; ) {
          const page = await client.getNotificationHistory(token, { startDate: since, endDate: Date.now() + 60_000 });
          for (const item of page.notificationHistory!) {
            const decoded = await verifiers[environment].verifyAndDecodeNotification(item.signedPayload!); // rejects the other environment's
            assert.equal(decoded.data?.environment, environment);
            const transaction = decoded.data?.signedTransactionInfo; // TEST notifications have none
            if (transaction) ids.push((await verifiers[environment].verifyAndDecodeTransaction(transaction)).transactionId!);
          }
          if (!page.hasMore) return ids;
          token = page.paginationToken!;
        }
      };
      assert.deepEqual(await history(sandbox, 'Sandbox'), [sandboxTransaction]);
      const productionIds = await history(production, 'Production');
      assert.ok(productionIds.includes(productionTransaction));
      assert.ok(!productionIds.includes(sandboxTransaction));

      // a test notification asked for at the sandbox URL is a Sandbox one, unknown to the production URL
      const { testNotificationToken } = await sandbox.requestTestNotification();
      const status = await eventually('the Sandbox TEST attempt', async () => {
        const s = await sandbox.getTestNotificationStatus(testNotificationToken!);
        return s.sendAttempts?.length ? s : undefined;
      });
      assert.equal((await verifiers.Sandbox.verifyAndDecodeNotification(status.signedPayload!)).notificationType, 'TEST');
      await assert.rejects(
        () => production.getTestNotificationStatus(testNotificationToken!),
        (err: { httpStatusCode?: number }) => err.httpStatusCode === 404,
      );
    });

    test('nothing is recorded for an app without a URL; the retry schedule ends in failed', async () => {
      const count = async (sql: string) => (await t.infra.db.query<{ n: number }>(sql)).rows[0].n;
      const before = await count('SELECT count(*)::int AS n FROM notifications');
      const consumed = await count(`SELECT count(*)::int AS n FROM processed_events WHERE consumer = 'notifications'`);
      const other = await publishApp(send, otherDev.token, admin.token, { name: 'Silent App', isFree: false });
      const buyer = await registerUser(t.app);
      ok(
        await send('POST', '/purchases', {
          token: buyer.token,
          body: { appId: other.id, price: { amountMilli: 990, currency: 'USD' } },
          headers: { 'idempotency-key': randomUUID() },
        }),
        201,
      );
      await eventually('the purchase event to be consumed', async () =>
        (await count(`SELECT count(*)::int AS n FROM processed_events WHERE consumer = 'notifications'`)) > consumed ? true : undefined,
      );
      assert.equal(await count('SELECT count(*)::int AS n FROM notifications'), before);
      // a URL nobody listens on: every attempt fails, then the notification is failed
      const dead = http.createServer();
      await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
      const deadUrl = `http://127.0.0.1:${(dead.address() as { port: number }).port}/`;
      await new Promise((resolve) => dead.close(resolve));
      ok(await send('PUT', `/developer/apps/${other.id}/notifications-url`, { token: otherDev.token, body: { url: deadUrl } }));

      const purchase = ok(
        await send('POST', '/purchases', {
          token: (await registerUser(t.app)).token,
          body: { appId: other.id, price: { amountMilli: 990, currency: 'USD' } },
          headers: { 'idempotency-key': randomUUID() },
        }),
        201,
      ).purchase;
      const final = await eventually('the notification to fail', async () => {
        const { rows } = await t.infra.db.query<{ status: string; attempts: number; type: string }>(
          'SELECT status, attempts, type FROM notifications WHERE transaction_id = $1',
          [purchase.transactionId],
        );
        return rows[0]?.status === 'failed' ? rows[0] : undefined;
      });
      assert.equal(final.type, 'ONE_TIME_CHARGE');
      assert.equal(final.attempts, 4); // the first attempt and three retries
      const { rows: attempts } = await t.infra.db.query<{ result: string }>(
        'SELECT a.result FROM notification_attempts a JOIN notifications n ON n.id = a.notification_id WHERE n.transaction_id = $1',
        [purchase.transactionId],
      );
      assert.ok(attempts.every((a) => a.result !== 'SUCCESS'));
    });
  });
}
