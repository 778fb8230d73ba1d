// The one contract between a module and the application: app.ts and main.ts iterate over these parts and
// never name a module's routes, jobs or migrations themselves. A module's services, readers and event
// types are its other exports (see each module's index.ts header).
import type { FastifyPluginAsync } from 'fastify';
import type { Consumer } from './bus/index.ts';
import type { Guards } from './http/auth.ts';
import type { Job } from './jobs/index.ts';

export interface ModuleParts {
  name: string;
  /** Its migrations directory (src/modules/<name>/migrations), if it has tables; all are applied in one global filename order. */
  migrations?: string;
  /** Mounted under /api/v1 with the auth guards. */
  routes?: FastifyPluginAsync<{ guards: Guards }>;
  /** Mounted at the root: paths another protocol fixes (Apple's /inApps, /.well-known). */
  rootRoutes?: FastifyPluginAsync;
  /** Its reactions to events (platform/bus consumersOf), registered by the application before the bus starts. */
  consumers?: Consumer[];
  /** This process may have missed broadcasts (its broker link dropped): drop what was derived from them. */
  onEventGap?(): void;
  /** Periodic jobs, run by platform/jobs in the processes that run workers. */
  jobs?: Job[];
  /** Waited for on a clean stop, after the jobs: work the module started on its own (a chart run in flight). */
  drain?(): Promise<void>;
}
