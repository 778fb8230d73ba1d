// The catalog service: no HTTP here. Every write is one transaction that locks the app row, changes state
// and records app.changed in the outbox; after the commit the caches are invalidated and the relay nudged.
import { pipeline } from 'node:stream/promises';
import { LRUCache } from 'lru-cache';
import type { Readable } from 'node:stream';
import { v7 as uuidv7 } from 'uuid';
import type { Config, Infra } from '../../config.ts';
import type { Queryable } from '../../platform/db/index.ts';
import { createReadDb } from '../../platform/db/read.ts';
import { catalogEvents, type AppChange } from './events.ts';
import { BlobTooLargeError, type StoredBlob } from '../../platform/blobs/index.ts';
import type { Principal } from '../../platform/http/auth.ts';
import { conflict, forbidden, invalid, notFound, rejected, stale, tooLarge } from '../../platform/errors.ts';
import { ALL_CATEGORIES, CatalogCache, type AppKeys } from './cache.ts';
import { decodeBrowseCursor, type BrowseSort } from './cursor.ts';
import { etagOf } from './etag.ts';
import { BUNDLE_ID_RULE, PRODUCT_ID_RULE, isBundleId, isProductId } from './identifiers.ts';
import { expectImage, NotAnImageError, type DeviceType, type ImageType } from './media.ts';
import * as reads from './reads.ts';
import { checkCategories, checkPrices, loadReference, type Reference } from './reference.ts';
import type {
  BrowseQuery,
  CreateAppInput,
  CreateProductInput,
  CreateVersionInput,
  DeveloperApp,
  MediaItem,
  PriceInput,
  Product,
  StatusResult,
  UpdateAppInput,
  Version,
} from './schemas.ts';
import { VERSION_RULE, compareVersions, isPermission, normalizePermissions, parseVersion } from './versioning.ts';
import { afterPublish, afterReview, afterSubmit, isVersionEditable, missingForSubmission, type AppStatus } from './workflow.ts';

/** The configuration the catalog reads. */
export type CatalogConfig = Pick<Config, 'publicBaseUrl' | 'limits'>;
export type CatalogDeps = Infra & { config: CatalogConfig };
/** A member another module adds to the public app detail (see CatalogService.extendDetail): text or encoded. */
export type DetailMember = (appId: string) => string | Buffer | undefined | Promise<string | Buffer | undefined>;
/** Who acts: the signed-in principal, without its session. */
export type Actor = Pick<Principal, 'userId' | 'role' | 'developerId'>;
export interface ImageUpload {
  type: ImageType;
  stream: Readable;
}

export const MAX_SCREENSHOTS_PER_DEVICE = 10;

/** The columns of the locked app row that writes decide on. */
interface AppState {
  id: string;
  developer_id: string;
  bundle_id: string;
  status: AppStatus;
  category: string;
  subcategory: string | null;
  is_free: boolean;
  revision: number;
  current_version: string | null;
}

/** Whose app: a developer's own (developerId) or any (null: admins). */
type Scope = { developerId: string | null };

const APP_STATE = 'id, developer_id, bundle_id, status, category, subcategory, is_free, revision, current_version';

const isUniqueViolation = (err: unknown) => (err as { code?: string } | null)?.code === '23505';
const CLIENT_ABORTS = new Set(['ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE', 'ABORT_ERR', 'ERR_STREAM_DESTROYED']);

/** Longer than a healthy replica's lag (milliseconds) by far, short enough to keep reads on the replica. */
const REPLICA_GUARD_MS = 10_000;

export class CatalogService {
  readonly cache: CatalogCache;
  readonly mediaUrl: reads.MediaUrl;
  private reference: Promise<Reference> | undefined;
  private readonly mediaTypes = new LRUCache<string, string>({ max: 10_000 }); // sha256 -> content type: immutable facts
  /**
   * Apps changed in the last REPLICA_GUARD_MS (from app.changed, in every process): their detail is read from the
   * primary, so a cache refilled right after an invalidation never takes the replica's older row for a whole TTL.
   */
  private readonly recentlyChanged = new LRUCache<string, true>({ max: 100_000, ttl: REPLICA_GUARD_MS });
  private readonly primaryFirst: Queryable;
  private readonly metrics;

  constructor(private readonly deps: CatalogDeps) {
    // with the primary lost, the replica's (perhaps older) row beats a 503: nothing can change it meanwhile
    this.primaryFirst = deps.readDb === deps.db ? deps.db : createReadDb(deps.db, deps.readDb);
    this.cache = new CatalogCache(deps.cache, deps.logger);
    const base = deps.config.publicBaseUrl.replace(/\/+$/, '');
    this.mediaUrl = (sha256) => `${base}/api/v1/media/${sha256}`;
    const c = deps.metrics.counter.bind(deps.metrics);
    this.metrics = {
      created: c('catalog_apps_created_total', 'Apps created by developers'),
      submitted: c('catalog_submissions_total', 'Versions submitted for review'),
      reviewed: c('catalog_reviews_total', 'Review decisions', ['decision']),
      published: c('catalog_apps_published_total', 'Apps published for the first time'),
      versionsPublished: c('catalog_versions_published_total', 'Versions published (first releases and updates)'),
      removed: c('catalog_apps_removed_total', 'Apps removed', ['by']),
      uploads: c('catalog_uploads_total', 'Uploads stored', ['kind']),
      uploadBytes: c('catalog_upload_bytes_total', 'Bytes of uploads stored', ['kind']),
      detailLoads: c('catalog_detail_loads_total', 'App details built from the database (cache misses)'),
    };
  }

  /** Categories and storefronts, read once per process. */
  ref(): Promise<Reference> {
    this.reference ??= loadReference(this.deps.db).catch((err) => {
      this.reference = undefined;
      throw err;
    });
    return this.reference;
  }

  // ================================================================ public reads

  async categoryTreeJson(): Promise<string> {
    return (await this.ref()).categoryTreeJson;
  }

  async storefrontsJson(): Promise<string> {
    return (await this.ref()).storefrontsJson;
  }

  /**
   * Another module's members of the public app detail (charts: "chartPositions", recommendations: "similarApps"),
   * added when it is sent: a JSON member (`"name":value`), or undefined to leave it out; from memory when it can
   * be (the detail is then sent without an await), else a promise. Never cached with the detail itself.
   */
  extendDetail(member: DetailMember): void {
    this.detailMembers.push(member);
  }
  readonly detailMembers: DetailMember[] = [];

  /** The public detail JSON if this process holds it (no await: the hot path). Empty = known not public. */
  peekPublicDetail(appId: string): Buffer | undefined {
    return this.cache.peekDetail(appId);
  }

  /** The public detail JSON of a published app; empty when there is no published app with this id. */
  publicDetail(appId: string): Promise<Buffer> {
    return this.cache.detail(appId, async () => {
      this.metrics.detailLoads.inc();
      const [ref, row] = await Promise.all([this.ref(), reads.loadAppDetailRow(this.detailDb([appId]), appId)]);
      return row && row.status === 'published' ? JSON.stringify(reads.toPublicApp(row, ref, this.mediaUrl)) : '';
    });
  }

  /** publicDetail() of several apps, in the order asked, with one shared-cache round and one query for the misses. */
  publicDetails(appIds: readonly string[]): Promise<Buffer[]> {
    return this.cache.detailsOf(appIds, async (ids) => {
      this.metrics.detailLoads.inc(ids.length);
      const [ref, rows] = await Promise.all([this.ref(), reads.loadAppDetailRows(this.detailDb(ids), ids)]);
      const out = new Map<string, string>();
      for (const row of rows) if (row.status === 'published') out.set(row.id, JSON.stringify(reads.toPublicApp(row, ref, this.mediaUrl)));
      return out;
    });
  }

  /** Detail of an app that is not public, for its own developer or an admin; null for everyone else. Never cached. */
  async privateDetail(appId: string, actor: Actor | null): Promise<string | null> {
    if (!actor) return null;
    const [ref, row] = await Promise.all([this.ref(), reads.loadAppDetailRow(this.deps.db, appId)]);
    if (!row || (actor.role !== 'admin' && row.developer_id !== actor.developerId)) return null;
    return JSON.stringify(reads.toPublicApp(row, ref, this.mediaUrl));
  }

  peekAppIdForBundle(bundleId: string): string | undefined {
    return this.cache.peekBundle(bundleId);
  }

  /** The id of the app with this bundle id (whatever its status), '' when none. */
  appIdForBundle(bundleId: string): Promise<string> {
    return this.cache.bundle(bundleId, async () => {
      const r = await this.deps.db.query<{ id: string }>('SELECT id FROM apps WHERE bundle_id = $1', [bundleId]);
      return r.rows[0]?.id ?? '';
    });
  }

  /** A browse page as JSON: published apps, filtered, sorted, keyset-paginated; cached briefly. */
  async browse(query: BrowseQuery): Promise<string> {
    const ref = await this.ref();
    const sort: BrowseSort = query.sort ?? 'newest';
    const limit = query.limit ?? 20;
    const country = query.country ?? 'US';
    if (!ref.storefronts.has(country)) throw invalid('UNKNOWN_COUNTRY', `There is no storefront for country '${country}'.`);
    let scope = ALL_CATEGORIES;
    if (query.category !== undefined || query.subcategory !== undefined) {
      const sub = query.subcategory === undefined ? null : ref.categories.get(query.subcategory);
      if (query.subcategory !== undefined && (!sub || sub.parent === null)) {
        throw invalid('UNKNOWN_CATEGORY', `Unknown subcategory '${query.subcategory}'; GET /api/v1/categories lists them.`);
      }
      scope = query.category ?? sub!.parent!;
      checkCategories(ref, scope, query.subcategory ?? null);
    }
    decodeBrowseCursor(sort, query.cursor); // 400 on a bad cursor before anything is cached
    const pageKey = [query.category ?? '', query.subcategory ?? '', sort, query.price ?? '', country, limit, query.cursor ?? ''].join('|');
    // from the replica when there is one: a page is cached briefly anyway, so a little lag changes nothing
    return this.cache.page(scope, pageKey, async () =>
      JSON.stringify(await reads.browseApps(this.deps.readDb, { ...query, sort, limit, country }, this.mediaUrl)),
    );
  }

  /** Content type of a stored icon or screenshot; null when no app media has this hash (binaries are never served). */
  async mediaContentType(sha256: string): Promise<string | null> {
    const known = this.mediaTypes.get(sha256);
    if (known) return known;
    const r = await this.deps.db.query<{ content_type: string }>('SELECT content_type FROM app_media WHERE sha256 = $1 LIMIT 1', [sha256]);
    const type = r.rows[0]?.content_type ?? null;
    if (type) this.mediaTypes.set(sha256, type);
    return type;
  }

  openMedia(sha256: string) {
    return this.deps.blobs.open(sha256);
  }

  /** For other modules (purchases): an app's status and price in one storefront. */
  async priceFor(appId: string, country: string) {
    const r = await this.deps.db.query<{ status: AppStatus; is_free: boolean; amount_milli: number | null; currency: string | null }>(
      `SELECT a.status, a.is_free, p.amount_milli, p.currency
         FROM apps a LEFT JOIN app_prices p ON p.app_id = a.id AND p.country = $2 WHERE a.id = $1`,
      [appId, country],
    );
    const row = r.rows[0];
    if (!row) return null;
    return {
      appId,
      status: row.status,
      isFree: row.is_free,
      price: row.is_free || row.amount_milli === null ? null : { amountMilli: Number(row.amount_milli), currency: row.currency! },
    };
  }

  // ================================================================ developer: apps

  async createApp(actor: Actor, input: CreateAppInput): Promise<DeveloperApp> {
    if (!actor.developerId) throw forbidden('NOT_A_DEVELOPER', 'Only developers create apps: become a developer first.');
    if (!isBundleId(input.bundleId)) throw invalid('INVALID_BUNDLE_ID', `bundleId must be ${BUNDLE_ID_RULE}.`);
    const ref = await this.ref();
    checkCategories(ref, input.category, input.subcategory ?? null);
    const id = uuidv7();
    const keys: AppKeys = { appId: id, bundleId: input.bundleId, categories: [input.category] };
    try {
      await this.deps.db.tx(async (q) => {
        await q.query(
          `INSERT INTO apps (id, developer_id, bundle_id, name, subtitle, description, keywords, category, subcategory, age_rating, is_free)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
          [
            id,
            actor.developerId,
            input.bundleId,
            cleanName(input.name),
            input.subtitle ?? null,
            input.description ?? '',
            cleanKeywords(input.keywords ?? []),
            input.category,
            input.subcategory ?? null,
            input.ageRating ?? '4+',
            input.isFree ?? true,
          ],
        );
        await this.recordChange(q, keys, 'draft', 'created');
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('BUNDLE_ID_TAKEN', `Bundle id '${input.bundleId}' is already registered to an app.`);
      throw err;
    }
    await this.afterCommit(keys);
    this.metrics.created.inc();
    return (await this.developerApp(id))!;
  }

  listMyApps(actor: Actor, limit = 20, cursor?: string) {
    if (!actor.developerId) return Promise.resolve({ items: [], nextCursor: null });
    return reads.listDeveloperApps(this.deps.db, actor.developerId, limit, cursor);
  }

  async getMyApp(actor: Actor, appId: string): Promise<{ app: DeveloperApp; etag: string }> {
    const app = await this.developerApp(appId);
    if (!app || app.developer.id !== actor.developerId) throw notFound('App');
    return { app, etag: etagOf(app.revision) };
  }

  /** Partial update: only the fields present change. expectedRevisions come from If-Match. */
  async updateApp(actor: Actor, appId: string, expectedRevisions: number[], patch: UpdateAppInput): Promise<{ app: DeveloperApp; etag: string }> {
    const ref = await this.ref();
    await this.mutate(this.own(actor), appId, 'metadata', async (q, app) => {
      if (!expectedRevisions.includes(app.revision)) {
        throw stale(
          'PRECONDITION_FAILED',
          `The app changed since you read it (it is at revision ${app.revision}): GET it again, reapply your change and send its ETag in If-Match.`,
          { currentRevision: app.revision },
        );
      }
      if (patch.category !== undefined || patch.subcategory !== undefined) {
        checkCategories(ref, patch.category ?? app.category, patch.subcategory !== undefined ? patch.subcategory : app.subcategory);
      }
      const params: unknown[] = [appId];
      const sets: string[] = [];
      const set = (column: string, value: unknown) => sets.push(`${column} = $${params.push(value)}`);
      if (patch.name !== undefined) set('name', cleanName(patch.name));
      if (patch.subtitle !== undefined) set('subtitle', patch.subtitle);
      if (patch.description !== undefined) set('description', patch.description);
      if (patch.keywords !== undefined) set('keywords', cleanKeywords(patch.keywords));
      if (patch.category !== undefined) set('category', patch.category);
      if (patch.subcategory !== undefined) set('subcategory', patch.subcategory);
      if (patch.ageRating !== undefined) set('age_rating', patch.ageRating);
      if (patch.isFree !== undefined) set('is_free', patch.isFree);
      if (patch.isFree === true) await q.query('DELETE FROM app_prices WHERE app_id = $1', [appId]); // free apps have no prices
      await q.query(`UPDATE apps SET ${sets.join(', ')}, revision = revision + 1 WHERE id = $1`, params);
    });
    return this.getMyApp(actor, appId);
  }

  // ================================================================ developer: media

  async setIcon(actor: Actor, appId: string, upload: ImageUpload): Promise<MediaItem> {
    const scope = this.own(actor);
    await this.findApp(scope, appId);
    const blob = await this.storeImage(upload, this.deps.config.limits.iconBytes, 'icon');
    const id = uuidv7();
    await this.mutate(scope, appId, 'icon', async (q) => {
      await q.query(`DELETE FROM app_media WHERE app_id = $1 AND kind = 'icon'`, [appId]);
      await q.query(
        `INSERT INTO app_media (id, app_id, kind, device_type, position, sha256, size_bytes, content_type)
         VALUES ($1, $2, 'icon', NULL, 0, $3, $4, $5)`,
        [id, appId, blob.sha256, blob.size, upload.type],
      );
    });
    return reads.toMediaItem(
      { id, kind: 'icon', device_type: null, position: 0, sha256: blob.sha256, size_bytes: blob.size, content_type: upload.type },
      this.mediaUrl,
    );
  }

  async addScreenshot(actor: Actor, appId: string, deviceType: DeviceType, upload: ImageUpload): Promise<MediaItem> {
    const scope = this.own(actor);
    await this.findApp(scope, appId);
    const blob = await this.storeImage(upload, this.deps.config.limits.screenshotBytes, 'screenshot');
    const id = uuidv7();
    const position = await this.mutate(scope, appId, 'screenshots', async (q) => {
      const { rows } = await q.query<{ n: number; next: number }>(
        `SELECT count(*)::int AS n, coalesce(max(position) + 1, 0)::int AS next
           FROM app_media WHERE app_id = $1 AND kind = 'screenshot' AND device_type = $2`,
        [appId, deviceType],
      );
      if (rows[0].n >= MAX_SCREENSHOTS_PER_DEVICE) {
        throw rejected('TOO_MANY_SCREENSHOTS', `An app has at most ${MAX_SCREENSHOTS_PER_DEVICE} ${deviceType} screenshots; delete one first.`);
      }
      await q.query(
        `INSERT INTO app_media (id, app_id, kind, device_type, position, sha256, size_bytes, content_type)
         VALUES ($1, $2, 'screenshot', $3, $4, $5, $6, $7)`,
        [id, appId, deviceType, rows[0].next, blob.sha256, blob.size, upload.type],
      );
      return rows[0].next;
    });
    return reads.toMediaItem(
      { id, kind: 'screenshot', device_type: deviceType, position, sha256: blob.sha256, size_bytes: blob.size, content_type: upload.type },
      this.mediaUrl,
    );
  }

  async deleteScreenshot(actor: Actor, appId: string, mediaId: string): Promise<void> {
    await this.mutate(this.own(actor), appId, 'screenshots', async (q) => {
      const { rows } = await q.query<{ device_type: string }>(
        `DELETE FROM app_media WHERE id = $1 AND app_id = $2 AND kind = 'screenshot' RETURNING device_type`,
        [mediaId, appId],
      );
      if (!rows[0]) throw notFound('Screenshot');
      await renumberScreenshots(q, appId, rows[0].device_type);
    });
  }

  /** Reorders one device type's screenshots: ids must name each of them exactly once. */
  async orderScreenshots(actor: Actor, appId: string, deviceType: DeviceType, ids: string[]): Promise<MediaItem[]> {
    await this.mutate(this.own(actor), appId, 'screenshots', async (q) => {
      const { rows } = await q.query<{ id: string }>(
        `SELECT id FROM app_media WHERE app_id = $1 AND kind = 'screenshot' AND device_type = $2 ORDER BY position, id`,
        [appId, deviceType],
      );
      const current = rows.map((r) => r.id);
      const given = new Set(ids.map((i) => i.toLowerCase()));
      if (given.size !== ids.length || given.size !== current.length || current.some((c) => !given.has(c))) {
        throw rejected('ORDER_MISMATCH', `ids must list each of the app's ${current.length} ${deviceType} screenshots exactly once.`, {
          screenshots: current,
        });
      }
      await q.query(
        `UPDATE app_media m SET position = x.ord - 1
           FROM unnest($2::uuid[]) WITH ORDINALITY AS x(id, ord) WHERE m.id = x.id AND m.app_id = $1`,
        [appId, ids],
      );
    });
    return (await this.listMedia(actor, appId)).filter((m) => m.kind === 'screenshot' && m.deviceType === deviceType);
  }

  async listMedia(actor: Actor, appId: string): Promise<MediaItem[]> {
    await this.findApp(this.own(actor), appId, { allowRemoved: true });
    return reads.listMedia(this.deps.db, appId, this.mediaUrl);
  }

  // ================================================================ developer: versions

  async createVersion(actor: Actor, appId: string, input: CreateVersionInput): Promise<Version> {
    if (!parseVersion(input.version)) throw invalid('INVALID_VERSION', `version must be ${VERSION_RULE}; got '${input.version}'.`);
    if (!parseVersion(input.minOsVersion)) throw invalid('INVALID_VERSION', `minOsVersion must be ${VERSION_RULE}; got '${input.minOsVersion}'.`);
    const bad = (input.permissions ?? []).find((p) => !isPermission(p));
    if (bad !== undefined) {
      throw invalid(
        'INVALID_PERMISSION',
        `Permission '${bad}' is not valid: lowercase letters, digits, '.', '_' or '-', starting with a letter (e.g. location.always).`,
      );
    }
    const permissions = normalizePermissions(input.permissions ?? []);
    const id = uuidv7();
    await this.mutate(this.own(actor), appId, 'version', async (q) => {
      const { rows } = await q.query<{ version: string; status: string }>('SELECT version, status FROM app_versions WHERE app_id = $1', [appId]);
      const open = rows.find((r) => r.status !== 'published');
      if (open) {
        throw conflict(
          'VERSION_IN_PROGRESS',
          `Version ${open.version} is ${open.status}: publish it (or delete it while draft or rejected) before starting another.`,
        );
      }
      const latest = rows.reduce<string | null>((max, r) => (max === null || compareVersions(r.version, max) > 0 ? r.version : max), null);
      if (latest !== null && compareVersions(input.version, latest) <= 0) {
        throw conflict('VERSION_NOT_NEWER', `Version ${input.version} must be greater than ${latest}, the latest published version.`);
      }
      await q.query(`INSERT INTO app_versions (id, app_id, version, release_notes, min_os_version, permissions) VALUES ($1, $2, $3, $4, $5, $6)`, [
        id,
        appId,
        input.version,
        input.releaseNotes ?? '',
        input.minOsVersion,
        permissions,
      ]);
    });
    return this.version(appId, id);
  }

  async listVersions(actor: Actor, appId: string): Promise<Version[]> {
    await this.findApp(this.own(actor), appId, { allowRemoved: true });
    return reads.listVersions(this.deps.db, appId);
  }

  async deleteVersion(actor: Actor, appId: string, versionId: string): Promise<void> {
    await this.mutate(this.own(actor), appId, 'version', async (q) => {
      await this.lockEditableVersion(q, appId, versionId);
      await q.query('DELETE FROM app_versions WHERE id = $1', [versionId]);
    });
  }

  /** Streams the build into the blob store; its sha256 and size are recorded on the version. */
  async uploadBinary(actor: Actor, appId: string, versionId: string, stream: Readable): Promise<Version> {
    const scope = this.own(actor);
    await this.findApp(scope, appId);
    await this.lockEditableVersion(this.deps.db, appId, versionId, false);
    const blob = await this.storeBlob(stream, this.deps.config.limits.binaryBytes, 'binary');
    await this.mutate(scope, appId, 'binary', async (q) => {
      await this.lockEditableVersion(q, appId, versionId);
      await q.query('UPDATE app_versions SET binary_sha256 = $2, binary_size = $3 WHERE id = $1', [versionId, blob.sha256, blob.size]);
    });
    return this.version(appId, versionId);
  }

  // ================================================================ developer: prices and in-app products

  /** Replaces the app's prices (paid apps only). */
  async setPrices(actor: Actor, appId: string, prices: PriceInput[]): Promise<{ prices: reads.PriceOut[] }> {
    checkPrices(await this.ref(), prices);
    await this.mutate(this.own(actor), appId, 'prices', async (q, app) => {
      if (app.is_free) throw rejected('APP_IS_FREE', 'This app is free: PATCH isFree to false before pricing it.');
      await q.query('DELETE FROM app_prices WHERE app_id = $1', [appId]);
      await insertPrices(q, 'app_prices', 'app_id', appId, prices);
    });
    return { prices: sortPrices(prices) };
  }

  async createProduct(actor: Actor, appId: string, input: CreateProductInput): Promise<Product> {
    if (!isProductId(input.productId)) throw invalid('INVALID_PRODUCT_ID', `productId must be ${PRODUCT_ID_RULE}.`);
    const subscription = input.type === 'auto_renewable';
    if (subscription !== (input.subscriptionPeriod !== undefined) || subscription !== (input.subscriptionGroup !== undefined)) {
      throw rejected(
        'SUBSCRIPTION_FIELDS',
        'subscriptionPeriod and subscriptionGroup are required for auto_renewable products and not allowed for other types.',
      );
    }
    const prices = input.prices ?? [];
    checkPrices(await this.ref(), prices);
    const id = uuidv7();
    await this.mutate(this.own(actor), appId, 'products', async (q) => {
      const taken = await q.query('SELECT 1 FROM in_app_products WHERE app_id = $1 AND product_id = $2', [appId, input.productId]);
      if (taken.rows.length) throw conflict('PRODUCT_ID_TAKEN', `This app already has a product '${input.productId}'.`);
      await q.query(
        `INSERT INTO in_app_products (id, app_id, product_id, reference_name, type, subscription_period, subscription_group)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [id, appId, input.productId, input.referenceName, input.type, input.subscriptionPeriod ?? null, input.subscriptionGroup ?? null],
      );
      await insertPrices(q, 'in_app_prices', 'product_id', id, prices);
    });
    return (await reads.listProducts(this.deps.db, appId, id))[0];
  }

  async listProducts(actor: Actor, appId: string): Promise<Product[]> {
    await this.findApp(this.own(actor), appId, { allowRemoved: true });
    return reads.listProducts(this.deps.db, appId);
  }

  async setProductPrices(actor: Actor, appId: string, productUuid: string, prices: PriceInput[]): Promise<Product> {
    checkPrices(await this.ref(), prices);
    await this.mutate(this.own(actor), appId, 'products', async (q) => {
      const found = await q.query('SELECT 1 FROM in_app_products WHERE id = $1 AND app_id = $2', [productUuid, appId]);
      if (!found.rows.length) throw notFound('Product');
      await q.query('DELETE FROM in_app_prices WHERE product_id = $1', [productUuid]);
      await insertPrices(q, 'in_app_prices', 'product_id', productUuid, prices);
    });
    return (await reads.listProducts(this.deps.db, appId, productUuid))[0];
  }

  // ================================================================ workflow

  /** Sends the app's open version to review (with the app itself on a first release). 422 lists what is missing. */
  async submit(actor: Actor, appId: string): Promise<StatusResult> {
    const result = await this.mutate(this.own(actor), appId, 'submitted', async (q, app) => {
      const next = afterSubmit(app.status);
      if (!next) throw conflict('INVALID_STATE', `An app that is ${app.status} cannot be submitted${app.status === 'approved' ? ': publish it first' : ''}.`);
      const version = (
        await q.query<{ id: string; version: string; status: 'draft' | 'in_review' | 'approved' | 'rejected'; has_binary: boolean }>(
          `SELECT id, version, status, binary_sha256 IS NOT NULL AS has_binary FROM app_versions
            WHERE app_id = $1 AND status <> 'published' ORDER BY created_at DESC LIMIT 1 FOR UPDATE`,
          [appId],
        )
      ).rows[0];
      if (version && !isVersionEditable(version.status)) throw conflict('INVALID_STATE', `Version ${version.version} is already ${version.status}.`);
      const facts = (
        await q.query<{ has_icon: boolean; prices: number }>(
          `SELECT EXISTS (SELECT 1 FROM app_media WHERE app_id = $1 AND kind = 'icon') AS has_icon,
                  (SELECT count(*) FROM app_prices WHERE app_id = $1)::int AS prices`,
          [appId],
        )
      ).rows[0];
      const missing = missingForSubmission({
        hasIcon: facts.has_icon,
        version: version ? { status: version.status, hasBinary: version.has_binary } : null,
        isFree: app.is_free,
        priceCount: facts.prices,
      });
      if (missing.length) throw rejected('SUBMISSION_INCOMPLETE', `Before review the app needs: ${missing.join(', ')}.`, { missing });
      await q.query(`UPDATE app_versions SET status = 'in_review', submitted_at = now(), review_note = NULL WHERE id = $1`, [version!.id]);
      await q.query(`UPDATE apps SET status = $2, review_note = CASE WHEN $2 = 'in_review' THEN NULL ELSE review_note END WHERE id = $1`, [appId, next]);
      await catalogEvents.record(q, 'app.submitted', { appId, versionId: version!.id, version: version!.version }, appId);
      return { id: appId, status: next, version: { id: version!.id, version: version!.version, status: 'in_review' as const } };
    });
    this.metrics.submitted.inc();
    return result;
  }

  /** The admin's decision on the version in review; a rejection carries its reason to the developer. */
  async review(admin: Actor, appId: string, decision: 'approved' | 'rejected', reason?: string): Promise<StatusResult> {
    const note = decision === 'rejected' ? reason!.trim() : null;
    if (decision === 'rejected' && !note) throw invalid('REASON_REQUIRED', 'A rejection needs a reason the developer can act on.');
    const result = await this.mutate({ developerId: null }, appId, decision, async (q, app) => {
      const version = (
        await q.query<{ id: string; version: string }>(`SELECT id, version FROM app_versions WHERE app_id = $1 AND status = 'in_review' FOR UPDATE`, [appId])
      ).rows[0];
      if (!version) throw conflict('NOT_IN_REVIEW', 'This app has no version waiting for review.');
      await q.query(`UPDATE app_versions SET status = $2, review_note = $3, reviewed_at = now(), reviewed_by = $4 WHERE id = $1`, [
        version.id,
        decision,
        note,
        admin.userId,
      ]);
      const next = afterReview(app.status, decision);
      if (next !== app.status) await q.query('UPDATE apps SET status = $2, review_note = $3 WHERE id = $1', [appId, next, note]);
      await catalogEvents.record(q, 'app.reviewed', { appId, versionId: version.id, version: version.version, decision, reason: note }, appId);
      return { id: appId, status: next, version: { id: version.id, version: version.version, status: decision } };
    });
    this.metrics.reviewed.inc({ decision });
    return result;
  }

  /** Publishes the approved version: it becomes current; a first release makes the app public. */
  async publish(actor: Actor, appId: string): Promise<StatusResult> {
    let firstRelease = false;
    const result = await this.mutate(this.own(actor), appId, 'published', async (q, app) => {
      const next = afterPublish(app.status);
      const version = (
        await q.query<{ id: string; version: string }>(`SELECT id, version FROM app_versions WHERE app_id = $1 AND status = 'approved' FOR UPDATE`, [appId])
      ).rows[0];
      if (!next || !version) throw conflict('NOTHING_TO_PUBLISH', 'There is no approved version to publish: submit one for review first.');
      firstRelease = app.status !== 'published';
      await q.query(`UPDATE app_versions SET status = 'published', published_at = now() WHERE id = $1`, [version.id]);
      await q.query(
        `UPDATE apps SET status = 'published', current_version = $2, published_at = coalesce(published_at, now()), review_note = NULL WHERE id = $1`,
        [appId, version.version],
      );
      return { id: appId, status: next, version: { id: version.id, version: version.version, status: 'published' as const } };
    });
    if (firstRelease) this.metrics.published.inc();
    this.metrics.versionsPublished.inc();
    return result;
  }

  /** Takes an app off the store for good: by its developer, or by an admin (any app). */
  async remove(actor: Actor, appId: string, as: 'developer' | 'admin'): Promise<StatusResult> {
    const scope = as === 'admin' ? { developerId: null } : this.own(actor);
    const result = await this.mutate(scope, appId, 'removed', async (q) => {
      await q.query(`UPDATE apps SET status = 'removed' WHERE id = $1`, [appId]);
      return { id: appId, status: 'removed' as const, version: null };
    });
    this.metrics.removed.inc({ by: as });
    return result;
  }

  reviewQueue(limit = 20, cursor?: string) {
    return reads.reviewQueue(this.deps.db, limit, cursor);
  }

  // ================================================================ internals

  /** Developer routes only ever see the caller's own apps: anyone else's (or none) is 404. */
  private own(actor: Actor): Scope {
    if (!actor.developerId) throw notFound('App');
    return { developerId: actor.developerId };
  }

  /** The app in scope (404 otherwise) and, unless allowRemoved, not removed (409). Checked before an upload is read. */
  private findApp(scope: Scope, appId: string, opts: { allowRemoved?: boolean } = {}): Promise<AppState> {
    return selectApp(this.deps.db, scope, appId, { lock: false, ...opts });
  }

  /** One transaction: lock the app, apply the change, touch updated_at, record app.changed. Then invalidate caches. */
  private async mutate<T>(scope: Scope, appId: string, change: AppChange, fn: (q: Queryable, app: AppState) => Promise<T>): Promise<T> {
    await this.ref(); // never first-loaded inside a transaction (PGlite runs one statement stream at a time)
    let keys!: AppKeys;
    const result = await this.deps.db.tx(async (q) => {
      const app = await selectApp(q, scope, appId, { lock: true });
      const value = await fn(q, app);
      const after = (
        await q.query<{ status: AppStatus; category: string }>('UPDATE apps SET updated_at = now() WHERE id = $1 RETURNING status, category', [appId])
      ).rows[0];
      keys = { appId, bundleId: app.bundle_id, categories: [...new Set([app.category, after.category])] };
      await this.recordChange(q, keys, after.status, change);
      return value;
    });
    await this.afterCommit(keys);
    return result;
  }

  private recordChange(q: Queryable, keys: AppKeys, status: AppStatus, change: AppChange) {
    return catalogEvents.record(q, 'app.changed', { appId: keys.appId, bundleId: keys.bundleId, status, change, categories: keys.categories }, keys.appId);
  }

  /** An app changed (here or in another process): see recentlyChanged. */
  noteChanged(appId: string): void {
    this.recentlyChanged.set(appId, true);
  }

  /** Where to read these apps' public detail: the replica, unless one of them changed a moment ago. */
  private detailDb(appIds: readonly string[]): Queryable {
    return appIds.some((id) => this.recentlyChanged.has(id)) ? this.primaryFirst : this.deps.readDb;
  }

  private async afterCommit(keys: AppKeys): Promise<void> {
    this.noteChanged(keys.appId);
    await this.cache.invalidate(keys);
    this.deps.bus.nudge();
  }

  private async lockEditableVersion(q: Queryable, appId: string, versionId: string, lock = true): Promise<void> {
    const { rows } = await q.query<{ status: string; version: string }>(
      `SELECT status, version FROM app_versions WHERE id = $1 AND app_id = $2 ${lock ? 'FOR UPDATE' : ''}`,
      [versionId, appId],
    );
    if (!rows[0]) throw notFound('Version');
    if (!isVersionEditable(rows[0].status as 'draft')) {
      throw conflict('VERSION_LOCKED', `Version ${rows[0].version} is ${rows[0].status}; only draft or rejected versions change.`);
    }
  }

  private async version(appId: string, versionId: string): Promise<Version> {
    return (await reads.listVersions(this.deps.db, appId)).find((v) => v.id === versionId)!;
  }

  private async developerApp(appId: string): Promise<DeveloperApp | null> {
    return reads.loadDeveloperApp(this.deps.db, appId, await this.ref(), this.mediaUrl);
  }

  private storeImage(upload: ImageUpload, maxBytes: number, kind: 'icon' | 'screenshot'): Promise<StoredBlob> {
    const checked = expectImage(upload.type);
    pipeline(upload.stream, checked).catch(() => {}); // failures surface through blobs.put below
    return this.storeBlob(checked, maxBytes, kind);
  }

  private async storeBlob(source: Readable, maxBytes: number, kind: 'icon' | 'screenshot' | 'binary'): Promise<StoredBlob> {
    try {
      const blob = await this.deps.blobs.put(source, { maxBytes });
      this.metrics.uploads.inc({ kind });
      this.metrics.uploadBytes.inc({ kind }, blob.size);
      return blob;
    } catch (err) {
      if (err instanceof BlobTooLargeError) {
        throw tooLarge('PAYLOAD_TOO_LARGE', `The ${kind} is larger than ${maxBytes} bytes.`, { maxBytes });
      }
      if (err instanceof NotAnImageError) throw invalid('INVALID_IMAGE', `The ${kind} is not a valid image: ${err.message}.`);
      if (CLIENT_ABORTS.has((err as { code?: string }).code ?? '')) throw invalid('UPLOAD_INCOMPLETE', `The ${kind} upload ended early.`);
      throw err;
    }
  }
}

async function selectApp(q: Queryable, scope: Scope, appId: string, opts: { lock: boolean; allowRemoved?: boolean }): Promise<AppState> {
  const { rows } = await q.query<AppState>(
    `SELECT ${APP_STATE} FROM apps WHERE id = $1 ${scope.developerId ? 'AND developer_id = $2' : ''} ${opts.lock ? 'FOR UPDATE' : ''}`,
    scope.developerId ? [appId, scope.developerId] : [appId],
  );
  const app = rows[0];
  if (!app) throw notFound('App');
  if (app.status === 'removed' && !opts.allowRemoved) throw conflict('APP_REMOVED', 'This app was removed from the store; it can no longer change.');
  return app;
}

async function renumberScreenshots(q: Queryable, appId: string, deviceType: string): Promise<void> {
  await q.query(
    `UPDATE app_media m SET position = o.rn - 1
       FROM (SELECT id, row_number() OVER (ORDER BY position, id) AS rn FROM app_media
              WHERE app_id = $1 AND kind = 'screenshot' AND device_type = $2) o
      WHERE m.id = o.id`,
    [appId, deviceType],
  );
}

async function insertPrices(q: Queryable, table: 'app_prices' | 'in_app_prices', owner: 'app_id' | 'product_id', ownerId: string, prices: PriceInput[]) {
  if (!prices.length) return;
  await q.query(
    `INSERT INTO ${table} (${owner}, country, tier, amount_milli, currency)
     SELECT $1, x.country, x.tier, x.amount, x.currency
       FROM unnest($2::text[], $3::int[], $4::bigint[], $5::text[]) AS x(country, tier, amount, currency)`,
    [ownerId, prices.map((p) => p.country), prices.map((p) => p.tier ?? null), prices.map((p) => p.amountMilli), prices.map((p) => p.currency)],
  );
}

const sortPrices = (prices: PriceInput[]): reads.PriceOut[] =>
  prices
    .map((p) => ({ country: p.country, currency: p.currency, amountMilli: p.amountMilli, tier: p.tier ?? null }))
    .sort((a, b) => a.country.localeCompare(b.country));

function cleanName(name: string): string {
  const trimmed = name.trim();
  if (!trimmed) throw invalid('VALIDATION_FAILED', 'name must not be blank.');
  return trimmed;
}

const cleanKeywords = (keywords: string[]) => [...new Set(keywords.map((k) => k.trim()).filter(Boolean))];
