// What purchases tells the others, through the outbox, in the transaction of the change. Consumers deduplicate
// by event id, never by transaction id: a revocation carries the transaction id of the purchase it revokes.
import { eventRecorder } from '../../platform/bus/index.ts';
import type { Environment } from './service.ts';

/** A money event's facts: who, what, where and how much (integer milliunits of currency). */
interface MoneyFacts {
  transactionId: string;
  originalTransactionId: string;
  userId: string;
  appId: string;
  environment: Environment;
  priceMilli: number;
  currency: string;
  storefront: string;
}

export interface PurchasesEvents {
  /** aggregateId: the order id. */
  'purchase.completed': MoneyFacts & { purchaseId: string; developerId: string; productId: string; kind: string };
  /** aggregateId: the revoked transaction id. */
  'transaction.revoked': MoneyFacts & { productId: string; revocationReason: number; revocationDate: string };
  /** A period charged. aggregateId: the subscription id. */
  'subscription.renewed': MoneyFacts & { subscriptionId: string; periodIndex: number; expiresDate: string; commissionPct: number };
  'subscription.billing_failed': {
    subscriptionId: string;
    userId: string;
    appId: string;
    originalTransactionId: string;
    status: 'grace' | 'billing_retry';
    gracePeriodEnd: string | null;
    declineCode: string;
  };
  'subscription.expired': { subscriptionId: string; userId: string; appId: string; originalTransactionId: string; reason: string };
  'subscription.auto_renew_disabled': { subscriptionId: string; userId: string; originalTransactionId: string };
  'subscription.auto_renew_enabled': { subscriptionId: string; userId: string; originalTransactionId: string };
}

export const PURCHASE_EVENTS = [
  'purchase.completed',
  'transaction.revoked',
  'subscription.renewed',
  'subscription.billing_failed',
  'subscription.expired',
  'subscription.auto_renew_disabled',
  'subscription.auto_renew_enabled',
] as const satisfies readonly (keyof PurchasesEvents)[];

export const purchasesEvents = eventRecorder<PurchasesEvents>();
