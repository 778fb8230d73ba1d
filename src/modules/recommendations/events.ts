// What recommendations tells its own processes, through the outbox.
import { eventRecorder } from '../../platform/bus/index.ts';

export interface RecommendationsEvents {
  /** A build changed the neighbours: every process drops its cached lists. aggregateId: the build id. */
  'recs.built': { id: string };
  /** These users' stored rows changed (computed again, or an app got): every process drops their held answers. */
  'recs.rows_changed': { userIds: string[] };
}

export const recommendationsEvents = eventRecorder<RecommendationsEvents>();
