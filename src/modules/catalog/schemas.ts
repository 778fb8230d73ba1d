// Request and response schemas of the catalog API (TypeBox: JSON Schema with static types).
// Bodies are strict (additionalProperties: false, no coercion); params and queries are coerced text.
import { Type, type Static, type TSchema } from 'typebox';
import { BROWSE_SORTS } from './cursor.ts';
import { DEVICE_TYPES } from './media.ts';
import { APP_STATUSES, VERSION_STATUSES } from './workflow.ts';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Uuid = Type.String({ format: 'uuid' });
const Timestamp = Type.String({ format: 'date-time' });
const Country = Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2 storefront country, e.g. US' });
const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 currency of that storefront, e.g. USD' });
const Milliunits = Type.Integer({ minimum: 0, maximum: 1_000_000_000_000, description: 'integer milliunits: 990 = 0.99' });

export const AGE_RATINGS = ['4+', '9+', '13+', '16+', '18+'] as const;
export const PRODUCT_TYPES = ['consumable', 'non_consumable', 'auto_renewable', 'non_renewing'] as const;
export const SUBSCRIPTION_PERIODS = ['P1W', 'P1M', 'P2M', 'P3M', 'P6M', 'P1Y'] as const;

export const ErrorBody = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }),
});

export const NoContent = Type.Null({ description: 'No content' });

// ---- params and queries ----

export const IdParams = Type.Object({ id: Uuid });
export const VersionParams = Type.Object({ id: Uuid, versionId: Uuid });
export const ProductParams = Type.Object({ id: Uuid, productId: Uuid });
export const MediaParams = Type.Object({ id: Uuid, mediaId: Uuid });
export const DeviceParams = Type.Object({ id: Uuid, deviceType: Type.Enum([...DEVICE_TYPES]) });
export const BundleParams = Type.Object({ bundleId: Type.String({ minLength: 1, maxLength: 155 }) });
export const Sha256Params = Type.Object({ sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }) });

const Limit = Type.Integer({ minimum: 1, maximum: 100, default: 20 });
const Cursor = Type.String({ maxLength: 512, description: 'nextCursor of the previous page' });

export const PageQuery = Type.Object({ limit: Type.Optional(Limit), cursor: Type.Optional(Cursor) }, { additionalProperties: false });

export const BrowseQuery = Type.Object(
  {
    category: Type.Optional(Type.String({ maxLength: 64 })),
    subcategory: Type.Optional(Type.String({ maxLength: 64 })),
    sort: Type.Optional(Type.Enum([...BROWSE_SORTS], { default: 'newest' })),
    price: Type.Optional(Type.Enum(['free', 'paid'])),
    country: Type.Optional(Type.String({ pattern: '^[A-Z]{2}$', description: 'storefront whose price is shown (default US)' })),
    limit: Type.Optional(Limit),
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);
export type BrowseQuery = Static<typeof BrowseQuery>;

// ---- bodies ----

const Name = Type.String({ minLength: 1, maxLength: 50 });
const Subtitle = Type.String({ maxLength: 80 });
const Description = Type.String({ maxLength: 10_000 });
const Keywords = Type.Array(Type.String({ minLength: 1, maxLength: 50 }), { maxItems: 20 });
const CategorySlug = Type.String({ minLength: 1, maxLength: 64 });

export const CreateAppBody = Type.Object(
  {
    bundleId: Type.String({ minLength: 1, maxLength: 155 }),
    name: Name,
    subtitle: Type.Optional(Nullable(Subtitle)),
    description: Type.Optional(Description),
    keywords: Type.Optional(Keywords),
    category: CategorySlug,
    subcategory: Type.Optional(Nullable(CategorySlug)),
    ageRating: Type.Optional(Type.Enum([...AGE_RATINGS])),
    isFree: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type CreateAppInput = Static<typeof CreateAppBody>;

export const UpdateAppBody = Type.Object(
  {
    name: Type.Optional(Name),
    subtitle: Type.Optional(Nullable(Subtitle)),
    description: Type.Optional(Description),
    keywords: Type.Optional(Keywords),
    category: Type.Optional(CategorySlug),
    subcategory: Type.Optional(Nullable(CategorySlug)),
    ageRating: Type.Optional(Type.Enum([...AGE_RATINGS])),
    isFree: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateAppInput = Static<typeof UpdateAppBody>;

export const CreateVersionBody = Type.Object(
  {
    version: Type.String({ minLength: 1, maxLength: 40, description: 'dotted numeric, greater than the last published one' }),
    releaseNotes: Type.Optional(Type.String({ maxLength: 4000 })),
    minOsVersion: Type.String({ minLength: 1, maxLength: 40 }),
    permissions: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 50 })),
  },
  { additionalProperties: false },
);
export type CreateVersionInput = Static<typeof CreateVersionBody>;

export const PriceInput = Type.Object(
  { country: Country, currency: Currency, amountMilli: Milliunits, tier: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })) },
  { additionalProperties: false },
);
export type PriceInput = Static<typeof PriceInput>;
export const PricesBody = Type.Object({ prices: Type.Array(PriceInput, { maxItems: 200 }) }, { additionalProperties: false });

export const CreateProductBody = Type.Object(
  {
    productId: Type.String({ minLength: 1, maxLength: 100 }),
    referenceName: Type.String({ minLength: 1, maxLength: 64 }),
    type: Type.Enum([...PRODUCT_TYPES]),
    subscriptionPeriod: Type.Optional(Type.Enum([...SUBSCRIPTION_PERIODS])),
    subscriptionGroup: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    prices: Type.Optional(Type.Array(PriceInput, { maxItems: 200 })),
  },
  { additionalProperties: false },
);
export type CreateProductInput = Static<typeof CreateProductBody>;

export const OrderBody = Type.Object({ ids: Type.Array(Uuid, { maxItems: 50 }) }, { additionalProperties: false });
export const RejectBody = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 4000 }) }, { additionalProperties: false });

// ---- responses ----

export const Category = Type.Object({ slug: Type.String(), name: Type.String() });
export const CategoryTree = Type.Array(Type.Object({ slug: Type.String(), name: Type.String(), subcategories: Type.Array(Category) }));
export const Storefronts = Type.Array(
  Type.Object({ country: Type.String(), alpha3: Type.String(), currency: Type.String(), appleStorefrontId: Type.Integer(), name: Type.String() }),
);

export const Price = Type.Object({ country: Type.String(), currency: Type.String(), amountMilli: Type.Integer(), tier: Nullable(Type.Integer()) });
export const Prices = Type.Object({ prices: Type.Array(Price) });
const Developer = Type.Object({ id: Uuid, name: Type.String() });
const Rating = Type.Object({ average: Type.Number(), count: Type.Integer() });
const Screenshots = Type.Object(Object.fromEntries(DEVICE_TYPES.map((d) => [d, Type.Optional(Type.Array(Type.String()))])), {
  description: 'screenshot URLs in display order, by device type (only types that have some)',
});

export const PublicApp = Type.Object({
  id: Uuid,
  bundleId: Type.String(),
  name: Type.String(),
  subtitle: Nullable(Type.String()),
  description: Type.String(),
  keywords: Type.Array(Type.String()),
  category: Category,
  subcategory: Nullable(Category),
  ageRating: Type.String(),
  isFree: Type.Boolean(),
  status: Type.Enum([...APP_STATUSES]),
  developer: Developer,
  iconUrl: Nullable(Type.String()),
  screenshots: Screenshots,
  currentVersion: Nullable(
    Type.Object({
      version: Type.String(),
      releaseNotes: Type.String(),
      minOsVersion: Type.String(),
      sizeBytes: Nullable(Type.Integer()),
      publishedAt: Nullable(Timestamp),
    }),
  ),
  prices: Type.Array(Price),
  inAppPurchases: Type.Object({
    count: Type.Integer(),
    hasSubscriptions: Type.Boolean(),
    items: Type.Array(
      Type.Object({ productId: Type.String(), referenceName: Type.String(), type: Type.String(), subscriptionPeriod: Nullable(Type.String()) }),
    ),
  }),
  rating: Rating,
  createdAt: Timestamp,
  updatedAt: Timestamp,
  publishedAt: Nullable(Timestamp),
  chartPositions: Type.Optional(
    Type.Array(Type.Object({ chart: Type.String(), country: Type.String(), category: Nullable(Type.String()), rank: Type.Integer() }), {
      description: "the app's places in the current charts (top 100 of each; category null: overall), present when it is in any; added by the charts module",
    }),
  ),
  similarApps: Type.Optional(
    Type.Array(Type.Object({ id: Uuid, name: Type.String() }, { additionalProperties: true }), {
      maxItems: 10,
      description:
        'up to 10 apps like this one: the app summaries (US prices) of GET /apps/{id}/recommendations; absent while they are being computed (a later read has them); added by the recommendations module',
    }),
  ),
});
export type PublicApp = Static<typeof PublicApp>;

export const PendingVersion = Type.Object({
  id: Uuid,
  version: Type.String(),
  status: Type.Enum([...VERSION_STATUSES]),
  hasBinary: Type.Boolean(),
  reviewNote: Nullable(Type.String()),
});

export const DeveloperApp = Type.Object({
  ...PublicApp.properties,
  revision: Type.Integer(),
  reviewNote: Nullable(Type.String()),
  pendingVersion: Nullable(PendingVersion),
});
export type DeveloperApp = Static<typeof DeveloperApp>;

export const AppSummary = Type.Object({
  id: Uuid,
  bundleId: Type.String(),
  name: Type.String(),
  status: Type.Enum([...APP_STATUSES]),
  category: Type.String(),
  currentVersion: Nullable(Type.String()),
  revision: Type.Integer(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export const AppSummaryPage = Type.Object({ items: Type.Array(AppSummary), nextCursor: Nullable(Type.String()) });

export const BrowseItem = Type.Object({
  id: Uuid,
  bundleId: Type.String(),
  name: Type.String(),
  subtitle: Nullable(Type.String()),
  category: Type.String(),
  subcategory: Nullable(Type.String()),
  ageRating: Type.String(),
  isFree: Type.Boolean(),
  price: Nullable(Type.Object({ amountMilli: Type.Integer(), currency: Type.String() })),
  developer: Developer,
  iconUrl: Nullable(Type.String()),
  rating: Rating,
  downloads: Type.Integer(),
  publishedAt: Timestamp,
});
export type BrowseItem = Static<typeof BrowseItem>;
export const BrowsePage = Type.Object({ items: Type.Array(BrowseItem), nextCursor: Nullable(Type.String()) });

export const PermissionDiff = Type.Object({ added: Type.Array(Type.String()), removed: Type.Array(Type.String()) });

export const Version = Type.Object({
  id: Uuid,
  version: Type.String(),
  releaseNotes: Type.String(),
  minOsVersion: Type.String(),
  permissions: Type.Array(Type.String()),
  permissionDiff: PermissionDiff,
  status: Type.Enum([...VERSION_STATUSES]),
  binary: Nullable(Type.Object({ sha256: Type.String(), sizeBytes: Type.Integer() })),
  reviewNote: Nullable(Type.String()),
  createdAt: Timestamp,
  submittedAt: Nullable(Timestamp),
  publishedAt: Nullable(Timestamp),
});
export type Version = Static<typeof Version>;
export const VersionList = Type.Object({ items: Type.Array(Version) });

export const MediaItem = Type.Object({
  id: Uuid,
  kind: Type.Enum(['icon', 'screenshot']),
  deviceType: Nullable(Type.String()),
  position: Type.Integer(),
  sha256: Type.String(),
  sizeBytes: Type.Integer(),
  contentType: Type.String(),
  url: Type.String(),
});
export type MediaItem = Static<typeof MediaItem>;
export const MediaList = Type.Object({ items: Type.Array(MediaItem) });

export const Product = Type.Object({
  id: Uuid,
  productId: Type.String(),
  referenceName: Type.String(),
  type: Type.Enum([...PRODUCT_TYPES]),
  subscriptionPeriod: Nullable(Type.String()),
  subscriptionGroup: Nullable(Type.String()),
  prices: Type.Array(Price),
  createdAt: Timestamp,
});
export type Product = Static<typeof Product>;
export const ProductList = Type.Object({ items: Type.Array(Product) });

export const ReviewItem = Type.Object({
  kind: Type.Enum(['new_app', 'update']),
  app: Type.Object({ id: Uuid, bundleId: Type.String(), name: Type.String(), status: Type.String(), developer: Developer }),
  version: Version,
  previousVersion: Nullable(Type.String()),
});
export type ReviewItem = Static<typeof ReviewItem>;
export const ReviewQueue = Type.Object({ items: Type.Array(ReviewItem), nextCursor: Nullable(Type.String()) });

export const StatusResult = Type.Object({
  id: Uuid,
  status: Type.Enum([...APP_STATUSES]),
  version: Nullable(Type.Object({ id: Uuid, version: Type.String(), status: Type.Enum([...VERSION_STATUSES]) })),
});
export type StatusResult = Static<typeof StatusResult>;
