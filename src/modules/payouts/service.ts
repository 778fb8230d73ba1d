// Payouts: closing a month pays each developer, per currency, the unpaid Production proceeds recorded
// up to that month's end. No HTTP here.
import { v7 as uuidv7, validate as isUuid } from 'uuid';
import type { Db, Queryable } from '../../platform/db/index.ts';
import { payoutsEvents } from './events.ts';
import { invalid, notFound, rejected } from '../../platform/errors.ts';
import { decodeCursor, encodeCursor, takePage } from '../../platform/http/pagination.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import { claimPayableLines } from '../purchases/index.ts';
import { isPeriod, periodEnd, periodOf, periodStart } from './periods.ts';

export interface PayoutsDeps {
  db: Db;
  logger: Logger;
}

export interface Payout {
  id: string;
  developerId: string;
  period: string;
  currency: string;
  amountMilli: number;
  lineCount: number;
  createdAt: string;
}

export interface CloseSummary {
  period: string;
  /** Payouts created by this run (0 when the period was already closed). */
  payouts: number;
  totals: { currency: string; payouts: number; amountMilli: number }[];
  /** Developer balances (one per currency) that were zero or negative: left unpaid, they roll into the next period. */
  carriedForward: number;
}

export interface StatementLine {
  transactionId: string;
  entry: 'charge' | 'refund';
  productId: string;
  appId: string;
  /** What the customer paid (negative: what a refund gave back). */
  grossMilli: number;
  commissionRatePct: number;
  proceedsMilli: number;
  /** The month the line was recorded in: earlier than the payout's period when it was carried over. */
  period: string;
  date: string;
}

export interface Statement {
  payout: Payout;
  /** Lines from earlier months whose balance was not payable then, or that were recorded after their month was closed. */
  carriedOver: { lineCount: number; amountMilli: number };
  items: StatementLine[];
  nextCursor: string | null;
}

export interface Balance {
  currentPeriod: string;
  items: { currency: string; closedPeriodsMilli: number; currentPeriodMilli: number }[];
}

/** Lines that are money owed to a developer and not paid yet. Sandbox money is never real. */
const UNPAID_PROCEEDS = `l.account = 'developer_proceeds' AND l.environment = 'Production' AND l.payout_id IS NULL`;

type PayOutcome = { kind: 'paid'; payout: Payout } | { kind: 'already_paid' } | { kind: 'not_payable' };

/** Thrown inside a payout transaction to roll it back when the balance is zero or negative. */
class NotPayable extends Error {}

interface PayoutRow {
  id: string;
  developer_id: string;
  period: string;
  currency: string;
  amount_milli: number;
  line_count: number;
  created_at: Date;
}

const toPayout = (r: PayoutRow): Payout => ({
  id: r.id,
  developerId: r.developer_id,
  period: r.period,
  currency: r.currency,
  amountMilli: Number(r.amount_milli),
  lineCount: r.line_count,
  createdAt: new Date(r.created_at).toISOString(),
});

const isPayoutCursor = (v: unknown): v is [string, string] =>
  Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && isPeriod(v[0]) && typeof v[1] === 'string' && isUuid(v[1]);
const isLineCursor = (v: unknown): v is [number] => Array.isArray(v) && v.length === 1 && Number.isSafeInteger(v[0]) && v[0] > 0;

export class PayoutsService {
  constructor(private readonly deps: PayoutsDeps) {}

  /**
   * Pays every developer, per currency, the unpaid Production proceeds recorded before the period's end:
   * that month's lines and any carried over from earlier ones. Safe to run again or from several processes
   * at once: a (developer, period, currency) is paid at most once, and a line belongs to at most one payout.
   */
  async closePeriod(period: string, now = new Date()): Promise<CloseSummary> {
    if (!isPeriod(period)) throw invalid('BAD_PERIOD', `period must be a month written YYYY-MM (e.g. 2025-04), got "${period}".`);
    const currentPeriod = periodOf(now);
    if (period >= currentPeriod) {
      throw rejected('PERIOD_OPEN', `${period} is not over yet: only months before ${currentPeriod} (UTC) can be closed.`, { period, currentPeriod });
    }
    const end = periodEnd(period).toISOString();
    const { rows: balances } = await this.deps.db.query<{ developer_id: string; currency: string }>(
      `SELECT DISTINCT l.developer_id, l.currency FROM purchases_ledger_lines l
        WHERE ${UNPAID_PROCEEDS} AND l.created_at < $1
          AND NOT EXISTS (SELECT 1 FROM payouts p WHERE p.developer_id = l.developer_id AND p.period = $2 AND p.currency = l.currency)
        ORDER BY l.developer_id, l.currency`,
      [end, period],
    );

    const totals = new Map<string, { currency: string; payouts: number; amountMilli: number }>();
    let payouts = 0;
    let carriedForward = 0;
    for (const { developer_id, currency } of balances) {
      const outcome = await this.payOne(developer_id, currency, period, end);
      if (outcome.kind === 'not_payable') carriedForward++;
      if (outcome.kind !== 'paid') continue;
      payouts++;
      const total = totals.get(currency) ?? { currency, payouts: 0, amountMilli: 0 };
      total.payouts++;
      total.amountMilli += outcome.payout.amountMilli;
      totals.set(currency, total);
    }
    const summary = { period, payouts, totals: [...totals.values()].sort((a, b) => a.currency.localeCompare(b.currency)), carriedForward };
    this.deps.logger.info(summary, 'payout period closed');
    return summary;
  }

  /** One transaction: claim the (developer, period, currency) payout, take its lines, record the event. */
  private async payOne(developerId: string, currency: string, period: string, end: string): Promise<PayOutcome> {
    try {
      return await this.deps.db.tx(async (q) => {
        const id = uuidv7();
        // A concurrent run claiming the same key waits here for ours to commit or roll back.
        const claimed = await q.query(
          `INSERT INTO payouts (id, developer_id, period, currency, amount_milli, line_count) VALUES ($1, $2, $3, $4, 0, 0)
           ON CONFLICT (developer_id, period, currency) DO NOTHING RETURNING id`,
          [id, developerId, period, currency],
        );
        if (!claimed.rowCount) return { kind: 'already_paid' } as const;
        const taken = await claimPayableLines(q, { payoutId: id, developerId, currency, before: end });
        if (taken.amountMilli <= 0) throw new NotPayable();
        const { rows } = await q.query<PayoutRow>('UPDATE payouts SET amount_milli = $2, line_count = $3 WHERE id = $1 RETURNING *', [
          id,
          taken.amountMilli,
          taken.lineCount,
        ]);
        const payout = toPayout(rows[0]);
        await payoutsEvents.record(q, 'payout.created', { payoutId: id, developerId, period, currency, amountMilli: payout.amountMilli }, id);
        return { kind: 'paid', payout } as const;
      });
    } catch (err) {
      if (err instanceof NotPayable) return { kind: 'not_payable' };
      throw err;
    }
  }

  /** The developer's payouts, newest period first. */
  async listPayouts(developerId: string | null, limit = 20, cursor?: string): Promise<{ items: Payout[]; nextCursor: string | null }> {
    const after = decodeCursor(cursor, isPayoutCursor);
    if (!developerId) return { items: [], nextCursor: null };
    const params: unknown[] = [developerId, limit + 1];
    const keyset = after ? `AND (period, id) < ($${params.push(after[0])}, $${params.push(after[1])}::uuid)` : '';
    const { rows } = await this.deps.db.query<PayoutRow>(
      `SELECT * FROM payouts WHERE developer_id = $1 ${keyset} ORDER BY period DESC, id DESC LIMIT $2`,
      params,
    );
    const { page, more, last } = takePage(rows, limit);
    return { items: page.map(toPayout), nextCursor: more ? encodeCursor([last.period, last.id]) : null };
  }

  /** One of the developer's payouts with the ledger lines it paid, in recording order. */
  async statement(developerId: string | null, payoutId: string, limit = 100, cursor?: string): Promise<Statement> {
    const after = decodeCursor(cursor, isLineCursor);
    const { rows } = await this.deps.db.query<PayoutRow>('SELECT * FROM payouts WHERE id = $1 AND developer_id = $2', [payoutId, developerId]);
    if (!rows.length) throw notFound('Payout');
    const payout = toPayout(rows[0]);

    const { rows: carried } = await this.deps.db.query<{ line_count: number; amount_milli: number }>(
      `SELECT count(*)::int AS line_count, coalesce(sum(amount_milli), 0)::bigint AS amount_milli
         FROM purchases_ledger_lines WHERE payout_id = $1 AND created_at < $2`,
      [payoutId, periodStart(payout.period).toISOString()],
    );
    const { rows: lines } = await this.deps.db.query<{
      id: number;
      transaction_id: string;
      entry: 'charge' | 'refund';
      product_id: string;
      app_id: string;
      gross_milli: number;
      commission_rate_pct: number;
      amount_milli: number;
      created_at: Date;
    }>(
      // gross: the customer_payment line of the same event, negated (it is the money in, written negative)
      `SELECT l.id, l.transaction_id::text AS transaction_id, l.entry, t.product_id, t.app_id,
              coalesce(-c.amount_milli, CASE l.entry WHEN 'refund' THEN -t.price_milli ELSE t.price_milli END) AS gross_milli,
              l.commission_rate_pct, l.amount_milli, l.created_at
         FROM purchases_ledger_lines l
         JOIN purchases_transactions t ON t.id = l.transaction_id
         LEFT JOIN purchases_ledger_lines c ON c.transaction_id = l.transaction_id AND c.entry = l.entry AND c.account = 'customer_payment'
        WHERE l.payout_id = $1 AND l.id > $2
        ORDER BY l.id LIMIT $3`,
      [payoutId, after?.[0] ?? 0, limit + 1],
    );
    const { page, more, last } = takePage(lines, limit);
    return {
      payout,
      carriedOver: { lineCount: carried[0].line_count, amountMilli: Number(carried[0].amount_milli) },
      items: page.map((r) => {
        const date = new Date(r.created_at);
        return {
          transactionId: r.transaction_id,
          entry: r.entry,
          productId: r.product_id,
          appId: r.app_id,
          grossMilli: Number(r.gross_milli),
          commissionRatePct: r.commission_rate_pct,
          proceedsMilli: Number(r.amount_milli),
          period: periodOf(date),
          date: date.toISOString(),
        };
      }),
      nextCursor: more ? encodeCursor([Number(last.id)]) : null,
    };
  }

  /** Unpaid Production proceeds per currency: what closed months still owe (paid at the next close if positive) and this month so far. */
  async balance(developerId: string | null, now = new Date()): Promise<Balance> {
    const currentPeriod = periodOf(now);
    if (!developerId) return { currentPeriod, items: [] };
    const { rows } = await this.deps.db.query<{ currency: string; closed: number; current: number }>(
      `SELECT l.currency,
              coalesce(sum(l.amount_milli) FILTER (WHERE l.created_at < $2), 0)::bigint AS closed,
              coalesce(sum(l.amount_milli) FILTER (WHERE l.created_at >= $2), 0)::bigint AS current
         FROM purchases_ledger_lines l
        WHERE l.developer_id = $1 AND ${UNPAID_PROCEEDS}
        GROUP BY l.currency ORDER BY l.currency`,
      [developerId, periodStart(currentPeriod).toISOString()],
    );
    return {
      currentPeriod,
      items: rows.map((r) => ({ currency: r.currency, closedPeriodsMilli: Number(r.closed), currentPeriodMilli: Number(r.current) })),
    };
  }
}
