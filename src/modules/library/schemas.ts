// Request and response schemas of the library API (TypeBox). Bodies are strict (no unknown fields, no
// coercion); params and queries are coerced text. What JSON Schema cannot say clearly (appId or bundleId,
// dotted versions, date windows) is checked in the service with its own message.
import { Type, type Static, type TSchema } from 'typebox';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Uuid = Type.String({ format: 'uuid' });
const Timestamp = Type.String({ format: 'date-time' });
const Day = Type.String({ format: 'date', description: 'a UTC day, YYYY-MM-DD' });
const TransactionId = Type.String({ description: 'numeric transaction id (Apple format)' });

export const ErrorBody = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }),
});

export const IdParams = Type.Object({ id: Uuid });
export const TokenParams = Type.Object({ token: Type.String({ description: 'the token of a download URL' }) });

// ---- library

export const LibraryQuery = Type.Object(
  {
    kind: Type.Optional(Type.Enum(['app', 'in_app'], { description: 'only apps, or only in-app purchases' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);
export type LibraryQuery = Static<typeof LibraryQuery>;

const OwnedApp = Type.Object({
  kind: Type.Literal('app'),
  appId: Uuid,
  bundleId: Type.String(),
  name: Type.String(),
  iconUrl: Nullable(Type.String()),
  currentVersion: Nullable(Type.String()),
  available: Type.Boolean({ description: 'still on the store, so downloadable' }),
  acquiredAt: Timestamp,
  price: Type.Object({ amountMilli: Type.Integer({ description: 'paid, in integer milliunits (0: a free app)' }), currency: Type.String() }),
  transactionId: TransactionId,
});

const OwnedInApp = Type.Object({
  kind: Type.Literal('in_app'),
  productId: Type.String(),
  type: Type.Enum(['non_consumable', 'non_renewing', 'auto_renewable']),
  appId: Uuid,
  appName: Type.String(),
  acquiredAt: Timestamp,
  expiresAt: Nullable(Timestamp),
  transactionId: Type.String({ description: 'the original transaction id for subscriptions' }),
});

export const LibraryItem = Type.Union([OwnedApp, OwnedInApp]);
export type LibraryItem = Static<typeof LibraryItem>;
export const LibraryPage = Type.Object({ items: Type.Array(LibraryItem), nextCursor: Nullable(Type.String()) });
export type LibraryPage = Static<typeof LibraryPage>;

// ---- downloads

export const DownloadLink = Type.Object({
  url: Type.String({ description: 'GET it (no session needed) before expiresAt' }),
  expiresAt: Timestamp,
  version: Type.String(),
  sha256: Type.String(),
  size: Type.Integer(),
  installToken: Type.String({
    description:
      "hand it to the app's SDK, which sends it with every session (POST /api/v1/sdk/engagement): sessions count in charts only with a token of a real download; good for 400 days",
  }),
});
export type DownloadLink = Static<typeof DownloadLink>;

// ---- updates

export const MAX_INSTALLED = 500;

export const UpdatesBody = Type.Object(
  {
    installed: Type.Array(
      Type.Object(
        {
          appId: Type.Optional(Uuid),
          bundleId: Type.Optional(Type.String({ minLength: 1, maxLength: 155 })),
          version: Type.String({ minLength: 1, maxLength: 40, description: 'the installed version, dotted numeric' }),
        },
        { additionalProperties: false, description: 'an installed app, named by appId or bundleId' },
      ),
      { maxItems: MAX_INSTALLED },
    ),
  },
  { additionalProperties: false },
);
export type UpdatesInput = Static<typeof UpdatesBody>;
export type InstalledApp = UpdatesInput['installed'][number];

const AppRef = Type.Object({ appId: Type.Optional(Type.String()), bundleId: Type.Optional(Type.String()) });

export const Update = Type.Object({
  appId: Uuid,
  bundleId: Type.String(),
  installedVersion: Type.String(),
  version: Type.String(),
  releaseNotes: Type.String(),
  size: Type.Integer(),
  sha256: Type.String(),
  download: Type.Object({ url: Type.String(), expiresAt: Timestamp }),
});
export type Update = Static<typeof Update>;

export const Updates = Type.Object({
  updates: Type.Array(Update),
  notOwned: Type.Array(Type.Object({ appId: Uuid, bundleId: Type.String() }), { description: 'published apps you have not got: no URL' }),
  unknown: Type.Array(AppRef, { description: 'entries naming no published app, as sent' }),
});
export type Updates = Static<typeof Updates>;

// ---- statistics

export const DownloadStatsQuery = Type.Object(
  {
    from: Type.Optional(Day),
    to: Type.Optional(Day),
  },
  { additionalProperties: false },
);
export type DownloadStatsQuery = Static<typeof DownloadStatsQuery>;

const Counts = {
  firstDownloads: Type.Integer(),
  redownloads: Type.Integer(),
  updates: Type.Integer(),
};

export const DownloadStats = Type.Object({
  appId: Uuid,
  from: Type.String(),
  to: Type.String(),
  downloadCount: Type.Integer({ description: 'all-time first downloads (distinct users)' }),
  totals: Type.Object(Counts),
  days: Type.Array(Type.Object({ day: Type.String(), ...Counts }), { description: 'every day of the window, oldest first' }),
});
export type DownloadStats = Static<typeof DownloadStats>;
