// Fixtures of the payout suites: developers with an app, and sales and refunds written straight into
// `transactions` + `ledger_lines` the way the purchase flow books them (double entry, lines sum to zero).
import type { Queryable } from '../../src/platform/db/index.ts';
import { makeDeveloper, registerUser, type TestApp, type TestUser } from './app.ts';
import { createDraft, sender } from './catalog.ts';

export type Environment = 'Sandbox' | 'Production';

export interface Seller {
  dev: TestUser;
  developerId: string;
  appId: string;
  bundleId: string;
  /** The customer of every sale. */
  buyerId: string;
}

export interface Sale {
  transactionId: string;
  seller: Seller;
  productId: string;
  currency: string;
  environment: Environment;
  priceMilli: number;
  commissionPct: 15 | 30;
  proceedsMilli: number;
  at: Date;
}

export interface SaleInput {
  priceMilli: number;
  at: Date | string;
  currency?: string;
  environment?: Environment;
  commissionPct?: 15 | 30;
  /** An in-app product id; the app itself (its bundle id) when absent. */
  productId?: string;
}

/** A developer (through the HTTP API) with a draft app, and a customer. */
export async function makeSeller(t: TestApp, companyName = 'Payout Studio'): Promise<Seller> {
  const dev = await makeDeveloper(t.app, companyName);
  const app = await createDraft(sender(t.app), dev.token);
  const buyer = await registerUser(t.app);
  return { dev, developerId: dev.user.developer!.id, appId: app.id, bundleId: app.bundleId, buyerId: buyer.user.id };
}

/** The purchase flow's split: commission rounded half up to the milliunit, the developer gets the rest. */
export function proceedsOf(priceMilli: number, commissionPct: number): number {
  return priceMilli - Math.floor((priceMilli * commissionPct + 50) / 100);
}

/** A completed charge: its transaction and its three ledger lines, all dated `at`. */
export async function recordSale(q: Queryable, seller: Seller, input: SaleInput): Promise<Sale> {
  const at = new Date(input.at);
  const sale = {
    seller,
    productId: input.productId ?? seller.bundleId,
    currency: input.currency ?? 'USD',
    environment: input.environment ?? 'Production',
    priceMilli: input.priceMilli,
    commissionPct: input.commissionPct ?? 30,
    at,
  };
  const proceedsMilli = proceedsOf(sale.priceMilli, sale.commissionPct);
  const { rows } = await q.query<{ id: string }>(
    `WITH n AS (SELECT nextval('transaction_ids') AS id),
          t AS (
            INSERT INTO transactions (id, original_transaction_id, user_id, app_id, developer_id, product_id, bundle_id, kind, environment,
                                      storefront, currency, price_milli, purchase_date, original_purchase_date, transaction_reason, created_at)
            SELECT n.id, n.id, $1, $2, $3, $4, $5, $6, $7, 'US', $8, $9, $10, $10, 'PURCHASE', $10 FROM n
            RETURNING id)
     INSERT INTO ledger_lines (transaction_id, entry, account, developer_id, environment, currency, amount_milli, commission_rate_pct, created_at)
     SELECT t.id, 'charge', a.account, $3, $7, $8, a.amount, $11, $10
       FROM t, (VALUES ('customer_payment', $12::bigint), ('developer_proceeds', $13::bigint), ('store_commission', $14::bigint)) AS a (account, amount)
     RETURNING transaction_id::text AS id`,
    [
      seller.buyerId,
      seller.appId,
      seller.developerId,
      sale.productId,
      seller.bundleId,
      input.productId ? 'consumable' : 'app',
      sale.environment,
      sale.currency,
      sale.priceMilli,
      at.toISOString(),
      sale.commissionPct,
      -sale.priceMilli,
      proceedsMilli,
      sale.priceMilli - proceedsMilli,
    ],
  );
  return { ...sale, transactionId: rows[0].id, proceedsMilli };
}

/** Many sales of one seller. */
export async function recordSales(q: Queryable, seller: Seller, inputs: SaleInput[]): Promise<Sale[]> {
  const sales: Sale[] = [];
  for (const input of inputs) sales.push(await recordSale(q, seller, input));
  return sales;
}

/** The refund of a sale: the reversal of its three lines, dated `at`. Returns the (negative) proceeds. */
export async function recordRefund(q: Queryable, sale: Sale, at: Date | string): Promise<number> {
  const when = new Date(at).toISOString();
  await q.query('UPDATE transactions SET revocation_date = $2, revocation_reason = 0 WHERE id = $1', [sale.transactionId, when]);
  await q.query(
    `INSERT INTO ledger_lines (transaction_id, entry, account, developer_id, environment, currency, amount_milli, commission_rate_pct, created_at)
     SELECT transaction_id, 'refund', account, developer_id, environment, currency, -amount_milli, commission_rate_pct, $2
       FROM ledger_lines WHERE transaction_id = $1 AND entry = 'charge'`,
    [sale.transactionId, when],
  );
  return -sale.proceedsMilli;
}

/** A developer's payouts of a period, one per currency, from the database. */
export async function payoutsOf(q: Queryable, developerId: string, period: string) {
  const { rows } = await q.query<{ id: string; currency: string; amount_milli: number; line_count: number }>(
    'SELECT id, currency, amount_milli, line_count FROM payouts WHERE developer_id = $1 AND period = $2 ORDER BY currency',
    [developerId, period],
  );
  return rows.map((r) => ({ id: r.id, currency: r.currency, amountMilli: Number(r.amount_milli), lineCount: r.line_count }));
}

/** How many of a developer's proceeds lines are still unpaid. */
export async function unpaidProceedsLines(q: Queryable, developerId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ledger_lines WHERE developer_id = $1 AND account = 'developer_proceeds' AND payout_id IS NULL`,
    [developerId],
  );
  return rows[0].n;
}

/** Timestamps spread over a UTC month, first and last millisecond included. */
export function datesIn(period: string, count: number): Date[] {
  const start = Date.parse(`${period}-01T00:00:00.000Z`);
  const [y, m] = period.split('-').map(Number);
  const end = Date.UTC(y, m, 1) - 1;
  return Array.from({ length: count }, (_, i) => new Date(count === 1 ? start : start + Math.floor(((end - start) * i) / (count - 1))));
}
