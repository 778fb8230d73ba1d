// Categories and storefronts: seeded by migrations, read once per process, then checked in memory.
import type { Queryable } from '../../platform/db/index.ts';
import { invalid, rejected } from '../../platform/errors.ts';
import type { PriceInput } from './schemas.ts';

export interface CategoryInfo {
  slug: string;
  name: string;
  parent: string | null;
}

export interface Storefront {
  country: string;
  alpha3: string;
  currency: string;
  appleStorefrontId: number;
  name: string;
}

export interface Reference {
  categories: Map<string, CategoryInfo>;
  storefronts: Map<string, Storefront>;
  /** Pre-serialised responses of GET /categories and GET /storefronts. */
  categoryTreeJson: string;
  storefrontsJson: string;
}

export async function loadReference(db: Queryable): Promise<Reference> {
  const cats = await db.query<{ slug: string; name: string; parent_slug: string | null }>(
    'SELECT slug, name, parent_slug FROM categories ORDER BY parent_slug NULLS FIRST, position, slug',
  );
  const fronts = await db.query<{ country: string; alpha3: string; currency: string; apple_storefront_id: number; name: string }>(
    'SELECT country, alpha3, currency, apple_storefront_id, name FROM storefronts ORDER BY country',
  );
  const categories = new Map(cats.rows.map((r) => [r.slug, { slug: r.slug, name: r.name, parent: r.parent_slug }]));
  const tree = cats.rows
    .filter((r) => r.parent_slug === null)
    .map((top) => ({
      slug: top.slug,
      name: top.name,
      subcategories: cats.rows.filter((r) => r.parent_slug === top.slug).map((s) => ({ slug: s.slug, name: s.name })),
    }));
  const storefronts = new Map(
    fronts.rows.map((r) => [r.country, { country: r.country, alpha3: r.alpha3, currency: r.currency, appleStorefrontId: r.apple_storefront_id, name: r.name }]),
  );
  return { categories, storefronts, categoryTreeJson: JSON.stringify(tree), storefrontsJson: JSON.stringify([...storefronts.values()]) };
}

/** Checks a category / subcategory pair (invalid otherwise): the category is a top-level one, the subcategory one of its children. */
export function checkCategories(ref: Reference, category: string, subcategory: string | null): void {
  const top = ref.categories.get(category);
  if (!top || top.parent !== null) {
    throw invalid('UNKNOWN_CATEGORY', `Unknown category '${category}'; GET /api/v1/categories lists the top-level slugs.`);
  }
  if (subcategory === null) return;
  const sub = ref.categories.get(subcategory);
  if (!sub || sub.parent === null) {
    throw invalid('UNKNOWN_CATEGORY', `Unknown subcategory '${subcategory}'; GET /api/v1/categories lists them under each category.`);
  }
  if (sub.parent !== category) {
    throw invalid(
      'SUBCATEGORY_MISMATCH',
      `Subcategory '${subcategory}' belongs to '${sub.parent}', not '${category}'; send a matching subcategory (or null) with the category.`,
    );
  }
}

/** Prices must name known storefronts, once each, in that storefront's currency. */
export function checkPrices(ref: Reference, prices: readonly PriceInput[]): void {
  const seen = new Set<string>();
  for (const p of prices) {
    const front = ref.storefronts.get(p.country);
    if (!front) throw rejected('UNKNOWN_COUNTRY', `There is no storefront for country '${p.country}'; GET /api/v1/storefronts lists them.`);
    if (p.currency !== front.currency) {
      throw rejected('CURRENCY_MISMATCH', `Prices in ${front.name} (${p.country}) are in ${front.currency}, not ${p.currency}.`);
    }
    if (seen.has(p.country)) throw rejected('DUPLICATE_COUNTRY', `Country ${p.country} appears more than once.`);
    seen.add(p.country);
  }
}
