// Helpers of the library suite: ownership written straight into `transactions` (as the purchase endpoint
// will write it), a version update taken through review, and download URLs turned into inject paths.
import { randomBytes } from 'node:crypto';
import type { Queryable } from '../../src/platform/db/index.ts';
import { ok, type Send } from './catalog.ts';

type Environment = 'Production' | 'Sandbox';
type ProductKind = 'consumable' | 'non_consumable' | 'auto_renewable' | 'non_renewing';

/**
 * A transaction of `userId` for the app itself (kind 'app'), columns filled like a real purchase: numeric id
 * from transaction_ids, its own original transaction, the app's developer and bundle id, US storefront in USD.
 * Returns the transaction id.
 */
export async function grantApp(
  db: Queryable,
  userId: string,
  appId: string,
  opts: { priceMilli?: number; environment?: Environment; purchasedAt?: Date } = {},
): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO transactions (id, original_transaction_id, user_id, app_id, developer_id, product_id, bundle_id, kind, environment,
                               storefront, currency, price_milli, purchase_date, original_purchase_date, transaction_reason)
     SELECT n.id, n.id, $1, a.id, a.developer_id, a.bundle_id, a.bundle_id, 'app', $3, 'US', 'USD', $4, $5, $5, 'PURCHASE'
       FROM apps a, (SELECT nextval('transaction_ids') AS id) n WHERE a.id = $2
     RETURNING id`,
    [userId, appId, opts.environment ?? 'Production', opts.priceMilli ?? 0, opts.purchasedAt ?? new Date()],
  );
  if (!rows[0]) throw new Error(`no app ${appId}`);
  return String(rows[0].id);
}

/**
 * A transaction of `userId` for an in-app product of the app. Subscriptions: pass expiresAt (the end of the
 * paid period) and, for a renewal, the original transaction id. Returns the transaction id.
 */
export async function grantProduct(
  db: Queryable,
  userId: string,
  productUuid: string,
  opts: { environment?: Environment; purchasedAt?: Date; expiresAt?: Date; renewalOf?: string; priceMilli?: number } = {},
): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO transactions (id, original_transaction_id, user_id, app_id, developer_id, product_uuid, product_id, bundle_id, kind,
                               subscription_group, environment, storefront, currency, price_milli, purchase_date, original_purchase_date,
                               expires_date, transaction_reason)
     SELECT n.id, coalesce($6::bigint, n.id), $1, a.id, a.developer_id, p.id, p.product_id, a.bundle_id, p.type,
            p.subscription_group, $3, 'US', 'USD', $4, $5,
            coalesce((SELECT original_purchase_date FROM transactions WHERE id = $6::bigint), $5), $7,
            CASE WHEN $6::bigint IS NULL THEN 'PURCHASE' ELSE 'RENEWAL' END
       FROM in_app_products p JOIN apps a ON a.id = p.app_id, (SELECT nextval('transaction_ids') AS id) n
      WHERE p.id = $2
     RETURNING id`,
    [
      userId,
      productUuid,
      opts.environment ?? 'Production',
      opts.priceMilli ?? 990,
      opts.purchasedAt ?? new Date(),
      opts.renewalOf ?? null,
      opts.expiresAt ?? null,
    ],
  );
  if (!rows[0]) throw new Error(`no product ${productUuid}`);
  return String(rows[0].id);
}

/** A refund: Apple sets the revocation date (reason 0: other). */
export async function revoke(db: Queryable, transactionId: string): Promise<void> {
  await db.query('UPDATE transactions SET revocation_date = now(), revocation_reason = 0 WHERE id = $1', [transactionId]);
}

/** An in-app product of the developer's app, through the catalog API. Returns its uuid. */
export async function createProduct(send: Send, devToken: string, appId: string, type: ProductKind, productId: string): Promise<string> {
  const body = {
    productId,
    referenceName: productId,
    type,
    ...(type === 'auto_renewable' ? { subscriptionPeriod: 'P1M', subscriptionGroup: 'premium' } : {}),
  };
  return ok(await send('POST', `/developer/apps/${appId}/products`, { token: devToken, body }), 201).id;
}

/** A new version of a published app with the given build, reviewed, approved and published. */
export async function publishUpdate(
  send: Send,
  devToken: string,
  adminToken: string,
  appId: string,
  version: string,
  build: Buffer = randomBytes(3000),
): Promise<void> {
  const created = ok(
    await send('POST', `/developer/apps/${appId}/versions`, {
      token: devToken,
      body: { version, releaseNotes: `What is new in ${version}`, minOsVersion: '17.0' },
    }),
    201,
  );
  ok(
    await send('PUT', `/developer/apps/${appId}/versions/${created.id}/binary`, {
      token: devToken,
      body: build,
      headers: { 'content-type': 'application/octet-stream' },
    }),
  );
  ok(await send('POST', `/developer/apps/${appId}/submit`, { token: devToken }));
  ok(await send('POST', `/admin/apps/${appId}/approve`, { token: adminToken }));
  ok(await send('POST', `/developer/apps/${appId}/publish`, { token: devToken }));
}

/** The path of an absolute download URL, for app.inject. */
export const pathOf = (url: string) => new URL(url).pathname;
