// What the reviews module tells the others, through the outbox, in the transaction of the change.
import { eventRecorder, type OrchardEvent } from '../../platform/bus/index.ts';

export const REVIEW_STATUSES = ['pending', 'held', 'approved', 'rejected'] as const;
/** pending: waiting for integrity; held: for a moderator; approved: public and counted; rejected. */
export type ReviewStatus = (typeof REVIEW_STATUSES)[number];

export const INTEGRITY_ACTIONS = ['approve', 'manual_review', 'reject'] as const;
export type IntegrityAction = (typeof INTEGRITY_ACTIONS)[number];

/** review.created (first revision) and review.updated (every later one): what integrity scores. aggregateId: reviewId. */
export interface ReviewSubmitted {
  reviewId: string;
  appId: string;
  userId: string;
  /** The app owner's developer id. */
  developerId: string;
  rating: number;
  title: string;
  body: string;
  appVersion: string | null;
  revision: number;
  verified: boolean;
  /** The author's users.created_at (ISO). */
  accountCreatedAt: string;
  /** The author's acquisitions when writing (absent from events recorded before it existed). */
  author?: AuthorProfile;
  /** Clock time of this revision (ISO). */
  writtenAt: string;
  /** When the review was first written (ISO). */
  createdAt: string;
}
/** What the author had acquired when writing: integrity reads cohorts and dormant accounts from it. */
export interface AuthorProfile {
  /** When the author first acquired this app (ISO), or null. */
  acquiredAt: string | null;
  /** When the author first acquired any app (ISO), or null. */
  firstAcquiredAt: string | null;
  /** Apps the author holds. */
  appsOwned: number;
}
export type ReviewSubmittedEvent = OrchardEvent<ReviewSubmitted>;

/**
 * review.moderated: a status change of a decided review: by a moderator, by reports ('reports': an approved
 * review reported by enough users is held for a moderator), or by integrity revisiting a review it approved.
 * Integrity's first verdict on a pending revision sends none (it is every review); an edit sends review.updated.
 */
export interface ReviewModerated {
  reviewId: string;
  appId: string;
  status: ReviewStatus;
  previousStatus: ReviewStatus;
  by: 'integrity' | 'moderator' | 'reports';
}

/** review.deleted: the author removed the review (its votes and reports went with it). */
export interface ReviewDeleted {
  reviewId: string;
  appId: string;
  userId: string;
  previousStatus: ReviewStatus;
}

/** review.responded: the developer wrote, edited or removed the response to a review. */
export interface ReviewResponded {
  reviewId: string;
  appId: string;
  developerId: string;
  /** The review's author, who may be told. */
  userId: string;
  action: 'created' | 'updated' | 'deleted';
  at: string;
}

export interface ReviewsEvents {
  'review.created': ReviewSubmitted;
  'review.updated': ReviewSubmitted;
  'review.deleted': ReviewDeleted;
  'review.moderated': ReviewModerated;
  'review.responded': ReviewResponded;
}

export const reviewsEvents = eventRecorder<ReviewsEvents>();

/** A decision about a review: integrity's score or a moderator's. Applied by applyVerdict in the caller's transaction. */
export interface Verdict {
  reviewId: string;
  /** The revision that was scored; null (a moderator) applies to the current revision. */
  revision: number | null;
  status: 'approved' | 'held' | 'rejected';
  by: 'integrity' | 'moderator';
  moderatorId?: string;
  integrity?: { score: number; signals: unknown; action: IntegrityAction; model: string };
}
