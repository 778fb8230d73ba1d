// Purchase scenarios: POST /api/v1/purchases with an Idempotency-Key, one paid app per (user, app), where
// 20% of the requests are retries of an earlier request (same key, same body: a client that lost the
// response). After the run, the books are checked: no double charge, no orphan, a balanced ledger.
//
// They empty the commerce tables of the bench database first (never point the bench at real data).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Db } from '../src/platform/db/index.ts';
import type { BenchRequest, Scenario, ScenarioContext } from './scenarios.ts';

const BUYERS = 2000;
const APPS = 2000;
const POOL = 120_000;
const RETRY_SHARE = 0.2;
/** A retry repeats a request sent this many positions earlier: long done, as a retry after a lost response is. */
const RETRY_DISTANCE = { min: 200, max: 2000 };

const COMMERCE_TABLES = ['ledger_lines', 'payouts', 'subscriptions', 'transactions', 'purchases', 'idempotency_keys', 'sandbox_refunds', 'sandbox_charges'];

export async function purchasePool(ctx: ScenarioContext): Promise<BenchRequest[]> {
  const { tokens, apps } = await ctx.withDb(async (db) => {
    await db.query(`TRUNCATE ${COMMERCE_TABLES.join(', ')} CASCADE`);
    return { tokens: await buyerSessions(db), apps: await paidApps(db) };
  });
  if (!tokens.length || !apps.length) throw new Error('the purchase scenario needs seeded US users and paid apps with a US price');
  const pool: BenchRequest[] = [];
  let fresh = 0;
  for (let i = 0; i < POOL; i++) {
    if (i >= RETRY_DISTANCE.max && Math.random() < RETRY_SHARE) {
      const back = RETRY_DISTANCE.min + Math.floor(Math.random() * (RETRY_DISTANCE.max - RETRY_DISTANCE.min));
      pool.push(pool[i - back]);
      continue;
    }
    // (buyer, app) pairs never repeat: each new request is a first purchase
    const buyer = tokens[fresh % tokens.length];
    const app = apps[Math.floor(fresh / tokens.length) % apps.length];
    fresh++;
    pool.push({
      method: 'POST',
      path: '/api/v1/purchases',
      headers: { authorization: `Bearer ${buyer}`, 'idempotency-key': randomUUID() },
      body: JSON.stringify({ appId: app.id, price: { amountMilli: app.amountMilli, currency: 'USD' } }),
    });
  }
  return pool;
}

/** Sessions for seeded US buyers, written straight into the database (signing in 2,000 users would take a minute of argon2). */
async function buyerSessions(db: Db): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(`SELECT id FROM users WHERE country = 'US' AND role = 'user' ORDER BY id LIMIT $1`, [BUYERS]);
  const tokens = rows.map(() => `orc_${randomBytes(32).toString('base64url')}`);
  await db.query(
    `INSERT INTO sessions (id, user_id, token_hash, expires_at)
     SELECT gen_random_uuid(), u, decode(h, 'hex'), now() + interval '1 day' FROM unnest($1::uuid[], $2::text[]) AS s(u, h)`,
    [rows.map((r) => r.id), tokens.map((t) => createHash('sha256').update(t).digest('hex'))],
  );
  return tokens;
}

async function paidApps(db: Db): Promise<{ id: string; amountMilli: number }[]> {
  const { rows } = await db.query<{ id: string; amount_milli: string }>(
    `SELECT a.id, p.amount_milli FROM apps a JOIN app_prices p ON p.app_id = a.id AND p.country = 'US'
      WHERE a.status = 'published' AND NOT a.is_free ORDER BY a.id LIMIT $1`,
    [APPS],
  );
  return rows.map((r) => ({ id: r.id, amountMilli: Number(r.amount_milli) }));
}

/** The books after the run, from the database: what a double charge or a lost write would show as. */
async function checkBooks(ctx: ScenarioContext): Promise<string[]> {
  return ctx.withDb(async (db) => {
    const one = async (sql: string) => Number(Object.values((await db.query(sql)).rows[0])[0]);
    const completed = await one(`SELECT count(*) FROM purchases WHERE status = 'completed'`);
    const charges = await one(`SELECT count(*) FROM sandbox_charges WHERE status = 'succeeded'`);
    const doubleCharges = await one(
      `SELECT count(*) FROM (SELECT customer_id, description FROM sandbox_charges WHERE status = 'succeeded' GROUP BY 1, 2 HAVING count(*) > 1) d`,
    );
    const chargesWithoutPurchase = await one(
      `SELECT count(*) FROM sandbox_charges c WHERE c.status = 'succeeded' AND NOT EXISTS
         (SELECT 1 FROM purchases p WHERE p.status = 'completed' AND c.idempotency_key = 'purchase:' || p.user_id || ':' || p.idempotency_key)`,
    );
    const doubleOwners = await one(
      `SELECT count(*) FROM (SELECT user_id, product_key FROM purchases WHERE status = 'completed' GROUP BY 1, 2 HAVING count(*) > 1) d`,
    );
    const unbalanced = await one(
      `SELECT count(*) FROM (SELECT transaction_id FROM ledger_lines GROUP BY transaction_id, entry HAVING sum(amount_milli) <> 0) u`,
    );
    const paidIn = await one(`SELECT coalesce(-sum(amount_milli), 0) FROM ledger_lines WHERE account = 'customer_payment'`);
    const charged = await one(`SELECT coalesce(sum(amount_milli), 0) FROM sandbox_charges WHERE status = 'succeeded'`);
    const pending = await one(`SELECT count(*) FROM purchases WHERE status = 'pending'`);
    const ok = doubleCharges === 0 && chargesWithoutPurchase === 0 && doubleOwners === 0 && unbalanced === 0 && paidIn === charged && charges === completed;
    return [
      `books: ${completed.toLocaleString('en')} purchases completed, ${charges.toLocaleString('en')} charges, ${pending} pending`,
      `       double charges ${doubleCharges}, charges without a purchase ${chargesWithoutPurchase}, double owners ${doubleOwners}, ` +
        `unbalanced ledger events ${unbalanced}, ledger in ${paidIn.toLocaleString('en')} = charged ${charged.toLocaleString('en')} milliunits  ${ok ? '✓' : '✗ INCONSISTENT'}`,
    ];
  });
}

export const PURCHASE_SCENARIOS: Scenario[] = [
  {
    name: 'purchase',
    target: 'orchard',
    what: 'POST /api/v1/purchases (paid apps, Idempotency-Key), 20% of requests retries of earlier ones',
    sequential: true,
    requests: purchasePool,
    check: checkBooks,
  },
  {
    name: 'purchase-1000',
    target: 'orchard',
    what: 'the purchase mix at an offered 1,000 requests/s',
    sequential: true,
    rate: 1000,
    requests: purchasePool,
    check: checkBooks,
  },
];
