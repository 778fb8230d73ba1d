// App summaries for result lists (search, similar apps), kept compact and pre-serialised: hydrating a
// page of hits is string splicing, with no JSON.parse of the catalog's multi-KB detail (every price of
// every storefront) and no re-serialisation per request.
//
// Kept in this process only (an L1, like the catalog's), filled from the catalog's public detail: its
// L1 when it holds the app, otherwise one batched read (shared cache, then one query for the rest).
// Invalidated by the same rules as the catalog's L1: app.changed (a broadcast, so every process hears
// it) drops the app, a broadcast gap drops everything, and a fill that started before an invalidation
// seen here is not stored. The TTL is only a safety net.
import { LRUCache } from 'lru-cache';
import type { CatalogService } from '../catalog/index.ts';

interface Entry {
  /** The summary's JSON object without its closing brace (and without price). */
  head: string;
  /** Paid apps: "\u0001" + country + price JSON, for each storefront; null for free apps. */
  prices: string | null;
}

/** JSON.stringify never leaves a control character unescaped, so this cannot occur inside the JSON parts. */
const SEP = '\u0001';
const L1_BYTES = 64 * 1024 * 1024;
const L1_TTL_MS = 5 * 60_000;

export class SummaryCache {
  private readonly entries = new LRUCache<string, Entry>({
    maxSize: L1_BYTES,
    sizeCalculation: (e) => 2 * (e.head.length + (e.prices?.length ?? 0)) + 96,
    ttl: L1_TTL_MS,
  });
  /** Sequence number of the last invalidation of each app seen here, to refuse fills that raced with it. */
  private readonly invalidatedAt = new LRUCache<string, number>({ max: 20_000, ttl: 60_000 });
  private sequence = 0;
  private clearedAt = 0;

  constructor(private readonly catalog: CatalogService) {}

  get size(): number {
    return this.entries.size;
  }

  /** The summary JSON of each app, in order, with the price of `country`; apps that are not public are left out. */
  async json(ids: readonly string[], country: string): Promise<string[]> {
    const entries: (Entry | null)[] = new Array(ids.length).fill(null);
    let missing: number[] | undefined;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const hit = this.entries.get(id);
      if (hit) {
        entries[i] = hit;
        continue;
      }
      const detail = this.catalog.peekPublicDetail(id);
      if (detail !== undefined) entries[i] = this.fill(id, detail, this.sequence);
      else (missing ??= []).push(i);
    }
    if (missing) {
      const started = this.sequence;
      const details = await this.catalog.publicDetails(missing.map((i) => ids[i]));
      missing.forEach((i, k) => (entries[i] = this.fill(ids[i], details[k], started)));
    }
    const out: string[] = [];
    for (const e of entries) if (e) out.push(render(e, country));
    return out;
  }

  /**
   * json() without waiting (the app detail's hot path): the summaries of the first `limit` public apps among `ids`,
   * or undefined when one of the apps it would need is not in this process's memory (then json() is the way).
   */
  peekJson(ids: readonly string[], country: string, limit: number): string[] | undefined {
    const out: string[] = [];
    for (let i = 0; i < ids.length && out.length < limit; i++) {
      let entry: Entry | null | undefined = this.entries.get(ids[i]);
      if (!entry) {
        const detail = this.catalog.peekPublicDetail(ids[i]);
        if (detail === undefined) return undefined;
        entry = this.fill(ids[i], detail, this.sequence);
      }
      if (entry) out.push(render(entry, country));
    }
    return out;
  }

  /** app.changed: forget this app (its next summary is read again). */
  invalidate(appId: string): void {
    this.invalidatedAt.set(appId, ++this.sequence);
    this.entries.delete(appId);
  }

  /** A broadcast gap: changes may have been missed, forget everything. */
  clear(): void {
    this.clearedAt = ++this.sequence;
    this.entries.clear();
    this.invalidatedAt.clear();
  }

  private fill(id: string, detail: Buffer, started: number): Entry | null {
    if (!detail.length) return null; // not public (the catalog keeps that negative entry)
    const entry = toEntry(JSON.parse(detail.toString('utf8')));
    if (this.clearedAt <= started && (this.invalidatedAt.get(id) ?? 0) <= started) this.entries.set(id, entry);
    return entry;
  }
}

interface PublicDetail {
  id: string;
  bundleId: string;
  name: string;
  subtitle: string | null;
  developer: { id: string; name: string };
  category: { slug: string };
  iconUrl: string | null;
  rating: { average: number; count: number };
  isFree: boolean;
  prices: { country: string; amountMilli: number; currency: string }[];
}

function toEntry(app: PublicDetail): Entry {
  const head = JSON.stringify({
    id: app.id,
    bundleId: app.bundleId,
    name: app.name,
    subtitle: app.subtitle,
    developer: { id: app.developer.id, name: app.developer.name },
    category: app.category.slug,
    iconUrl: app.iconUrl,
    rating: { average: app.rating.average, count: app.rating.count },
    isFree: app.isFree,
  }).slice(0, -1);
  let prices: string | null = null;
  if (!app.isFree && app.prices?.length) {
    prices = '';
    for (const p of app.prices) prices += SEP + p.country + JSON.stringify({ amountMilli: p.amountMilli, currency: p.currency });
  }
  return { head, prices };
}

function render(e: Entry, country: string): string {
  if (e.prices !== null) {
    const at = e.prices.indexOf(SEP + country + '{');
    if (at >= 0) {
      const start = at + 1 + country.length;
      const end = e.prices.indexOf(SEP, start);
      return `${e.head},"price":${end < 0 ? e.prices.slice(start) : e.prices.slice(start, end)}}`;
    }
  }
  return e.head + '}';
}
