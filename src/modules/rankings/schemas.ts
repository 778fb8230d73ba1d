// Request and response schemas of the charts API (TypeBox). Unknown parameters are refused; what JSON Schema
// cannot say (unknown category or country, a cursor of a run no longer kept) is checked by the service.
import { Type, type Static } from 'typebox';
import { AppSummary } from '../search/index.ts';
import { CHART_SIZE, CHARTS } from './compute.ts';

const Uuid = Type.String({ format: 'uuid' });
const Country = Type.String({ pattern: '^[A-Z]{2}$', description: 'storefront country (ISO 3166-1 alpha-2)' });
const ChartName = Type.Enum([...CHARTS], {
  description: 'top-free | top-paid | top-grossing | trending (rising fastest) | new (first published in the last 30 days)',
});
const Category = Type.String({ minLength: 1, maxLength: 64, description: 'top-level category slug; absent: the overall chart' });

export const ChartQuery = Type.Object(
  {
    chart: ChartName,
    category: Type.Optional(Category),
    country: Type.Optional({ ...Country, description: 'storefront (default US)' }),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: CHART_SIZE, default: 25 })),
    cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);
export type ChartQuery = Static<typeof ChartQuery>;

export const ChartPage = Type.Object({
  chart: ChartName,
  country: Type.String(),
  category: Type.Union([Type.String(), Type.Null()]),
  computedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'when the charts shown were computed (null: never yet)' }),
  items: Type.Array(Type.Object({ rank: Type.Integer({ minimum: 1 }), app: AppSummary })),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

export const Position = Type.Object({
  chart: ChartName,
  country: Type.String(),
  category: Type.Union([Type.String(), Type.Null()], { description: 'null: the overall chart' }),
  rank: Type.Integer({ minimum: 1 }),
});
export type Position = Static<typeof Position>;

export const AppParams = Type.Object({ id: Uuid }, { additionalProperties: false });
export const Positions = Type.Object({ computedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]), positions: Type.Array(Position) });

export const HistoryQuery = Type.Object(
  {
    chart: Type.Optional(ChartName),
    country: Type.Optional(Country),
    from: Type.Optional(Type.String({ format: 'date', description: 'first day, YYYY-MM-DD (default: 30 days ago)' })),
    to: Type.Optional(Type.String({ format: 'date', description: 'last day, YYYY-MM-DD (default: today)' })),
  },
  { additionalProperties: false },
);
export type HistoryQuery = Static<typeof HistoryQuery>;

const Signals = Type.Object(
  {
    downloads: Type.Number(),
    rating: Type.Number(),
    engagement: Type.Number(),
    revenue: Type.Number(),
    freshness: Type.Number(),
  },
  { description: "each signal score before weighting (downloads and revenue: log of the ratio to the median of the chart's category or country)" },
);

export const AppChartAnalytics = Type.Object({
  appId: Uuid,
  computedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  current: Type.Array(Type.Object({ ...Position.properties, score: Type.Number(), signals: Signals })),
  history: Type.Array(Type.Object({ ...Position.properties, day: Type.String({ format: 'date' }) }, { description: 'best rank of each day' })),
});

export const ErrorBody = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }),
});
