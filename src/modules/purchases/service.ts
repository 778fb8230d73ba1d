// Purchases: an order is reserved, charged, then completed in one transaction that writes the Apple-style
// transaction, its ledger lines, the subscription (if any) and the purchase.completed event.
//
//   claim Idempotency-Key ─► look up the offer ─► reserve the order (unique: one owner, one pending)
//     ─► charge (provider idempotency key derived from the buyer's key) ─► complete (one DB transaction)
//
// Retrying with the same key at any point is safe: the order is found again by (user, key) and the
// provider returns the first charge for the same provider key, so nobody is ever charged twice.
//
// An order still pending past its lock (plus a grace) was left by a crashed request. Reconciliation settles it
// from the provider's books for that provider key: charged -> completed exactly as its request would have,
// declined -> failed, never charged -> released (deleted, as when the provider is unavailable). The reconciler
// job does it every minute, and a purchase of the same item finding such an order does it at once.
import { v7 as uuidv7 } from 'uuid';
import type { Db, Queryable } from '../../platform/db/index.ts';
import { conflict, declined as paymentDeclined, unavailable } from '../../platform/errors.ts';
import { toHttpError } from '../../platform/http/errors.ts';
import { inFlight, requestHash, reused, type Idempotency, type IdempotencyScope, type StoredResponse } from '../../platform/http/idempotency.ts';
import type { Principal } from '../../platform/http/auth.ts';
import { chargeLines, STANDARD_COMMISSION_PCT } from './money.ts';
import { recordTransaction, recordTransactions, type TransactionWrite } from './record.ts';
import { createBatcher } from '../../platform/db/batch.ts';
import type { Kind, Offer, Offers } from './offers.ts';
import { addPeriod, type SubscriptionPeriod } from './periods.ts';
import { PaymentsUnavailableError, type PaymentProvider } from './payments/index.ts';
import { toDecodedPayload, type TransactionRecord } from './receipts/index.ts';

export type Environment = 'Sandbox' | 'Production';
export type { Kind } from './offers.ts';

export interface PurchaseInput {
  appId: string;
  /** The developer's product id of an in-app product; absent: the app itself. */
  productId?: string;
  /** The price the buyer was shown; required unless the item is free. */
  price?: { amountMilli: number; currency: string };
  quantity?: number;
  appAccountToken?: string;
  environment?: Environment;
}

export interface ReceiptSigner {
  sign(payload: object): string;
}

/** A transaction as stored: what the receipt says, plus whose it is. */
export type StoredTransaction = TransactionRecord & { appId: string; userId: string };

export interface PurchasesDeps {
  db: Db;
  idempotency: Idempotency;
  offers: Offers;
  payments: PaymentProvider;
  /** Resolves once the receipt keys are loaded (created on first start). */
  signer: () => Promise<ReceiptSigner>;
  /** Wakes the outbox relay after a commit. */
  nudge(): void;
  /** How long a pending order is its request's alone (PURCHASE_LOCK_SECONDS). */
  lockSeconds: number;
  /**
   * Past its lock by this much more, a pending order is reconciled. Lock + grace must exceed a charge's time budget,
   * so that no live request is still charging an order that reconciliation releases.
   */
  graceSeconds: number;
  /** Told of every order reconciliation takes (metrics, logs). */
  onReconciled?(orderId: string, outcome: ReconcileOutcome | 'error'): void;
  /**
   * After the commit of a Production app purchase (the app is in the library now), before the response: caches
   * of the user's library are dropped here, so the buyer's next request never sees the app as not owned.
   */
  onAppAcquired?(userId: string, appId: string): Promise<void>;
}

/** What reconciliation did with a stale order; 'deferred': the provider could not be asked, tried again later. */
export type ReconcileOutcome = 'completed' | 'failed' | 'released' | 'deferred';

/** The provider idempotency key of a purchase: derived from the buyer's Idempotency-Key. */
export const purchaseChargeKey = (userId: string, key: string) => `purchase:${userId}:${key}`;

/** What an order is for: the catalog's facts at the time (an offer without its current price). */
export type OrderItem = Omit<Offer, 'amountMilli'>;

interface OrderRow {
  id: string;
  status: 'pending' | 'completed' | 'failed' | 'refunded';
  transaction_id: string;
  request_hash: string;
  response_status: number | null;
  response: unknown;
  stale: boolean;
}

const SUBSCRIPTION_LIVE = `('active', 'grace', 'billing_retry')`;

export function createPurchasesService(deps: PurchasesDeps) {
  const { db, idempotency, payments, offers, lockSeconds, graceSeconds } = deps;
  const reservations = createBatcher<NewOrder, OrderRow | null>({ runBatch: (orders) => insertOrders(db, orders, lockSeconds) });
  const completions = createBatcher<TransactionWrite, boolean>({
    runBatch: (writes) => recordTransactions(db, writes),
    runOne: (write) => recordTransaction(db, write),
  });

  /**
   * The order row is the Idempotency-Key's record: its (user, key) unique constraint is the source of truth,
   * and the cache in front of it answers replays of finished requests without touching the database.
   */
  async function purchase(principal: Principal, key: string, input: PurchaseInput): Promise<StoredResponse & { replayed: boolean }> {
    const scope: IdempotencyScope = { userId: principal.userId, scope: 'purchase', key, hash: requestHashOf(input) };
    const cached = await idempotency.cached(scope);
    if (cached) return { ...cached, replayed: true };

    const offer = await offers.offerFor(principal.country, input); // bad input: nothing recorded, the key stays free
    const environment = input.environment ?? 'Production';
    const quantity = input.quantity ?? 1;
    const reserved = await reserve(principal.userId, key, scope.hash, offer, input, environment);
    if (reserved.existing) {
      const order = reserved.order;
      if (order.request_hash !== scope.hash) throw reused();
      if (order.response_status !== null) {
        const response = { status: order.response_status, body: order.response };
        await idempotency.remember(scope, response);
        return { ...response, replayed: true };
      }
      if (!order.stale || !(await takeOver(order.id))) throw inFlight();
    }
    const order = reserved.order;

    const total = offer.amountMilli * quantity;
    let chargeId: string | null = null;
    if (total > 0) {
      try {
        const outcome = await payments.charge({
          idempotencyKey: purchaseChargeKey(principal.userId, key),
          amountMilli: total,
          currency: offer.currency,
          environment,
          customerId: principal.userId,
          description: `${offer.bundleId} ${offer.productId}`,
        });
        if (outcome.status === 'declined') {
          await idempotency.remember(scope, await storeDecline(order.id, outcome.code, outcome.message));
          throw declined(outcome.code, outcome.message);
        }
        chargeId = outcome.chargeId;
      } catch (err) {
        // Nothing was confirmed charged: drop the reservation so the key (and the product) can be used again.
        if (err instanceof PaymentsUnavailableError) await db.query(`DELETE FROM purchases WHERE id = $1 AND status = 'pending'`, [order.id]);
        throw err;
      }
    }
    const response = await complete(principal.userId, order, offer, { environment, quantity, total, chargeId, appAccountToken: input.appAccountToken ?? null });
    await idempotency.remember(scope, response);
    return { ...response, replayed: false };
  }

  /** A new pending order for (user, key), or the one an earlier request with this key made. */
  async function reserve(
    userId: string,
    key: string,
    hash: string,
    offer: Offer,
    input: PurchaseInput,
    environment: Environment,
    reconciled = false,
  ): Promise<{ existing: boolean; order: OrderRow }> {
    const productKey =
      offer.kind === 'app' ? `app:${offer.appId}` : offer.kind === 'auto_renewable' ? `group:${offer.appId}:${offer.group}` : `product:${offer.productUuid}`;
    const created = await reservations.submit({
      id: uuidv7(),
      userId,
      appId: offer.appId,
      productUuid: offer.productUuid,
      productKey,
      kind: offer.kind,
      environment,
      storefront: offer.country,
      currency: offer.currency,
      unitPriceMilli: offer.amountMilli,
      priceMilli: offer.amountMilli * (input.quantity ?? 1),
      quantity: input.quantity ?? 1,
      appAccountToken: input.appAccountToken ?? null,
      key,
      hash,
      group: offer.group,
    });
    if (created) return { existing: false, order: created };

    const mine = await db.query<OrderRow>(`SELECT ${ORDER_COLUMNS} FROM purchases WHERE user_id = $1 AND idempotency_key = $2`, [userId, key]);
    if (mine.rows[0]) return { existing: true, order: mine.rows[0] };
    const other = await db.query<{ id: string; status: string; stale: boolean }>(
      `SELECT id, status, locked_until < now() - make_interval(secs => $4) AS stale FROM purchases
        WHERE user_id = $1 AND product_key = $2 AND environment = $3
          AND (status = 'pending' OR (status = 'completed' AND kind IN ('app', 'non_consumable'))) LIMIT 1`,
      [userId, productKey, environment, graceSeconds],
    );
    if (other.rows[0]?.status === 'pending') {
      // Left by a crashed request: settle it now (it may have been paid for) and look again.
      if (other.rows[0].stale && !reconciled && (await reconcileStale(other.rows[0].id))) {
        return reserve(userId, key, hash, offer, input, environment, true);
      }
      throw conflict('PURCHASE_IN_PROGRESS', 'Another purchase of this item is being processed for you; wait for it to finish.');
    }
    if (other.rows[0] || (offer.kind === 'auto_renewable' && (await liveSubscription(userId, offer, environment)))) {
      throw conflict(
        'ALREADY_PURCHASED',
        offer.kind === 'auto_renewable' ? 'You already have an active subscription in this group.' : 'You already own this item.',
      );
    }
    // Nothing else stops an order but the offer itself: its price or publication changed since this
    // process cached it. Read it afresh; the answer says what changed (422 with the new price, or 404).
    offers.drop(offer.appId);
    await offers.offerFor(offer.country, input);
    throw conflict('OFFER_CHANGED', 'The item changed while you were buying it; look at it again and retry.');
  }

  async function liveSubscription(userId: string, offer: Offer, environment: Environment): Promise<boolean> {
    const r = await db.query(
      `SELECT 1 FROM subscriptions WHERE user_id = $1 AND app_id = $2 AND subscription_group = $3 AND environment = $4 AND status IN ${SUBSCRIPTION_LIVE}`,
      [userId, offer.appId, offer.group, environment],
    );
    return r.rows.length > 0;
  }

  /** A pending order whose worker died: this request carries it on (the provider key makes a second charge impossible). */
  async function takeOver(orderId: string): Promise<boolean> {
    const r = await db.query(
      `UPDATE purchases SET locked_until = now() + make_interval(secs => $2) WHERE id = $1 AND status = 'pending' AND locked_until < now()`,
      [orderId, lockSeconds],
    );
    return r.rowCount === 1;
  }

  /** A decline is the final answer for this key: stored on the order (the response its key replays). */
  async function storeDecline(orderId: string, code: string, message: string): Promise<StoredResponse> {
    const { status, body } = toHttpError(declined(code, message));
    const response = { status, body };
    await db.query(`UPDATE purchases SET status = 'failed', failure_code = $2, response_status = $3, response = $4 WHERE id = $1 AND status = 'pending'`, [
      orderId,
      code,
      response.status,
      JSON.stringify(response.body),
    ]);
    return response;
  }

  /**
   * One statement (a subscription: one transaction) writes the purchase and everything that comes with it. Used by
   * the request that charged and by reconciliation: `item` and `paid` are what the order was placed for.
   */
  async function complete(
    userId: string,
    order: { id: string; transaction_id: string },
    offer: OrderItem,
    paid: { environment: Environment; quantity: number; total: number; chargeId: string | null; appAccountToken: string | null },
  ): Promise<StoredResponse> {
    const now = new Date();
    const writeAll = async (
      q: Queryable,
      subscription: { id: string; originalTransactionId: string; originalPurchaseDate: Date; periodIndex: number; periodEnd: Date } | null,
    ) => {
      const record: StoredTransaction = {
        id: String(order.transaction_id),
        originalTransactionId: String(subscription?.originalTransactionId ?? order.transaction_id),
        appId: offer.appId,
        userId,
        bundleId: offer.bundleId,
        productId: offer.productId,
        kind: offer.kind,
        subscriptionGroup: offer.group,
        environment: paid.environment,
        storefront: offer.country,
        storefrontAlpha3: offer.alpha3,
        appleStorefrontId: offer.appleStorefrontId,
        currency: offer.currency,
        priceMilli: paid.total,
        quantity: paid.quantity,
        purchaseDate: now,
        originalPurchaseDate: subscription?.originalPurchaseDate ?? now,
        expiresDate: subscription?.periodEnd ?? null,
        transactionReason: 'PURCHASE',
        appAccountToken: paid.appAccountToken,
        revocationDate: null,
        revocationReason: null,
      };
      const response = { status: 201, body: await purchaseBody(order.id, record, subscription?.id ?? null) };
      const write: TransactionWrite = {
        record,
        purchaseId: order.id,
        developerId: offer.developerId,
        productUuid: offer.productUuid,
        periodIndex: subscription?.periodIndex ?? null,
        chargeId: paid.chargeId,
        commissionPct: STANDARD_COMMISSION_PCT,
        event: {
          type: 'purchase.completed',
          aggregateId: order.id,
          payload: {
            purchaseId: order.id,
            transactionId: record.id,
            originalTransactionId: record.originalTransactionId,
            userId,
            appId: offer.appId,
            developerId: offer.developerId,
            productId: offer.productId,
            kind: offer.kind,
            environment: paid.environment,
            priceMilli: paid.total,
            currency: offer.currency,
            storefront: offer.country,
          },
        },
        order: { id: order.id, response },
      };
      // Alone in its own transaction (a subscription), or batched with concurrent purchases into one statement.
      const written = q === db ? await completions.submit(write) : await recordTransaction(q, write);
      if (!written) throw new CompletedElsewhere();
      return response;
    };
    try {
      // Most purchases are one statement; a subscription also starts (or restarts) its subscription row.
      const result =
        offer.kind === 'auto_renewable'
          ? await db.tx(async (q) => writeAll(q, await startSubscription(q, userId, order, offer, paid, now)))
          : await writeAll(db, null);
      deps.nudge();
      if (offer.kind === 'app' && paid.environment === 'Production') await deps.onAppAcquired?.(userId, offer.appId);
      return result;
    } catch (err) {
      if (err instanceof CompletedElsewhere) return rebuildResponse(order.id); // a concurrent retry of this key completed it
      throw err;
    }
  }

  async function startSubscription(
    q: Queryable,
    userId: string,
    order: { transaction_id: string },
    offer: OrderItem,
    paid: { environment: Environment; appAccountToken: string | null },
    now: Date,
  ) {
    // A lapsed subscriber who comes back keeps the group's original transaction id, as with Apple.
    const { rows } = await q.query<{ id: string; original_transaction_id: string; period_index: number; original_date: Date }>(
      `SELECT s.id, s.original_transaction_id, s.period_index, t.purchase_date AS original_date
         FROM subscriptions s JOIN transactions t ON t.id = s.original_transaction_id
        WHERE s.user_id = $1 AND s.app_id = $2 AND s.subscription_group = $3 AND s.environment = $4 FOR UPDATE OF s`,
      [userId, offer.appId, offer.group, paid.environment],
    );
    const periodEnd = addPeriod(now, offer.period!);
    if (rows[0]) {
      const s = rows[0];
      await q.query(
        `UPDATE subscriptions SET product_uuid = $2, status = 'active', auto_renew = true, period_index = period_index + 1,
                period_anchor = $3, periods_since_anchor = 0, current_period_end = $4, grace_until = NULL, retry_count = 0, next_attempt_at = NULL,
                app_account_token = $5, storefront = $6, updated_at = now()
          WHERE id = $1`,
        [s.id, offer.productUuid, now, periodEnd, paid.appAccountToken, offer.country],
      );
      return { id: s.id, originalTransactionId: s.original_transaction_id, originalPurchaseDate: s.original_date, periodIndex: s.period_index + 1, periodEnd };
    }
    const id = uuidv7();
    await q.query(
      `INSERT INTO subscriptions (id, user_id, app_id, subscription_group, product_uuid, original_transaction_id, environment, storefront,
                                  app_account_token, status, auto_renew, period_index, period_anchor, current_period_end)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'active', true, 0, $10, $11)`,
      [id, userId, offer.appId, offer.group, offer.productUuid, order.transaction_id, paid.environment, offer.country, paid.appAccountToken, now, periodEnd],
    );
    return { id, originalTransactionId: order.transaction_id, originalPurchaseDate: now, periodIndex: 0, periodEnd };
  }

  /** The stored response of an order another request with the same key (or reconciliation) completed. */
  async function rebuildResponse(orderId: string): Promise<StoredResponse> {
    const { rows } = await db.query<{ response_status: number | null; response: unknown }>('SELECT response_status, response FROM purchases WHERE id = $1', [
      orderId,
    ]);
    // Released by reconciliation while this request was still charging (it outlived its lock and the grace).
    if (!rows[0] || rows[0].response_status === null) throw interrupted();
    return { status: rows[0].response_status, body: rows[0].response };
  }

  /**
   * Claims a pending order past its lock and the grace (the given one, or the oldest), so that no other reconciler
   * or retry works on it, and settles it from the provider's books. Null when there is none to claim. Throws
   * PaymentsUnavailableError when the provider cannot be asked (the claim is given back).
   */
  async function reconcileStale(orderId?: string): Promise<{ orderId: string; outcome: ReconcileOutcome } | null> {
    const { rows } = await db.query<{ id: string; previous_lock: Date }>(
      `UPDATE purchases p SET locked_until = now() + make_interval(secs => $1)
         FROM (SELECT id, locked_until FROM purchases
                WHERE status = 'pending' AND locked_until < now() - make_interval(secs => $2) AND ($3::uuid IS NULL OR id = $3)
                ORDER BY locked_until LIMIT 1 FOR UPDATE SKIP LOCKED) stale
        WHERE p.id = stale.id
        RETURNING p.id, stale.locked_until AS previous_lock`,
      [lockSeconds, graceSeconds, orderId ?? null],
    );
    const claimed = rows[0];
    if (!claimed) return null;
    let outcome: ReconcileOutcome;
    try {
      outcome = await settle(claimed.id);
    } catch (err) {
      const unavailable = err instanceof PaymentsUnavailableError;
      // The provider could not say: give the claim back, so that the next pass (or purchase) asks again at once.
      if (unavailable) await db.query(`UPDATE purchases SET locked_until = $2 WHERE id = $1 AND status = 'pending'`, [claimed.id, claimed.previous_lock]);
      deps.onReconciled?.(claimed.id, unavailable ? 'deferred' : 'error');
      throw err;
    }
    deps.onReconciled?.(claimed.id, outcome);
    return { orderId: claimed.id, outcome };
  }

  /** What the provider says happened to the order's charge decides; the order's own row says what it was for. */
  async function settle(orderId: string): Promise<Exclude<ReconcileOutcome, 'deferred'>> {
    const { rows } = await db.query<PendingOrderRow>(`${PENDING_ORDER} WHERE p.id = $1 AND p.status = 'pending'`, [orderId]);
    const o = rows[0];
    if (!o) return 'released'; // gone meanwhile: its own request released it (provider unavailable)
    const scope: IdempotencyScope = { userId: o.user_id, scope: 'purchase', key: o.idempotency_key, hash: o.request_hash };
    const total = Number(o.price_milli);
    let chargeId: string | null = null;
    if (total > 0) {
      const found = await payments.lookupCharge(purchaseChargeKey(o.user_id, o.idempotency_key));
      if (found.status === 'not_found') {
        // Never charged: as if the request had not happened. A retry with its key starts again (and may charge).
        await db.query(`DELETE FROM purchases WHERE id = $1 AND status = 'pending'`, [o.id]);
        return 'released';
      }
      if (found.status === 'declined') {
        await idempotency.remember(scope, await storeDecline(o.id, found.code, found.message));
        return 'failed';
      }
      chargeId = found.chargeId;
    }
    const item: OrderItem = {
      country: o.storefront,
      alpha3: o.alpha3,
      appleStorefrontId: o.apple_storefront_id,
      appId: o.app_id,
      bundleId: o.bundle_id,
      developerId: o.developer_id,
      kind: o.kind,
      productUuid: o.product_uuid,
      productId: o.product_id ?? o.bundle_id,
      period: o.subscription_period,
      group: o.subscription_group,
      currency: o.currency,
    };
    const response = await complete(o.user_id, o, item, {
      environment: o.environment,
      quantity: o.quantity,
      total,
      chargeId,
      appAccountToken: o.app_account_token,
    });
    await idempotency.remember(scope, response);
    return 'completed';
  }

  async function purchaseBody(orderId: string, t: StoredTransaction, subscriptionId: string | null) {
    const signer = await deps.signer();
    return {
      purchase: {
        id: orderId,
        status: 'completed',
        appId: t.appId,
        productId: t.productId,
        type: t.kind,
        environment: t.environment,
        storefront: t.storefront,
        price: { amountMilli: Number(t.priceMilli), currency: t.currency },
        quantity: t.quantity,
        transactionId: t.id,
        originalTransactionId: t.originalTransactionId,
        purchaseDate: t.purchaseDate.toISOString(),
        expiresDate: t.expiresDate?.toISOString() ?? null,
        appAccountToken: t.appAccountToken,
        subscriptionId,
      },
      signedTransaction: signer.sign(toDecodedPayload(t, new Date())),
    };
  }

  return { purchase, reconcileStale };
}
export type PurchasesService = ReturnType<typeof createPurchasesService>;

class CompletedElsewhere extends Error {}

const interrupted = () =>
  unavailable('PURCHASE_INTERRUPTED', 'This purchase was interrupted. Retry with the same Idempotency-Key: it can never charge twice.', 1);

interface PendingOrderRow {
  id: string;
  user_id: string;
  idempotency_key: string;
  request_hash: string;
  transaction_id: string;
  app_id: string;
  product_uuid: string | null;
  kind: Kind;
  environment: Environment;
  storefront: string;
  currency: string;
  price_milli: string;
  quantity: number;
  app_account_token: string | null;
  bundle_id: string;
  developer_id: string;
  alpha3: string;
  apple_storefront_id: number;
  product_id: string | null;
  subscription_period: SubscriptionPeriod | null;
  subscription_group: string | null;
}

/** An order with the catalog facts of its item (not its current price: the order has the price it was placed at). */
const PENDING_ORDER = `
  SELECT p.id, p.user_id, p.idempotency_key, p.request_hash, p.transaction_id, p.app_id, p.product_uuid, p.kind, p.environment, p.storefront,
         p.currency, p.price_milli, p.quantity, p.app_account_token, a.bundle_id, a.developer_id, sf.alpha3, sf.apple_storefront_id,
         ip.product_id, ip.subscription_period, ip.subscription_group
    FROM purchases p
    JOIN catalog_apps a ON a.id = p.app_id
    JOIN catalog_storefronts sf ON sf.country = p.storefront
    LEFT JOIN catalog_in_app_products ip ON ip.id = p.product_uuid`;

interface NewOrder {
  id: string;
  userId: string;
  appId: string;
  productUuid: string | null;
  productKey: string;
  kind: string;
  environment: Environment;
  storefront: string;
  currency: string;
  unitPriceMilli: number;
  priceMilli: number;
  quantity: number;
  appAccountToken: string | null;
  key: string;
  hash: string;
  group: string | null;
}

const ORDER_COLUMNS = 'id, status, transaction_id, request_hash, response_status, response, locked_until < now() AS stale';

/**
 * Pending orders for many concurrent requests in one statement. An order is not created (null) when its
 * key was used before, the buyer owns the item or has an order for it pending, a live subscription of
 * its group exists, or the price it was checked against (from the offers cache) is no longer the
 * catalog's: the database, not the cache, has the last word on the price. The caller finds out which.
 */
async function insertOrders(db: Queryable, orders: NewOrder[], lockSeconds: number): Promise<(OrderRow | null)[]> {
  const column = <K extends keyof NewOrder>(k: K) => orders.map((o) => o[k]);
  const { rows } = await db.query<OrderRow>(
    `INSERT INTO purchases (id, user_id, app_id, product_uuid, product_key, kind, environment, storefront, currency, price_milli, quantity,
                            app_account_token, status, transaction_id, idempotency_key, request_hash, locked_until)
     SELECT i.id, i.user_id, i.app_id, i.product_uuid, i.product_key, i.kind, i.environment, i.storefront, i.currency, i.price_milli, i.quantity,
            i.app_account_token, 'pending', nextval('transaction_ids'), i.key, i.hash, now() + make_interval(secs => $17::double precision)
       FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[],
                   $11::uuid[], $12::text[], $13::text[], $14::text[], $15::bigint[], $16::int[])
            AS i (id, user_id, app_id, product_uuid, product_key, kind, environment, storefront, currency, price_milli, app_account_token, key, hash,
                  subscription_group, unit_price_milli, quantity)
      WHERE NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = i.user_id AND s.app_id = i.app_id AND s.subscription_group = i.subscription_group
                          AND s.environment = i.environment AND s.status IN ${SUBSCRIPTION_LIVE})
        AND EXISTS (SELECT 1 FROM catalog_apps a WHERE a.id = i.app_id AND a.status = 'published' AND CASE
              WHEN i.product_uuid IS NOT NULL THEN EXISTS (SELECT 1 FROM catalog_in_app_prices p WHERE p.product_id = i.product_uuid AND p.country = i.storefront
                                                             AND p.currency = i.currency AND p.amount_milli = i.unit_price_milli)
              WHEN a.is_free THEN i.unit_price_milli = 0
              ELSE EXISTS (SELECT 1 FROM catalog_app_prices p WHERE p.app_id = i.app_id AND p.country = i.storefront
                             AND p.currency = i.currency AND p.amount_milli = i.unit_price_milli) END)
     ON CONFLICT DO NOTHING
     RETURNING ${ORDER_COLUMNS}`,
    [
      column('id'),
      column('userId'),
      column('appId'),
      column('productUuid'),
      column('productKey'),
      column('kind'),
      column('environment'),
      column('storefront'),
      column('currency'),
      column('priceMilli'),
      column('appAccountToken'),
      column('key'),
      column('hash'),
      column('group'),
      column('unitPriceMilli'),
      column('quantity'),
      lockSeconds,
    ],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  return orders.map((o) => byId.get(o.id) ?? null);
}

function declined(code: string, message: string) {
  return paymentDeclined('PAYMENT_DECLINED', message, { declineCode: code });
}

/** What makes two purchase requests "the same request" for the Idempotency-Key. */
function requestHashOf(input: PurchaseInput): string {
  return requestHash([
    input.appId,
    input.productId ?? null,
    input.price?.amountMilli ?? null,
    input.price?.currency ?? null,
    input.quantity ?? 1,
    input.appAccountToken ?? null,
    input.environment ?? 'Production',
  ]);
}

// ----------------------------------------------------------------- the ledger of refunds, and reading transactions back

export async function writeLedger(
  q: Queryable,
  transactionId: string,
  entry: 'charge' | 'refund',
  developerId: string,
  environment: Environment,
  currency: string,
  priceMilli: number,
  commissionPct: number,
): Promise<void> {
  const lines = chargeLines(priceMilli, commissionPct, entry === 'charge' ? 1 : -1);
  await q.query(
    `INSERT INTO ledger_lines (transaction_id, entry, account, developer_id, environment, currency, amount_milli, commission_rate_pct)
     SELECT $1, $2, account, $3, $4, $5, amount, $6 FROM unnest($7::text[], $8::bigint[]) AS l(account, amount)`,
    [transactionId, entry, developerId, environment, currency, commissionPct, lines.map((l) => l.account), lines.map((l) => l.amountMilli)],
  );
}

const TRANSACTION_SELECT = `
  SELECT t.id, t.original_transaction_id, t.app_id, t.user_id, t.bundle_id, t.product_id, t.kind, t.subscription_group, t.environment,
         t.storefront, sf.alpha3, sf.apple_storefront_id, t.currency, t.price_milli, t.quantity, t.purchase_date, t.original_purchase_date,
         t.expires_date, t.transaction_reason, t.app_account_token, t.revocation_date, t.revocation_reason
    FROM transactions t JOIN catalog_storefronts sf ON sf.country = t.storefront`;

/** A user's transactions for an app, newest first (keyset on the numeric id): StoreKit's Transaction.all. */
export async function listTransactions(
  q: Queryable,
  userId: string,
  appId: string,
  environment: Environment,
  limit: number,
  beforeId?: string,
): Promise<StoredTransaction[]> {
  const { rows } = await q.query(
    `${TRANSACTION_SELECT} WHERE t.user_id = $1 AND t.app_id = $2 AND t.environment = $3 AND ($4::bigint IS NULL OR t.id < $4)
      ORDER BY t.id DESC LIMIT $5`,
    [userId, appId, environment, beforeId ?? null, limit],
  );
  return rows.map(toRecord);
}

export async function loadTransaction(q: Queryable, id: string): Promise<StoredTransaction | null> {
  const { rows } = await q.query(`${TRANSACTION_SELECT} WHERE t.id = $1`, [id]);
  return rows[0] ? toRecord(rows[0]) : null;
}

export function toRecord(r: Record<string, any>): StoredTransaction {
  return {
    id: String(r.id),
    originalTransactionId: String(r.original_transaction_id),
    appId: r.app_id,
    userId: r.user_id,
    bundleId: r.bundle_id,
    productId: r.product_id,
    kind: r.kind,
    subscriptionGroup: r.subscription_group,
    environment: r.environment,
    storefront: r.storefront,
    storefrontAlpha3: r.alpha3,
    appleStorefrontId: r.apple_storefront_id,
    currency: r.currency,
    priceMilli: Number(r.price_milli),
    quantity: r.quantity,
    purchaseDate: new Date(r.purchase_date),
    originalPurchaseDate: new Date(r.original_purchase_date),
    expiresDate: r.expires_date ? new Date(r.expires_date) : null,
    transactionReason: r.transaction_reason,
    appAccountToken: r.app_account_token,
    revocationDate: r.revocation_date ? new Date(r.revocation_date) : null,
    revocationReason: r.revocation_reason,
  };
}
