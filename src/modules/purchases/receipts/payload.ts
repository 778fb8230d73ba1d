// What a signed transaction says: a `transactions` row turned into Apple's JWSTransactionDecodedPayload.

export type TransactionKind = 'app' | 'consumable' | 'non_consumable' | 'auto_renewable' | 'non_renewing';
export type ReceiptEnvironment = 'Sandbox' | 'Production';
export type TransactionReason = 'PURCHASE' | 'RENEWAL';

/** A row of `transactions` (camelCase) plus its storefront's alpha-3 code and Apple id from `storefronts`. */
export interface TransactionRecord {
  /** bigint, as the decimal string Apple uses for transaction ids. */
  id: string;
  originalTransactionId: string;
  bundleId: string;
  /** Apple productId; for kind 'app' the payload uses the bundle id whatever this says. */
  productId: string;
  kind: TransactionKind;
  subscriptionGroup: string | null;
  environment: ReceiptEnvironment;
  /** ISO 3166-1 alpha-2, e.g. 'US'. */
  storefront: string;
  /** ISO 3166-1 alpha-3, e.g. 'USA': what Apple puts in `storefront`. */
  storefrontAlpha3: string;
  /** Apple's numeric storefront id, e.g. 143441. */
  appleStorefrontId: number | string;
  currency: string;
  /** Milliunits of `currency`. int8 arrives as a string from pg and as a bigint or number elsewhere. */
  priceMilli: number | string | bigint;
  quantity: number;
  purchaseDate: Date;
  originalPurchaseDate: Date;
  expiresDate: Date | null;
  transactionReason: TransactionReason;
  appAccountToken: string | null;
  revocationDate: Date | null;
  /** Apple's: 0 refunded for another reason, 1 refunded because of an issue with the app. */
  revocationReason: 0 | 1 | null;
  /** True once the subscriber upgraded to another product of the group (from subscription state, not the row). */
  isUpgraded?: boolean;
}

export type TransactionType = 'Auto-Renewable Subscription' | 'Non-Consumable' | 'Consumable' | 'Non-Renewing Subscription';

/**
 * Apple's JWSTransactionDecodedPayload, field for field (names, types, ms epochs). Absent fields are omitted,
 * never null: Apple's verifier rejects a null where it expects a string or number.
 */
export interface DecodedTransactionPayload {
  transactionId: string;
  originalTransactionId: string;
  webOrderLineItemId?: string;
  bundleId: string;
  productId: string;
  subscriptionGroupIdentifier?: string;
  purchaseDate: number;
  originalPurchaseDate: number;
  expiresDate?: number;
  quantity: number;
  type: TransactionType;
  appAccountToken?: string;
  inAppOwnershipType: 'PURCHASED';
  signedDate: number;
  revocationReason?: 0 | 1;
  revocationDate?: number;
  isUpgraded?: true;
  environment: ReceiptEnvironment;
  transactionReason: TransactionReason;
  storefront: string;
  storefrontId: string;
  price: number;
  currency: string;
}

const TYPE_BY_KIND: Record<TransactionKind, TransactionType> = {
  app: 'Non-Consumable',
  non_consumable: 'Non-Consumable',
  consumable: 'Consumable',
  auto_renewable: 'Auto-Renewable Subscription',
  non_renewing: 'Non-Renewing Subscription',
};

export function toDecodedPayload(record: TransactionRecord, signedDate: Date): DecodedTransactionPayload {
  const type = TYPE_BY_KIND[record.kind];
  if (!type) throw new Error(`transaction ${record.id}: unknown kind ${String(record.kind)}`);
  const isSubscription = record.kind === 'auto_renewable';
  const epochMs = (date: Date, field: string): number => {
    const ms = date instanceof Date ? date.getTime() : NaN;
    if (!Number.isFinite(ms)) throw new Error(`transaction ${record.id}: ${field} is not a valid date`);
    return ms;
  };
  const price = Number(record.priceMilli);
  if (!Number.isSafeInteger(price)) throw new Error(`transaction ${record.id}: priceMilli is not an integer: ${String(record.priceMilli)}`);
  return omitUndefined({
    transactionId: record.id,
    originalTransactionId: record.originalTransactionId,
    // Apple's id of one billing period of a subscription; each of our periods is its own transaction.
    webOrderLineItemId: isSubscription ? record.id : undefined,
    bundleId: record.bundleId,
    productId: record.kind === 'app' ? record.bundleId : record.productId,
    subscriptionGroupIdentifier: isSubscription ? (record.subscriptionGroup ?? undefined) : undefined,
    purchaseDate: epochMs(record.purchaseDate, 'purchaseDate'),
    originalPurchaseDate: epochMs(record.originalPurchaseDate, 'originalPurchaseDate'),
    expiresDate: record.expiresDate ? epochMs(record.expiresDate, 'expiresDate') : undefined,
    quantity: record.quantity,
    type,
    appAccountToken: record.appAccountToken ?? undefined,
    inAppOwnershipType: 'PURCHASED',
    signedDate: epochMs(signedDate, 'signedDate'),
    revocationReason: record.revocationReason ?? undefined,
    revocationDate: record.revocationDate ? epochMs(record.revocationDate, 'revocationDate') : undefined,
    isUpgraded: record.isUpgraded ? true : undefined,
    environment: record.environment,
    transactionReason: record.transactionReason,
    storefront: record.storefrontAlpha3.toUpperCase(),
    storefrontId: String(record.appleStorefrontId),
    price,
    currency: record.currency,
  });
}

function omitUndefined<T extends object>(payload: T): T {
  return Object.fromEntries(Object.entries(payload).filter(([, v]) => v !== undefined)) as T;
}
