// Refunds (admin): the money goes back through the provider first (idempotent per transaction), then one
// DB transaction revokes the transaction, reverses its ledger lines at the rate they were charged, frees
// the order (a non-consumable may be bought again), stops a subscription whose latest period it was, and
// records transaction.revoked. The event has its own id: a consumer that has seen the purchase event of
// this transaction id must still apply the revocation (it deduplicates by event id, never by transaction id).
import type { Db } from '../../platform/db/index.ts';
import { purchasesEvents } from './events.ts';
import { conflict, notFound } from '../../platform/errors.ts';
import type { StoredResponse } from '../../platform/http/idempotency.ts';
import { RefundRejectedError, type PaymentProvider } from './payments/index.ts';
import { toDecodedPayload } from './receipts/index.ts';
import { loadTransaction, writeLedger, type ReceiptSigner } from './service.ts';

export type RevocationReason = 0 | 1;

export function createRefunds(deps: { db: Db; payments: PaymentProvider; signer: () => Promise<ReceiptSigner>; nudge(): void }) {
  const { db, payments } = deps;

  async function refund(transactionId: string, reason: RevocationReason): Promise<StoredResponse> {
    const { rows } = await db.query<{
      price_milli: string;
      provider_charge_id: string | null;
      revocation_date: Date | null;
      developer_id: string;
      environment: 'Sandbox' | 'Production';
      currency: string;
      commission_rate_pct: number | null;
      storefront: string;
    }>(
      `SELECT t.price_milli, t.provider_charge_id, t.revocation_date, t.developer_id, t.environment, t.currency, t.storefront,
              (SELECT l.commission_rate_pct FROM ledger_lines l WHERE l.transaction_id = t.id AND l.entry = 'charge' LIMIT 1) AS commission_rate_pct
         FROM transactions t WHERE t.id = $1`,
      [transactionId],
    );
    const t = rows[0];
    if (!t) throw notFound('Transaction');
    if (t.revocation_date) throw conflict('ALREADY_REFUNDED', 'This transaction was already refunded.');
    const price = Number(t.price_milli);
    if (price > 0 && t.provider_charge_id) {
      try {
        await payments.refund({ chargeId: t.provider_charge_id, amountMilli: price, idempotencyKey: `refund:${transactionId}` });
      } catch (err) {
        if (err instanceof RefundRejectedError)
          throw conflict('REFUND_REJECTED', `The payment provider refused the refund: ${err.message}`, { code: err.code });
        throw err;
      }
    }
    const signer = await deps.signer();
    const body = await db.tx(async (q) => {
      const revoked = await q.query<{
        original_transaction_id: string;
        period_index: number | null;
        kind: string;
        user_id: string;
        app_id: string;
        product_id: string;
      }>(
        `UPDATE transactions SET revocation_date = now(), revocation_reason = $2
          WHERE id = $1 AND revocation_date IS NULL
          RETURNING original_transaction_id, period_index, kind, user_id, app_id, product_id`,
        [transactionId, reason],
      );
      const r = revoked.rows[0];
      if (!r) throw conflict('ALREADY_REFUNDED', 'This transaction was already refunded.');
      await q.query(`UPDATE purchases SET status = 'refunded' WHERE transaction_id = $1 AND status = 'completed'`, [transactionId]);
      if (price > 0) {
        await writeLedger(q, transactionId, 'refund', t.developer_id, t.environment, t.currency, price, t.commission_rate_pct ?? 30);
      }
      if (r.kind === 'auto_renewable') {
        await q.query(
          `UPDATE subscriptions SET status = 'revoked', auto_renew = false, next_attempt_at = NULL, updated_at = now()
            WHERE original_transaction_id = $1 AND period_index = $2`,
          [r.original_transaction_id, r.period_index],
        );
      }
      const record = (await loadTransaction(q, transactionId))!;
      await purchasesEvents.record(
        q,
        'transaction.revoked',
        {
          transactionId,
          originalTransactionId: String(r.original_transaction_id),
          userId: r.user_id,
          appId: r.app_id,
          productId: r.product_id,
          revocationReason: reason,
          revocationDate: record.revocationDate!.toISOString(),
          environment: t.environment,
          priceMilli: price,
          currency: t.currency,
          storefront: t.storefront,
        },
        transactionId,
      );
      return {
        transaction: { id: transactionId, revocationDate: record.revocationDate!.toISOString(), revocationReason: reason },
        signedTransaction: signer.sign(toDecodedPayload(record, new Date())),
      };
    });
    deps.nudge();
    return { status: 200, body };
  }

  return { refund };
}
