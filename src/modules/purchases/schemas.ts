// Request and response schemas of the commerce API (TypeBox). Bodies are strict: unknown fields are a 400.
import { Type, type Static } from 'typebox';

const Uuid = Type.String({ format: 'uuid' });
const Environment = Type.Union([Type.Literal('Production'), Type.Literal('Sandbox')], { description: "Apple's environment (default Production)" });

export const ErrorBody = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }),
});
const errors = { '4xx': ErrorBody, '5xx': ErrorBody };
export { errors };

export const PurchaseBody = Type.Object(
  {
    appId: Uuid,
    productId: Type.Optional(
      Type.String({ minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9._-]+$', description: "an in-app product's id; omit to buy or get the app itself" }),
    ),
    price: Type.Optional(
      Type.Object(
        {
          amountMilli: Type.Integer({ minimum: 0, maximum: 1_000_000_000_000, description: 'integer milliunits, as shown to the buyer (990 = 0.99)' }),
          currency: Type.String({ pattern: '^[A-Z]{3}$' }),
        },
        { additionalProperties: false },
      ),
    ),
    quantity: Type.Optional(Type.Integer({ minimum: 1, maximum: 10, description: 'consumables only' })),
    appAccountToken: Type.Optional(Type.String({ format: 'uuid', description: "the developer's own id for the buyer, returned in every signed payload" })),
    environment: Type.Optional(Environment),
  },
  { additionalProperties: false },
);
export type PurchaseBody = Static<typeof PurchaseBody>;

export const PurchaseResult = Type.Object({
  purchase: Type.Object({
    id: Uuid,
    status: Type.String(),
    appId: Uuid,
    productId: Type.String(),
    type: Type.String(),
    environment: Type.String(),
    storefront: Type.String(),
    price: Type.Object({ amountMilli: Type.Integer(), currency: Type.String() }),
    quantity: Type.Integer(),
    transactionId: Type.String(),
    originalTransactionId: Type.String(),
    purchaseDate: Type.String(),
    expiresDate: Type.Union([Type.String(), Type.Null()]),
    appAccountToken: Type.Union([Type.String(), Type.Null()]),
    subscriptionId: Type.Union([Type.String(), Type.Null()]),
  }),
  signedTransaction: Type.String({ description: 'JWS (ES256, x5c chain to the Orchard root): a StoreKit 2 JWSTransaction' }),
});

export const EntitlementsQuery = Type.Object({ appId: Uuid, environment: Type.Optional(Environment) }, { additionalProperties: false });
export const Entitlements = Type.Object({
  appId: Uuid,
  environment: Type.String(),
  entitlements: Type.Array(
    Type.Object({
      entitlement: Type.String(),
      expiresDate: Type.Union([Type.String(), Type.Null()]),
      grantedBy: Type.Array(
        Type.Object({ transactionId: Type.String(), productId: Type.String(), type: Type.String(), expiresDate: Type.Union([Type.String(), Type.Null()]) }),
      ),
    }),
  ),
});

export const TransactionsQuery = Type.Object(
  {
    appId: Uuid,
    environment: Type.Optional(Environment),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export const TransactionPage = Type.Object({
  items: Type.Array(Type.Object({ transactionId: Type.String(), signedTransaction: Type.String() })),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

export const IdParams = Type.Object({ id: Uuid });
export const TransactionParams = Type.Object({ id: Type.String({ pattern: '^[0-9]{1,19}$', description: 'numeric transaction id' }) });
export const ProductParams = Type.Object({ id: Uuid, productId: Uuid });

const SubscriptionView = Type.Object({
  id: Uuid,
  appId: Uuid,
  productId: Type.String(),
  subscriptionGroup: Type.String(),
  originalTransactionId: Type.String(),
  environment: Type.String(),
  status: Type.String({ description: 'active | grace | billing_retry | expired | revoked' }),
  autoRenew: Type.Boolean(),
  currentPeriodEnd: Type.String(),
  gracePeriodEnd: Type.Union([Type.String(), Type.Null()]),
  renewalPrice: Type.Union([Type.Object({ amountMilli: Type.Integer(), currency: Type.String() }), Type.Null()]),
});
export { SubscriptionView };
export const SubscriptionList = Type.Object({ items: Type.Array(SubscriptionView) });

export const RefundBody = Type.Object(
  { reason: Type.Optional(Type.Union([Type.Literal(0), Type.Literal(1)], { description: "Apple's revocationReason: 0 other, 1 an issue with the app" })) },
  { additionalProperties: false },
);

export const EntitlementGrantsBody = Type.Object(
  { entitlements: Type.Array(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' }), { maxItems: 20, uniqueItems: true }) },
  { additionalProperties: false },
);

export const VerifyBody = Type.Object({ signedTransaction: Type.String({ minLength: 1, maxLength: 65536 }) }, { additionalProperties: false });
export const VerifyResult = Type.Object({
  valid: Type.Boolean(),
  reason: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
  status: Type.Optional(Type.String({ description: 'active | expired | revoked (from the database, now)' })),
  transaction: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});

export const MismatchQuery = Type.Object(
  {
    kind: Type.Optional(Type.Union([Type.Literal('charge_without_order'), Type.Literal('amount_mismatch'), Type.Literal('charge_missing')])),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
const MoneyOrNull = Type.Union([Type.Object({ amountMilli: Type.Integer(), currency: Type.String() }), Type.Null()]);
const NullableString = Type.Union([Type.String(), Type.Null()]);
export const MismatchPage = Type.Object({
  items: Type.Array(
    Type.Object({
      id: Uuid,
      kind: Type.String({ description: 'charge_without_order | amount_mismatch | charge_missing' }),
      chargeId: NullableString,
      transactionId: NullableString,
      purchaseId: NullableString,
      provider: MoneyOrNull,
      order: MoneyOrNull,
      detail: Type.String(),
      firstSeenAt: Type.String(),
      lastSeenAt: Type.String(),
      inLatestCheck: Type.Boolean({ description: 'the latest comparison still found it' }),
    }),
  ),
  nextCursor: NullableString,
  latestCheck: Type.Union([
    Type.Object({
      id: Uuid,
      ranAt: Type.String(),
      from: Type.String(),
      to: Type.String(),
      chargesChecked: Type.Integer(),
      transactionsChecked: Type.Integer(),
      mismatches: Type.Integer(),
    }),
    Type.Null(),
  ]),
});
