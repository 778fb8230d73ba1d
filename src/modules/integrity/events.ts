// What integrity tells the others (and its own processes), through the outbox.
import { eventRecorder } from '../../platform/bus/index.ts';

export interface IntegrityEvents {
  /** A new scoring model is live: every process reloads it. */
  'integrity.model_trained': { version: number };
}

export const integrityEvents = eventRecorder<IntegrityEvents>();
