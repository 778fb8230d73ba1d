// What the library tells the others, through the outbox, in the transaction of the change.
import { eventRecorder } from '../../platform/bus/index.ts';
import type { AppDownloadedPayload } from './stats.ts';

export interface LibraryEvents {
  /** One per download link issued. aggregateId: the app id. */
  'app.downloaded': AppDownloadedPayload;
}

export const libraryEvents = eventRecorder<LibraryEvents>();
