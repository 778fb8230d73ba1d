// What a buyer in a storefront would pay for an app or an in-app product, as the catalog has it now.
// Offers are read on every purchase, so each process keeps them briefly in memory: app.changed (prices,
// products, status) drops an app's offers at once in every process, and the TTL bounds anything missed.
import { LRUCache } from 'lru-cache';
import type { Queryable } from '../../platform/db/index.ts';
import { notFound, rejected } from '../../platform/errors.ts';
import type { SubscriptionPeriod } from './periods.ts';

export type Kind = 'app' | 'consumable' | 'non_consumable' | 'auto_renewable' | 'non_renewing';

/** The catalog's facts for (app, product, storefront); `price` null when the item has none there. */
export interface OfferFacts {
  appId: string;
  published: boolean;
  bundleId: string;
  developerId: string;
  isFree: boolean;
  product: { uuid: string; id: string; kind: Exclude<Kind, 'app'>; period: SubscriptionPeriod | null; group: string | null } | null;
  storefront: { country: string; alpha3: string; appleStorefrontId: number; currency: string };
  price: { amountMilli: number; currency: string } | null;
}

/** A purchasable item at its current price in the buyer's storefront. */
export interface Offer {
  country: string;
  alpha3: string;
  appleStorefrontId: number;
  appId: string;
  bundleId: string;
  developerId: string;
  kind: Kind;
  productUuid: string | null;
  productId: string;
  period: SubscriptionPeriod | null;
  group: string | null;
  amountMilli: number;
  currency: string;
}

export interface OfferRequest {
  appId: string;
  productId?: string;
  price?: { amountMilli: number; currency: string };
  quantity?: number;
}

const OFFER_TTL_MS = 30_000;

export function createOffers(db: Queryable) {
  // appId -> (productId|country -> facts, or null when the app or product does not exist)
  const cache = new LRUCache<string, Map<string, OfferFacts | null>>({ max: 20_000, ttl: OFFER_TTL_MS });

  async function facts(appId: string, productId: string | undefined, country: string): Promise<OfferFacts | null> {
    const sub = `${productId ?? ''}|${country}`;
    let perApp = cache.get(appId);
    if (perApp?.has(sub)) return perApp.get(sub)!;
    const found = await readFacts(db, appId, productId ?? null, country);
    perApp = cache.get(appId) ?? new Map();
    perApp.set(sub, found);
    cache.set(appId, perApp);
    return found;
  }

  /** The offer the request asks for, checked against it: 404 / 422 with what to fix. */
  async function offerFor(country: string, req: OfferRequest): Promise<Offer> {
    return checkOffer(await facts(req.appId, req.productId, country), req, country);
  }

  return { offerFor, drop: (appId: string) => cache.delete(appId), clear: () => cache.clear() };
}
export type Offers = ReturnType<typeof createOffers>;

async function readFacts(db: Queryable, appId: string, productId: string | null, country: string): Promise<OfferFacts | null> {
  const { rows } = await db.query<{
    alpha3: string;
    apple_storefront_id: number;
    storefront_currency: string;
    app_id: string | null;
    bundle_id: string;
    developer_id: string;
    status: string;
    is_free: boolean;
    product_uuid: string | null;
    product_type: Exclude<Kind, 'app'> | null;
    subscription_period: SubscriptionPeriod | null;
    subscription_group: string | null;
    amount_milli: string | null;
    currency: string | null;
  }>(
    `SELECT sf.alpha3, sf.apple_storefront_id, sf.currency AS storefront_currency,
            a.id AS app_id, a.bundle_id, a.developer_id, a.status, a.is_free,
            p.id AS product_uuid, p.type AS product_type, p.subscription_period, p.subscription_group,
            COALESCE(ip.amount_milli, ap.amount_milli) AS amount_milli, COALESCE(ip.currency, ap.currency) AS currency
       FROM catalog_storefronts sf
       LEFT JOIN catalog_apps a ON a.id = $1
       LEFT JOIN catalog_in_app_products p ON $2::text IS NOT NULL AND p.app_id = a.id AND p.product_id = $2
       LEFT JOIN catalog_in_app_prices ip ON ip.product_id = p.id AND ip.country = sf.country
       LEFT JOIN catalog_app_prices ap ON $2::text IS NULL AND ap.app_id = a.id AND ap.country = sf.country AND NOT a.is_free
      WHERE sf.country = $3`,
    [appId, productId, country],
  );
  const r = rows[0];
  if (!r || !r.app_id || (productId && !r.product_uuid)) return null;
  return {
    appId: r.app_id,
    published: r.status === 'published',
    bundleId: r.bundle_id,
    developerId: r.developer_id,
    isFree: r.is_free,
    product: r.product_uuid
      ? { uuid: r.product_uuid, id: productId!, kind: r.product_type!, period: r.subscription_period, group: r.subscription_group }
      : null,
    storefront: { country, alpha3: r.alpha3, appleStorefrontId: r.apple_storefront_id, currency: r.storefront_currency },
    price: r.amount_milli === null ? null : { amountMilli: Number(r.amount_milli), currency: r.currency! },
  };
}

/** Pure: the request against the catalog's facts. */
export function checkOffer(f: OfferFacts | null, req: OfferRequest, country: string): Offer {
  if (!f || !f.published) throw notFound(req.productId ? 'App or in-app product' : 'App');
  const kind: Kind = f.product?.kind ?? 'app';
  const free = kind === 'app' && f.isFree;
  if (!free && !f.price) throw rejected('NOT_SOLD_IN_STOREFRONT', `This item has no price in your storefront (${country}).`);
  const amountMilli = free ? 0 : f.price!.amountMilli;
  const currency = free ? f.storefront.currency : f.price!.currency;
  if (!req.price && amountMilli > 0) {
    throw rejected('PRICE_REQUIRED', 'Send price { amountMilli, currency } as shown to the buyer.', { amountMilli, currency });
  }
  if (req.price && (req.price.amountMilli !== amountMilli || req.price.currency !== currency)) {
    throw rejected('PRICE_MISMATCH', `The price is ${amountMilli} ${currency} (milliunits) in storefront ${country}, not what was sent.`, {
      amountMilli,
      currency,
      storefront: country,
    });
  }
  if (req.quantity !== undefined && req.quantity !== 1 && kind !== 'consumable') {
    throw rejected('QUANTITY_NOT_ALLOWED', 'Only consumables may be bought in a quantity other than 1.');
  }
  return {
    country,
    alpha3: f.storefront.alpha3,
    appleStorefrontId: f.storefront.appleStorefrontId,
    appId: f.appId,
    bundleId: f.bundleId,
    developerId: f.developerId,
    kind,
    productUuid: f.product?.uuid ?? null,
    productId: f.product?.id ?? f.bundleId,
    period: f.product?.period ?? null,
    group: f.product?.group ?? null,
    amountMilli,
    currency,
  };
}
