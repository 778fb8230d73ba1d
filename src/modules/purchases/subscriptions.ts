// Auto-renewable subscriptions: status, cancel (auto-renew off, access to the period's end), and the
// renewal job. The job leases due subscriptions (so concurrent runners never take the same one), charges
// each period once (the provider key and a unique index are per period), and on failure moves through
// Apple's states: grace period (access kept, billing retried) -> billing retry (no access) -> expired.
import type { Db } from '../../platform/db/index.ts';
import { purchasesEvents } from './events.ts';
import { notFound } from '../../platform/errors.ts';
import { PaymentsUnavailableError, type PaymentProvider } from './payments/index.ts';
import { RETAINED_SUBSCRIBER_COMMISSION_PCT, STANDARD_COMMISSION_PCT } from './money.ts';
import { addPeriod, BILLING_RETRY_DAYS, daysMs, GRACE_PERIOD_DAYS, retryDelayMs, type SubscriptionPeriod } from './periods.ts';
import { recordTransaction } from './record.ts';
import type { Environment } from './service.ts';

export type SubscriptionStatus = 'active' | 'billing_retry' | 'grace' | 'expired' | 'revoked';

const LEASE_MS = 5 * 60_000;

/** The provider idempotency key of a renewal: one per subscription period. */
export const renewalChargeKey = (subscriptionId: string, periodIndex: number) => `renewal:${subscriptionId}:${periodIndex}`;

const SUBSCRIPTION_SELECT = `
  SELECT s.id, s.user_id, s.app_id, s.subscription_group, s.original_transaction_id, s.environment, s.storefront, s.status, s.auto_renew,
         s.period_index, s.period_anchor, s.periods_since_anchor, s.current_period_end, s.grace_until, s.retry_count, s.app_account_token,
         p.id AS product_uuid, p.product_id, p.subscription_period, a.bundle_id, a.developer_id, sf.alpha3, sf.apple_storefront_id,
         ip.amount_milli, ip.currency, ot.purchase_date AS original_purchase_date
    FROM subscriptions s
    JOIN catalog_in_app_products p ON p.id = s.product_uuid
    JOIN catalog_apps a ON a.id = s.app_id
    JOIN catalog_storefronts sf ON sf.country = s.storefront
    JOIN transactions ot ON ot.id = s.original_transaction_id
    LEFT JOIN catalog_in_app_prices ip ON ip.product_id = p.id AND ip.country = s.storefront`;

interface SubscriptionRow {
  id: string;
  user_id: string;
  app_id: string;
  subscription_group: string;
  original_transaction_id: string;
  environment: Environment;
  storefront: string;
  status: SubscriptionStatus;
  auto_renew: boolean;
  period_index: number;
  period_anchor: Date;
  periods_since_anchor: number;
  current_period_end: Date;
  grace_until: Date | null;
  retry_count: number;
  app_account_token: string | null;
  product_uuid: string;
  product_id: string;
  subscription_period: SubscriptionPeriod;
  bundle_id: string;
  developer_id: string;
  alpha3: string;
  apple_storefront_id: number;
  amount_milli: string | null;
  currency: string | null;
  original_purchase_date: Date;
}

export function subscriptionView(s: SubscriptionRow) {
  return {
    id: s.id,
    appId: s.app_id,
    productId: s.product_id,
    subscriptionGroup: s.subscription_group,
    originalTransactionId: String(s.original_transaction_id),
    environment: s.environment,
    status: s.status,
    autoRenew: s.auto_renew,
    currentPeriodEnd: new Date(s.current_period_end).toISOString(),
    gracePeriodEnd: s.grace_until ? new Date(s.grace_until).toISOString() : null,
    renewalPrice: s.amount_milli === null ? null : { amountMilli: Number(s.amount_milli), currency: s.currency! },
  };
}
export type SubscriptionView = ReturnType<typeof subscriptionView>;

export interface RenewalReport {
  renewed: number;
  failed: number;
  expired: number;
  deferred: number;
}

export function createSubscriptions(deps: { db: Db; payments: PaymentProvider; nudge(): void }) {
  const { db, payments } = deps;

  async function list(userId: string): Promise<SubscriptionView[]> {
    const { rows } = await db.query<SubscriptionRow>(`${SUBSCRIPTION_SELECT} WHERE s.user_id = $1 ORDER BY s.created_at DESC LIMIT 500`, [userId]);
    return rows.map(subscriptionView);
  }

  async function get(userId: string, id: string): Promise<SubscriptionView> {
    const { rows } = await db.query<SubscriptionRow>(`${SUBSCRIPTION_SELECT} WHERE s.id = $1 AND s.user_id = $2`, [id, userId]);
    if (!rows[0]) throw notFound('Subscription');
    return subscriptionView(rows[0]);
  }

  /** Turns auto-renew off (cancel) or back on (resume); access runs to the period's end either way. */
  async function setAutoRenew(userId: string, id: string, autoRenew: boolean): Promise<SubscriptionView> {
    await db.tx(async (q) => {
      const r = await q.query<{ original_transaction_id: string }>(
        `UPDATE subscriptions SET auto_renew = $3, updated_at = now()
          WHERE id = $1 AND user_id = $2 AND status IN ('active', 'grace', 'billing_retry') AND auto_renew <> $3
          RETURNING original_transaction_id`,
        [id, userId, autoRenew],
      );
      if (r.rows[0]) {
        await purchasesEvents.record(
          q,
          autoRenew ? 'subscription.auto_renew_enabled' : 'subscription.auto_renew_disabled',
          {
            subscriptionId: id,
            userId,
            originalTransactionId: String(r.rows[0].original_transaction_id),
          },
          id,
        );
      }
    });
    deps.nudge();
    return get(userId, id);
  }

  /** One pass of the renewal job over subscriptions due at `now` (at most `limit`). */
  async function runRenewals(now = new Date(), limit = 200): Promise<RenewalReport> {
    const report: RenewalReport = { renewed: 0, failed: 0, expired: 0, deferred: 0 };
    const { rows: leased } = await db.query<{ id: string }>(
      `UPDATE subscriptions SET next_attempt_at = $2::timestamptz + make_interval(secs => $3)
        WHERE id IN (SELECT id FROM subscriptions
                      WHERE status IN ('active', 'grace', 'billing_retry') AND current_period_end <= $2
                        AND (next_attempt_at IS NULL OR next_attempt_at <= $2)
                      ORDER BY current_period_end LIMIT $1 FOR UPDATE SKIP LOCKED)
        RETURNING id`,
      [limit, now, LEASE_MS / 1000],
    );
    for (const { id } of leased) {
      const { rows } = await db.query<SubscriptionRow>(`${SUBSCRIPTION_SELECT} WHERE s.id = $1`, [id]);
      const s = rows[0];
      if (!s) continue;
      const outcome = await renewOne(s, now);
      report[outcome]++;
    }
    if (leased.length) deps.nudge();
    return report;
  }

  async function renewOne(s: SubscriptionRow, now: Date): Promise<keyof RenewalReport> {
    const periodEnd = new Date(s.current_period_end);
    if (!s.auto_renew || s.amount_milli === null || now.getTime() > periodEnd.getTime() + daysMs(BILLING_RETRY_DAYS)) {
      await expire(s, !s.auto_renew ? 'AUTO_RENEW_DISABLED' : s.amount_milli === null ? 'PRODUCT_NOT_FOR_SALE' : 'BILLING_ERROR');
      return 'expired';
    }
    const nextIndex = s.period_index + 1;
    const price = Number(s.amount_milli);
    let outcome;
    try {
      outcome = await payments.charge({
        idempotencyKey: renewalChargeKey(s.id, nextIndex),
        amountMilli: price,
        currency: s.currency!,
        environment: s.environment,
        customerId: s.user_id,
        description: `${s.bundle_id} ${s.product_id} renewal ${nextIndex}`,
      });
    } catch (err) {
      if (err instanceof PaymentsUnavailableError) return 'deferred'; // the lease brings it back in a few minutes
      throw err;
    }
    if (outcome.status === 'declined') {
      await billingFailed(s, now, outcome.code);
      return 'failed';
    }
    await renewed(s, now, nextIndex, price, outcome.chargeId);
    return 'renewed';
  }

  async function renewed(s: SubscriptionRow, now: Date, nextIndex: number, price: number, chargeId: string) {
    // From billing retry the subscriber comes back on a new anchor (Apple moves the renewal date); from
    // active or grace the periods keep their dates.
    const fresh = s.status === 'billing_retry';
    const anchor = fresh ? now : new Date(s.period_anchor);
    const sinceAnchor = fresh ? 0 : s.periods_since_anchor + 1;
    const start = fresh ? now : addPeriod(anchor, s.subscription_period, sinceAnchor);
    const end = addPeriod(anchor, s.subscription_period, sinceAnchor + 1);
    const yearOfService = start >= addPeriod(new Date(s.original_purchase_date), 'P1Y');
    const commission = yearOfService ? RETAINED_SUBSCRIBER_COMMISSION_PCT : STANDARD_COMMISSION_PCT;
    await db.tx(async (q) => {
      const { rows } = await q.query<{ id: string }>(`SELECT nextval('transaction_ids') AS id`);
      const transactionId = String(rows[0].id);
      const written = await recordTransaction(q, {
        record: {
          id: transactionId,
          originalTransactionId: String(s.original_transaction_id),
          appId: s.app_id,
          userId: s.user_id,
          bundleId: s.bundle_id,
          productId: s.product_id,
          kind: 'auto_renewable',
          subscriptionGroup: s.subscription_group,
          environment: s.environment,
          storefront: s.storefront,
          storefrontAlpha3: s.alpha3,
          appleStorefrontId: s.apple_storefront_id,
          currency: s.currency!,
          priceMilli: price,
          quantity: 1,
          purchaseDate: start,
          originalPurchaseDate: new Date(s.original_purchase_date),
          expiresDate: end,
          transactionReason: 'RENEWAL',
          appAccountToken: s.app_account_token,
          revocationDate: null,
          revocationReason: null,
        },
        purchaseId: null,
        developerId: s.developer_id,
        productUuid: s.product_uuid,
        periodIndex: nextIndex,
        chargeId,
        commissionPct: commission,
        event: {
          type: 'subscription.renewed',
          aggregateId: s.id,
          payload: {
            subscriptionId: s.id,
            userId: s.user_id,
            appId: s.app_id,
            transactionId,
            originalTransactionId: String(s.original_transaction_id),
            periodIndex: nextIndex,
            expiresDate: end.toISOString(),
            priceMilli: price,
            currency: s.currency!,
            commissionPct: commission,
            environment: s.environment,
            storefront: s.storefront,
          },
        },
      });
      if (!written) return; // this period was already charged and recorded by another runner
      await q.query(
        `UPDATE subscriptions SET status = 'active', period_index = $2, period_anchor = $3, periods_since_anchor = $4, current_period_end = $5,
                grace_until = NULL, retry_count = 0, next_attempt_at = NULL, updated_at = now()
          WHERE id = $1`,
        [s.id, nextIndex, anchor, sinceAnchor, end],
      );
    });
  }

  async function billingFailed(s: SubscriptionRow, now: Date, declineCode: string) {
    const periodEnd = new Date(s.current_period_end);
    const graceUntil = s.grace_until ? new Date(s.grace_until) : new Date(periodEnd.getTime() + daysMs(GRACE_PERIOD_DAYS[s.subscription_period]));
    const status: SubscriptionStatus = now < graceUntil ? 'grace' : 'billing_retry';
    const attempt = s.retry_count + 1;
    await db.tx(async (q) => {
      await q.query(`UPDATE subscriptions SET status = $2, grace_until = $3, retry_count = $4, next_attempt_at = $5, updated_at = now() WHERE id = $1`, [
        s.id,
        status,
        graceUntil,
        attempt,
        new Date(now.getTime() + retryDelayMs(attempt)),
      ]);
      if (status !== s.status) {
        await purchasesEvents.record(
          q,
          'subscription.billing_failed',
          {
            subscriptionId: s.id,
            userId: s.user_id,
            appId: s.app_id,
            originalTransactionId: String(s.original_transaction_id),
            status,
            gracePeriodEnd: status === 'grace' ? graceUntil.toISOString() : null,
            declineCode,
          },
          s.id,
        );
      }
    });
  }

  async function expire(s: SubscriptionRow, reason: string) {
    await db.tx(async (q) => {
      await q.query(`UPDATE subscriptions SET status = 'expired', next_attempt_at = NULL, updated_at = now() WHERE id = $1`, [s.id]);
      await purchasesEvents.record(
        q,
        'subscription.expired',
        {
          subscriptionId: s.id,
          userId: s.user_id,
          appId: s.app_id,
          originalTransactionId: String(s.original_transaction_id),
          reason,
        },
        s.id,
      );
    });
  }

  return { list, get, setAutoRenew, runRenewals };
}
export type Subscriptions = ReturnType<typeof createSubscriptions>;
