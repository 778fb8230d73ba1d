// Request and response schemas of the search API (TypeBox). Queries are coerced text; unknown
// parameters are refused. What JSON Schema cannot say clearly (blank q, control characters, unknown
// category or country, bad cursor) is checked in the service, with its own message.
import { Type, type Static, type TSchema } from 'typebox';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Uuid = Type.String({ format: 'uuid' });

export const MAX_QUERY_LENGTH = 200;

const Q = Type.String({ minLength: 1, maxLength: MAX_QUERY_LENGTH, description: 'what to look for (1-200 characters)' });

export const SearchQuery = Type.Object(
  {
    q: Q,
    category: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'top-level category slug' })),
    subcategory: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'subcategory slug' })),
    price: Type.Optional(Type.Enum(['free', 'paid'])),
    minRating: Type.Optional(Type.Number({ minimum: 0, maximum: 5, description: 'lowest average rating, 0..5' })),
    ageRating: Type.Optional(
      Type.String({
        pattern: '^(4|9|13|16|18)[+ ]?$',
        description: "highest age rating accepted: 4+, 9+, 13+, 16+ or 18+ (encode '+' as %2B, or leave it out)",
      }),
    ),
    country: Type.Optional(Type.String({ pattern: '^[A-Z]{2}$', description: 'storefront: only apps available there; its price is shown (default US)' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 20 })),
    cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);
export type SearchQuery = Static<typeof SearchQuery>;

export const SuggestQuery = Type.Object(
  {
    q: Type.String({ minLength: 1, maxLength: 100, description: 'what the user has typed so far' }),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 20, default: 10 })),
  },
  { additionalProperties: false },
);

export const SimilarParams = Type.Object({ id: Uuid }, { additionalProperties: false });
export const SimilarQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 10 })) }, { additionalProperties: false });

export const AppSummary = Type.Object({
  id: Uuid,
  bundleId: Type.String(),
  name: Type.String(),
  subtitle: Nullable(Type.String()),
  developer: Type.Object({ id: Uuid, name: Type.String() }),
  category: Type.String(),
  iconUrl: Nullable(Type.String()),
  rating: Type.Object({ average: Type.Number(), count: Type.Integer() }),
  isFree: Type.Boolean(),
  price: Type.Optional(Type.Object({ amountMilli: Type.Integer(), currency: Type.String() }, { description: 'in the storefront asked for (paid apps)' })),
});
export type AppSummary = Static<typeof AppSummary>;

export const SearchPage = Type.Object({
  items: Type.Array(AppSummary),
  total: Type.Integer({ description: 'matches before paging (a lower bound when retrieval stopped early)' }),
  mode: Type.Enum(['all-terms', 'any-terms', 'none']),
  corrections: Type.Record(Type.String(), Type.String(), { description: 'typo corrections applied, e.g. { "spotfy": "spotify" }' }),
  degraded: Type.Boolean({ description: 'true when answered by the database fallback (index not ready or failing)' }),
  nextCursor: Nullable(Type.String()),
});
export type SearchPage = Static<typeof SearchPage>;

export const Suggestions = Type.Object({
  suggestions: Type.Array(Type.Object({ text: Type.String(), kind: Type.Enum(['app', 'query']), appId: Type.Optional(Uuid) })),
});

export const SimilarApps = Type.Object({ items: Type.Array(AppSummary), degraded: Type.Boolean() });

export const ErrorBody = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }),
});
