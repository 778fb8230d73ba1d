// Price tiers: one USD price per tier and, for every storefront currency, a "pretty" local equivalent
// (0.99 USD -> 0.99 EUR, 150 JPY, 1,400 KRW, 89 INR, 4.90 BRL ...). All amounts are integer milliunits.

/** Tier n (1-based) costs TIER_USD_MILLI[n-1] milliunits of USD: 990 = 0.99 USD. */
export const TIER_USD_MILLI = [
  990, 1990, 2990, 3990, 4990, 5990, 6990, 7990, 8990, 9990, 10990, 11990, 12990, 13990, 14990, 19990, 24990, 29990, 39990, 49990, 59990, 69990, 79990, 89990,
  99990,
];

type Style =
  | 'x99' // round to whole units, minus one hundredth: 1.99
  | 'x90' // round to whole units, minus one tenth: 4.90
  | 'whole' // whole units: 7.00
  | 'x9' // round up to tens, minus one: 89, 179
  | 'tens' // nearest ten: 150, 300 (JPY)
  | 'hundreds'; // nearest hundred: 1,400 (KRW)

/** Local units per USD (rounded, stable: prices must not change between seeds) and how prices end. */
const CURRENCIES: Record<string, { perUsd: number; style: Style }> = {
  USD: { perUsd: 1, style: 'x99' },
  EUR: { perUsd: 0.95, style: 'x99' },
  GBP: { perUsd: 0.8, style: 'x99' },
  CHF: { perUsd: 0.9, style: 'whole' },
  CAD: { perUsd: 1.4, style: 'x99' },
  AUD: { perUsd: 1.55, style: 'x99' },
  SEK: { perUsd: 11, style: 'whole' },
  NOK: { perUsd: 11, style: 'whole' },
  PLN: { perUsd: 4, style: 'x99' },
  TRY: { perUsd: 34, style: 'x99' },
  JPY: { perUsd: 150, style: 'tens' },
  KRW: { perUsd: 1400, style: 'hundreds' },
  CNY: { perUsd: 6.5, style: 'whole' },
  INR: { perUsd: 85, style: 'x9' },
  BRL: { perUsd: 5.5, style: 'x90' },
  MXN: { perUsd: 18, style: 'whole' },
};

function localMilli(usdMilli: number, currency: string): number {
  const rule = CURRENCIES[currency];
  if (!rule) throw new Error(`seed: no price rule for currency ${currency}; add it to src/seed/prices.ts`);
  const units = (usdMilli / 1000) * rule.perUsd;
  switch (rule.style) {
    case 'x99':
      return Math.max(1, Math.round(units)) * 1000 - 10;
    case 'x90':
      return Math.max(1, Math.round(units)) * 1000 - 100;
    case 'whole':
      return Math.max(1, Math.round(units)) * 1000;
    case 'x9':
      return (Math.ceil(units / 10) * 10 - 1) * 1000;
    case 'tens':
      return Math.max(10, Math.round(units / 10) * 10) * 1000;
    case 'hundreds':
      return Math.max(100, Math.round(units / 100) * 100) * 1000;
  }
}

export interface Storefront {
  country: string;
  currency: string;
}

/** Per storefront, the tier's amount in its currency: priceTable(sf)[tier-1][i] belongs to storefronts[i]. */
export function priceTable(storefronts: Storefront[]): number[][] {
  return TIER_USD_MILLI.map((usd) => storefronts.map((sf) => localMilli(usd, sf.currency)));
}
