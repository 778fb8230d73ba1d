// What rankings tells the others (and its own workers), through the outbox.
import { eventRecorder } from '../../platform/bus/index.ts';

export interface RankingsEvents {
  /** Compute the charts of an hourly slot (at most once). aggregateId: the run id. */
  'ranking.compute': { runId: string; slot: string };
  /** A new chart run is live. */
  'ranking.computed': { runId: string };
}

export const rankingsEvents = eventRecorder<RankingsEvents>();
