// Request and response schemas of the reviews API (TypeBox). Bodies are strict (no unknown fields, no
// coercion); params and queries are coerced text. What JSON Schema cannot say clearly (blank after trimming,
// control characters) is checked in the service with its own message.
import { Type, type Static, type TSchema } from 'typebox';
import { INTEGRITY_ACTIONS, REVIEW_STATUSES } from './events.ts';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Uuid = Type.String({ format: 'uuid' });
const Timestamp = Type.String({ format: 'date-time' });
const Status = Type.Enum([...REVIEW_STATUSES]);

/** Limits count characters (code points) after trimming; the schemas leave room for the whitespace trimmed off. */
const TRIM_ROOM = 100;
export const TITLE_MAX = 100;
export const BODY_MAX = 4000;
export const RESPONSE_MAX = 2000;
export const NOTE_MAX = 500;
/** Enough for the longest valid review however its characters are escaped; larger bodies are refused with 413 unread. */
export const REVIEW_BODY_LIMIT_BYTES = 64 * 1024;

export const REVIEW_SORTS = ['helpful', 'recent', 'rating_high', 'rating_low'] as const;
export type ReviewSort = (typeof REVIEW_SORTS)[number];
export const REPORT_REASONS = ['spam', 'offensive', 'off_topic', 'fake', 'other'] as const;
export type ReportReason = (typeof REPORT_REASONS)[number];

export const ErrorBody = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }),
});
export const NoContent = Type.Null({ description: 'No content' });

// ---- params and queries

export const AppParams = Type.Object({ id: Uuid });
export const ReviewParams = Type.Object({ reviewId: Uuid });
export const AppReviewParams = Type.Object({ id: Uuid, reviewId: Uuid });

const Limit = Type.Integer({ minimum: 1, maximum: 50, default: 20 });
const Cursor = Type.String({ maxLength: 512, description: 'nextCursor of the previous page (of the same sort)' });
const Sort = Type.Enum([...REVIEW_SORTS], {
  default: 'helpful',
  description: 'helpful: most helpful first (the default); recent: last written first; rating_high / rating_low: by stars, then recent',
});

export const ListQuery = Type.Object(
  { sort: Type.Optional(Sort), limit: Type.Optional(Limit), cursor: Type.Optional(Cursor) },
  { additionalProperties: false },
);
export type ListQuery = Static<typeof ListQuery>;

export const DeveloperListQuery = Type.Object(
  { status: Type.Optional(Status), sort: Type.Optional(Sort), limit: Type.Optional(Limit), cursor: Type.Optional(Cursor) },
  { additionalProperties: false },
);
export type DeveloperListQuery = Static<typeof DeveloperListQuery>;

// ---- bodies

export const ReviewInput = Type.Object(
  {
    rating: Type.Integer({ minimum: 1, maximum: 5, description: 'stars, 1 to 5' }),
    title: Type.String({ minLength: 1, maxLength: TITLE_MAX + TRIM_ROOM, description: `1 to ${TITLE_MAX} characters after trimming, one line` }),
    body: Type.String({ minLength: 1, maxLength: BODY_MAX + TRIM_ROOM, description: `1 to ${BODY_MAX} characters after trimming` }),
  },
  { additionalProperties: false },
);
export type ReviewInput = Static<typeof ReviewInput>;

export const ReportInput = Type.Object(
  {
    reason: Type.Enum([...REPORT_REASONS]),
    note: Type.Optional(
      Type.String({ maxLength: NOTE_MAX + TRIM_ROOM, description: `what a moderator should know: at most ${NOTE_MAX} characters after trimming` }),
    ),
  },
  { additionalProperties: false },
);
export type ReportInput = Static<typeof ReportInput>;

export const ResponseInput = Type.Object(
  { body: Type.String({ minLength: 1, maxLength: RESPONSE_MAX + TRIM_ROOM, description: `1 to ${RESPONSE_MAX} characters after trimming` }) },
  { additionalProperties: false },
);
export type ResponseInput = Static<typeof ResponseInput>;

// ---- responses

const DeveloperResponse = Nullable(
  Type.Object({ body: Type.String(), createdAt: Timestamp, updatedAt: Nullable(Timestamp) }, { description: "the developer's reply" }),
);

const itemFields = {
  id: Uuid,
  rating: Type.Integer(),
  title: Type.String(),
  body: Type.String(),
  author: Type.Object({ displayName: Type.String() }),
  verified: Type.Boolean({ description: 'the author owned the app when writing this' }),
  appVersion: Nullable(Type.String({ description: 'the app version current when this was written' })),
  helpfulCount: Type.Integer(),
  edited: Type.Boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  developerResponse: DeveloperResponse,
};

export const ReviewItem = Type.Object({
  ...itemFields,
  mine: Type.Optional(Type.Boolean({ description: "the caller's own review (then its status is given)" })),
  status: Type.Optional(Status),
  helpfulByMe: Type.Optional(Type.Boolean({ description: 'signed-in callers: whether they voted it helpful' })),
});
export type ReviewItem = Static<typeof ReviewItem>;

export const ReviewPage = Type.Object({
  items: Type.Array(ReviewItem, { description: "approved reviews; a signed-in caller's own unapproved review comes first on the first page" }),
  nextCursor: Nullable(Type.String()),
});
export type ReviewPage = Static<typeof ReviewPage>;

export const DeveloperReviewItem = Type.Object({ ...itemFields, status: Status });
export type DeveloperReviewItem = Static<typeof DeveloperReviewItem>;
export const DeveloperReviewPage = Type.Object({ items: Type.Array(DeveloperReviewItem), nextCursor: Nullable(Type.String()) });
export type DeveloperReviewPage = Static<typeof DeveloperReviewPage>;

export const MyReview = Type.Object({
  id: Uuid,
  appId: Uuid,
  rating: Type.Integer(),
  title: Type.String(),
  body: Type.String(),
  status: Status,
  verified: Type.Boolean(),
  appVersion: Nullable(Type.String()),
  revision: Type.Integer(),
  edited: Type.Boolean(),
  helpfulCount: Type.Integer(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  developerResponse: DeveloperResponse,
});
export type MyReview = Static<typeof MyReview>;

export const RatingSummary = Type.Object({
  appId: Uuid,
  count: Type.Integer({ description: 'approved ratings' }),
  average: Type.Number({ description: 'mean of the approved ratings, 2 decimals (0 when none)' }),
  histogram: Type.Object({ '1': Type.Integer(), '2': Type.Integer(), '3': Type.Integer(), '4': Type.Integer(), '5': Type.Integer() }),
  bayesianAverage: Type.Number({ description: 'the average pulled towards the store-wide prior (what rankings use), 2 decimals' }),
});
export type RatingSummary = Static<typeof RatingSummary>;

export const HelpfulVote = Type.Object({ reviewId: Uuid, helpfulCount: Type.Integer(), voted: Type.Boolean() });
export type HelpfulVote = Static<typeof HelpfulVote>;

export const Report = Type.Object({
  reviewId: Uuid,
  reason: Type.Enum([...REPORT_REASONS]),
  note: Nullable(Type.String()),
  createdAt: Timestamp,
  alreadyReported: Type.Boolean({ description: 'true when this is the report the caller made before (it is counted once)' }),
});
export type Report = Static<typeof Report>;

/** One review as moderators (and the integrity module) see it. */
export const ModerationReview = Type.Object({
  reviewId: Uuid,
  appId: Uuid,
  appName: Type.String(),
  developerId: Uuid,
  userId: Uuid,
  authorName: Type.String(),
  rating: Type.Integer(),
  title: Type.String(),
  body: Type.String(),
  appVersion: Nullable(Type.String()),
  verified: Type.Boolean(),
  status: Status,
  revision: Type.Integer(),
  integrity: Nullable(
    Type.Object({
      score: Type.Number(),
      signals: Type.Unknown(),
      action: Type.Enum([...INTEGRITY_ACTIONS]),
      model: Type.String(),
      scoredAt: Timestamp,
    }),
  ),
  moderatedBy: Nullable(Uuid),
  moderatedAt: Nullable(Timestamp),
  helpfulCount: Type.Integer(),
  helpfulScore: Type.Number({ description: 'the helpful votes weighted by their accounts\' trust (0 to 1 each): what "most helpful" orders by' }),
  reportCount: Type.Integer(),
  reportScore: Type.Number({ description: "the reports weighted by their accounts' trust (0 to 1 each): the review is held when it reaches 3" }),
  reports: Type.Record(Type.String(), Type.Integer(), { description: 'reports by reason' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type ModerationReview = Static<typeof ModerationReview>;
export const ModerationPage = Type.Object({ items: Type.Array(ModerationReview), nextCursor: Nullable(Type.String()) });
export type ModerationPage = Static<typeof ModerationPage>;
