// The library service: no HTTP here. Who may download what (the owned_apps view is the one ownership rule),
// signed download links, update checks, and the download statistics developers read.
import { LRUCache } from 'lru-cache';
import type { Readable } from 'node:stream';
import type { Config, Infra } from '../../config.ts';
import { libraryEvents } from './events.ts';
import type { Queryable } from '../../platform/db/index.ts';
import { forbidden, gone, invalid, notFound, unavailable } from '../../platform/errors.ts';
import { VERSION_RULE, compareVersions, parseVersion, type Actor, type CatalogService } from '../catalog/index.ts';
import type { InstallTokens } from './install-tokens.ts';
import type { DownloadLinks } from './links.ts';
import { libraryPage } from './listing.ts';
import { safeFilename } from './range.ts';
import type { DownloadLink, DownloadStats, DownloadStatsQuery, InstalledApp, LibraryPage, LibraryQuery, Update, Updates } from './schemas.ts';
import { dailySeries, type AppDownloadedPayload, type DownloadKind } from './stats.ts';

export interface LibraryDeps extends Infra {
  /** The configuration the library reads. */
  config: Pick<Config, 'publicBaseUrl' | 'downloadUrlSecret' | 'dataDir'>;
  /** For icon URLs as the catalog exposes them. */
  catalog: CatalogService;
}

/** The longest window of GET /developer/apps/:id/downloads, and the one it shows by default. */
export const MAX_STATS_DAYS = 366;
export const DEFAULT_STATS_DAYS = 30;

const DAY_MS = 86_400_000;

/** A published app's current build, as a user may or may not be entitled to it. */
interface Target {
  app_id: string;
  bundle_id: string;
  status: string;
  version_id: string | null;
  version: string | null;
  release_notes: string | null;
  binary_sha256: string | null;
  binary_size: string | null;
  owned: boolean;
}
type Deliverable = Target & { version_id: string; version: string; binary_sha256: string; binary_size: string };

// $1: the user. The current version is the one apps.current_version names (the latest published).
const TARGETS = `
  SELECT a.id AS app_id, a.bundle_id, a.status, v.id AS version_id, v.version, v.release_notes, v.binary_sha256, v.binary_size,
         EXISTS (SELECT 1 FROM owned_apps o WHERE o.user_id = $1 AND o.app_id = a.id) AS owned
    FROM catalog_apps a
    LEFT JOIN catalog_app_versions v ON v.app_id = a.id AND v.version = a.current_version AND v.status = 'published'`;

/** What the download route serves for a valid token. */
export interface ServedBuild {
  sha256: string;
  size: number;
  filename: string;
  expiresAt: Date;
}

export class LibraryService {
  private readonly builds = new LRUCache<string, { bundleId: string; version: string }>({ max: 10_000 }); // version id -> immutable facts
  private readonly metrics;

  constructor(
    private readonly deps: LibraryDeps,
    readonly links: DownloadLinks,
    readonly installTokens: InstallTokens,
  ) {
    const c = deps.metrics.counter.bind(deps.metrics);
    this.metrics = {
      links: c('library_download_links_total', 'Download links issued', ['via']),
      refused: c('library_download_refusals_total', 'Download requests refused', ['reason']),
    };
  }

  library(userId: string, query: LibraryQuery): Promise<LibraryPage> {
    return libraryPage(this.deps.db, userId, { limit: query.limit ?? 20, cursor: query.cursor, kind: query.kind }, this.deps.catalog.mediaUrl);
  }

  /**
   * A signed link to the current build of an app the user owns, and an install token for the app's SDK (a new
   * install id each time: one download, one install); recorded as a download.
   */
  async issueDownload(userId: string, appId: string): Promise<DownloadLink> {
    const target = (await this.deps.db.query<Target>(`${TARGETS} WHERE a.id = $2`, [userId, appId])).rows[0];
    // a removed app stays in its owners' libraries, so they learn why; to anyone else it does not exist
    if (target?.status === 'removed' && target.owned) {
      throw gone('APP_UNAVAILABLE', 'This app was removed from the store and can no longer be downloaded.');
    }
    if (!target || target.status !== 'published') throw notFound('App');
    if (!target.owned) {
      this.metrics.refused.inc({ reason: 'not_owned' });
      throw forbidden(
        'NOT_OWNED',
        'You have not got this app yet: get it (free apps too) or buy it with POST /api/v1/purchases, then ask for the download again.',
      );
    }
    const build = await this.deliverable(target);
    if (!build) throw unavailable('BUILD_UNAVAILABLE', 'The build of this app cannot be read right now; try again later.');
    await this.recordDownloads(userId, [build], { countRepeats: true });
    const [link, install] = await Promise.all([this.link(userId, build), this.installTokens.issue(build.app_id)]);
    this.metrics.links.inc({ via: 'download' });
    return {
      url: link.url,
      expiresAt: link.expiresAt,
      version: build.version,
      sha256: build.binary_sha256,
      size: Number(build.binary_size),
      installToken: install.token,
    };
  }

  /**
   * Which installed apps have a newer published version, with links for those the user owns. Entries that
   * name no published app are listed in `unknown`, apps not owned in `notOwned`; a repeated app counts once.
   */
  async updates(userId: string, installed: InstalledApp[]): Promise<Updates> {
    installed.forEach(checkInstalled);
    const ids = [...new Set(installed.flatMap((i) => (i.appId ? [i.appId.toLowerCase()] : [])))];
    const bundles = [...new Set(installed.flatMap((i) => (i.bundleId ? [i.bundleId] : [])))];
    const { rows } = await this.deps.db.query<Target>(`${TARGETS} WHERE a.status = 'published' AND (a.id = ANY($2::uuid[]) OR a.bundle_id = ANY($3::text[]))`, [
      userId,
      ids,
      bundles,
    ]);
    const byId = new Map(rows.map((r) => [r.app_id, r]));
    const byBundle = new Map(rows.map((r) => [r.bundle_id, r]));

    const result: Updates = { updates: [], notOwned: [], unknown: [] };
    const newer: { target: Target; installedVersion: string }[] = [];
    const seen = new Set<string>();
    for (const item of installed) {
      const target = item.appId ? byId.get(item.appId.toLowerCase()) : byBundle.get(item.bundleId!);
      if (!target) {
        result.unknown.push(item.appId ? { appId: item.appId } : { bundleId: item.bundleId });
        continue;
      }
      if (seen.has(target.app_id)) continue;
      seen.add(target.app_id);
      if (!target.owned) result.notOwned.push({ appId: target.app_id, bundleId: target.bundle_id });
      else if (target.version !== null && compareVersions(target.version, item.version) > 0) newer.push({ target, installedVersion: item.version });
    }
    // a build that cannot be read now is left out (and logged) rather than failing every other update
    const builds = await Promise.all(newer.map((n) => this.deliverable(n.target)));
    const due = newer.flatMap((n, i) => (builds[i] ? [{ build: builds[i], installedVersion: n.installedVersion }] : []));
    // Clients ask for updates again and again: a version already handed to this user is not counted again.
    await this.recordDownloads(
      userId,
      due.map((d) => d.build),
      { countRepeats: false },
    );
    for (const { build, installedVersion } of due) {
      const link = await this.link(userId, build);
      result.updates.push(toUpdate(build, installedVersion, link));
    }
    this.metrics.links.inc({ via: 'updates' }, due.length);
    return result;
  }

  /** The build a valid token grants; 403 with a code saying why otherwise. */
  async resolveDownload(token: string, now = Date.now()): Promise<ServedBuild> {
    const check = await this.links.verify(token, now);
    if (!check.ok) {
      this.metrics.refused.inc({ reason: `link_${check.reason}` });
      if (check.reason === 'expired') {
        throw forbidden('DOWNLOAD_LINK_EXPIRED', 'This download link has expired: ask for a new one with POST /api/v1/apps/:id/download.');
      }
      throw forbidden(
        'DOWNLOAD_LINK_INVALID',
        'This download link is not one this store issued, or it was altered: ask for a new one with POST /api/v1/apps/:id/download.',
      );
    }
    const { versionId, sha256 } = check.grant;
    const [build, blob] = await Promise.all([this.buildName(versionId), this.deps.blobs.stat(sha256)]);
    if (!build || !blob) throw notFound('Build');
    return { sha256, size: blob.size, filename: safeFilename(`${build.bundleId}-${build.version}.ipa`), expiresAt: check.expiresAt };
  }

  async openBuild(sha256: string, range?: { start: number; end: number }): Promise<Readable> {
    const blob = await this.deps.blobs.open(sha256, range);
    if (!blob) throw notFound('Build');
    return blob.stream;
  }

  /** Daily downloads of one of the developer's apps over [from, to] (default: the last 30 days). */
  async downloadStats(actor: Actor, appId: string, query: DownloadStatsQuery): Promise<DownloadStats> {
    if (!actor.developerId) throw notFound('App');
    const app = (
      await this.deps.db.query<{ download_count: string }>('SELECT download_count FROM catalog_apps WHERE id = $1 AND developer_id = $2', [
        appId,
        actor.developerId,
      ])
    ).rows[0];
    if (!app) throw notFound('App');
    const to = query.to ?? new Date().toISOString().slice(0, 10);
    const from = query.from ?? dayOffset(to, -(DEFAULT_STATS_DAYS - 1));
    const span = (Date.parse(to) - Date.parse(from)) / DAY_MS + 1;
    if (span < 1) throw invalid('BAD_WINDOW', `from (${from}) must not be after to (${to}).`);
    if (span > MAX_STATS_DAYS) throw invalid('BAD_WINDOW', `The window is ${span} days; ask for at most ${MAX_STATS_DAYS} at a time.`);
    const days = await dailySeries(this.deps.readDb, appId, from, to); // analytics: a replica's lag is fine
    const totals = { firstDownloads: 0, redownloads: 0, updates: 0 };
    for (const d of days) {
      totals.firstDownloads += d.firstDownloads;
      totals.redownloads += d.redownloads;
      totals.updates += d.updates;
    }
    return { appId, from, to, downloadCount: Number(app.download_count), totals, days };
  }

  // ================================================================ internals

  /** The target's current build; null (and logged: a published version always has one) when it cannot be read. */
  private async deliverable(target: Target): Promise<Deliverable | null> {
    const blob = target.version_id && target.binary_sha256 ? await this.deps.blobs.stat(target.binary_sha256) : null;
    if (!blob) {
      this.deps.logger.error({ appId: target.app_id, versionId: target.version_id, sha256: target.binary_sha256 }, 'current build missing from the blob store');
      return null;
    }
    return target as Deliverable;
  }

  private async link(userId: string, build: Deliverable): Promise<{ url: string; expiresAt: string }> {
    const signed = await this.links.sign({ versionId: build.version_id, sha256: build.binary_sha256, userId });
    const base = this.deps.config.publicBaseUrl.replace(/\/+$/, '');
    return { url: `${base}/api/v1/downloads/${signed.token}`, expiresAt: signed.expiresAt.toISOString() };
  }

  /** One transaction: each build becomes an app.downloaded event, first / update / redownload for this user. */
  private async recordDownloads(userId: string, builds: Deliverable[], opts: { countRepeats: boolean }): Promise<void> {
    if (!builds.length) return;
    const day = new Date().toISOString().slice(0, 10);
    const recorded = await this.deps.db.tx(async (q) => {
      let n = 0;
      // in app id order: two concurrent requests of one user lock their download rows in the same order
      for (const build of [...builds].sort((x, y) => (x.app_id < y.app_id ? -1 : 1))) {
        const classified = await classifyDownload(q, userId, build, opts.countRepeats, day);
        if (!classified) continue;
        const payload: AppDownloadedPayload = {
          appId: build.app_id,
          versionId: build.version_id,
          userId,
          kind: classified.kind,
          day,
          firstToday: classified.firstToday,
        };
        await libraryEvents.record(q, 'app.downloaded', payload, build.app_id);
        n++;
      }
      return n;
    });
    if (recorded) this.deps.bus.nudge();
  }

  private async buildName(versionId: string): Promise<{ bundleId: string; version: string } | null> {
    const known = this.builds.get(versionId);
    if (known) return known;
    const { rows } = await this.deps.db.query<{ bundle_id: string; version: string }>(
      'SELECT a.bundle_id, v.version FROM catalog_app_versions v JOIN catalog_apps a ON a.id = v.app_id WHERE v.id = $1',
      [versionId],
    );
    if (!rows[0]) return null;
    const build = { bundleId: rows[0].bundle_id, version: rows[0].version };
    this.builds.set(versionId, build);
    return build;
  }
}

/**
 * Updates the user's download record of the app and says what this download is: the first ever, an update
 * (a newer version than they last had) or a re-download, and whether it is their first of the app on `day`.
 * Null when countRepeats is off and it is not new.
 */
async function classifyDownload(
  q: Queryable,
  userId: string,
  build: Deliverable,
  countRepeats: boolean,
  day: string,
): Promise<{ kind: DownloadKind; firstToday: boolean } | null> {
  const first = await q.query(`INSERT INTO app_user_downloads (user_id, app_id, last_version) VALUES ($1, $2, $3) ON CONFLICT (user_id, app_id) DO NOTHING`, [
    userId,
    build.app_id,
    build.version,
  ]);
  if (first.rowCount) return { kind: 'first', firstToday: true };
  const { rows } = await q.query<{ last_version: string; last_day: string }>(
    `SELECT last_version, to_char(last_downloaded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS last_day
       FROM app_user_downloads WHERE user_id = $1 AND app_id = $2 FOR UPDATE`,
    [userId, build.app_id],
  );
  const newer = compareVersions(build.version, rows[0].last_version) > 0;
  if (!newer && !countRepeats) return null;
  await q.query(
    `UPDATE app_user_downloads SET last_downloaded_at = now(), last_version = CASE WHEN $3 THEN $4 ELSE last_version END
      WHERE user_id = $1 AND app_id = $2`,
    [userId, build.app_id, newer, build.version],
  );
  return { kind: newer ? 'update' : 'redownload', firstToday: rows[0].last_day < day };
}

function checkInstalled(item: InstalledApp, index: number): void {
  const at = `installed[${index}]`;
  if ((item.appId === undefined) === (item.bundleId === undefined)) {
    throw invalid('VALIDATION_FAILED', `${at} must name the app by exactly one of appId or bundleId.`, { path: at });
  }
  if (!parseVersion(item.version)) {
    throw invalid('INVALID_VERSION', `${at}.version must be ${VERSION_RULE}; got '${item.version}'.`, { path: `${at}.version` });
  }
}

function toUpdate(build: Deliverable, installedVersion: string, download: { url: string; expiresAt: string }): Update {
  return {
    appId: build.app_id,
    bundleId: build.bundle_id,
    installedVersion,
    version: build.version,
    releaseNotes: build.release_notes ?? '',
    size: Number(build.binary_size),
    sha256: build.binary_sha256,
    download,
  };
}

const dayOffset = (day: string, days: number) => new Date(Date.parse(day) + days * DAY_MS).toISOString().slice(0, 10);
