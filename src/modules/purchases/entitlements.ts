// Entitlements are derived from transactions, never stored as flags: a product grants the entitlements
// listed for it in product_entitlements (by default one named after its product id; the app itself grants
// 'app'). So several products may grant one entitlement, and refunding one of them leaves the access that
// another still grants.
import type { Queryable } from '../../platform/db/index.ts';
import type { Environment } from './service.ts';

export interface Entitlement {
  entitlement: string;
  /** When access ends: null for lifetime grants; the latest end among the products that grant it. */
  expiresDate: string | null;
  grantedBy: { transactionId: string; productId: string; type: string; expiresDate: string | null }[];
}

/** Active entitlements of a user for an app at `now`. A subscription in its grace period still grants access. */
export async function activeEntitlements(q: Queryable, userId: string, appId: string, environment: Environment, now = new Date()): Promise<Entitlement[]> {
  const { rows } = await q.query<{ entitlement: string; transaction_id: string; product_id: string; kind: string; expires_date: Date | null }>(
    `SELECT COALESCE(pe.entitlement, CASE WHEN t.kind = 'app' THEN 'app' ELSE t.product_id END) AS entitlement,
            t.id AS transaction_id, t.product_id, t.kind,
            CASE WHEN s.status = 'grace' AND t.period_index = s.period_index THEN GREATEST(t.expires_date, s.grace_until) ELSE t.expires_date END AS expires_date
       FROM transactions t
       LEFT JOIN product_entitlements pe ON pe.product_uuid = t.product_uuid
       LEFT JOIN subscriptions s ON t.kind = 'auto_renewable' AND s.original_transaction_id = t.original_transaction_id
      WHERE t.user_id = $1 AND t.app_id = $2 AND t.environment = $3 AND t.revocation_date IS NULL AND t.kind <> 'consumable'
        AND (t.kind <> 'auto_renewable' OR t.expires_date > $4
             OR (s.status = 'grace' AND s.grace_until > $4 AND t.period_index = s.period_index))
      ORDER BY 1, t.purchase_date`,
    [userId, appId, environment, now],
  );
  const byName = new Map<string, Entitlement>();
  for (const r of rows) {
    const expires = r.expires_date ? new Date(r.expires_date).toISOString() : null;
    let e = byName.get(r.entitlement);
    if (!e) {
      e = { entitlement: r.entitlement, expiresDate: expires, grantedBy: [] };
      byName.set(r.entitlement, e);
    }
    e.grantedBy.push({ transactionId: String(r.transaction_id), productId: r.product_id, type: r.kind, expiresDate: expires });
    if (e.expiresDate !== null) e.expiresDate = expires === null ? null : expires > e.expiresDate ? expires : e.expiresDate;
  }
  return [...byName.values()];
}

/** Replaces what a product grants (an empty list restores the default: its own product id). */
export async function setProductEntitlements(q: Queryable, productUuid: string, entitlements: string[]): Promise<void> {
  await q.query('DELETE FROM product_entitlements WHERE product_uuid = $1', [productUuid]);
  if (entitlements.length) {
    await q.query('INSERT INTO product_entitlements (product_uuid, entitlement) SELECT $1, unnest($2::text[])', [productUuid, entitlements]);
  }
}
