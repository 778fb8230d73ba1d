// Bench scenarios. Adding one is adding an object to SCENARIOS: which server it loads, and the pool of
// requests the load generator draws from uniformly at random (one draw per request sent).
import type { Db } from '../src/platform/db/index.ts';

export interface BenchRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/** Facts about the seeded catalog, read from the database before the server starts. */
export interface Sample {
  publishedAppIds: string[];
  topCategories: string[];
}

export interface ScenarioContext {
  sample: Sample;
  /** The server under load, for scenarios that must prepare something first (log in, create a cart ...). */
  baseUrl: string;
}

export interface Scenario {
  name: string;
  /** hello = the bare Fastify baseline; orchard = `orchard serve` on the seeded catalog. */
  target: 'hello' | 'orchard';
  what: string;
  /** Cache-backed reads: request the whole pool once first (reported as `<name>:cold`), then measure warm. */
  prime?: boolean;
  requests(ctx: ScenarioContext): BenchRequest[] | Promise<BenchRequest[]>;
}

const SORTS = ['newest', 'popular', 'rating', 'name'];

export const SCENARIOS: Scenario[] = [
  {
    name: 'hello',
    target: 'hello',
    what: 'GET / on a bare Fastify server: the ceiling of this machine',
    requests: () => [{ path: '/' }],
  },
  {
    name: 'app-by-id',
    target: 'orchard',
    what: 'GET /api/v1/apps/:id, uniform over the published apps',
    prime: true,
    requests: ({ sample }) => sample.publishedAppIds.map((id) => ({ path: `/api/v1/apps/${id}` })),
  },
  {
    name: 'category-browse',
    target: 'orchard',
    what: 'GET /api/v1/apps?category=<top-level>&sort=<any>&limit=25',
    requests: ({ sample }) =>
      sample.topCategories.flatMap((c) => SORTS.map((sort) => ({ path: `/api/v1/apps?category=${c}&sort=${sort}&limit=25` }))),
  },
];

export async function loadSample(db: Db): Promise<Sample> {
  const ids = await db.query<{ id: string }>(`SELECT id FROM apps WHERE status = 'published'`);
  const categories = await db.query<{ slug: string }>('SELECT slug FROM categories WHERE parent_slug IS NULL ORDER BY position');
  return { publishedAppIds: ids.rows.map((r) => r.id), topCategories: categories.rows.map((r) => r.slug) };
}
