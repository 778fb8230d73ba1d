// Commerce over HTTP: purchases with Idempotency-Key, the payment provider's failures, entitlements derived
// from transactions, receipts Apple's own library verifies, subscriptions (renewal, grace, expiry), refunds,
// and the ledger invariants after all of it.
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Environment as AppleEnvironment, SignedDataVerifier } from '@apple/app-store-server-library';
import { createModules } from '../src/app.ts';
import { kinds } from './support/infra.ts';
import { createTestApp, makeAdmin, makeDeveloper, registerUser, type TestApp, type TestUser } from './support/app.ts';
import { LIMITS, createDraft, expectError, ok, publishApp, sender, type Send } from './support/catalog.ts';

const DAY = 86_400_000;

for (const kind of kinds()) {
  describe(`commerce (${kind})`, () => {
    let t: TestApp;
    let send: Send;
    let dev: TestUser;
    let admin: TestUser;
    let paidApp: { id: string; bundleId: string };
    let freeApp: { id: string; bundleId: string };
    const products: Record<string, string> = {}; // productId -> uuid
    let rootDer: Buffer;

    const buy = (token: string, body: Record<string, unknown>, key: string | null = randomUUID()) =>
      send('POST', '/purchases', { token, body, headers: key === null ? {} : { 'idempotency-key': key } });
    const db = () => t.infra.db;
    const verifier = (bundleId: string, env = AppleEnvironment.PRODUCTION) => new SignedDataVerifier([rootDer], false, env, bundleId, 1234567890); // Production needs an appAppleId; transaction checks never compare it

    async function product(productId: string, body: Record<string, unknown>, amountMilli: number) {
      const p = ok(
        await send('POST', `/developer/apps/${paidApp.id}/products`, {
          token: dev.token,
          body: { productId, referenceName: productId, prices: [{ country: 'US', currency: 'USD', amountMilli }], ...body },
        }),
        201,
      );
      products[productId] = p.id;
    }

    before(async () => {
      t = await createTestApp(kind, {
        config: { limits: LIMITS },
        // fast breaker and small limits, so the failure paths are cheap to reach
        modules: (infra) =>
          createModules(infra.config, infra, {
            purchases: {
              limits: { purchases: { name: 'purchase', max: 1000, windowMs: 60_000 } },
              payments: { retries: 1, initialBackoffMs: 5, halfOpenAfterMs: 300, attemptTimeoutMs: 500 },
            },
          }),
      });
      send = sender(t.app);
      dev = await makeDeveloper(t.app, 'Orchard Labs');
      admin = await makeAdmin(t.infra, t.app);
      paidApp = await publishApp(send, dev.token, admin.token, { name: 'Paid Pro', isFree: false });
      freeApp = await publishApp(send, dev.token, admin.token, { name: 'Free Tool' });
      await product('gems.100', { type: 'consumable' }, 1990);
      await product('pro.lifetime', { type: 'non_consumable' }, 49_990);
      await product('pro.monthly', { type: 'auto_renewable', subscriptionPeriod: 'P1M', subscriptionGroup: 'pro' }, 2990);
      await product('pro.yearly', { type: 'auto_renewable', subscriptionPeriod: 'P1Y', subscriptionGroup: 'pro' }, 29_990);
      await product('declined.item', { type: 'non_consumable' }, 992); // the sandbox declines amounts ending in 2
      const cer = await t.app.inject({ method: 'GET', url: '/.well-known/orchard/receipt-root.cer' });
      assert.equal(cer.statusCode, 200);
      rootDer = cer.rawPayload;
    });
    after(async () => {
      await t?.close();
    });

    test('a paid app: charged once, a receipt Apple verifies, 70/30 ledger, then ALREADY_PURCHASED', async () => {
      const user = await registerUser(t.app);
      const token = randomUUID();
      const res = await buy(user.token, { appId: paidApp.id, price: { amountMilli: 990, currency: 'USD' }, appAccountToken: token });
      const body = ok(res, 201);
      assert.equal(body.purchase.type, 'app');
      assert.equal(body.purchase.price.amountMilli, 990);
      assert.equal(body.purchase.environment, 'Production');

      const decoded = await verifier(paidApp.bundleId).verifyAndDecodeTransaction(body.signedTransaction);
      assert.equal(decoded.transactionId, body.purchase.transactionId);
      assert.equal(decoded.originalTransactionId, body.purchase.transactionId);
      assert.equal(decoded.bundleId, paidApp.bundleId);
      assert.equal(decoded.productId, paidApp.bundleId);
      assert.equal(decoded.price, 990);
      assert.equal(decoded.currency, 'USD');
      assert.equal(decoded.storefront, 'USA');
      assert.equal(decoded.appAccountToken, token);
      assert.equal(decoded.environment, 'Production');
      assert.equal(decoded.transactionReason, 'PURCHASE');

      const lines = (
        await db().query(`SELECT account, amount_milli FROM ledger_lines WHERE transaction_id = $1 ORDER BY account`, [body.purchase.transactionId])
      ).rows;
      assert.deepEqual(
        lines.map((l) => [l.account, Number(l.amount_milli)]),
        [
          ['customer_payment', -990],
          ['developer_proceeds', 693],
          ['store_commission', 297],
        ],
      );

      const ent = ok(await send('GET', `/me/entitlements?appId=${paidApp.id}`, { token: user.token }));
      assert.deepEqual(
        ent.entitlements.map((e: { entitlement: string }) => e.entitlement),
        ['app'],
      );
      expectError(await buy(user.token, { appId: paidApp.id, price: { amountMilli: 990, currency: 'USD' } }), 409, 'ALREADY_PURCHASED');
    });

    test('a free app is "got" through the same path: no charge, no ledger lines, an entitlement', async () => {
      const user = await registerUser(t.app);
      const body = ok(await buy(user.token, { appId: freeApp.id }), 201);
      assert.equal(body.purchase.price.amountMilli, 0);
      const lines = await db().query('SELECT 1 FROM ledger_lines WHERE transaction_id = $1', [body.purchase.transactionId]);
      assert.equal(lines.rowCount, 0);
      const ent = ok(await send('GET', `/me/entitlements?appId=${freeApp.id}`, { token: user.token }));
      assert.equal(ent.entitlements[0].entitlement, 'app');
      expectError(await buy(user.token, { appId: freeApp.id }), 409, 'ALREADY_PURCHASED');
    });

    test('Idempotency-Key: replay, 422 on another body, and 200 concurrent requests with one key charge once', async () => {
      const user = await registerUser(t.app);
      const key = randomUUID();
      const body = { appId: paidApp.id, productId: 'gems.100', price: { amountMilli: 1990, currency: 'USD' } };
      const results = await Promise.all(Array.from({ length: 200 }, () => buy(user.token, body, key)));
      const created = results.filter((r) => r.statusCode === 201);
      const inFlight = results.filter((r) => r.statusCode === 409);
      assert.equal(created.length + inFlight.length, 200, results.map((r) => r.statusCode).join(','));
      assert.ok(created.length >= 1);
      for (const r of inFlight) assert.equal(r.json().error.code, 'IDEMPOTENCY_KEY_IN_FLIGHT');
      assert.equal(new Set(created.map((r) => r.json().purchase.transactionId)).size, 1);

      const replay = await buy(user.token, body, key);
      assert.equal(replay.statusCode, 201);
      assert.equal(replay.headers['idempotent-replayed'], 'true');
      assert.equal(replay.json().purchase.transactionId, created[0].json().purchase.transactionId);
      expectError(await buy(user.token, { ...body, quantity: 2, price: { amountMilli: 1990, currency: 'USD' } }, key), 422, 'IDEMPOTENCY_KEY_REUSED');

      const charges = await db().query(`SELECT count(*)::int AS n FROM sandbox_charges WHERE customer_id = $1`, [user.user.id]);
      assert.equal(charges.rows[0].n, 1);
      const orders = await db().query(`SELECT count(*)::int AS n FROM purchases WHERE user_id = $1`, [user.user.id]);
      assert.equal(orders.rows[0].n, 1);
      // another user's key space is their own
      const other = await registerUser(t.app);
      ok(await buy(other.token, body, key), 201);
    });

    test('concurrent purchases of one non-consumable with different keys: exactly one purchase and one charge', async () => {
      const user = await registerUser(t.app);
      const body = { appId: paidApp.id, productId: 'pro.lifetime', price: { amountMilli: 49_990, currency: 'USD' } };
      const results = await Promise.all(Array.from({ length: 20 }, () => buy(user.token, body)));
      assert.equal(results.filter((r) => r.statusCode === 201).length, 1, results.map((r) => r.body).join('\n'));
      for (const r of results.filter((r) => r.statusCode !== 201)) {
        assert.equal(r.statusCode, 409);
        assert.ok(['ALREADY_PURCHASED', 'PURCHASE_IN_PROGRESS'].includes(r.json().error.code));
      }
      const charges = await db().query(`SELECT count(*)::int AS n FROM sandbox_charges WHERE customer_id = $1 AND status = 'succeeded'`, [user.user.id]);
      assert.equal(charges.rows[0].n, 1);
    });

    test('consumables may be bought again, in a quantity', async () => {
      const user = await registerUser(t.app);
      const first = ok(await buy(user.token, { appId: paidApp.id, productId: 'gems.100', quantity: 3, price: { amountMilli: 1990, currency: 'USD' } }), 201);
      assert.equal(first.purchase.price.amountMilli, 5970);
      assert.equal(first.purchase.quantity, 3);
      ok(await buy(user.token, { appId: paidApp.id, productId: 'gems.100', price: { amountMilli: 1990, currency: 'USD' } }), 201);
      const ent = ok(await send('GET', `/me/entitlements?appId=${paidApp.id}`, { token: user.token }));
      assert.deepEqual(ent.entitlements, [], 'consumables grant no lasting entitlement');
    });

    test('a decline is a stored 402: replayed for its key, nothing owned, nothing in the ledger', async () => {
      const user = await registerUser(t.app);
      const key = randomUUID();
      const body = { appId: paidApp.id, productId: 'declined.item', price: { amountMilli: 992, currency: 'USD' } };
      const err = expectError(await buy(user.token, body, key), 402, 'PAYMENT_DECLINED');
      assert.deepEqual(err.details, { declineCode: 'card_declined' });
      const replay = await buy(user.token, body, key);
      assert.equal(replay.statusCode, 402);
      assert.equal(replay.headers['idempotent-replayed'], 'true');
      const owned = await db().query(`SELECT count(*)::int AS n FROM transactions WHERE user_id = $1`, [user.user.id]);
      assert.equal(owned.rows[0].n, 0);
      // a new key may try again (and is declined again: the sandbox rule is by amount)
      expectError(await buy(user.token, body), 402, 'PAYMENT_DECLINED');
    });

    test('provider outage: 503 with Retry-After, nothing charged or owned, and the key works once it is back', async () => {
      const user = await registerUser(t.app);
      const key = randomUUID();
      const body = { appId: paidApp.id, productId: 'pro.lifetime', price: { amountMilli: 49_990, currency: 'USD' } };
      t.modules.purchases.sandbox.configure({ outage: true });
      try {
        for (let i = 0; i < 4; i++) {
          const res = await buy(user.token, body, key);
          expectError(res, 503, 'PAYMENTS_UNAVAILABLE');
          assert.ok(Number(res.headers['retry-after']) >= 1);
        }
        assert.equal(t.modules.purchases.payments.state(), 'open');
      } finally {
        t.modules.purchases.sandbox.configure({ outage: false });
      }
      const charged = await db().query(`SELECT count(*)::int AS n FROM sandbox_charges WHERE customer_id = $1`, [user.user.id]);
      assert.equal(charged.rows[0].n, 0);
      const owned = await db().query(`SELECT count(*)::int AS n FROM purchases WHERE user_id = $1`, [user.user.id]);
      assert.equal(owned.rows[0].n, 0);
      await new Promise((r) => setTimeout(r, 350)); // half-open
      ok(await buy(user.token, body, key), 201);
      assert.equal(t.modules.purchases.payments.state(), 'closed');
    });

    test('bad input: clear 4xx for every kind, never a 500', async () => {
      const user = await registerUser(t.app);
      const de = await registerUser(t.app, { country: 'DE' });
      const jp = await registerUser(t.app, { country: 'JP' });
      const price = { amountMilli: 990, currency: 'USD' };
      expectError(await buy(user.token, { appId: paidApp.id, price }, null), 400, 'IDEMPOTENCY_KEY_REQUIRED');
      expectError(await buy(user.token, { appId: paidApp.id, price }, 'has space'), 400, 'IDEMPOTENCY_KEY_INVALID');
      expectError(await buy(user.token, { appId: paidApp.id, price }, 'x'.repeat(256)), 400, 'IDEMPOTENCY_KEY_INVALID');
      expectError(await buy(user.token, { appId: paidApp.id, price: { amountMilli: 1000, currency: 'USD' } }), 422, 'PRICE_MISMATCH');
      expectError(await buy(user.token, { appId: paidApp.id }), 422, 'PRICE_REQUIRED');
      expectError(await buy(de.token, { appId: paidApp.id, price }), 422, 'PRICE_MISMATCH'); // DE pays EUR
      ok(await buy(de.token, { appId: paidApp.id, price: { amountMilli: 990, currency: 'EUR' } }), 201);
      expectError(await buy(jp.token, { appId: paidApp.id, price }), 422, 'NOT_SOLD_IN_STOREFRONT');
      expectError(
        await buy(user.token, { appId: paidApp.id, productId: 'pro.lifetime', quantity: 2, price: { amountMilli: 49_990, currency: 'USD' } }),
        422,
        'QUANTITY_NOT_ALLOWED',
      );
      expectError(await buy(user.token, { appId: randomUUID(), price }), 404, 'NOT_FOUND');
      expectError(await buy(user.token, { appId: paidApp.id, productId: 'no.such', price }), 404, 'NOT_FOUND');
      const draft = await createDraft(send, dev.token, { isFree: false });
      expectError(await buy(user.token, { appId: draft.id, price }), 404, 'NOT_FOUND');
      expectError(await buy(user.token, { appId: 'not-a-uuid', price }), 400, 'VALIDATION_FAILED');
      expectError(await buy(user.token, { appId: paidApp.id, price: { amountMilli: -990, currency: 'USD' } }), 400, 'VALIDATION_FAILED');
      expectError(await buy(user.token, { appId: paidApp.id, price: { amountMilli: '990', currency: 'USD' } }), 400, 'VALIDATION_FAILED');
      expectError(await buy(user.token, { appId: paidApp.id, price: { amountMilli: 9.9, currency: 'USD' } }), 400, 'VALIDATION_FAILED');
      expectError(await buy(user.token, { appId: paidApp.id, price, coupon: 'FREE' }), 400, 'VALIDATION_FAILED');
      expectError(await buy(user.token, { appId: paidApp.id, price, environment: 'Staging' }), 400, 'VALIDATION_FAILED');
      expectError(await buy(user.token, { appId: paidApp.id, price, appAccountToken: 'nope' }), 400, 'VALIDATION_FAILED');
      const malformed = await t.app.inject({
        method: 'POST',
        url: '/api/v1/purchases',
        payload: '{"appId":',
        headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      });
      expectError(malformed, 400, 'INVALID_JSON');
      expectError(await send('POST', '/purchases', { body: { appId: paidApp.id, price }, headers: { 'idempotency-key': randomUUID() } }), 401);
      // nothing above was charged or kept
      const charged = await db().query(`SELECT count(*)::int AS n FROM sandbox_charges WHERE customer_id = $1`, [user.user.id]);
      assert.equal(charged.rows[0].n, 0);
      // a key whose request failed validation is free for a corrected request
      const key = randomUUID();
      expectError(await buy(user.token, { appId: paidApp.id, price: { amountMilli: 1, currency: 'USD' } }, key), 422, 'PRICE_MISMATCH');
      ok(await buy(user.token, { appId: paidApp.id, price }, key), 201);
    });

    test('a price change reaches purchases at once: the old price is a 422, the new one is charged', async () => {
      const app = await publishApp(send, dev.token, admin.token, { name: 'Repriced', isFree: false });
      const user = await registerUser(t.app);
      // warm this process's offer cache at the old price
      expectError(await buy(user.token, { appId: app.id, price: { amountMilli: 1, currency: 'USD' } }), 422, 'PRICE_MISMATCH');
      ok(
        await send('PUT', `/developer/apps/${app.id}/prices`, { token: dev.token, body: { prices: [{ country: 'US', currency: 'USD', amountMilli: 1990 }] } }),
      );
      const deadline = Date.now() + 5000;
      let res = await buy(user.token, { appId: app.id, price: { amountMilli: 990, currency: 'USD' } });
      while (res.statusCode !== 422 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        res = await buy(user.token, { appId: app.id, price: { amountMilli: 990, currency: 'USD' } });
      }
      const err = expectError(res, 422, 'PRICE_MISMATCH');
      assert.deepEqual(err.details, { amountMilli: 1990, currency: 'USD', storefront: 'US' });
      const body = ok(await buy(user.token, { appId: app.id, price: { amountMilli: 1990, currency: 'USD' } }), 201);
      assert.equal(body.purchase.price.amountMilli, 1990);
    });

    test('Sandbox purchases are tagged Sandbox everywhere and grant nothing in Production', async () => {
      const user = await registerUser(t.app);
      const body = ok(
        await buy(user.token, { appId: paidApp.id, productId: 'pro.lifetime', environment: 'Sandbox', price: { amountMilli: 49_990, currency: 'USD' } }),
        201,
      );
      assert.equal(body.purchase.environment, 'Sandbox');
      const decoded = await verifier(paidApp.bundleId, AppleEnvironment.SANDBOX).verifyAndDecodeTransaction(body.signedTransaction);
      assert.equal(decoded.environment, 'Sandbox');
      await assert.rejects(verifier(paidApp.bundleId).verifyAndDecodeTransaction(body.signedTransaction));
      const prod = ok(await send('GET', `/me/entitlements?appId=${paidApp.id}`, { token: user.token }));
      assert.deepEqual(prod.entitlements, []);
      const sandbox = ok(await send('GET', `/me/entitlements?appId=${paidApp.id}&environment=Sandbox`, { token: user.token }));
      assert.equal(sandbox.entitlements[0].entitlement, 'pro.lifetime');
      const lines = await db().query(`SELECT DISTINCT environment FROM ledger_lines WHERE transaction_id = $1`, [body.purchase.transactionId]);
      assert.deepEqual(lines.rows, [{ environment: 'Sandbox' }]);
    });

    test('receipts/verify: valid with live status; tampered, truncated, garbage and unknown are invalid with a reason', async () => {
      const user = await registerUser(t.app);
      const { signedTransaction } = ok(await buy(user.token, { appId: paidApp.id, price: { amountMilli: 990, currency: 'USD' } }), 201);
      const v = ok(await send('POST', '/receipts/verify', { body: { signedTransaction } }));
      assert.equal(v.valid, true);
      assert.equal(v.status, 'active');
      assert.equal(v.transaction.bundleId, paidApp.bundleId);

      const [h, p, s] = signedTransaction.split('.');
      const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
      const tampered = [h, Buffer.from(JSON.stringify({ ...payload, price: 1 })).toString('base64url'), s].join('.');
      const bad = ok(await send('POST', '/receipts/verify', { body: { signedTransaction: tampered } }));
      assert.deepEqual([bad.valid, bad.reason], [false, 'SIGNATURE_INVALID']);
      await assert.rejects(verifier(paidApp.bundleId).verifyAndDecodeTransaction(tampered));
      for (const junk of [signedTransaction.slice(0, -20), 'a.b.c', 'garbage', `${h}.${p}`]) {
        const r = ok(await send('POST', '/receipts/verify', { body: { signedTransaction: junk } }));
        assert.equal(r.valid, false, junk);
        assert.equal(typeof r.reason, 'string');
      }
      expectError(await send('POST', '/receipts/verify', { body: { signedTransaction: 42 } }), 400);
      expectError(await send('POST', '/receipts/verify', { body: {} }), 400);
    });

    test('refund: revokes the transaction and its entitlement, reverses the ledger, the receipt reads revoked, the item can be bought again', async () => {
      const user = await registerUser(t.app);
      const { purchase, signedTransaction } = ok(await buy(user.token, { appId: paidApp.id, price: { amountMilli: 990, currency: 'USD' } }), 201);
      const refundKey = randomUUID();
      const refund = (token: string, id: string, key = randomUUID()) =>
        send('POST', `/admin/transactions/${id}/refund`, { token, body: { reason: 1 }, headers: { 'idempotency-key': key } });
      expectError(await refund(user.token, purchase.transactionId), 403);
      const r = ok(await refund(admin.token, purchase.transactionId, refundKey));
      const decoded = await verifier(paidApp.bundleId).verifyAndDecodeTransaction(r.signedTransaction);
      assert.equal(decoded.revocationReason, 1);
      assert.ok(decoded.revocationDate);
      const replay = await refund(admin.token, purchase.transactionId, refundKey);
      assert.equal(replay.statusCode, 200);
      assert.equal(replay.headers['idempotent-replayed'], 'true');
      expectError(await refund(admin.token, purchase.transactionId), 409, 'ALREADY_REFUNDED');
      expectError(await refund(admin.token, '999999999999'), 404);
      expectError(await refund(admin.token, 'abc'), 400);

      const ent = ok(await send('GET', `/me/entitlements?appId=${paidApp.id}`, { token: user.token }));
      assert.deepEqual(ent.entitlements, []);
      const sums = await db().query(
        `SELECT account, sum(amount_milli)::bigint AS total FROM ledger_lines WHERE transaction_id = $1 GROUP BY account ORDER BY account`,
        [purchase.transactionId],
      );
      assert.deepEqual(
        sums.rows.map((x) => Number(x.total)),
        [0, 0, 0],
      );
      const v = ok(await send('POST', '/receipts/verify', { body: { signedTransaction } }));
      assert.equal(v.status, 'revoked');
      ok(await buy(user.token, { appId: paidApp.id, price: { amountMilli: 990, currency: 'USD' } }), 201);
    });

    test('the library and downloads follow purchases and refunds', async () => {
      const user = await registerUser(t.app);
      expectError(await send('POST', `/apps/${paidApp.id}/download`, { token: user.token }), 403, 'NOT_OWNED');
      const { purchase } = ok(await buy(user.token, { appId: paidApp.id, price: { amountMilli: 990, currency: 'USD' } }), 201);
      const library = ok(await send('GET', '/me/library', { token: user.token }));
      assert.deepEqual(
        library.items.map((i: { appId: string }) => i.appId),
        [paidApp.id],
      );
      const link = ok(await send('POST', `/apps/${paidApp.id}/download`, { token: user.token }));
      const file = await t.app.inject({ method: 'GET', url: new URL(link.url).pathname });
      assert.equal(file.statusCode, 200);
      assert.equal(file.rawPayload.length, link.size);
      ok(
        await send('POST', `/admin/transactions/${purchase.transactionId}/refund`, {
          token: admin.token,
          body: {},
          headers: { 'idempotency-key': randomUUID() },
        }),
      );
      expectError(await send('POST', `/apps/${paidApp.id}/download`, { token: user.token }), 403, 'NOT_OWNED');
      assert.deepEqual(ok(await send('GET', '/me/library', { token: user.token })).items, []);
    });

    test('entitlements are derived: two products grant "pro"; refunding one keeps the access the other grants', async () => {
      for (const id of ['pro.lifetime', 'pro.monthly']) {
        ok(await send('PUT', `/developer/apps/${paidApp.id}/products/${products[id]}/entitlements`, { token: dev.token, body: { entitlements: ['pro'] } }));
      }
      const stranger = await makeDeveloper(t.app, 'Not Yours');
      expectError(
        await send('PUT', `/developer/apps/${paidApp.id}/products/${products['pro.lifetime']}/entitlements`, {
          token: stranger.token,
          body: { entitlements: ['x'] },
        }),
        404,
      );
      try {
        const user = await registerUser(t.app);
        const life = ok(await buy(user.token, { appId: paidApp.id, productId: 'pro.lifetime', price: { amountMilli: 49_990, currency: 'USD' } }), 201);
        ok(await buy(user.token, { appId: paidApp.id, productId: 'pro.monthly', price: { amountMilli: 2990, currency: 'USD' } }), 201);
        let ent = ok(await send('GET', `/me/entitlements?appId=${paidApp.id}`, { token: user.token }));
        assert.equal(ent.entitlements.length, 1);
        assert.equal(ent.entitlements[0].entitlement, 'pro');
        assert.equal(ent.entitlements[0].grantedBy.length, 2);
        assert.equal(ent.entitlements[0].expiresDate, null, 'the lifetime grant never ends');
        ok(
          await send('POST', `/admin/transactions/${life.purchase.transactionId}/refund`, {
            token: admin.token,
            body: {},
            headers: { 'idempotency-key': randomUUID() },
          }),
        );
        ent = ok(await send('GET', `/me/entitlements?appId=${paidApp.id}`, { token: user.token }));
        assert.equal(ent.entitlements.length, 1);
        assert.deepEqual(
          ent.entitlements[0].grantedBy.map((g: { productId: string }) => g.productId),
          ['pro.monthly'],
        );
      } finally {
        for (const id of ['pro.lifetime', 'pro.monthly']) {
          ok(await send('PUT', `/developer/apps/${paidApp.id}/products/${products[id]}/entitlements`, { token: dev.token, body: { entitlements: [] } }));
        }
      }
    });

    test('subscriptions: one per group, renewals charge each period once, 85/15 after a year of service, cancel expires at period end', async () => {
      const subs = t.modules.purchases.subscriptions;
      const user = await registerUser(t.app);
      const first = ok(await buy(user.token, { appId: paidApp.id, productId: 'pro.monthly', price: { amountMilli: 2990, currency: 'USD' } }), 201);
      expectError(
        await buy(user.token, { appId: paidApp.id, productId: 'pro.yearly', price: { amountMilli: 29_990, currency: 'USD' } }),
        409,
        'ALREADY_PURCHASED',
      );
      const subId = first.purchase.subscriptionId;
      let sub = ok(await send('GET', `/me/subscriptions/${subId}`, { token: user.token }));
      assert.equal(sub.status, 'active');
      assert.equal(sub.currentPeriodEnd, first.purchase.expiresDate);
      const other = await registerUser(t.app);
      expectError(await send('GET', `/me/subscriptions/${subId}`, { token: other.token }), 404);

      // run the job month after month: each run renews exactly once, even when run twice
      let now = new Date(first.purchase.expiresDate);
      for (let month = 1; month <= 13; month++) {
        now = new Date(now.getTime() + 1000);
        await subs.runRenewals(now);
        await subs.runRenewals(now);
        sub = ok(await send('GET', `/me/subscriptions/${subId}`, { token: user.token }));
        now = new Date(sub.currentPeriodEnd);
      }
      const txs = (
        await db().query(
          `SELECT t.transaction_reason, t.period_index, l.commission_rate_pct FROM transactions t
           JOIN ledger_lines l ON l.transaction_id = t.id AND l.account = 'store_commission'
          WHERE t.original_transaction_id = $1 ORDER BY t.period_index`,
          [first.purchase.transactionId],
        )
      ).rows;
      assert.equal(txs.length, 14);
      assert.deepEqual(
        txs.map((x) => x.period_index),
        Array.from({ length: 14 }, (_, i) => i),
      );
      assert.equal(txs[0].transaction_reason, 'PURCHASE');
      assert.ok(txs.slice(1).every((x) => x.transaction_reason === 'RENEWAL'));
      assert.deepEqual(
        txs.map((x) => x.commission_rate_pct),
        [...Array(12).fill(30), 15, 15],
      );

      // every transaction, renewals included, comes signed (StoreKit's Transaction.all), newest first, in pages
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { items: { transactionId: string; signedTransaction: string }[]; nextCursor: string | null } = ok(
          await send('GET', `/me/transactions?appId=${paidApp.id}&limit=5${cursor ? `&cursor=${cursor}` : ''}`, { token: user.token }),
        );
        for (const item of page.items) {
          const decoded = await verifier(paidApp.bundleId).verifyAndDecodeTransaction(item.signedTransaction);
          assert.equal(decoded.transactionId, item.transactionId);
          assert.equal(decoded.originalTransactionId, first.purchase.transactionId);
          assert.equal(decoded.transactionReason, item.transactionId === first.purchase.transactionId ? 'PURCHASE' : 'RENEWAL');
          seen.push(item.transactionId);
        }
        cursor = page.nextCursor;
      } while (cursor);
      assert.equal(seen.length, 14);
      assert.deepEqual(
        seen,
        [...seen].sort((a, b) => (BigInt(b) > BigInt(a) ? 1 : -1)),
      );
      assert.deepEqual(ok(await send('GET', `/me/transactions?appId=${paidApp.id}`, { token: other.token })).items, []);
      expectError(await send('GET', `/me/transactions?appId=${paidApp.id}&cursor=nope`, { token: user.token }), 400, 'BAD_CURSOR');
      expectError(await send('GET', `/me/transactions?appId=${paidApp.id}&limit=1000`, { token: user.token }), 400, 'VALIDATION_FAILED');

      ok(await send('POST', `/me/subscriptions/${subId}/cancel`, { token: user.token }));
      sub = ok(await send('GET', `/me/subscriptions/${subId}`, { token: user.token }));
      assert.equal(sub.autoRenew, false);
      await subs.runRenewals(new Date(new Date(sub.currentPeriodEnd).getTime() + 1000));
      sub = ok(await send('GET', `/me/subscriptions/${subId}`, { token: user.token }));
      assert.equal(sub.status, 'expired');
      // an expired subscriber may subscribe again; the group keeps its original transaction id
      const again = ok(await buy(user.token, { appId: paidApp.id, productId: 'pro.yearly', price: { amountMilli: 29_990, currency: 'USD' } }), 201);
      assert.equal(again.purchase.originalTransactionId, first.purchase.transactionId);
    });

    test('billing failure: grace period keeps access, then billing retry (no access), then expiry', async () => {
      const subs = t.modules.purchases.subscriptions;
      const user = await registerUser(t.app);
      const first = ok(await buy(user.token, { appId: paidApp.id, productId: 'pro.monthly', price: { amountMilli: 2990, currency: 'USD' } }), 201);
      const subId = first.purchase.subscriptionId;
      const end = new Date(first.purchase.expiresDate).getTime();
      const entitled = async (at: number) => {
        const { activeEntitlements } = await import('../src/modules/purchases/entitlements.ts');
        return (await activeEntitlements(db(), user.user.id, paidApp.id, 'Production', new Date(at))).length > 0;
      };
      t.modules.purchases.sandbox.configure({ declineRate: 1 });
      try {
        await subs.runRenewals(new Date(end + 1000));
        let sub = ok(await send('GET', `/me/subscriptions/${subId}`, { token: user.token }));
        assert.equal(sub.status, 'grace');
        assert.ok(await entitled(end + DAY), 'access continues in the grace period');
        await subs.runRenewals(new Date(end + 20 * DAY));
        sub = ok(await send('GET', `/me/subscriptions/${subId}`, { token: user.token }));
        assert.equal(sub.status, 'billing_retry');
        assert.equal(await entitled(end + 20 * DAY), false);
        await subs.runRenewals(new Date(end + 61 * DAY));
        sub = ok(await send('GET', `/me/subscriptions/${subId}`, { token: user.token }));
        assert.equal(sub.status, 'expired');
      } finally {
        t.modules.purchases.sandbox.configure({ declineRate: 0 });
      }
    });

    test('ledger invariants after everything: every event balances, charges match purchases, no orphan entitlements', async () => {
      const unbalanced = await db().query(`SELECT transaction_id, entry FROM ledger_lines GROUP BY transaction_id, entry HAVING sum(amount_milli) <> 0`);
      assert.deepEqual(unbalanced.rows, []);
      const paidTransactions = await db().query(`SELECT count(*)::int AS n FROM transactions WHERE price_milli > 0`);
      const chargeEvents = await db().query(`SELECT count(DISTINCT transaction_id)::int AS n FROM ledger_lines WHERE entry = 'charge'`);
      assert.equal(chargeEvents.rows[0].n, paidTransactions.rows[0].n);
      const charges = await db().query(`SELECT count(*)::int AS n FROM sandbox_charges WHERE status = 'succeeded'`);
      assert.equal(charges.rows[0].n, paidTransactions.rows[0].n, 'one provider charge per paid transaction: no double charges');
      const orphans = await db().query(
        `SELECT p.id FROM purchases p LEFT JOIN transactions t ON t.id = p.transaction_id
          WHERE (p.status IN ('completed', 'refunded')) <> (t.id IS NOT NULL)`,
      );
      assert.deepEqual(orphans.rows, []);
      const events = await db().query(`SELECT count(*)::int AS n FROM outbox WHERE type = 'purchase.completed'`);
      const completed = await db().query(`SELECT count(*)::int AS n FROM purchases WHERE status IN ('completed', 'refunded')`);
      assert.equal(events.rows[0].n, completed.rows[0].n);
    });
  });
}
