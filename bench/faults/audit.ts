// The books after the run, straight from the scratch database (never through the proxy): what a double
// charge, a lost acknowledged purchase, a lost event, an unbalanced ledger or an order stuck pending
// would look like in SQL.
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';

export interface AuditFigures {
  completedPurchases: number;
  succeededCharges: number;
  doubleCharges: number;
  doubleOwners: number;
  acknowledged: number;
  acknowledgedMissing: number;
  acknowledgedMissingSample: string[];
  purchaseTransactions: number;
  eventsMissing: number;
  eventsUnpublished: number;
  /** Per durable consumer of purchase.completed: events it has not recorded in processed_events. */
  eventsUnprocessed: Record<string, number>;
  unbalancedLedgerEntries: number;
  paidTransactionsWithoutLedger: number;
  ledgerCustomerPaymentsMilli: number;
  chargedMilli: number;
  pending: number;
  stuckPending: number;
  chargesWithoutOrder: number;
  completedWithoutCharge: number;
}

type Client = pg.Client;
const count = async (c: Client, sql: string, params: unknown[] = []) => Number(Object.values((await c.query(sql, params)).rows[0])[0] ?? 0);

const CONSUMERS_OF_PURCHASES = `SELECT consumer FROM bus_consumers WHERE 'purchase.completed' = ANY(types) ORDER BY consumer`;
const PURCHASE_EVENTS = `SELECT id FROM outbox WHERE type = 'purchase.completed'`;

/** What is still moving: unpublished outbox rows and purchase events some consumer has not processed yet. */
export async function backlog(url: string): Promise<{ unpublished: number; unprocessed: number }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const unpublished = await count(c, 'SELECT count(*) FROM outbox WHERE published_at IS NULL');
    const unprocessed = await count(
      c,
      `SELECT count(*) FROM (${CONSUMERS_OF_PURCHASES}) k CROSS JOIN (${PURCHASE_EVENTS}) e
        WHERE NOT EXISTS (SELECT 1 FROM processed_events p WHERE p.consumer = k.consumer AND p.event_id = e.id)`,
    );
    return { unpublished, unprocessed };
  } finally {
    await c.end();
  }
}

/** Polls until nothing is moving or maxMs passes; returns the last backlog. */
export async function waitSettled(url: string, maxMs: number, log: (s: string) => void) {
  const deadline = Date.now() + maxMs;
  let last = { unpublished: -1, unprocessed: -1 };
  for (;;) {
    try {
      last = await backlog(url);
    } catch (err) {
      log(`   backlog query failed: ${(err as Error).message}`);
    }
    if (last.unpublished === 0 && last.unprocessed === 0) return last;
    if (Date.now() > deadline) return last;
    await sleep(1000);
  }
}

export async function audit(url: string, acknowledgedTransactionIds: string[], reconcileIntervalS: number): Promise<AuditFigures> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const acked = [...new Set(acknowledgedTransactionIds)];
    const missing = (
      await c.query<{ id: string }>(
        `SELECT a.id FROM unnest($1::bigint[]) AS a(id)
          WHERE NOT EXISTS (SELECT 1 FROM transactions t JOIN purchases p ON p.id = t.purchase_id
                             WHERE t.id = a.id AND p.status IN ('completed', 'refunded'))`,
        [acked],
      )
    ).rows.map((r) => String(r.id));

    const consumers = (await c.query<{ consumer: string }>(CONSUMERS_OF_PURCHASES)).rows.map((r) => r.consumer);
    const eventsUnprocessed: Record<string, number> = {};
    for (const consumer of consumers) {
      eventsUnprocessed[consumer] = await count(
        c,
        `SELECT count(*) FROM (${PURCHASE_EVENTS}) e
          WHERE NOT EXISTS (SELECT 1 FROM processed_events p WHERE p.consumer = $1 AND p.event_id = e.id)`,
        [consumer],
      );
    }

    return {
      completedPurchases: await count(c, `SELECT count(*) FROM purchases WHERE status IN ('completed', 'refunded')`),
      succeededCharges: await count(c, `SELECT count(*) FROM sandbox_charges WHERE status = 'succeeded'`),
      // the provider's description is "<bundle id> <product id>": one buyer charged twice for one app
      doubleCharges: await count(
        c,
        `SELECT count(*) FROM (SELECT customer_id, description FROM sandbox_charges WHERE status = 'succeeded'
                                GROUP BY 1, 2 HAVING count(*) > 1) d`,
      ),
      doubleOwners: await count(
        c,
        `SELECT count(*) FROM (SELECT user_id, product_key, environment FROM purchases
                                WHERE status = 'completed' AND kind IN ('app', 'non_consumable') GROUP BY 1, 2, 3 HAVING count(*) > 1) d`,
      ),
      acknowledged: acked.length,
      acknowledgedMissing: missing.length,
      acknowledgedMissingSample: missing.slice(0, 10),
      purchaseTransactions: await count(c, 'SELECT count(*) FROM transactions WHERE purchase_id IS NOT NULL'),
      eventsMissing: await count(
        c,
        `SELECT count(*) FROM transactions t WHERE t.purchase_id IS NOT NULL AND NOT EXISTS
           (SELECT 1 FROM outbox o WHERE o.type = 'purchase.completed' AND o.payload->>'transactionId' = t.id::text)`,
      ),
      eventsUnpublished: await count(c, `SELECT count(*) FROM outbox WHERE type = 'purchase.completed' AND published_at IS NULL`),
      eventsUnprocessed,
      // double entry: the lines of one event of one transaction sum to zero
      unbalancedLedgerEntries: await count(
        c,
        `SELECT count(*) FROM (SELECT transaction_id, entry FROM ledger_lines GROUP BY 1, 2 HAVING sum(amount_milli) <> 0) u`,
      ),
      paidTransactionsWithoutLedger: await count(
        c,
        `SELECT count(*) FROM transactions t WHERE t.price_milli > 0 AND NOT EXISTS
           (SELECT 1 FROM ledger_lines l WHERE l.transaction_id = t.id AND l.entry = 'charge'
               AND l.account = 'customer_payment' AND l.amount_milli = -t.price_milli)`,
      ),
      ledgerCustomerPaymentsMilli: await count(
        c,
        `SELECT coalesce(-sum(amount_milli), 0) FROM ledger_lines WHERE account = 'customer_payment' AND entry = 'charge'`,
      ),
      chargedMilli: await count(c, `SELECT coalesce(sum(amount_milli), 0) FROM sandbox_charges WHERE status = 'succeeded'`),
      pending: await count(c, `SELECT count(*) FROM purchases WHERE status = 'pending'`),
      stuckPending: await count(c, `SELECT count(*) FROM purchases WHERE status = 'pending' AND locked_until < now() - make_interval(secs => $1)`, [
        reconcileIntervalS,
      ]),
      chargesWithoutOrder: await count(
        c,
        `SELECT count(*) FROM sandbox_charges c WHERE c.status = 'succeeded' AND NOT EXISTS
           (SELECT 1 FROM purchases p WHERE p.provider_charge_id = c.id AND p.status IN ('completed', 'refunded'))`,
      ),
      completedWithoutCharge: await count(
        c,
        `SELECT count(*) FROM purchases p WHERE p.status IN ('completed', 'refunded') AND p.price_milli > 0 AND NOT EXISTS
           (SELECT 1 FROM sandbox_charges c WHERE c.id = p.provider_charge_id AND c.status = 'succeeded')`,
      ),
    };
  } finally {
    await c.end();
  }
}
