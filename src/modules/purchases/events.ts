/** Events of the commerce module (all through the outbox). Consumers deduplicate by event id, never by
 *  transaction id: a revocation carries the transaction id of the purchase it revokes. */
export const PURCHASE_EVENTS = [
  'purchase.completed',
  'transaction.revoked',
  'subscription.renewed',
  'subscription.billing_failed',
  'subscription.expired',
  'subscription.auto_renew_disabled',
  'subscription.auto_renew_enabled',
] as const;
