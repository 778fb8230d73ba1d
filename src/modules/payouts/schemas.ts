// Request and response schemas of the payouts API (TypeBox). Money is integer milliunits of `currency`.
import { Type } from 'typebox';
import { PERIOD_PATTERN } from './periods.ts';

const Uuid = Type.String({ format: 'uuid' });
const Timestamp = Type.String({ format: 'date-time' });
const Period = Type.String({ pattern: PERIOD_PATTERN, description: 'a UTC month, YYYY-MM' });
const Currency = Type.String({ description: 'ISO 4217, e.g. USD' });
const Milliunits = (description: string) => Type.Integer({ description: `${description}; integer milliunits (990 = 0.99)` });
const Cursor = Type.String({ maxLength: 512, description: 'nextCursor of the previous page' });

export const ErrorBody = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }),
});

export const IdParams = Type.Object({ id: Uuid });
export const PageQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })), cursor: Type.Optional(Cursor) },
  { additionalProperties: false },
);
export const StatementQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })), cursor: Type.Optional(Cursor) },
  { additionalProperties: false },
);

export const ClosePeriodBody = Type.Object({ period: Period }, { additionalProperties: false });

export const CloseSummary = Type.Object({
  period: Type.String(),
  payouts: Type.Integer({ description: 'payouts created by this run: 0 when the period was already closed' }),
  totals: Type.Array(Type.Object({ currency: Currency, payouts: Type.Integer(), amountMilli: Milliunits('paid out in this currency') })),
  carriedForward: Type.Integer({
    description: 'developer balances (per currency) that were zero or negative: not paid, their lines roll into the next period',
  }),
});

export const Payout = Type.Object({
  id: Uuid,
  developerId: Uuid,
  period: Type.String(),
  currency: Currency,
  amountMilli: Milliunits('the net proceeds paid'),
  lineCount: Type.Integer(),
  createdAt: Timestamp,
});
export const PayoutPage = Type.Object({ items: Type.Array(Payout), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const StatementLine = Type.Object({
  transactionId: Type.String(),
  entry: Type.Enum(['charge', 'refund']),
  productId: Type.String(),
  appId: Uuid,
  grossMilli: Milliunits('what the customer paid (negative: what a refund gave back)'),
  commissionRatePct: Type.Integer(),
  proceedsMilli: Milliunits("the developer's share (negative for a refund)"),
  period: Type.String({ description: 'month the line was recorded in; earlier than the payout period when carried over' }),
  date: Timestamp,
});

export const Statement = Type.Object({
  payout: Payout,
  carriedOver: Type.Object(
    { lineCount: Type.Integer(), amountMilli: Milliunits('their net proceeds') },
    {
      description:
        'lines recorded before this period: a zero or negative balance is not paid and rolls into the next period, as do lines recorded after their month was closed',
    },
  ),
  items: Type.Array(StatementLine),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

export const Balance = Type.Object({
  currentPeriod: Type.String(),
  items: Type.Array(
    Type.Object({
      currency: Currency,
      closedPeriodsMilli: Milliunits('unpaid proceeds of months that are over: paid at the next close when positive'),
      currentPeriodMilli: Milliunits('proceeds of this month so far'),
    }),
  ),
});
