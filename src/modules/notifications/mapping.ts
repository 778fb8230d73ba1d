// Which App Store Server Notification (V2 type and subtype) each commerce event becomes, and the
// subscription status (Apple's Status: 1 active, 2 expired, 3 billing retry, 4 grace, 5 revoked) it implies.
import type { OrchardEvent } from '../../platform/bus/index.ts';

export interface NotificationKind {
  type: string;
  subtype?: string;
  /** Apple's Status for auto-renewable subscriptions; undefined when unknown or not a subscription. */
  status?: number;
}

const EXPIRY_SUBTYPES: Record<string, string> = {
  AUTO_RENEW_DISABLED: 'VOLUNTARY',
  BILLING_ERROR: 'BILLING_RETRY',
  PRODUCT_NOT_FOR_SALE: 'PRODUCT_NOT_FOR_SALE',
};

/** `kind` is the transaction's kind (auto_renewable, consumable, ...), from the event or the transaction row. */
export function notificationKind(event: OrchardEvent<Record<string, any>>, kind: string): NotificationKind | null {
  const p = event.payload;
  const subscription = kind === 'auto_renewable';
  switch (event.type) {
    case 'purchase.completed':
      if (!subscription) return { type: 'ONE_TIME_CHARGE' };
      return { type: 'SUBSCRIBED', subtype: String(p.transactionId) === String(p.originalTransactionId) ? 'INITIAL_BUY' : 'RESUBSCRIBE', status: 1 };
    case 'subscription.renewed':
      return { type: 'DID_RENEW', status: 1 };
    case 'subscription.billing_failed':
      return p.status === 'grace' ? { type: 'DID_FAIL_TO_RENEW', subtype: 'GRACE_PERIOD', status: 4 } : { type: 'DID_FAIL_TO_RENEW', status: 3 };
    case 'subscription.expired':
      return { type: 'EXPIRED', subtype: EXPIRY_SUBTYPES[String(p.reason)] ?? 'VOLUNTARY', status: 2 };
    case 'subscription.auto_renew_disabled':
      return { type: 'DID_CHANGE_RENEWAL_STATUS', subtype: 'AUTO_RENEW_DISABLED' };
    case 'subscription.auto_renew_enabled':
      return { type: 'DID_CHANGE_RENEWAL_STATUS', subtype: 'AUTO_RENEW_ENABLED' };
    case 'transaction.revoked':
      return { type: 'REFUND', status: subscription ? 5 : undefined };
    default:
      return null;
  }
}
