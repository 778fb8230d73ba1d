// The App Store Server API's Get All Subscription Statuses: every subscription of the customer in the app,
// by subscription group, with its latest signed transaction and signed renewal info.
import type { Db } from '../../platform/db/index.ts';
import { toRenewalInfoPayload, type Commerce, type RenewalStatus } from '../purchases/index.ts';
import type { ApiClient } from './auth.ts';
import { transactionOf } from './service.ts';

/** Apple's Status enum. */
const APPLE_STATUS: Record<RenewalStatus, number> = { active: 1, expired: 2, billing_retry: 3, grace: 4, revoked: 5 };
const STATUS_OF = Object.fromEntries(Object.entries(APPLE_STATUS).map(([status, code]) => [code, status])) as Record<number, RenewalStatus>;

type Purchases = Pick<Commerce, 'findTransaction' | 'signTransaction' | 'signPayload'>;

interface SubscriptionRow {
  subscription_group: string;
  original_transaction_id: string;
  latest_transaction_id: string;
  status: RenewalStatus;
  auto_renew: boolean;
  period_anchor: Date;
  current_period_end: Date;
  grace_until: Date | null;
  app_account_token: string | null;
  product_id: string;
  amount_milli: string | null;
  currency: string | null;
}

export function createSubscriptionStatuses(db: Db, purchases: Purchases, appAppleId: (appId: string) => Promise<number>) {
  async function subscriptionRows(where: string, params: unknown[]): Promise<(SubscriptionRow & { environment: string })[]> {
    const { rows } = await db.query<SubscriptionRow & { environment: string }>(
      `SELECT s.subscription_group, s.original_transaction_id, s.status, s.auto_renew, s.period_anchor, s.current_period_end, s.grace_until,
              s.app_account_token, s.environment, p.product_id, ip.amount_milli, ip.currency,
              (SELECT max(t.id) FROM purchases_transactions t WHERE t.original_transaction_id = s.original_transaction_id) AS latest_transaction_id
         FROM purchases_subscriptions s
         JOIN catalog_in_app_products p ON p.id = s.product_uuid
         LEFT JOIN catalog_in_app_prices ip ON ip.product_id = p.id AND ip.country = s.storefront
        WHERE ${where}
        ORDER BY s.subscription_group`,
      params,
    );
    return rows;
  }

  function renewalPayload(s: SubscriptionRow, environment: string, now: Date) {
    return toRenewalInfoPayload(
      {
        originalTransactionId: String(s.original_transaction_id),
        productId: s.product_id,
        environment: environment as 'Sandbox' | 'Production',
        status: s.status,
        autoRenew: s.auto_renew,
        periodAnchor: new Date(s.period_anchor),
        currentPeriodEnd: new Date(s.current_period_end),
        graceUntil: s.grace_until ? new Date(s.grace_until) : null,
        renewalPriceMilli: s.amount_milli,
        currency: s.currency,
        appAccountToken: s.app_account_token,
      },
      now,
    );
  }

  /** The signed renewal info of one subscription as it is now (null: not a subscription): for notifications. */
  async function signedRenewalInfo(originalTransactionId: string): Promise<string | null> {
    const [s] = await subscriptionRows('s.original_transaction_id = $1', [originalTransactionId]);
    return s ? purchases.signPayload(renewalPayload(s, s.environment, new Date())) : null;
  }

  /** `statuses` are Apple's Status values (1-5); none means all. */
  async function allSubscriptionStatuses(client: ApiClient, transactionId: string, statuses?: number[]) {
    const anchor = await transactionOf(purchases, client, transactionId);
    const wanted = statuses?.length ? statuses.map((code) => STATUS_OF[code]) : null;
    const rows = await subscriptionRows(`s.user_id = $1 AND s.app_id = $2 AND s.environment = $3 AND ($4::text[] IS NULL OR s.status = ANY($4))`, [
      anchor.userId,
      anchor.appId,
      anchor.environment,
      wanted,
    ]);
    const now = new Date();
    // One subscription per group, customer and environment (a unique key of `subscriptions`): one item per group.
    const data = await Promise.all(
      rows.map(async (s) => {
        const latest = await purchases.findTransaction(String(s.latest_transaction_id));
        if (!latest) throw new Error(`subscription ${s.original_transaction_id} has no transaction`);
        const renewal = renewalPayload(s, anchor.environment, now);
        const lastTransaction = {
          originalTransactionId: String(s.original_transaction_id),
          status: APPLE_STATUS[s.status],
          signedTransactionInfo: await purchases.signTransaction(latest),
          signedRenewalInfo: await purchases.signPayload(renewal),
        };
        return { subscriptionGroupIdentifier: s.subscription_group, lastTransactions: [lastTransaction] };
      }),
    );
    return { environment: anchor.environment, bundleId: client.bundleId, appAppleId: await appAppleId(client.appId), data };
  }

  return { allSubscriptionStatuses, signedRenewalInfo };
}
export type SubscriptionStatuses = ReturnType<typeof createSubscriptionStatuses>;
