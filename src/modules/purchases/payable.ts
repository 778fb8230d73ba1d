// The ledger's one write from outside purchases: payouts claiming the lines a payout pays. ledger_lines is
// purchases' table (every charge and refund writes its lines here); payouts reads it through the
// purchases_ledger_lines view and marks lines paid only through this function, in its own transaction.
import type { Queryable } from '../../platform/db/index.ts';

/**
 * Assigns the payout to the developer's unpaid Production proceeds of this currency recorded before `before`,
 * and returns how many lines it took and their sum. The lines are locked in id order, so runs that overlap
 * (two periods closed at once) wait for each other instead of deadlocking; a line another run has just paid no
 * longer matches once its lock is released.
 */
export async function claimPayableLines(
  q: Queryable,
  claim: { payoutId: string; developerId: string; currency: string; before: string },
): Promise<{ lineCount: number; amountMilli: number }> {
  const { rows } = await q.query<{ line_count: number; amount_milli: number }>(
    `WITH payable AS (
       SELECT l.id FROM ledger_lines l
        WHERE l.account = 'developer_proceeds' AND l.environment = 'Production' AND l.payout_id IS NULL
          AND l.developer_id = $2 AND l.currency = $3 AND l.created_at < $4
        ORDER BY l.id FOR UPDATE
     ), taken AS (
       UPDATE ledger_lines SET payout_id = $1 FROM payable WHERE ledger_lines.id = payable.id RETURNING ledger_lines.amount_milli
     )
     SELECT count(*)::int AS line_count, coalesce(sum(amount_milli), 0)::bigint AS amount_milli FROM taken`,
    [claim.payoutId, claim.developerId, claim.currency, claim.before],
  );
  return { lineCount: rows[0].line_count, amountMilli: Number(rows[0].amount_milli) };
}
