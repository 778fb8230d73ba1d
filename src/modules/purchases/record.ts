// Writing a transaction: the row, its ledger lines, its outbox event and (for a purchase) the completed
// order with the response its Idempotency-Key replays — all in ONE statement of data-modifying CTEs. One
// statement is one transaction (all or nothing), and it costs one round trip instead of seven: on the
// purchase path that is the difference between a few hundred and a few thousand purchases/s.
//
// Every part hangs off the transaction insert, so when the guard stops it (the order was completed by
// a concurrent retry, or this subscription period is already recorded) nothing at all is written.
import { v7 as uuidv7 } from 'uuid';
import type { Queryable } from '../../platform/db/index.ts';
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
  event: { type: string; payload: Record<string, unknown>; aggregateId: string };
  /** A purchase: complete this pending order (the guard) and keep the response its Idempotency-Key replays. */
  order?: { id: string; response: { status: number; body: unknown } };
}

/** Returns false when the guard stopped the write (nothing was written). */
export async function recordTransaction(q: Queryable, w: TransactionWrite): Promise<boolean> {
  const t = w.record;
  const price = Number(t.priceMilli);
  const lines = price > 0 ? chargeLines(price, w.commissionPct) : [];
  const params: unknown[] = [
    t.id, t.originalTransactionId, w.purchaseId, t.userId, t.appId, w.developerId, w.productUuid, t.productId, t.bundleId, t.kind,
    t.subscriptionGroup, t.environment, t.storefront, t.currency, price, t.quantity, t.purchaseDate, t.originalPurchaseDate, t.expiresDate,
    t.transactionReason, t.appAccountToken, w.periodIndex, w.chargeId,
    // $24..$26: ledger
    lines.map((l) => l.account), lines.map((l) => l.amountMilli), w.commissionPct,
    // $27..$30: outbox
    uuidv7(), w.event.type, w.event.aggregateId, JSON.stringify(w.event.payload),
  ];
  const guard = w.order
    ? `done AS (UPDATE purchases SET status = 'completed', provider_charge_id = $23, completed_at = now(),
                       response_status = $${params.push(w.order.response.status)}, response = $${params.push(JSON.stringify(w.order.response.body))}
                  WHERE id = $${params.push(w.order.id)} AND status = 'pending' RETURNING id),`
    : '';
  const { rows } = await q.query<{ written: number }>(
    `WITH ${guard}
     txn AS (
       INSERT INTO transactions (id, original_transaction_id, purchase_id, user_id, app_id, developer_id, product_uuid, product_id, bundle_id,
                                 kind, subscription_group, environment, storefront, currency, price_milli, quantity, purchase_date,
                                 original_purchase_date, expires_date, transaction_reason, app_account_token, period_index, provider_charge_id)
       SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23
        ${w.order ? 'FROM done' : ''}
       ON CONFLICT (original_transaction_id, period_index) WHERE period_index IS NOT NULL DO NOTHING
       RETURNING id),
     ledger AS (
       INSERT INTO ledger_lines (transaction_id, entry, account, developer_id, environment, currency, amount_milli, commission_rate_pct)
       SELECT txn.id, 'charge', l.account, $6, $12, $14, l.amount, $26
         FROM txn, unnest($24::text[], $25::bigint[]) AS l(account, amount)),
     event AS (
       INSERT INTO outbox (id, type, aggregate_id, payload, occurred_at)
       SELECT $27, $28, $29, $30::jsonb, now() FROM txn)
     SELECT count(*)::int AS written FROM txn`,
    params,
  );
  return rows[0].written === 1;
}
