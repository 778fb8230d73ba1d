// Writing transactions: each row, its ledger lines, its outbox event and (for a purchase) the completed
// order with the response its Idempotency-Key replays — for one or many transactions at once, in ONE
// statement of data-modifying CTEs. One statement is one transaction (all or nothing) and one commit:
// concurrent purchases are written together (see createBatcher), which is what lets a disk that syncs
// a few hundred times a second record thousands of purchases a second.
//
// Every part hangs off the transaction insert, so a row the guard stops (its order was completed by a
// concurrent retry, or its subscription period is already recorded) writes nothing at all.
import { v7 as uuidv7 } from 'uuid';
import type { Queryable } from '../../platform/db/index.ts';
import type { PurchasesEvents } from './events.ts';
import { chargeLines } from './money.ts';
import type { StoredTransaction } from './service.ts';

export interface TransactionWrite {
  record: StoredTransaction;
  purchaseId: string | null;
  developerId: string;
  productUuid: string | null;
  periodIndex: number | null;
  chargeId: string | null;
  /** Ledger lines of the charge at this commission rate; none when the price is 0. */
  commissionPct: number;
  event: { [K in 'purchase.completed' | 'subscription.renewed']: { type: K; payload: PurchasesEvents[K]; aggregateId: string } }[
    | 'purchase.completed'
    | 'subscription.renewed'];
  /** A purchase: complete this pending order (the guard) and keep the response its Idempotency-Key replays. */
  order?: { id: string; response: { status: number; body: unknown } };
}

// The input relation: one array per column, zipped by unnest. The statement's text is the same whatever
// the batch size, so each connection prepares and plans it once.
const COLUMNS: [name: string, type: string, value: (w: TransactionWrite) => unknown][] = [
  ['id', 'bigint', (w) => w.record.id],
  ['original_id', 'bigint', (w) => w.record.originalTransactionId],
  ['purchase_id', 'uuid', (w) => w.purchaseId],
  ['user_id', 'uuid', (w) => w.record.userId],
  ['app_id', 'uuid', (w) => w.record.appId],
  ['developer_id', 'uuid', (w) => w.developerId],
  ['product_uuid', 'uuid', (w) => w.productUuid],
  ['product_id', 'text', (w) => w.record.productId],
  ['bundle_id', 'text', (w) => w.record.bundleId],
  ['kind', 'text', (w) => w.record.kind],
  ['subscription_group', 'text', (w) => w.record.subscriptionGroup],
  ['environment', 'text', (w) => w.record.environment],
  ['storefront', 'text', (w) => w.record.storefront],
  ['currency', 'text', (w) => w.record.currency],
  ['price', 'bigint', (w) => Number(w.record.priceMilli)],
  ['quantity', 'int', (w) => w.record.quantity],
  ['purchase_date', 'timestamptz', (w) => w.record.purchaseDate],
  ['original_purchase_date', 'timestamptz', (w) => w.record.originalPurchaseDate],
  ['expires_date', 'timestamptz', (w) => w.record.expiresDate],
  ['reason', 'text', (w) => w.record.transactionReason],
  ['app_account_token', 'uuid', (w) => w.record.appAccountToken],
  ['period_index', 'int', (w) => w.periodIndex],
  ['charge_id', 'text', (w) => w.chargeId],
  ['event_id', 'uuid', () => uuidv7()],
  ['event_type', 'text', (w) => w.event.type],
  ['aggregate_id', 'text', (w) => w.event.aggregateId],
  ['payload', 'text', (w) => JSON.stringify(w.event.payload)],
  ['order_id', 'uuid', (w) => w.order?.id ?? null],
  ['response_status', 'int', (w) => w.order?.response.status ?? null],
  ['response', 'text', (w) => (w.order ? JSON.stringify(w.order.response.body) : null)],
];
const INPUT = `unnest(${COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')}) AS input (${COLUMNS.map(([name]) => name).join(', ')})`;
const LINES = `unnest($${COLUMNS.length + 1}::bigint[], $${COLUMNS.length + 2}::text[], $${COLUMNS.length + 3}::bigint[], $${COLUMNS.length + 4}::int[])
                 AS l (transaction_id, account, amount, commission)`;

const statement = (orders: boolean) => `
  WITH input AS (SELECT * FROM ${INPUT}),
  ${
    orders
      ? `done AS (UPDATE purchases p SET status = 'completed', provider_charge_id = i.charge_id, completed_at = now(),
                       response_status = i.response_status, response = i.response::jsonb
                  FROM input i WHERE p.id = i.order_id AND p.status = 'pending' RETURNING p.id),
       ready AS (SELECT i.* FROM input i JOIN done ON done.id = i.order_id),`
      : `ready AS (SELECT * FROM input),`
  }
  txn AS (
    INSERT INTO transactions (id, original_transaction_id, purchase_id, user_id, app_id, developer_id, product_uuid, product_id, bundle_id,
                              kind, subscription_group, environment, storefront, currency, price_milli, quantity, purchase_date,
                              original_purchase_date, expires_date, transaction_reason, app_account_token, period_index, provider_charge_id)
    SELECT id, original_id, purchase_id, user_id, app_id, developer_id, product_uuid, product_id, bundle_id, kind, subscription_group,
           environment, storefront, currency, price, quantity, purchase_date, original_purchase_date, expires_date, reason,
           app_account_token, period_index, charge_id
      FROM ready
    ON CONFLICT (original_transaction_id, period_index) WHERE period_index IS NOT NULL DO NOTHING
    RETURNING id),
  kept AS (SELECT r.* FROM ready r JOIN txn ON txn.id = r.id),
  ledger AS (
    INSERT INTO ledger_lines (transaction_id, entry, account, developer_id, environment, currency, amount_milli, commission_rate_pct)
    SELECT k.id, 'charge', l.account, k.developer_id, k.environment, k.currency, l.amount, l.commission
      FROM ${LINES} JOIN kept k ON k.id = l.transaction_id),
  event AS (
    INSERT INTO outbox (id, type, aggregate_id, payload, occurred_at)
    SELECT event_id, event_type, aggregate_id, payload::jsonb, now() FROM kept)
  SELECT id FROM txn`;
const STATEMENTS = { orders: statement(true), others: statement(false) };

/**
 * Writes the transactions (all purchases completing an order, or none); returns, per write, whether it
 * was written (false: its guard stopped it and nothing of it was written).
 */
export async function recordTransactions(q: Queryable, writes: TransactionWrite[]): Promise<boolean[]> {
  if (!writes.length) return [];
  const orders = writes[0].order !== undefined;
  if (writes.some((w) => (w.order !== undefined) !== orders)) throw new Error('a batch is all purchases or none');
  const params: unknown[] = COLUMNS.map(([, , value]) => writes.map(value));
  const lines = writes.flatMap((w) => {
    const price = Number(w.record.priceMilli);
    return price > 0 ? chargeLines(price, w.commissionPct).map((l) => [w.record.id, l.account, l.amountMilli, w.commissionPct] as const) : [];
  });
  for (let i = 0; i < 4; i++) params.push(lines.map((l) => l[i]));
  const { rows } = await q.query<{ id: string }>(orders ? STATEMENTS.orders : STATEMENTS.others, params);
  const written = new Set(rows.map((r) => String(r.id)));
  return writes.map((w) => written.has(String(w.record.id)));
}

/** One write (see recordTransactions). */
export async function recordTransaction(q: Queryable, w: TransactionWrite): Promise<boolean> {
  return (await recordTransactions(q, [w]))[0];
}
