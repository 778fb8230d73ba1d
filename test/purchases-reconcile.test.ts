// Reconciliation with the payment provider (issue 17, items 3 and 5): orders a crash left pending are settled
// from the provider's books (charged -> completed, declined -> failed, never charged -> released), a new purchase
// of the same item settles a stale order at once instead of 409 for ever, two reconcilers never settle an order
// twice, and the daily comparison of the books finds charges without orders and orders without charges.
//
// A crash is simulated with a CHECK constraint (NOT VALID, so only new writes are checked) that makes one write
// of one buyer fail: the request stops exactly there, as if its process had died, and the constraint is dropped.
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { createModules } from '../src/app.ts';
import type { Principal } from '../src/platform/http/auth.ts';
import { reconcileSettingsFromEnv } from '../src/modules/purchases/reconcile.ts';
import type { PurchaseInput } from '../src/modules/purchases/service.ts';
import { kinds } from './support/infra.ts';
import { createTestApp, makeAdmin, makeDeveloper, registerUser, type TestApp, type TestUser } from './support/app.ts';
import { LIMITS, expectError, ok, publishApp, sender, type Send } from './support/catalog.ts';

test('reconciliation settings come from the environment, with defaults', () => {
  assert.deepEqual(reconcileSettingsFromEnv({}), { lockSeconds: 60, graceSeconds: 1, intervalSeconds: 60 });
  assert.deepEqual(reconcileSettingsFromEnv({ PURCHASE_LOCK_SECONDS: '10', RECONCILE_INTERVAL_SECONDS: '5', RECONCILE_GRACE_SECONDS: '0' }), {
    lockSeconds: 10,
    graceSeconds: 0,
    intervalSeconds: 5,
  });
  assert.throws(() => reconcileSettingsFromEnv({ PURCHASE_LOCK_SECONDS: 'soon' }), /PURCHASE_LOCK_SECONDS must be a number/);
  assert.throws(() => reconcileSettingsFromEnv({ RECONCILE_INTERVAL_SECONDS: '0' }), /RECONCILE_INTERVAL_SECONDS/);
});

for (const kind of kinds()) {
  describe(`reconciliation (${kind})`, () => {
    let t: TestApp;
    let send: Send;
    let admin: TestUser;
    let paidApp: { id: string; bundleId: string };
    let freeApp: { id: string; bundleId: string };
    const statuses: number[] = [];

    const db = () => t.infra.db;
    const commerce = () => t.modules.purchases;
    const buy = async (user: TestUser, body: Record<string, unknown>, key: string = randomUUID()) => {
      const res = await send('POST', '/purchases', { token: user.token, body, headers: { 'idempotency-key': key } });
      statuses.push(res.statusCode);
      return res;
    };
    const principal = (u: TestUser): Principal => ({ userId: u.user.id, role: 'user', sessionId: 'test', developerId: null, country: 'US' });

    const LIFETIME = { appId: '', productId: 'pro.lifetime', price: { amountMilli: 49_990, currency: 'USD' } };
    const GEMS = { appId: '', productId: 'gems.100', price: { amountMilli: 1990, currency: 'USD' } };
    const MONTHLY = { appId: '', productId: 'pro.monthly', price: { amountMilli: 2990, currency: 'USD' } };
    const DECLINED = { appId: '', productId: 'declined.item', price: { amountMilli: 992, currency: 'USD' } };

    const CRASH_AT = {
      /** the provider never recorded the charge */
      charge: (u: TestUser) => ['sandbox_charges', `customer_id <> '${u.user.id}'`],
      /** charged; the completion (transaction, ledger, event, order) never committed */
      completion: (u: TestUser) => ['transactions', `user_id <> '${u.user.id}'`],
      /** declined; the order was never marked failed */
      decline: (u: TestUser) => ['purchases', `status <> 'failed' OR user_id <> '${u.user.id}'`],
    } as const;

    /** A purchase whose request dies at `at`, left pending with its lock run out (as minutes later). */
    async function crashed(user: TestUser, body: Record<string, unknown>, at: keyof typeof CRASH_AT, key = randomUUID()) {
      const [table, check] = CRASH_AT[at](user);
      const name = `crash_${randomBytes(4).toString('hex')}`;
      await db().query(`ALTER TABLE ${table} ADD CONSTRAINT ${name} CHECK (${check}) NOT VALID`);
      try {
        await assert.rejects(commerce().purchases.purchase(principal(user), key, body as unknown as PurchaseInput), /violates check constraint/);
      } finally {
        await db().query(`ALTER TABLE ${table} DROP CONSTRAINT ${name}`);
      }
      const order = (await db().query(`SELECT id, status, transaction_id FROM purchases WHERE user_id = $1 AND idempotency_key = $2`, [user.user.id, key]))
        .rows[0];
      assert.equal(order?.status, 'pending', 'the crash left the order pending');
      await expireLock(order.id);
      return { key, orderId: order.id as string, transactionId: String(order.transaction_id) };
    }
    const expireLock = (orderId: string) => db().query(`UPDATE purchases SET locked_until = now() - interval '1 hour' WHERE id = $1`, [orderId]);
    const orderOf = async (orderId: string) => (await db().query('SELECT * FROM purchases WHERE id = $1', [orderId])).rows[0];
    const chargesOf = async (user: TestUser) =>
      (await db().query(`SELECT id, status, idempotency_key FROM sandbox_charges WHERE customer_id = $1 ORDER BY created_at`, [user.user.id])).rows;
    const metric = async (name: string) => (await t.infra.metrics.registry.getSingleMetric(name)!.get()).values;

    before(async () => {
      t = await createTestApp(kind, {
        config: { limits: LIMITS },
        modules: (infra) =>
          createModules(infra.config, infra, {
            // the default resilience settings: what production runs
            purchases: { limits: { purchases: { name: 'purchase', max: 1000, windowMs: 60_000 } } },
          }),
      });
      send = sender(t.app);
      const dev = await makeDeveloper(t.app, 'Reconciled Labs');
      admin = await makeAdmin(t.infra, t.app);
      paidApp = await publishApp(send, dev.token, admin.token, { name: 'Paid Reconciled', isFree: false });
      freeApp = await publishApp(send, dev.token, admin.token, { name: 'Free Reconciled' });
      const product = async (productId: string, body: Record<string, unknown>, amountMilli: number) =>
        ok(
          await send('POST', `/developer/apps/${paidApp.id}/products`, {
            token: dev.token,
            body: { productId, referenceName: productId, prices: [{ country: 'US', currency: 'USD', amountMilli }], ...body },
          }),
          201,
        );
      await product('gems.100', { type: 'consumable' }, 1990);
      await product('pro.lifetime', { type: 'non_consumable' }, 49_990);
      await product('pro.monthly', { type: 'auto_renewable', subscriptionPeriod: 'P1M', subscriptionGroup: 'pro' }, 2990);
      await product('declined.item', { type: 'non_consumable' }, 992);
      for (const body of [LIFETIME, GEMS, MONTHLY, DECLINED]) body.appId = paidApp.id;
    });
    after(async () => {
      assert.ok(!statuses.includes(500), `no request answered 500 (${statuses.join(',')})`);
      await t?.close();
    });

    test('charged, then crashed: reconcile completes it as the request would have; a new key gets ALREADY_PURCHASED; the original key replays it', async () => {
      const user = await registerUser(t.app);
      const { key, orderId, transactionId } = await crashed(user, LIFETIME, 'completion');
      const [charge] = await chargesOf(user);
      assert.equal(charge.status, 'succeeded');
      assert.equal(charge.idempotency_key, `purchase:${user.user.id}:${key}`);
      assert.ok((await metric('orchard_orders_pending_past_lock'))[0].value >= 1);

      const report = await commerce().reconcile();
      assert.ok(report && report.completed >= 1, JSON.stringify(report));
      assert.equal((await metric('orchard_orders_pending_past_lock'))[0].value, 0);

      const order = await orderOf(orderId);
      assert.equal(order.status, 'completed');
      assert.equal(order.provider_charge_id, charge.id);
      assert.equal(order.response_status, 201);
      const txn = (await db().query('SELECT * FROM transactions WHERE id = $1', [transactionId])).rows[0];
      assert.equal(txn.purchase_id, orderId);
      assert.equal(Number(txn.price_milli), 49_990);
      assert.equal(txn.provider_charge_id, charge.id);
      assert.equal(txn.product_id, 'pro.lifetime');
      const lines = (await db().query(`SELECT account, amount_milli FROM ledger_lines WHERE transaction_id = $1 ORDER BY account`, [transactionId])).rows;
      assert.deepEqual(
        lines.map((l) => [l.account, Number(l.amount_milli)]),
        [
          ['customer_payment', -49_990],
          ['developer_proceeds', 34_993],
          ['store_commission', 14_997],
        ],
      );
      const events = await db().query(`SELECT payload FROM outbox WHERE type = 'purchase.completed' AND aggregate_id = $1`, [orderId]);
      assert.equal(events.rows.length, 1);
      assert.equal(events.rows[0].payload.transactionId, transactionId);

      expectError(await buy(user, LIFETIME), 409, 'ALREADY_PURCHASED');
      const replay = await buy(user, LIFETIME, key);
      assert.equal(replay.statusCode, 201);
      assert.equal(replay.headers['idempotent-replayed'], 'true');
      assert.deepEqual(replay.json(), order.response);
      assert.equal(replay.json().purchase.transactionId, transactionId);
      const verified = ok(await send('POST', '/receipts/verify', { body: { signedTransaction: replay.json().signedTransaction } }));
      assert.deepEqual([verified.valid, verified.status], [true, 'active']);
      const ent = ok(await send('GET', `/me/entitlements?appId=${paidApp.id}`, { token: user.token }));
      assert.deepEqual(
        ent.entitlements.map((e: { entitlement: string }) => e.entitlement),
        ['pro.lifetime'],
      );
      assert.equal((await chargesOf(user)).length, 1, 'charged once');

      const reconciled = await metric('orchard_orders_reconciled_total');
      assert.ok(reconciled.some((v) => v.labels.outcome === 'completed' && v.value >= 1));
    });

    test('a new purchase finding a stale pending order settles it at once: no 409 PURCHASE_IN_PROGRESS for ever', async () => {
      const user = await registerUser(t.app);
      const { orderId } = await crashed(user, LIFETIME, 'completion');
      expectError(await buy(user, LIFETIME), 409, 'ALREADY_PURCHASED');
      assert.equal((await orderOf(orderId)).status, 'completed');

      // a consumable: the stale order completes and the new one is bought too
      const gems = await crashed(user, GEMS, 'completion');
      const fresh = ok(await buy(user, GEMS), 201);
      assert.notEqual(fresh.purchase.id, gems.orderId);
      assert.equal((await orderOf(gems.orderId)).status, 'completed');
      const succeeded = (await chargesOf(user)).filter((c) => c.status === 'succeeded');
      assert.equal(succeeded.length, 3);

      // within its lock the order is its request's: the other key waits
      const other = await registerUser(t.app);
      const locked = await crashed(other, LIFETIME, 'completion');
      await db().query(`UPDATE purchases SET locked_until = now() + interval '1 minute' WHERE id = $1`, [locked.orderId]);
      expectError(await buy(other, LIFETIME), 409, 'PURCHASE_IN_PROGRESS');
      await expireLock(locked.orderId);
    });

    test('never charged: the order is released; a new key can buy, and the original key starts again', async () => {
      const user = await registerUser(t.app);
      const first = await crashed(user, LIFETIME, 'charge');
      assert.deepEqual(await chargesOf(user), []);
      const report = await commerce().reconcile();
      assert.ok(report && report.released >= 1, JSON.stringify(report));
      assert.equal(await orderOf(first.orderId), undefined);
      ok(await buy(user, LIFETIME), 201);
      expectError(await buy(user, LIFETIME, first.key), 409, 'ALREADY_PURCHASED');

      const again = await registerUser(t.app);
      const crashedKey = await crashed(again, LIFETIME, 'charge');
      await commerce().reconcile();
      const retried = ok(await buy(again, LIFETIME, crashedKey.key), 201);
      assert.equal(retried.purchase.productId, 'pro.lifetime');
      assert.equal((await chargesOf(again)).length, 1);
    });

    test('declined: the order is failed with the decline its key replays; a new key may try again', async () => {
      const user = await registerUser(t.app);
      const { key, orderId } = await crashed(user, DECLINED, 'decline');
      assert.deepEqual(
        (await chargesOf(user)).map((c) => c.status),
        ['declined'],
      );
      const report = await commerce().reconcile();
      assert.ok(report && report.failed >= 1, JSON.stringify(report));
      const order = await orderOf(orderId);
      assert.deepEqual([order.status, order.failure_code, order.response_status], ['failed', 'card_declined', 402]);
      const replay = await buy(user, DECLINED, key);
      assert.equal(replay.statusCode, 402);
      assert.equal(replay.headers['idempotent-replayed'], 'true');
      assert.equal(replay.json().error.code, 'PAYMENT_DECLINED');
      expectError(await buy(user, DECLINED), 402, 'PAYMENT_DECLINED');
      assert.equal((await db().query('SELECT count(*)::int AS n FROM transactions WHERE user_id = $1', [user.user.id])).rows[0].n, 0);
    });

    test('a subscription: reconciliation starts the subscription as the purchase would have', async () => {
      const user = await registerUser(t.app);
      const { key, orderId, transactionId } = await crashed(user, MONTHLY, 'completion');
      assert.equal((await db().query('SELECT count(*)::int AS n FROM subscriptions WHERE user_id = $1', [user.user.id])).rows[0].n, 0);
      await commerce().reconcile();
      assert.equal((await orderOf(orderId)).status, 'completed');
      const subs = ok(await send('GET', '/me/subscriptions', { token: user.token })).items;
      assert.equal(subs.length, 1);
      assert.equal(subs[0].status, 'active');
      assert.equal(subs[0].originalTransactionId, transactionId);
      const txn = (await db().query('SELECT period_index, expires_date, price_milli FROM transactions WHERE id = $1', [transactionId])).rows[0];
      assert.equal(txn.period_index, 0);
      assert.equal(new Date(txn.expires_date).toISOString(), subs[0].currentPeriodEnd);
      const replay = ok(await buy(user, MONTHLY, key), 201);
      assert.equal(replay.purchase.subscriptionId, subs[0].id);
      assert.equal(replay.purchase.expiresDate, subs[0].currentPeriodEnd);
      expectError(await buy(user, MONTHLY), 409, 'ALREADY_PURCHASED');
    });

    test('a free app completes without asking the provider (even while it is down)', async () => {
      const user = await registerUser(t.app);
      const { orderId, transactionId } = await crashed(user, { appId: freeApp.id }, 'completion');
      commerce().sandbox.configure({ outage: true });
      try {
        const report = await commerce().reconcile();
        assert.ok(report && report.completed >= 1, JSON.stringify(report));
      } finally {
        commerce().sandbox.configure({ outage: false });
      }
      assert.equal((await orderOf(orderId)).status, 'completed');
      assert.equal((await db().query('SELECT count(*)::int AS n FROM ledger_lines WHERE transaction_id = $1', [transactionId])).rows[0].n, 0);
      expectError(await buy(user, { appId: freeApp.id }), 409, 'ALREADY_PURCHASED');
    });

    test('provider unavailable: the order waits (deferred), a new key gets 503 with Retry-After, a later pass settles it', async () => {
      const user = await registerUser(t.app);
      const { orderId } = await crashed(user, LIFETIME, 'completion');
      commerce().sandbox.configure({ outage: true });
      try {
        const report = await commerce().reconcile();
        assert.ok(report && report.deferred === 1 && report.completed === 0, JSON.stringify(report));
        const stale = await db().query(`SELECT status, locked_until < now() AS stale FROM purchases WHERE id = $1`, [orderId]);
        assert.deepEqual(stale.rows[0], { status: 'pending', stale: true }, 'the claim was given back');
        const res = await buy(user, LIFETIME);
        expectError(res, 503, 'PAYMENTS_UNAVAILABLE');
        assert.ok(Number(res.headers['retry-after']) >= 1);
      } finally {
        commerce().sandbox.configure({ outage: false });
      }
      await commerce().reconcile();
      assert.equal((await orderOf(orderId)).status, 'completed');
      assert.equal(commerce().payments.state(), 'closed', 'lookups do not trip the breaker of the purchase path');
    });

    test('two reconcilers at once: one pass at a time, and each order is settled once', async () => {
      const first = [];
      for (let i = 0; i < 5; i++) first.push(await crashed(await registerUser(t.app), GEMS, 'completion'));
      // the cache lock: a process that cannot take it skips its turn
      const passes = await Promise.all([commerce().reconcile(), commerce().reconcile()]);
      assert.equal(passes.filter((p) => p === null).length, 1, 'the second pass skipped its turn');
      assert.ok(
        passes.some((p) => p && p.completed >= 5),
        JSON.stringify(passes),
      );

      // Past the lock (a pass that outlived it, or a process that missed it) reconcilers meet on the orders: each is claimed once.
      const second = [];
      for (let i = 0; i < 5; i++) second.push(await crashed(await registerUser(t.app), GEMS, 'completion'));
      const settled = await Promise.all(Array.from({ length: 10 }, () => commerce().purchases.reconcileStale()));
      const taken = settled.filter((s) => s !== null).map((s) => s!.orderId);
      assert.deepEqual([...taken].sort(), second.map((c) => c.orderId).sort());

      const counts = await db().query(
        `SELECT p.id, p.status, (SELECT count(*)::int FROM transactions t WHERE t.purchase_id = p.id) AS transactions,
                (SELECT count(*)::int FROM outbox o WHERE o.type = 'purchase.completed' AND o.aggregate_id = p.id::text) AS events
           FROM purchases p WHERE p.id = ANY($1::uuid[])`,
        [[...first, ...second].map((c) => c.orderId)],
      );
      assert.equal(counts.rows.length, 10);
      for (const r of counts.rows) assert.deepEqual([r.status, r.transactions, r.events], ['completed', 1, 1], r.id);
    });

    test('50% transient payment failures over HTTP: at least 80% of purchases succeed, the rest are 503 with Retry-After, the books agree', async () => {
      const from = new Date((await db().query<{ now: Date }>('SELECT now() AS now')).rows[0].now);
      const buyers = await Promise.all(Array.from({ length: 10 }, () => registerUser(t.app)));
      const answers: { status: number; code?: string; retryAfter?: string }[] = [];
      commerce().sandbox.configure({ failureRate: 0.5 });
      try {
        await Promise.all(
          buyers.map(async (user) => {
            for (let i = 0; i < 20; i++) {
              const res = await buy(user, GEMS);
              answers.push({ status: res.statusCode, code: res.json().error?.code, retryAfter: res.headers['retry-after'] as string | undefined });
            }
          }),
        );
      } finally {
        commerce().sandbox.configure({ failureRate: 0 });
      }
      const succeeded = answers.filter((a) => a.status === 201).length;
      assert.ok(succeeded >= 160, `${succeeded} of 200 succeeded`);
      for (const a of answers.filter((x) => x.status !== 201)) {
        assert.deepEqual([a.status, a.code], [503, 'PAYMENTS_UNAVAILABLE']);
        assert.ok(Number(a.retryAfter) >= 1);
      }
      assert.equal(commerce().payments.state(), 'closed', 'partial failure never opened the breaker');
      const ids = buyers.map((u) => u.user.id);
      const orders = await db().query(`SELECT status, count(*)::int AS n FROM purchases WHERE user_id = ANY($1::uuid[]) GROUP BY status`, [ids]);
      assert.deepEqual(orders.rows, [{ status: 'completed', n: succeeded }], 'the failed ones were released');
      const check = await commerce().compareBooks({ from, to: new Date(Date.now() + 60_000) });
      assert.deepEqual(check.mismatches, []);
      assert.equal(check.chargesChecked, succeeded);
    });

    test('books: a charge without an order, an order whose charge is missing and an amount mismatch are found, stored once, listed and counted', async () => {
      const from = new Date((await db().query<{ now: Date }>('SELECT now() AS now')).rows[0].now);
      await new Promise((r) => setTimeout(r, 10));
      const user = await registerUser(t.app);
      // consistent purchases: a paid app, a subscription and its renewal, a free app
      ok(await buy(user, { appId: paidApp.id, price: { amountMilli: 990, currency: 'USD' } }), 201);
      const sub = ok(await buy(user, MONTHLY), 201);
      await commerce().subscriptions.runRenewals(new Date(new Date(sub.purchase.expiresDate).getTime() + 1000));
      ok(await buy(user, { appId: freeApp.id }), 201);

      const missing = ok(await buy(user, LIFETIME), 201);
      const missingCharge = (await orderOf(missing.purchase.id)).provider_charge_id;
      await db().query('DELETE FROM sandbox_charges WHERE id = $1', [missingCharge]);
      const skewed = ok(await buy(user, GEMS), 201);
      const skewedCharge = (await orderOf(skewed.purchase.id)).provider_charge_id;
      await db().query('UPDATE sandbox_charges SET amount_milli = amount_milli + 10 WHERE id = $1', [skewedCharge]);
      const stray = await commerce().sandbox.charge({
        idempotencyKey: `purchase:${user.user.id}:${randomUUID()}`,
        amountMilli: 1990,
        currency: 'USD',
        environment: 'Production',
        customerId: user.user.id,
        description: 'charged, and the order never written',
      });
      assert.equal(stray.status, 'succeeded');
      const strayId = stray.status === 'succeeded' ? stray.chargeId : '';

      const to = new Date(Date.now() + 60_000);
      const check = await commerce().compareBooks({ from, to });
      const found = check.mismatches.map((m) => [m.kind, m.subject]).sort();
      assert.deepEqual(
        found,
        [
          ['amount_mismatch', skewedCharge],
          ['charge_missing', missing.purchase.transactionId],
          ['charge_without_order', strayId],
        ].sort(),
      );
      assert.ok(check.chargesChecked >= 5 && check.transactionsChecked >= 5, JSON.stringify(check));
      const skew = check.mismatches.find((m) => m.kind === 'amount_mismatch')!;
      assert.deepEqual(
        [skew.provider, skew.order],
        [
          { amountMilli: 2000, currency: 'USD' },
          { amountMilli: 1990, currency: 'USD' },
        ],
      );

      const gauge = await metric('orchard_payment_mismatches');
      assert.deepEqual(Object.fromEntries(gauge.map((v) => [v.labels.kind, v.value])), { charge_without_order: 1, amount_mismatch: 1, charge_missing: 1 });

      // a second run sees them again: still one row each
      const again = await commerce().compareBooks({ from, to });
      assert.equal(again.mismatches.length, 3);
      assert.equal((await db().query('SELECT count(*)::int AS n FROM payment_mismatches')).rows[0].n, 3);

      expectError(await send('GET', '/admin/payments/mismatches', { token: user.token }), 403);
      const listed = ok(await send('GET', '/admin/payments/mismatches', { token: admin.token }));
      assert.equal(listed.items.length, 3);
      assert.ok(listed.items.every((m: { inLatestCheck: boolean }) => m.inLatestCheck));
      assert.equal(listed.latestCheck.id, again.id);
      assert.equal(listed.latestCheck.mismatches, 3);
      const gone = listed.items.find((m: { kind: string }) => m.kind === 'charge_missing');
      assert.deepEqual([gone.transactionId, gone.chargeId, gone.purchaseId], [missing.purchase.transactionId, missingCharge, missing.purchase.id]);
      const onlyStray = ok(await send('GET', '/admin/payments/mismatches?kind=charge_without_order', { token: admin.token }));
      assert.deepEqual(
        onlyStray.items.map((m: { chargeId: string }) => m.chargeId),
        [strayId],
      );
      const page1 = ok(await send('GET', '/admin/payments/mismatches?limit=2', { token: admin.token }));
      const page2 = ok(await send('GET', `/admin/payments/mismatches?limit=2&cursor=${page1.nextCursor}`, { token: admin.token }));
      assert.equal(page1.items.length + page2.items.length, 3);
      assert.equal(page2.nextCursor, null);
      expectError(await send('GET', '/admin/payments/mismatches?kind=bogus', { token: admin.token }), 400);
      expectError(await send('GET', '/admin/payments/mismatches?cursor=nope', { token: admin.token }), 400, 'BAD_CURSOR');
    });
  });
}
