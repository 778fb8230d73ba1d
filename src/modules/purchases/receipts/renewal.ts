// What signed renewal info says: a subscription's renewal state as Apple's JWSRenewalInfoDecodedPayload.
import type { ReceiptEnvironment } from './payload.ts';

export type RenewalStatus = 'active' | 'grace' | 'billing_retry' | 'expired' | 'revoked';

/** A subscription's renewal state (a `subscriptions` row with its product and renewal price). */
export interface RenewalRecord {
  originalTransactionId: string;
  /** The product the subscriber has now, which is also the one that renews. */
  productId: string;
  environment: ReceiptEnvironment;
  status: RenewalStatus;
  autoRenew: boolean;
  /** Start of the current run of uninterrupted paid periods. */
  periodAnchor: Date;
  currentPeriodEnd: Date;
  graceUntil: Date | null;
  /** The next period's price in the subscriber's storefront, or null when the product is no longer sold there. */
  renewalPriceMilli: number | string | null;
  currency: string | null;
  appAccountToken: string | null;
}

/** Apple's AutoRenewStatus (0 off, 1 on) and ExpirationIntent (1 cancelled, 2 billing error, 4 product not available). */
export interface DecodedRenewalInfoPayload {
  originalTransactionId: string;
  autoRenewProductId: string;
  productId: string;
  autoRenewStatus: 0 | 1;
  isInBillingRetryPeriod?: boolean;
  gracePeriodExpiresDate?: number;
  expirationIntent?: 1 | 2 | 4;
  signedDate: number;
  environment: ReceiptEnvironment;
  recentSubscriptionStartDate: number;
  renewalDate: number;
  currency?: string;
  renewalPrice?: number;
  appAccountToken?: string;
}

/**
 * Apple's JWSRenewalInfoDecodedPayload for a subscription. Absent fields are omitted, never null: Apple's
 * verifier rejects a null where it expects a string or number.
 */
export function toRenewalInfoPayload(record: RenewalRecord, signedDate: Date): DecodedRenewalInfoPayload {
  const live = record.status === 'active' || record.status === 'grace' || record.status === 'billing_retry';
  const retrying = record.status === 'grace' || record.status === 'billing_retry';
  const price = record.renewalPriceMilli === null ? undefined : Number(record.renewalPriceMilli);
  if (price !== undefined && !Number.isSafeInteger(price)) {
    throw new Error(`subscription ${record.originalTransactionId}: renewal price is not an integer: ${String(record.renewalPriceMilli)}`);
  }
  const payload: DecodedRenewalInfoPayload = {
    originalTransactionId: record.originalTransactionId,
    autoRenewProductId: record.productId,
    productId: record.productId,
    autoRenewStatus: live && record.autoRenew ? 1 : 0,
    isInBillingRetryPeriod: live ? retrying : undefined,
    gracePeriodExpiresDate: record.status === 'grace' && record.graceUntil ? record.graceUntil.getTime() : undefined,
    expirationIntent: record.status === 'expired' ? expirationIntent(record) : undefined,
    signedDate: signedDate.getTime(),
    environment: record.environment,
    recentSubscriptionStartDate: record.periodAnchor.getTime(),
    renewalDate: record.currentPeriodEnd.getTime(),
    currency: price === undefined ? undefined : (record.currency ?? undefined),
    renewalPrice: price,
    appAccountToken: record.appAccountToken ?? undefined,
  };
  return Object.fromEntries(Object.entries(payload).filter(([, v]) => v !== undefined)) as DecodedRenewalInfoPayload;
}

/** The renewal job expires a subscription whose auto-renew is off, whose product is no longer sold, or whose billing kept failing. */
function expirationIntent(record: RenewalRecord): 1 | 2 | 4 {
  if (!record.autoRenew) return 1;
  return record.renewalPriceMilli === null ? 4 : 2;
}
