// Download statistics. Every issued download link records app.downloaded; the download-stats consumer turns
// those into daily counts per app and the catalog's download count (first downloads: distinct users), exactly once
// per event (the bus records it in processed_events in the same transaction). It then tells caches and
// search indexes about the new count with app.changed { change: 'downloads' }, at most about once a minute
// per app: a popular app would otherwise invalidate them many times a second.
import { validate as isUuid } from 'uuid';
import type { OrchardEvent } from '../../platform/bus/index.ts';
import { announceCounterChange, countFirstDownloads } from '../catalog/index.ts';
import type { Queryable } from '../../platform/db/index.ts';

export const DOWNLOAD_KINDS = ['first', 'redownload', 'update'] as const;
export type DownloadKind = (typeof DOWNLOAD_KINDS)[number];

export interface AppDownloadedPayload extends Record<string, unknown> {
  appId: string;
  versionId: string;
  userId: string;
  kind: DownloadKind;
  /** UTC day of the link, YYYY-MM-DD. */
  day: string;
  /** The user's first download of the app on that day (unique downloaders); absent in events of older versions. */
  firstToday?: boolean;
}
export type AppDownloadedEvent = OrchardEvent<AppDownloadedPayload>;

export const DOWNLOAD_STATS_CONSUMER = 'library.download-stats';

const DAY = /^\d{4}-\d{2}-\d{2}$/;
/** Apps whose held-back app.changed is sent by each event, whatever app that event is about. */
const FLUSH_BATCH = 20;

/** The durable handler of app.downloaded, inside the transaction that marks the event processed. */
export async function applyDownload(event: AppDownloadedEvent, q: Queryable): Promise<void> {
  const { appId, kind, day } = event.payload;
  if (typeof appId !== 'string' || !isUuid(appId) || !DOWNLOAD_KINDS.includes(kind) || typeof day !== 'string' || !DAY.test(day)) {
    throw new Error(`malformed app.downloaded payload: ${JSON.stringify(event.payload)}`);
  }
  await q.query(
    `INSERT INTO app_download_days AS d (app_id, day, first_downloads, redownloads, updates) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (app_id, day) DO UPDATE SET first_downloads = d.first_downloads + EXCLUDED.first_downloads,
       redownloads = d.redownloads + EXCLUDED.redownloads, updates = d.updates + EXCLUDED.updates`,
    [appId, day, Number(kind === 'first'), Number(kind === 'redownload'), Number(kind === 'update')],
  );
  if (kind === 'first') {
    await countFirstDownloads(q, appId);
    if (await mayAnnounce(q, appId)) await announce(q, appId);
  }
  await flushHeldBack(q);
}

/** True when the app's last announcement is a minute old or more (then it counts as made now); otherwise it is held back. */
async function mayAnnounce(q: Queryable, appId: string): Promise<boolean> {
  const { rows } = await q.query<{ pending: boolean }>(
    `INSERT INTO app_download_signals AS s (app_id, emitted_at) VALUES ($1, now())
     ON CONFLICT (app_id) DO UPDATE SET
       emitted_at = CASE WHEN s.emitted_at <= now() - interval '1 minute' THEN now() ELSE s.emitted_at END,
       pending = s.emitted_at > now() - interval '1 minute'
     RETURNING pending`,
    [appId],
  );
  return !rows[0].pending;
}

/**
 * Sends the announcements held back for apps whose minute has passed. There is no timer: the next download
 * event of any app does it, which in a live store comes within moments.
 */
async function flushHeldBack(q: Queryable): Promise<void> {
  const { rows } = await q.query<{ app_id: string }>(
    `UPDATE app_download_signals SET emitted_at = now(), pending = false
      WHERE app_id IN (SELECT app_id FROM app_download_signals
                        WHERE pending AND emitted_at <= now() - interval '1 minute'
                        ORDER BY emitted_at LIMIT ${FLUSH_BATCH} FOR UPDATE SKIP LOCKED)
     RETURNING app_id`,
  );
  for (const r of rows) await announce(q, r.app_id);
}

function announce(q: Queryable, appId: string) {
  return announceCounterChange(q, appId, 'downloads');
}

export interface DayCounts {
  day: string;
  firstDownloads: number;
  redownloads: number;
  updates: number;
}

/** Every day of [from, to] (YYYY-MM-DD, inclusive), oldest first, zeros where nothing was downloaded. */
export async function dailySeries(q: Queryable, appId: string, from: string, to: string): Promise<DayCounts[]> {
  const { rows } = await q.query<{ day: string; first_downloads: number; redownloads: number; updates: number }>(
    `SELECT to_char($2::date + i, 'YYYY-MM-DD') AS day, coalesce(d.first_downloads, 0) AS first_downloads,
            coalesce(d.redownloads, 0) AS redownloads, coalesce(d.updates, 0) AS updates
       FROM generate_series(0, $3::date - $2::date) AS i
       LEFT JOIN app_download_days d ON d.app_id = $1 AND d.day = $2::date + i
      ORDER BY i`,
    [appId, from, to],
  );
  return rows.map((r) => ({ day: r.day, firstDownloads: r.first_downloads, redownloads: r.redownloads, updates: r.updates }));
}
