// The seeded catalog as search documents, generated in memory: the same apps, names and texts that
// `orchard seed --apps N --rng-seed S` writes to the database (same generator, same random streams),
// so judged queries and search benchmarks can run in-process or over HTTP against one catalog.
import type { SearchDoc } from '../modules/search/index.ts';
import { ICON_COUNT } from './icons.ts';
import { BINARY_COUNT } from './binaries.ts';
import { priceTable, type Storefront } from './prices.ts';
import {
  COLUMNS,
  DEFAULT_BASE_TIME,
  app,
  demoAccounts,
  developer,
  developerCount,
  developerSkew,
  emptyRows,
  type AppContext,
  type DeveloperInfo,
  type Plan,
} from './generate.ts';

// The storefronts table of the catalog migration, in the order the seed reads it (ORDER BY country).
const STOREFRONTS: Storefront[] = [
  ['AU', 'AUD'],
  ['BR', 'BRL'],
  ['CA', 'CAD'],
  ['CH', 'CHF'],
  ['CN', 'CNY'],
  ['DE', 'EUR'],
  ['ES', 'EUR'],
  ['FR', 'EUR'],
  ['GB', 'GBP'],
  ['IN', 'INR'],
  ['IT', 'EUR'],
  ['JP', 'JPY'],
  ['KR', 'KRW'],
  ['MX', 'MXN'],
  ['NL', 'EUR'],
  ['NO', 'NOK'],
  ['PL', 'PLN'],
  ['SE', 'SEK'],
  ['TR', 'TRY'],
  ['US', 'USD'],
].map(([country, currency]) => ({ country, currency }) as Storefront);

const column = (name: (typeof COLUMNS.apps)[number]) => COLUMNS.apps.indexOf(name);
const A = {
  id: column('id'),
  developer_id: column('developer_id'),
  bundle_id: column('bundle_id'),
  name: column('name'),
  subtitle: column('subtitle'),
  description: column('description'),
  keywords: column('keywords'),
  category: column('category'),
  subcategory: column('subcategory'),
  age_rating: column('age_rating'),
  is_free: column('is_free'),
  status: column('status'),
  rating_count: column('rating_count'),
  rating_average: column('rating_average'),
  download_count: column('download_count'),
};

/** Published apps of the seeded catalog of `apps` apps, in seed order. */
export function* syntheticSearchDocs(apps: number, rngSeed = 42): Generator<SearchDoc> {
  const developers = developerCount(apps);
  const plan: Plan = {
    seed: rngSeed,
    baseTime: DEFAULT_BASE_TIME,
    apps,
    users: 0,
    developers,
    passwordHash: '',
    storefronts: STOREFRONTS,
    prices: priceTable(STOREFRONTS),
    icons: Array.from({ length: ICON_COUNT }, () => ({ sha256: '', size: 0 })), // only their count draws random numbers
  };
  const accounts = emptyRows();
  const demo = demoAccounts(plan, accounts);
  const devs: DeveloperInfo[] = [demo.developer];
  for (let i = 0; i < developers; i++) devs.push(developer(plan, i + 1, accounts));
  const company = new Map(accounts.developers.map((r) => [r[0] as string, r[2] as string]));
  const binaries = Array.from({ length: BINARY_COUNT }, () => ({ sha256: '', size: 0 })); // chosen without drawing random numbers
  const ctx: AppContext = { plan, demo, developers: devs, developerSkew: developerSkew(developers), bundleIds: new Set(), binaries };

  for (let i = 0; i < apps; i++) {
    const rows = emptyRows();
    app(ctx, i, rows);
    const r = rows.apps[0];
    if (r[A.status] !== 'published') continue;
    yield {
      id: r[A.id] as string,
      bundleId: r[A.bundle_id] as string,
      name: r[A.name] as string,
      subtitle: r[A.subtitle] as string | null,
      developer: company.get(r[A.developer_id] as string) ?? '',
      description: r[A.description] as string,
      keywords: r[A.keywords] as string[],
      category: r[A.category] as string,
      subcategory: r[A.subcategory] as string | null,
      isFree: r[A.is_free] as boolean,
      ageRating: r[A.age_rating] as SearchDoc['ageRating'],
      ratingAverage: Number(r[A.rating_average]),
      ratingCount: Number(r[A.rating_count]),
      downloads: Number(r[A.download_count]),
      countries: null,
      engagement: 0,
    };
  }
}
