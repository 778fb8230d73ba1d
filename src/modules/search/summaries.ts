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
const L1_BYTES = 192 * 1024 * 1024;
/** V8 keeps a string whose characters all fit in Latin-1 at one byte per character, any other at two. */
const stringBytes = (s: string) => (/[^\u0000-\u00ff]/.test(s) ? 2 : 1) * s.length;
const L1_TTL_MS = 5 * 60_000;

export class SummaryCache {
  private readonly entries = new LRUCache<string, Entry>({
    maxSize: L1_BYTES,
    sizeCalculation: (e) => stringBytes(e.head) + (e.prices?.length ?? 0) + 96, // prices: ASCII JSON
    ttl: L1_TTL_MS,
  });
  /**
   * Sequence number of the last invalidation of each app seen here, to refuse fills that raced with it and to tell
   * renderings made from older summaries (changedSince). The highest number forgotten (expired or evicted) is kept.
   */
  private readonly invalidatedAt = new LRUCache<string, number>({
    max: 20_000,
    ttl: 60_000,
    dispose: (at, _id, reason) => {
      if (reason !== 'set' && reason !== 'delete') this.forgottenUpTo = Math.max(this.forgottenUpTo, at);
    },
  });
  private sequence = 0;
  private clearedAt = 0;
  private forgottenUpTo = 0;

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

  /** Where the summaries stand now: a rendering made now is current until changedSince says otherwise. */
  stamp(): number {
    return this.sequence;
  }

  /** Whether the summary of any of these apps may have changed since `stamp` (a rendering of them is then stale). */
  changedSince(ids: readonly string[], stamp: number): boolean {
    if (stamp === this.sequence) return false; // nothing at all has changed: the hot path
    if (this.clearedAt > stamp) return true;
    for (const id of ids) if ((this.invalidatedAt.get(id) ?? 0) > stamp) return true;
    return this.forgottenUpTo > stamp; // an invalidation of one of them may have been forgotten
  }

  /**
   * json() without waiting (the app detail's hot path): the summaries of the first `limit` public apps among `ids`
   * and their ids, or undefined when one of the apps it would need is not in this process's memory (then json()).
   */
  peekJson(ids: readonly string[], country: string, limit: number): { ids: string[]; items: string[] } | undefined {
    const out = { ids: [] as string[], items: [] as string[] };
    for (let i = 0; i < ids.length && out.items.length < limit; i++) {
      let entry: Entry | null | undefined = this.entries.get(ids[i]);
      if (!entry) {
        const detail = this.catalog.peekPublicDetail(ids[i]);
        if (detail === undefined) return undefined;
        entry = this.fill(ids[i], detail, this.sequence);
      }
      if (entry) {
        out.ids.push(ids[i]);
        out.items.push(render(entry, country));
      }
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
