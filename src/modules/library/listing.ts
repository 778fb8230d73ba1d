// GET /me/library: the apps a user owns and their live in-app purchases, newest acquisition first, in keyset
// pages. Plain SQL over transactions (apps through the owned_apps view) that runs on PostgreSQL 15 and PGlite.
import type { Queryable } from '../../platform/db/index.ts';
import { decodeCursor, encodeCursor, takePage } from '../../platform/http/pagination.ts';
import type { LibraryItem, LibraryPage } from './schemas.ts';

export type LibraryKind = 'app' | 'in_app';

/** Position after the last item of a page: acquisition time in µs since the epoch (exact) and its transaction id. */
interface Position {
  micros: number;
  key: string;
}

const TRANSACTION_ID = /^[1-9]\d{0,18}$/;

export const encodeLibraryCursor = (p: Position) => encodeCursor([p.micros, p.key]);

/** Throws 400 BAD_CURSOR unless this API issued it. */
export function decodeLibraryCursor(cursor: string | undefined): Position | undefined {
  const v = decodeCursor(
    cursor,
    (v): v is [number, string] => Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && typeof v[1] === 'string' && TRANSACTION_ID.test(v[1]),
  );
  return v && { micros: v[0], key: v[1] };
}

interface Row {
  kind: LibraryKind;
  key: string;
  acquired_at: Date;
  k: string;
  expires_at: Date | null;
  app_id: string;
  product_id: string | null;
  type: string;
  price_milli: string;
  currency: string;
  bundle_id: string;
  name: string;
  status: string;
  current_version: string | null;
  icon_sha256: string | null;
}

// Apps: owned_apps (the ownership rule). Non-consumables: one row per product, its earliest live transaction.
// Non-renewing subscriptions: live and not past their end, if they have one. Auto-renewable subscriptions: one
// row per subscription (original transaction), while a paid period or its grace period lasts (the same rule as
// the purchases module's entitlements); expires_at is when access ends as things stand.
const ITEMS = `
  SELECT 'app' AS kind, o.transaction_id AS key, o.acquired_at, NULL::timestamptz AS expires_at,
         o.app_id, NULL::text AS product_id, 'app' AS type, o.price_milli, o.currency
    FROM owned_apps o
   WHERE o.user_id = $1
  UNION ALL
  SELECT * FROM (
    SELECT DISTINCT ON (t.app_id, t.product_id)
           'in_app', t.id, t.original_purchase_date, t.expires_date, t.app_id, t.product_id, t.kind, t.price_milli, t.currency
      FROM purchases_transactions t
     WHERE t.user_id = $1 AND t.environment = 'Production' AND t.revocation_date IS NULL
       AND (t.kind = 'non_consumable' OR (t.kind = 'non_renewing' AND (t.expires_date IS NULL OR t.expires_date > now())))
     ORDER BY t.app_id, t.product_id, t.purchase_date, t.id
  ) once
  UNION ALL
  SELECT kind, key, acquired_at, expires_at, app_id, product_id, type, price_milli, currency FROM (
    SELECT DISTINCT ON (t.original_transaction_id)
           'in_app' AS kind, t.original_transaction_id AS key, t.original_purchase_date AS acquired_at, e.ends AS expires_at,
           t.app_id, t.product_id, t.kind AS type, t.price_milli, t.currency
      FROM purchases_transactions t
      LEFT JOIN purchases_subscriptions s ON s.original_transaction_id = t.original_transaction_id
      CROSS JOIN LATERAL (
        SELECT CASE WHEN s.status = 'grace' AND t.period_index = s.period_index THEN greatest(t.expires_date, s.grace_until)
                    ELSE t.expires_date END AS ends
      ) e
     WHERE t.user_id = $1 AND t.kind = 'auto_renewable' AND t.environment = 'Production' AND t.revocation_date IS NULL
       AND e.ends > now()
     ORDER BY t.original_transaction_id, e.ends DESC, t.id DESC
  ) subscribed`;

const micros = (col: string) => `(extract(epoch from ${col}) * 1000000)::bigint`;

export async function libraryPage(
  q: Queryable,
  userId: string,
  opts: { limit: number; cursor?: string; kind?: LibraryKind },
  mediaUrl: (sha256: string) => string,
): Promise<LibraryPage> {
  const after = decodeLibraryCursor(opts.cursor);
  const params: unknown[] = [userId, opts.limit + 1];
  const where: string[] = [];
  if (opts.kind) where.push(`i.kind = $${params.push(opts.kind)}`);
  if (after) {
    const at = `(timestamptz 'epoch' + $${params.push(after.micros)}::float8 * interval '1 microsecond')`;
    where.push(`(i.acquired_at, i.key) < (${at}, $${params.push(after.key)}::bigint)`);
  }
  const { rows } = await q.query<Row>(
    `SELECT i.*, ${micros('i.acquired_at')} AS k, a.bundle_id, a.name, a.status, a.current_version, m.sha256 AS icon_sha256
       FROM (${ITEMS}) i
       JOIN catalog_apps a ON a.id = i.app_id
       LEFT JOIN catalog_app_media m ON m.app_id = a.id AND m.kind = 'icon'
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY i.acquired_at DESC, i.key DESC
      LIMIT $2`,
    params,
  );
  const { page, last, more } = takePage(rows, opts.limit);
  return {
    items: page.map((r) => toItem(r, mediaUrl)),
    nextCursor: more ? encodeLibraryCursor({ micros: Number(last.k), key: String(last.key) }) : null,
  };
}

function toItem(r: Row, mediaUrl: (sha256: string) => string): LibraryItem {
  const acquiredAt = new Date(r.acquired_at).toISOString();
  if (r.kind === 'app') {
    return {
      kind: 'app',
      appId: r.app_id,
      bundleId: r.bundle_id,
      name: r.name,
      iconUrl: r.icon_sha256 ? mediaUrl(r.icon_sha256) : null,
      currentVersion: r.current_version,
      available: r.status === 'published',
      acquiredAt,
      price: { amountMilli: Number(r.price_milli), currency: r.currency },
      transactionId: String(r.key),
    };
  }
  return {
    kind: 'in_app',
    productId: r.product_id!,
    type: r.type as 'non_consumable' | 'non_renewing' | 'auto_renewable',
    appId: r.app_id,
    appName: r.name,
    acquiredAt,
    expiresAt: r.expires_at === null ? null : new Date(r.expires_at).toISOString(),
    transactionId: String(r.key),
  };
}
