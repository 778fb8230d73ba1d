// Request and response schemas: Orchard's API-key routes, and Apple's App Store Server API (TypeBox).
import { Type } from 'typebox';

const Timestamp = Type.String({ format: 'date-time' });

export const ErrorBody = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }),
});

export const ApiKey = Type.Object({
  keyId: Type.String({ description: 'the kid of your JWTs' }),
  issuerId: Type.String({ format: 'uuid', description: 'the iss of your JWTs: one per developer' }),
  createdAt: Timestamp,
  revokedAt: Type.Union([Timestamp, Type.Null()]),
});
export const CreatedApiKey = Type.Object({
  keyId: Type.String(),
  issuerId: Type.String({ format: 'uuid' }),
  privateKey: Type.String({ description: 'PKCS#8 PEM (P-256): shown only now, Orchard keeps only the public key' }),
  createdAt: Timestamp,
});
export const ApiKeyList = Type.Object({ items: Type.Array(ApiKey) });
export const NoContent = Type.Null();
export const KeyIdParams = Type.Object({ keyId: Type.String({ pattern: '^[A-Z0-9]{10}$' }) });

// ---------------------------------------------------------------------------- Apple's format

export const AppleErrorBody = Type.Object({ errorCode: Type.Optional(Type.Integer()), errorMessage: Type.String() });

export const TransactionIdParams = Type.Object({
  transactionId: Type.String({ pattern: '^[1-9][0-9]{0,17}$', description: 'a transaction id of your app' }),
});

const EpochMs = Type.Integer({ minimum: 0, description: 'ms since the epoch' });
const List = <T extends Parameters<typeof Type.Array>[0]>(item: T) => Type.Array(item, { maxItems: 100 });
export const HistoryQuery = Type.Object({
  revision: Type.Optional(Type.String({ maxLength: 64, description: 'the revision of the previous page' })),
  sort: Type.Optional(Type.Union([Type.Literal('ASCENDING'), Type.Literal('DESCENDING')], { default: 'ASCENDING' })),
  startDate: Type.Optional(EpochMs),
  endDate: Type.Optional(EpochMs),
  productId: Type.Optional(List(Type.String({ maxLength: 255 }))),
  productType: Type.Optional(
    List(Type.Union([Type.Literal('AUTO_RENEWABLE'), Type.Literal('NON_RENEWABLE'), Type.Literal('CONSUMABLE'), Type.Literal('NON_CONSUMABLE')])),
  ),
  subscriptionGroupIdentifier: Type.Optional(List(Type.String({ maxLength: 255 }))),
  inAppOwnershipType: Type.Optional(Type.Union([Type.Literal('PURCHASED'), Type.Literal('FAMILY_SHARED')])),
  revoked: Type.Optional(Type.Boolean()),
});

export const TransactionInfoResponse = Type.Object({ signedTransactionInfo: Type.String() });
const AppAppleId = Type.Integer({ description: "Apple's numeric id of the app: the appAppleId of its notifications" });
export const HistoryResponse = Type.Object({
  revision: Type.String(),
  hasMore: Type.Boolean(),
  bundleId: Type.String(),
  appAppleId: AppAppleId,
  environment: Type.Union([Type.Literal('Production'), Type.Literal('Sandbox')]),
  signedTransactions: Type.Array(Type.String()),
});

export const StatusQuery = Type.Object({
  status: Type.Optional(
    List(Type.Integer({ minimum: 1, maximum: 5, description: "Apple's Status: 1 active, 2 expired, 3 billing retry, 4 grace period, 5 revoked" })),
  ),
});
export const StatusResponse = Type.Object({
  environment: Type.Union([Type.Literal('Production'), Type.Literal('Sandbox')]),
  bundleId: Type.String(),
  appAppleId: AppAppleId,
  data: Type.Array(
    Type.Object({
      subscriptionGroupIdentifier: Type.String(),
      lastTransactions: Type.Array(
        Type.Object({
          originalTransactionId: Type.String(),
          status: Type.Integer({ minimum: 1, maximum: 5 }),
          signedTransactionInfo: Type.String(),
          signedRenewalInfo: Type.String(),
        }),
      ),
    }),
  ),
});
