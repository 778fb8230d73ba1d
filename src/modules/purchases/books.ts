// Our books against the payment provider's (issue 17), once a day and on demand, over a time range:
//   - every succeeded charge at the provider is recorded by a transaction (a completed order, or a renewal)
//     with that charge id, for the same amount and currency;
//   - every paid transaction's charge exists at the provider, succeeded.
// Each mismatch is stored (payment_mismatches: once per kind and subject, however many runs see it), logged, counted
// in the orchard_payment_mismatches gauge and listed for admins. The scheduled run compares what was settled since
// the previous one; orders still inside their lock, grace and a reconciler pass are left for the next run.
import { Gauge } from 'prom-client';
import { v7 as uuidv7 } from 'uuid';
import { withLock, type Cache } from '../../platform/cache/index.ts';
import type { Db, Queryable } from '../../platform/db/index.ts';
import { decodeCursor, encodeCursor, takePage } from '../../platform/http/pagination.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import type { Metrics } from '../../platform/observability/metrics.ts';
import type { PaymentProvider } from './payments/index.ts';
import { registerBreakerGauge } from './payments/resilient.ts';
import { purchaseChargeKey } from './service.ts';
import { renewalChargeKey } from './subscriptions.ts';

export const MISMATCH_KINDS = ['charge_without_order', 'amount_mismatch', 'charge_missing'] as const;
export type MismatchKind = (typeof MISMATCH_KINDS)[number];

interface Money {
  amountMilli: number;
  currency: string;
}

export interface Mismatch {
  kind: MismatchKind;
  /** What it is about: the charge id, or the transaction id when the charge is missing. */
  subject: string;
  chargeId: string | null;
  transactionId: string | null;
  purchaseId: string | null;
  provider: Money | null;
  order: Money | null;
  detail: string;
}

export interface BookCheck {
  id: string;
  from: Date;
  to: Date;
  chargesChecked: number;
  transactionsChecked: number;
  mismatches: Mismatch[];
}

const PAGE = 500;
const DAY_MS = 86_400_000;
const MAX_RANGE_MS = 7 * DAY_MS;

interface OurTransaction {
  id: string;
  cursor_at: string;
  provider_charge_id: string | null;
  price_milli: string;
  currency: string;
  purchase_id: string | null;
  user_id: string;
  period_index: number | null;
  idempotency_key: string | null;
  subscription_id: string | null;
}

const perRegistry = new WeakSet<Metrics>();

/** orchard_payment_mismatches{kind}: what the latest comparison found (every process reports it). */
function registerGauge(metrics: Metrics, db: Queryable) {
  if (perRegistry.has(metrics)) return;
  perRegistry.add(metrics);
  new Gauge({
    name: 'orchard_payment_mismatches',
    help: "Mismatches between the payment provider's charges and our transactions found by the latest comparison, by kind",
    labelNames: ['kind'],
    registers: [metrics.registry],
    async collect() {
      const result = await db
        .query<{ kind: MismatchKind; n: number }>(
          `SELECT kind, count(*)::int AS n FROM payment_mismatches
            WHERE last_check_id = (SELECT id FROM payment_book_checks ORDER BY ran_at DESC LIMIT 1) GROUP BY kind`,
        )
        .catch(() => null);
      if (!result) return;
      const rows = result.rows;
      for (const kind of MISMATCH_KINDS) this.set({ kind }, rows.find((r) => r.kind === kind)?.n ?? 0);
    },
  });
}

export function createBooks(deps: {
  db: Db;
  cache: Cache;
  payments: PaymentProvider;
  logger: Logger;
  metrics: Metrics;
  /** How long after its charge an order may still legitimately be settling (lock + grace + a reconciler pass). */
  settleMs: number;
}) {
  const { db, payments, logger } = deps;
  registerGauge(deps.metrics, db);
  registerBreakerGauge(deps.metrics, payments); // the one place that holds the provider and the metrics together

  /** Compares the books over [from, to) (default: the last day of settled orders), stores and reports the mismatches. */
  async function compareBooks(range?: { from: Date; to: Date }, scheduled = false): Promise<BookCheck> {
    const { from, to } = range ?? (await defaultRange(scheduled));
    const mismatches: Mismatch[] = [];

    // The provider's side: each succeeded charge has its transaction, for the same money.
    const succeeded = new Set<string>();
    let chargesChecked = 0;
    for (let after: string | undefined; ; ) {
      const page = await payments.listCharges({ from, to, startingAfter: after, limit: PAGE });
      const charges = page.charges.filter((c) => c.status === 'succeeded');
      const { rows } = await db.query<{ id: string; provider_charge_id: string; price_milli: string; currency: string; purchase_id: string | null }>(
        'SELECT id, provider_charge_id, price_milli, currency, purchase_id FROM transactions WHERE provider_charge_id = ANY($1::text[])',
        [charges.map((c) => c.id)],
      );
      const recorded = new Map(rows.map((r) => [r.provider_charge_id, r]));
      for (const c of charges) {
        chargesChecked++;
        succeeded.add(c.id);
        const t = recorded.get(c.id);
        const provider = { amountMilli: c.amountMilli, currency: c.currency };
        if (!t) {
          mismatches.push({
            kind: 'charge_without_order',
            subject: c.id,
            chargeId: c.id,
            transactionId: null,
            purchaseId: null,
            provider,
            order: null,
            detail: `Charge ${c.id} (key ${c.idempotencyKey}) of ${c.amountMilli} ${c.currency} succeeded, but no completed order or renewal records it.`,
          });
        } else if (Number(t.price_milli) !== c.amountMilli || t.currency !== c.currency) {
          mismatches.push(amountMismatch(c.id, t, provider));
        }
      }
      if (!page.hasMore || !page.charges.length) break;
      after = page.charges[page.charges.length - 1].id;
    }

    // Our side: each paid transaction's charge succeeded at the provider.
    let transactionsChecked = 0;
    for (let after: { at: string; id: string } | null = null; ; ) {
      const { rows }: { rows: OurTransaction[] } = await db.query<OurTransaction>(
        `SELECT t.id, t.created_at::text AS cursor_at, t.provider_charge_id, t.price_milli, t.currency, t.purchase_id, t.user_id, t.period_index,
                p.idempotency_key, s.id AS subscription_id
           FROM transactions t
           LEFT JOIN purchases p ON p.id = t.purchase_id
           LEFT JOIN subscriptions s ON t.purchase_id IS NULL AND s.original_transaction_id = t.original_transaction_id
          WHERE t.price_milli > 0 AND t.created_at >= $1 AND t.created_at < $2
            AND ($3::timestamptz IS NULL OR (t.created_at, t.id) > ($3::timestamptz, $4::bigint))
          ORDER BY t.created_at, t.id LIMIT $5`,
        [from, to, after?.at ?? null, after?.id ?? null, PAGE],
      );
      for (const t of rows) {
        transactionsChecked++;
        if (t.provider_charge_id && succeeded.has(t.provider_charge_id)) continue;
        const found = await chargeOutsideRange(t);
        if (found?.status === 'succeeded' && found.chargeId === t.provider_charge_id) {
          if (found.amountMilli !== Number(t.price_milli) || found.currency !== t.currency) mismatches.push(amountMismatch(found.chargeId, t, found));
          continue;
        }
        mismatches.push({
          kind: 'charge_missing',
          subject: String(t.id),
          chargeId: t.provider_charge_id,
          transactionId: String(t.id),
          purchaseId: t.purchase_id,
          provider: found?.status === 'succeeded' ? { amountMilli: found.amountMilli, currency: found.currency } : null,
          order: { amountMilli: Number(t.price_milli), currency: t.currency },
          detail: !t.provider_charge_id
            ? `Transaction ${t.id} of ${t.price_milli} ${t.currency} was paid for but records no charge.`
            : `Transaction ${t.id} of ${t.price_milli} ${t.currency} records charge ${t.provider_charge_id}, which the provider ${
                found?.status === 'succeeded'
                  ? `does not have (its charge for that key is ${found.chargeId})`
                  : found?.status === 'declined'
                    ? 'declined'
                    : 'does not have'
              }.`,
        });
      }
      if (rows.length < PAGE) break;
      const last: OurTransaction = rows[rows.length - 1];
      after = { at: last.cursor_at, id: last.id };
    }

    const check: BookCheck = { id: uuidv7(), from, to, chargesChecked, transactionsChecked, mismatches };
    await store(check, scheduled);
    for (const m of mismatches) logger.warn({ mismatch: m, checkId: check.id }, 'payment books mismatch');
    logger.info({ checkId: check.id, from, to, chargesChecked, transactionsChecked, mismatches: mismatches.length }, 'payment books compared');
    return check;
  }

  /** A charge made before the range (an order settled late, a renewal at the edge) is asked for by its key. */
  async function chargeOutsideRange(t: OurTransaction) {
    if (!t.provider_charge_id) return null;
    const key = t.idempotency_key
      ? purchaseChargeKey(t.user_id, t.idempotency_key)
      : t.subscription_id && t.period_index !== null
        ? renewalChargeKey(t.subscription_id, t.period_index)
        : null;
    return key ? payments.lookupCharge(key) : null;
  }

  /** The scheduled run goes on from where the previous one stopped; on demand, the last day. */
  async function defaultRange(scheduled: boolean) {
    const to = new Date(Date.now() - deps.settleMs);
    const { rows } = scheduled
      ? await db.query<{ range_to: Date }>('SELECT range_to FROM payment_book_checks WHERE scheduled ORDER BY ran_at DESC LIMIT 1')
      : { rows: [] };
    const previous = rows[0] ? new Date(rows[0].range_to).getTime() : 0;
    const from = previous > to.getTime() - MAX_RANGE_MS && previous < to.getTime() ? new Date(previous) : new Date(to.getTime() - DAY_MS);
    return { from, to };
  }

  async function store(check: BookCheck, scheduled: boolean) {
    const ms = check.mismatches;
    const column = <T>(f: (m: Mismatch) => T) => ms.map(f);
    await db.tx(async (q) => {
      await q.query(
        `INSERT INTO payment_book_checks (id, range_from, range_to, charges_checked, transactions_checked, mismatches, scheduled)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [check.id, check.from, check.to, check.chargesChecked, check.transactionsChecked, ms.length, scheduled],
      );
      if (!ms.length) return;
      await q.query(
        `INSERT INTO payment_mismatches (id, kind, subject, charge_id, transaction_id, purchase_id, provider_amount_milli, provider_currency,
                                         order_amount_milli, order_currency, detail, first_check_id, last_check_id)
         SELECT m.id, m.kind, m.subject, m.charge_id, m.transaction_id, m.purchase_id, m.provider_amount, m.provider_currency,
                m.order_amount, m.order_currency, m.detail, $11, $11
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::uuid[], $7::bigint[], $8::text[], $9::bigint[], $10::text[],
                       $12::text[])
                AS m (id, kind, subject, charge_id, transaction_id, purchase_id, provider_amount, provider_currency, order_amount, order_currency, detail)
         ON CONFLICT (kind, subject) DO UPDATE SET
           last_check_id = EXCLUDED.last_check_id, last_seen_at = now(), detail = EXCLUDED.detail,
           provider_amount_milli = EXCLUDED.provider_amount_milli, provider_currency = EXCLUDED.provider_currency,
           order_amount_milli = EXCLUDED.order_amount_milli, order_currency = EXCLUDED.order_currency`,
        [
          column(() => uuidv7()),
          column((m) => m.kind),
          column((m) => m.subject),
          column((m) => m.chargeId),
          column((m) => m.transactionId),
          column((m) => m.purchaseId),
          column((m) => m.provider?.amountMilli ?? null),
          column((m) => m.provider?.currency ?? null),
          column((m) => m.order?.amountMilli ?? null),
          column((m) => m.order?.currency ?? null),
          check.id,
          column((m) => m.detail),
        ],
      );
    });
  }

  /** The daily run: when no scheduled comparison ran in the last day, one process (a lock) runs it. */
  async function compareDaily(): Promise<BookCheck | null> {
    const due = async () => !(await db.query(`SELECT 1 FROM payment_book_checks WHERE scheduled AND ran_at > now() - interval '1 day' LIMIT 1`)).rows.length;
    if (!(await due())) return null;
    return (await withLock(deps.cache, 'purchases:books', 30 * 60_000, async () => ((await due()) ? compareBooks(undefined, true) : null))) ?? null;
  }

  /** Stored mismatches, the most recently found first, and the latest comparison. */
  async function listMismatches(limit: number, cursor?: string, kind?: MismatchKind) {
    const before = decodeCursor(cursor, (v): v is string => typeof v === 'string' && /^[0-9a-f-]{36}$/.test(v));
    const latest = (
      await db.query<{ id: string; ran_at: Date; range_from: Date; range_to: Date; charges_checked: number; transactions_checked: number; mismatches: number }>(
        'SELECT id, ran_at, range_from, range_to, charges_checked, transactions_checked, mismatches FROM payment_book_checks ORDER BY ran_at DESC LIMIT 1',
      )
    ).rows[0];
    const { rows } = await db.query<{
      id: string;
      kind: MismatchKind;
      charge_id: string | null;
      transaction_id: string | null;
      purchase_id: string | null;
      provider_amount_milli: string | null;
      provider_currency: string | null;
      order_amount_milli: string | null;
      order_currency: string | null;
      detail: string;
      first_seen_at: Date;
      last_seen_at: Date;
      last_check_id: string;
    }>(
      `SELECT id, kind, charge_id, transaction_id, purchase_id, provider_amount_milli, provider_currency, order_amount_milli, order_currency,
              detail, first_seen_at, last_seen_at, last_check_id
         FROM payment_mismatches WHERE ($1::uuid IS NULL OR id < $1) AND ($2::text IS NULL OR kind = $2)
        ORDER BY id DESC LIMIT $3`,
      [before ?? null, kind ?? null, limit + 1],
    );
    const { page, more, last } = takePage(rows, limit);
    const money = (amount: string | null, currency: string | null) => (amount === null ? null : { amountMilli: Number(amount), currency: currency! });
    return {
      items: page.map((m) => ({
        id: m.id,
        kind: m.kind,
        chargeId: m.charge_id,
        transactionId: m.transaction_id === null ? null : String(m.transaction_id),
        purchaseId: m.purchase_id,
        provider: money(m.provider_amount_milli, m.provider_currency),
        order: money(m.order_amount_milli, m.order_currency),
        detail: m.detail,
        firstSeenAt: new Date(m.first_seen_at).toISOString(),
        lastSeenAt: new Date(m.last_seen_at).toISOString(),
        inLatestCheck: m.last_check_id === latest?.id,
      })),
      nextCursor: more ? encodeCursor(last.id) : null,
      latestCheck: latest
        ? {
            id: latest.id,
            ranAt: new Date(latest.ran_at).toISOString(),
            from: new Date(latest.range_from).toISOString(),
            to: new Date(latest.range_to).toISOString(),
            chargesChecked: latest.charges_checked,
            transactionsChecked: latest.transactions_checked,
            mismatches: latest.mismatches,
          }
        : null,
    };
  }

  return { compareBooks: (range?: { from: Date; to: Date }) => compareBooks(range), compareDaily, listMismatches };
}

function amountMismatch(chargeId: string, t: { id: string; price_milli: string; currency: string; purchase_id: string | null }, provider: Money): Mismatch {
  return {
    kind: 'amount_mismatch',
    subject: chargeId,
    chargeId,
    transactionId: String(t.id),
    purchaseId: t.purchase_id,
    provider: { amountMilli: provider.amountMilli, currency: provider.currency },
    order: { amountMilli: Number(t.price_milli), currency: t.currency },
    detail: `Charge ${chargeId} is ${provider.amountMilli} ${provider.currency} at the provider, transaction ${t.id} records ${t.price_milli} ${t.currency}.`,
  };
}
