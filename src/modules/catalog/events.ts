// What the catalog tells the others, through the outbox, in the transaction of the change.
import { eventRecorder } from '../../platform/bus/index.ts';
import type { AppStatus } from './workflow.ts';

/** What changed in an app: a developer's edit, a review step, or a counter another module keeps (counters.ts). */
export type AppChange =
  | 'created'
  | 'metadata'
  | 'icon'
  | 'screenshots'
  | 'version'
  | 'binary'
  | 'prices'
  | 'products'
  | 'submitted'
  | 'approved'
  | 'rejected'
  | 'published'
  | 'removed'
  | 'ratings'
  | 'downloads';

/** app.changed: every change to an app; consumers re-read what they need. aggregateId: the app id. */
export interface AppChangedPayload {
  appId: string;
  change: AppChange;
  /** The rest is absent for counter changes (ratings, downloads): category pages then just expire. */
  bundleId?: string;
  status?: AppStatus;
  /** Categories whose listings may show the app, before and after the change. */
  categories?: string[];
}

export interface CatalogEvents {
  'app.changed': AppChangedPayload;
  /** A version went to review. */
  'app.submitted': { appId: string; versionId: string; version: string };
  /** An admin's decision on the version in review (reason: a rejection's). */
  'app.reviewed': { appId: string; versionId: string; version: string; decision: 'approved' | 'rejected'; reason: string | null };
}

export const catalogEvents = eventRecorder<CatalogEvents>();
