// The review workflow as data: which status an app and its versions move to, and what a submission lacks.
//
//   app:      draft -> in_review -> approved -> published -> removed
//                         \-> rejected -> in_review (resubmitted)
//   version:  draft -> in_review -> approved -> published
//                         \-> rejected -> in_review
// A published app stays published while a later version goes through review on its own;
// publishing that approved version makes it current. removed is final.

export const APP_STATUSES = ['draft', 'in_review', 'approved', 'rejected', 'published', 'removed'] as const;
export type AppStatus = (typeof APP_STATUSES)[number];
export const VERSION_STATUSES = ['draft', 'in_review', 'approved', 'rejected', 'published'] as const;
export type VersionStatus = (typeof VERSION_STATUSES)[number];

/** A version's binary and notes may change only before review or after a rejection. */
export const isVersionEditable = (s: VersionStatus) => s === 'draft' || s === 'rejected';

/** App status after a submission, or null when the app cannot be submitted in this status. */
export function afterSubmit(app: AppStatus): AppStatus | null {
  if (app === 'draft' || app === 'rejected') return 'in_review';
  if (app === 'published') return 'published'; // an update: the version is reviewed, the app stays live
  return null;
}

/** App status after the reviewer's decision on its version in review. */
export function afterReview(app: AppStatus, decision: 'approved' | 'rejected'): AppStatus {
  return app === 'in_review' ? decision : app;
}

/** App status after publishing an approved version, or null when there is nothing to publish. */
export function afterPublish(app: AppStatus): AppStatus | null {
  return app === 'approved' || app === 'published' ? 'published' : null;
}

export interface SubmissionFacts {
  hasIcon: boolean;
  version: { status: VersionStatus; hasBinary: boolean } | null;
  isFree: boolean;
  priceCount: number;
}

/** What is missing before a submission can go to review: [] when complete. */
export function missingForSubmission(f: SubmissionFacts): string[] {
  const missing: string[] = [];
  if (!f.hasIcon) missing.push('icon');
  if (!f.version) missing.push('version');
  else if (!f.version.hasBinary) missing.push('binary');
  if (!f.isFree && f.priceCount === 0) missing.push('prices');
  return missing;
}
