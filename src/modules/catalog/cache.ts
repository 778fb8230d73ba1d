// Hot reads of the catalog, in two layers:
//   L1  in this process (lru-cache, a few seconds): answers without any await;
//   L2  the shared cache port (Redis in production): survives across processes, longer TTLs.
// Values are pre-serialised JSON, sent as they are. An empty value means "no public app here" (negative entry).
// App details are kept as Buffers: off the V8 heap, so a large L1 does not turn into garbage-collector work.
//
// Invalidation runs twice for each change: in the writing process right after its commit, and in every
// process from the app.changed broadcast. Each run drops the app's L1 entries and its L2 detail and bundle
// keys, and gives the browse scopes of its categories (and of "all categories") a new generation: browse
// page keys contain the generation, so a bump orphans every cached page of that scope at once.
// A fill that started before an invalidation seen by this process is not stored.
import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Cache } from '../../platform/cache/index.ts';
import type { Logger } from '../../platform/observability/logger.ts';

export interface AppKeys {
  appId: string;
  /** Absent when another module reports the change: the bundle -> id mapping never changes for a live app. */
  bundleId?: string;
  /** Categories whose browse pages may show this app (before and after the change). */
  categories: string[];
}

/** The generation scope of browse pages that span every category. */
export const ALL_CATEGORIES = '*';

const TTL = {
  // A safety net only: every change is invalidated explicitly (after commit and by broadcast), and a
  // broadcast gap (broker link lost) clears L1 entirely.
  l1Ms: 5 * 60_000,
  detailMs: 10 * 60_000,
  negativeMs: 30_000,
  pageMs: 30_000,
  l1PageMs: 2_000,
  l1GenerationMs: 1_000,
};

const L1_DETAIL_BYTES = 384 * 1024 * 1024;
const NOT_PUBLIC = Buffer.alloc(0);

const key = {
  detail: (id: string) => `cat:app:${id}`,
  bundle: (bundleId: string) => `cat:bundle:${bundleId}`,
  generation: (scope: string) => `cat:gen:${scope}`,
  page: (scope: string, generation: string, pageKey: string) => `cat:browse:${scope}:${generation}:${pageKey}`,
};

export class CatalogCache {
  // Bounded by bytes, not entries: detail JSON varies from 1 to 10+ KB (prices of every storefront).
  private readonly details = new LRUCache<string, Buffer>({ maxSize: L1_DETAIL_BYTES, sizeCalculation: (b) => b.length + 64, ttl: TTL.l1Ms });
  private readonly bundles = new LRUCache<string, string>({ max: 50_000, ttl: TTL.l1Ms });
  private readonly pages = new LRUCache<string, string>({ max: 2_000, ttl: TTL.l1PageMs });
  private readonly generations = new LRUCache<string, string>({ max: 1_000, ttl: TTL.l1GenerationMs });
  private readonly inflight = new Map<string, Promise<string>>();
  private readonly inflightBuffers = new Map<string, Promise<Buffer>>();
  /** Sequence number of the last invalidation of each app seen here, to refuse fills that raced with it. */
  private readonly invalidatedAt = new LRUCache<string, number>({ max: 20_000, ttl: 60_000 });
  private sequence = 0;

  constructor(
    private readonly shared: Cache,
    private readonly logger: Logger,
  ) {}

  /** L1 only, synchronous: the hot path. undefined = not in L1. */
  peekDetail(appId: string): Buffer | undefined {
    return this.details.get(appId);
  }

  peekBundle(bundleId: string): string | undefined {
    return this.bundles.get(bundleId);
  }

  /** The public detail JSON of an app (empty when it is not public), loading it at most once at a time per process. */
  async detail(appId: string, load: () => Promise<string>): Promise<Buffer> {
    const l1 = this.details.get(appId);
    if (l1 !== undefined) return l1;
    const l2 = await this.sharedGetBuffer(key.detail(appId));
    if (l2 !== null) {
      this.details.set(appId, l2);
      return l2;
    }
    return this.singleFlightBuffer(`d:${appId}`, async () => {
      const started = this.sequence;
      const json = await load();
      const body = json === '' ? NOT_PUBLIC : Buffer.from(json);
      if (!this.invalidatedSince(appId, started)) {
        this.details.set(appId, body);
        await this.sharedSet(key.detail(appId), json, json === '' ? TTL.negativeMs : TTL.detailMs);
      }
      return body;
    });
  }

  /**
   * detail() for several apps at once, in the order asked: L1, then the shared cache (all keys in
   * parallel), then one load for every id still missing. Ids another call is loading are awaited, not
   * loaded twice; fills that raced with an invalidation are not stored, as in detail().
   * load returns the JSON of each public app; an id it leaves out is not public.
   * What this reads is stored in the shared cache only: its callers (summaries of listed apps) keep their own
   * compact copy, and the full details of every app listed beside another (up to 30 similar apps each) would push
   * out of L1 the details that are read (measured at 2M apps: app detail at 10% of hello, its own details evicted).
   */
  async detailsOf(appIds: readonly string[], load: (ids: string[]) => Promise<Map<string, string>>): Promise<Buffer[]> {
    const found = new Map<string, Buffer | Promise<Buffer>>();
    const missing: string[] = [];
    for (const id of appIds) {
      if (found.has(id)) continue;
      const l1 = this.details.get(id);
      if (l1 !== undefined) found.set(id, l1);
      else {
        found.set(id, NOT_PUBLIC); // placeholder, replaced below
        missing.push(id);
      }
    }
    if (missing.length) {
      const l2 = await Promise.all(missing.map((id) => this.sharedGetBuffer(key.detail(id))));
      const toLoad: string[] = [];
      missing.forEach((id, i) => {
        const hit = l2[i];
        const flying = this.inflightBuffers.get(`d:${id}`);
        if (hit !== null) found.set(id, hit);
        else if (flying) found.set(id, flying);
        else toLoad.push(id);
      });
      if (toLoad.length) {
        const started = this.sequence;
        const batch = load(toLoad).then((jsons) => {
          const bodies = new Map<string, Buffer>();
          for (const id of toLoad) {
            const json = jsons.get(id) ?? '';
            const body = json === '' ? NOT_PUBLIC : Buffer.from(json);
            bodies.set(id, body);
            if (!this.invalidatedSince(id, started)) void this.sharedSet(key.detail(id), json, json === '' ? TTL.negativeMs : TTL.detailMs);
          }
          return bodies;
        });
        for (const id of toLoad) {
          const k = `d:${id}`;
          const one = batch.then((bodies) => bodies.get(id)!);
          const done = () => {
            if (this.inflightBuffers.get(k) === one) this.inflightBuffers.delete(k);
          };
          one.then(done, done);
          this.inflightBuffers.set(k, one);
          found.set(id, one);
        }
      }
    }
    return Promise.all(appIds.map((id) => found.get(id)!));
  }

  /** Bundle id -> app id ('' when no app has it). Bundle ids never change, so only the negative entry ever goes stale. */
  async bundle(bundleId: string, load: () => Promise<string>): Promise<string> {
    const l1 = this.bundles.get(bundleId);
    if (l1 !== undefined) return l1;
    const l2 = await this.sharedGet(key.bundle(bundleId));
    if (l2 !== null) {
      this.bundles.set(bundleId, l2);
      return l2;
    }
    return this.singleFlight(`b:${bundleId}`, async () => {
      const id = await load();
      this.bundles.set(bundleId, id);
      await this.sharedSet(key.bundle(bundleId), id, id === '' ? TTL.negativeMs : TTL.detailMs);
      return id;
    });
  }

  /** A browse page: cached briefly under the current generation of its category scope. */
  async page(scope: string, pageKey: string, load: () => Promise<string>): Promise<string> {
    const generation = await this.generation(scope);
    const k = key.page(scope, generation, pageKey);
    const l1 = this.pages.get(k);
    if (l1 !== undefined) return l1;
    const l2 = await this.sharedGet(k);
    if (l2 !== null) {
      this.pages.set(k, l2);
      return l2;
    }
    return this.singleFlight(`p:${k}`, async () => {
      const json = await load();
      if ((await this.generation(scope)) === generation) {
        this.pages.set(k, json);
        await this.sharedSet(k, json, TTL.pageMs);
      }
      return json;
    });
  }

  /** Forgets everything this process holds (L1 only); the next reads go to the shared cache. */
  clearLocal(): void {
    this.details.clear();
    this.bundles.clear();
    this.pages.clear();
    this.generations.clear();
  }

  /** Drops this app from both layers and orphans the browse pages of its categories. Idempotent. */
  async invalidate(app: AppKeys): Promise<void> {
    this.invalidatedAt.set(app.appId, ++this.sequence);
    this.details.delete(app.appId);
    this.pages.clear();
    this.generations.clear();
    const keys = [key.detail(app.appId)];
    if (app.bundleId) {
      this.bundles.delete(app.bundleId);
      keys.push(key.bundle(app.bundleId));
    }
    const scopes = [...new Set([...app.categories, ALL_CATEGORIES])];
    await Promise.all([this.sharedDel(...keys), ...scopes.map((s) => this.sharedSet(key.generation(s), newGeneration()))]);
  }

  private invalidatedSince(appId: string, sequence: number): boolean {
    return (this.invalidatedAt.get(appId) ?? 0) > sequence;
  }

  private async generation(scope: string): Promise<string> {
    const l1 = this.generations.get(scope);
    if (l1 !== undefined) return l1;
    const generation = (await this.sharedGet(key.generation(scope))) ?? '0';
    this.generations.set(scope, generation);
    return generation;
  }

  private singleFlight(k: string, fn: () => Promise<string>): Promise<string> {
    return shareInFlight(this.inflight, k, fn);
  }

  private singleFlightBuffer(k: string, fn: () => Promise<Buffer>): Promise<Buffer> {
    return shareInFlight(this.inflightBuffers, k, fn);
  }

  // The shared cache is an accelerator: when it fails, reads fall through to the database and the
  // failure is logged, rather than failing the request.
  private async sharedGet(k: string): Promise<string | null> {
    try {
      return await this.shared.get(k);
    } catch (err) {
      this.logger.warn({ err, key: k }, 'catalog cache read failed');
      return null;
    }
  }

  private async sharedGetBuffer(k: string): Promise<Buffer | null> {
    try {
      return await this.shared.getBuffer(k);
    } catch (err) {
      this.logger.warn({ err, key: k }, 'catalog cache read failed');
      return null;
    }
  }

  private async sharedSet(k: string, value: string, ttlMs?: number): Promise<void> {
    try {
      await this.shared.set(k, value, ttlMs);
    } catch (err) {
      this.logger.warn({ err, key: k }, 'catalog cache write failed');
    }
  }

  private async sharedDel(...keys: string[]): Promise<void> {
    try {
      await this.shared.del(...keys);
    } catch (err) {
      this.logger.error({ err, keys }, 'catalog cache invalidation failed; entries expire by TTL');
    }
  }
}

/** Concurrent callers of the same key share one call of fn. */
function shareInFlight<T>(inflight: Map<string, Promise<T>>, k: string, fn: () => Promise<T>): Promise<T> {
  let p = inflight.get(k);
  if (!p) {
    p = fn().finally(() => inflight.delete(k));
    inflight.set(k, p);
  }
  return p;
}

const newGeneration = () => `${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
