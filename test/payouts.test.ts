// Payouts: closing a month pays each developer, per currency, its unpaid Production proceeds exactly once;
// statements, balances, ownership, and the admin route's input rules.
//
// Closing a month also takes lines left unpaid from earlier months (carry-over), so each test books its
// sales in a year of its own, earlier than those of the tests before it: a close never reaches lines
// of another test, and the summaries can be asserted exactly.
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createPostgresDb } from '../src/platform/db/postgres.ts';
import { PayoutsService } from '../src/modules/payouts/index.ts';
import { toHttpError } from '../src/platform/http/errors.ts';
import { DomainError } from '../src/platform/errors.ts';
import { kinds } from './support/infra.ts';
import { createTestApp, makeAdmin, registerUser, type TestApp, type TestUser } from './support/app.ts';
import { expectError, ok, sender, type Send } from './support/catalog.ts';
import { datesIn, makeSeller, payoutsOf, recordRefund, recordSale, recordSales, unpaidProceedsLines, type Sale, type Seller } from './support/payouts.ts';

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

for (const kind of kinds()) {
  describe(`payouts (${kind})`, () => {
    let t: TestApp;
    let send: Send;
    let admin: TestUser;
    let user: TestUser;

    before(async () => {
      t = await createTestApp(kind);
      send = sender(t.app);
      admin = await makeAdmin(t.infra, t.app);
      user = await registerUser(t.app);
    });
    after(async () => {
      await t?.close();
    });

    const close = (period: string, key: string = randomUUID()) =>
      send('POST', '/admin/payouts', { token: admin.token, body: { period }, headers: { 'idempotency-key': key } });

    /** Every line of a statement, page by page. */
    async function statementLines(token: string, payoutId: string, limit: number) {
      const lines = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = ok(await send('GET', `/developer/payouts/${payoutId}?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, { token }));
        lines.push(...page.items);
        cursor = page.nextCursor;
        pages++;
      } while (cursor);
      return { lines, pages };
    }

    test('amounts are exact to the milliunit over many lines; refunds reduce the payout; sandbox and next month are left out', async () => {
      const seller = await makeSeller(t, 'Exact Games');
      const january = datesIn('2024-01', 240);
      const sales = await recordSales(
        t.infra.db,
        seller,
        january.map((at, i) => ({
          at,
          priceMilli: [990, 1990, 4990, 333, 1, 0, 99_990][i % 7] + (i % 13),
          commissionPct: i % 3 === 0 ? 15 : 30,
          productId: i % 4 === 0 ? 'gems.100' : undefined,
        })),
      );
      const refunded = [sales[3], sales[100], sales[200]];
      for (const s of refunded) await recordRefund(t.infra.db, s, new Date(s.at.getTime() + 3_600_000)); // an hour later, still in January
      const lateRefund = sales[50]; // refunded in February: it belongs to February's payout
      await recordRefund(t.infra.db, lateRefund, '2024-02-03T10:00:00Z');
      const february = await recordSale(t.infra.db, seller, { at: '2024-02-01T00:00:00.000Z', priceMilli: 2990 });
      await recordSales(
        t.infra.db,
        seller,
        datesIn('2024-01', 5).map((at) => ({ at, priceMilli: 990, environment: 'Sandbox' as const })),
      );

      const expected = sum(sales.map((s) => s.proceedsMilli)) - sum(refunded.map((s) => s.proceedsMilli));
      assert.ok(expected > 100_000, 'a realistic amount');
      const summary = ok(await close('2024-01'));
      assert.deepEqual(summary, { period: '2024-01', payouts: 1, totals: [{ currency: 'USD', payouts: 1, amountMilli: expected }], carriedForward: 0 });

      const [payout] = await payoutsOf(t.infra.db, seller.developerId, '2024-01');
      assert.deepEqual(payout, { id: payout.id, currency: 'USD', amountMilli: expected, lineCount: 240 + refunded.length });

      // the statement: every line once, summing to the payout, refunds as negative lines
      const { lines, pages } = await statementLines(seller.dev.token, payout.id, 100);
      assert.equal(pages, 3);
      assert.equal(lines.length, payout.lineCount);
      assert.equal(sum(lines.map((l: { proceedsMilli: number }) => l.proceedsMilli)), expected);
      assert.equal(new Set(lines.map((l: { transactionId: string; entry: string }) => `${l.transactionId}/${l.entry}`)).size, lines.length);
      const refundLine = lines.find((l: { transactionId: string; entry: string }) => l.entry === 'refund' && l.transactionId === sales[100].transactionId);
      assert.deepEqual(refundLine, {
        transactionId: sales[100].transactionId,
        entry: 'refund',
        productId: sales[100].productId,
        appId: seller.appId,
        grossMilli: -sales[100].priceMilli,
        commissionRatePct: sales[100].commissionPct,
        proceedsMilli: -sales[100].proceedsMilli,
        period: '2024-01',
        date: refundLine.date,
      });
      const first = lines[0];
      assert.deepEqual(first, {
        transactionId: sales[0].transactionId,
        entry: 'charge',
        productId: 'gems.100',
        appId: seller.appId,
        grossMilli: sales[0].priceMilli,
        commissionRatePct: 15,
        proceedsMilli: sales[0].proceedsMilli,
        period: '2024-01',
        date: '2024-01-01T00:00:00.000Z',
      });
      const statement = ok(await send('GET', `/developer/payouts/${payout.id}?limit=1`, { token: seller.dev.token }));
      assert.deepEqual(statement.payout, { ...payout, developerId: seller.developerId, period: '2024-01', createdAt: statement.payout.createdAt });
      assert.deepEqual(statement.carriedOver, { lineCount: 0, amountMilli: 0 });

      // the event went into the outbox with the payout, in the same transaction
      const { rows: events } = await t.infra.db.query<{ payload: unknown }>(`SELECT payload FROM outbox WHERE type = 'payout.created' AND aggregate_id = $1`, [
        payout.id,
      ]);
      assert.deepEqual(
        events.map((e) => e.payload),
        [{ payoutId: payout.id, developerId: seller.developerId, period: '2024-01', currency: 'USD', amountMilli: expected }],
      );

      // sandbox lines are never paid; February's waits for February
      const { rows: unpaid } = await t.infra.db.query<{ environment: string; n: number }>(
        `SELECT environment, count(*)::int AS n FROM ledger_lines
          WHERE developer_id = $1 AND account = 'developer_proceeds' AND payout_id IS NULL GROUP BY environment ORDER BY environment`,
        [seller.developerId],
      );
      assert.deepEqual(unpaid, [
        { environment: 'Production', n: 2 },
        { environment: 'Sandbox', n: 5 },
      ]);

      const feb = ok(await close('2024-02'));
      assert.deepEqual(feb.totals, [{ currency: 'USD', payouts: 1, amountMilli: february.proceedsMilli - lateRefund.proceedsMilli }]);
      assert.equal(await unpaidProceedsLines(t.infra.db, seller.developerId), 5, 'only the sandbox lines');
    });

    test('one payout per currency; the developer lists them newest period first, page by page', async () => {
      const a = await makeSeller(t, 'Global Apps');
      const b = await makeSeller(t, 'Euro Apps');
      const booked: Record<string, number> = {};
      const book = async (seller: Seller, period: string, currency: string, prices: number[]) => {
        const sales = await recordSales(
          t.infra.db,
          seller,
          datesIn(period, prices.length).map((at, i) => ({ at, priceMilli: prices[i], currency })),
        );
        const key = `${seller.developerId}/${period}/${currency}`;
        booked[key] = (booked[key] ?? 0) + sum(sales.map((s) => s.proceedsMilli));
      };
      await book(a, '2023-04', 'USD', [990, 1990]);
      await book(a, '2023-05', 'USD', [990, 990, 4990]);
      await book(a, '2023-05', 'EUR', [1090, 2290]);
      await book(a, '2023-05', 'JPY', [120_000, 250_000]);
      await book(b, '2023-05', 'EUR', [990]);

      ok(await close('2023-04'));
      const may = ok(await close('2023-05'));
      assert.deepEqual(may, {
        period: '2023-05',
        payouts: 4,
        totals: [
          { currency: 'EUR', payouts: 2, amountMilli: booked[`${a.developerId}/2023-05/EUR`] + booked[`${b.developerId}/2023-05/EUR`] },
          { currency: 'JPY', payouts: 1, amountMilli: booked[`${a.developerId}/2023-05/JPY`] },
          { currency: 'USD', payouts: 1, amountMilli: booked[`${a.developerId}/2023-05/USD`] },
        ],
        carriedForward: 0,
      });
      assert.deepEqual(
        (await payoutsOf(t.infra.db, a.developerId, '2023-05')).map((p) => [p.currency, p.amountMilli, p.lineCount]),
        [
          ['EUR', booked[`${a.developerId}/2023-05/EUR`], 2],
          ['JPY', booked[`${a.developerId}/2023-05/JPY`], 2],
          ['USD', booked[`${a.developerId}/2023-05/USD`], 3],
        ],
      );

      const seen: { period: string; currency: string; amountMilli: number; developerId: string }[] = [];
      let cursor: string | null = null;
      do {
        const page = ok(await send('GET', `/developer/payouts?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: a.dev.token }));
        assert.ok(page.items.length <= 2);
        seen.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      assert.deepEqual(
        seen.map((p) => p.period),
        ['2023-05', '2023-05', '2023-05', '2023-04'],
      );
      assert.ok(seen.every((p) => p.developerId === a.developerId && p.amountMilli === booked[`${a.developerId}/${p.period}/${p.currency}`]));
      expectError(await send('GET', '/developer/payouts?cursor=bm90LWEtY3Vyc29y', { token: a.dev.token }), 400, 'BAD_CURSOR');
    });

    test('idempotent: a second run pays nothing; concurrent runs pay each developer and currency once', async () => {
      const sellers = await Promise.all([makeSeller(t, 'Race One'), makeSeller(t, 'Race Two'), makeSeller(t, 'Race Three')]);
      const expected = new Map<string, number>();
      for (const [i, seller] of sellers.entries()) {
        for (const currency of ['USD', 'GBP']) {
          const sales = await recordSales(
            t.infra.db,
            seller,
            datesIn('2022-04', 20 + i).map((at, n) => ({ at, priceMilli: 990 + 10 * n + i, currency })),
          );
          expected.set(`${seller.developerId}/${currency}`, sum(sales.map((s) => s.proceedsMilli)));
        }
      }
      // a second process: its own connection pool on the same database (the embedded database has one process only)
      const secondDb = kind === 'production' ? createPostgresDb(t.infra.config.databaseUrl!, { max: 5 }) : undefined;
      const second = new PayoutsService({ db: secondDb ?? t.infra.db, logger: t.infra.logger });
      try {
        const runs = await Promise.all([
          t.modules.payouts.service.closePeriod('2022-04'),
          second.closePeriod('2022-04'),
          t.modules.payouts.service.closePeriod('2022-04'),
          second.closePeriod('2022-04'),
          close('2022-04').then((res) => ok(res)),
        ]);
        assert.equal(sum(runs.map((r) => r.payouts)), 6, JSON.stringify(runs));
        assert.equal(sum(runs.map((r) => r.carriedForward)), 0);

        // overlapping periods closed at once (March's run also takes every line before April's end): each line is paid once
        const overlap = await makeSeller(t, 'Race Four');
        const lines = [
          ...(await recordSales(
            t.infra.db,
            overlap,
            datesIn('2022-05', 30).map((at, n) => ({ at, priceMilli: 500 + n })),
          )),
          ...(await recordSales(
            t.infra.db,
            overlap,
            datesIn('2022-06', 30).map((at, n) => ({ at, priceMilli: 700 + n })),
          )),
        ];
        await Promise.all([
          t.modules.payouts.service.closePeriod('2022-06'),
          second.closePeriod('2022-05'),
          t.modules.payouts.service.closePeriod('2022-05'),
          second.closePeriod('2022-06'),
        ]);
        const { rows } = await t.infra.db.query<{ paid: number; amount: number }>(
          `SELECT count(*)::int AS paid, (SELECT coalesce(sum(amount_milli), 0)::bigint FROM payouts WHERE developer_id = $1) AS amount
             FROM ledger_lines WHERE developer_id = $1 AND account = 'developer_proceeds' AND payout_id IS NOT NULL`,
          [overlap.developerId],
        );
        assert.deepEqual(rows[0], { paid: lines.length, amount: sum(lines.map((s) => s.proceedsMilli)) });
      } finally {
        await secondDb?.close();
      }

      for (const seller of sellers) {
        const payouts = await payoutsOf(t.infra.db, seller.developerId, '2022-04');
        assert.deepEqual(
          payouts.map((p) => [p.currency, p.amountMilli]),
          [
            ['GBP', expected.get(`${seller.developerId}/GBP`)],
            ['USD', expected.get(`${seller.developerId}/USD`)],
          ],
        );
        assert.equal(await unpaidProceedsLines(t.infra.db, seller.developerId), 0);
      }
      const { rows: events } = await t.infra.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM outbox o JOIN payouts p ON p.id::text = o.aggregate_id WHERE o.type = 'payout.created' AND p.period = '2022-04'`,
      );
      assert.equal(events[0].n, 6, 'one event per payout, none from the runs that lost');

      // running it again, by the service or by HTTP (even with the same key), creates nothing
      assert.deepEqual(await t.modules.payouts.service.closePeriod('2022-04'), { period: '2022-04', payouts: 0, totals: [], carriedForward: 0 });
      const key = randomUUID();
      assert.equal(ok(await close('2022-04', key)).payouts, 0);
      assert.equal(ok(await close('2022-04', key)).payouts, 0);
    });

    test('a zero or negative balance is not paid: its lines roll into the next period, and the statement says so', async () => {
      const seller = await makeSeller(t, 'Refund Heavy');
      const even = await makeSeller(t, 'Break Even');
      const a = await recordSale(t.infra.db, seller, { at: '2021-01-15T12:00:00Z', priceMilli: 1990 });
      assert.equal(ok(await close('2021-01')).totals[0].amountMilli, a.proceedsMilli);

      const refundA = await recordRefund(t.infra.db, a, '2021-02-02T08:00:00Z');
      const b = await recordSale(t.infra.db, seller, { at: '2021-02-10T08:00:00Z', priceMilli: 990 });
      const c = await recordSale(t.infra.db, even, { at: '2021-02-11T08:00:00Z', priceMilli: 990 });
      await recordRefund(t.infra.db, c, '2021-02-12T08:00:00Z');
      const february = refundA + b.proceedsMilli;
      assert.ok(february < 0);
      assert.deepEqual(ok(await close('2021-02')), { period: '2021-02', payouts: 0, totals: [], carriedForward: 2 });
      assert.equal(await unpaidProceedsLines(t.infra.db, seller.developerId), 2);

      const balance = ok(await send('GET', '/developer/balance', { token: seller.dev.token }));
      assert.deepEqual(balance.items, [{ currency: 'USD', closedPeriodsMilli: february, currentPeriodMilli: 0 }]);

      const d = await recordSale(t.infra.db, seller, { at: '2021-03-05T08:00:00Z', priceMilli: 4990 });
      assert.deepEqual(ok(await close('2021-03')), {
        period: '2021-03',
        payouts: 1,
        totals: [{ currency: 'USD', payouts: 1, amountMilli: february + d.proceedsMilli }],
        carriedForward: 1,
      });
      const [march] = await payoutsOf(t.infra.db, seller.developerId, '2021-03');
      const statement = ok(await send('GET', `/developer/payouts/${march.id}`, { token: seller.dev.token }));
      assert.deepEqual(statement.carriedOver, { lineCount: 2, amountMilli: february });
      assert.deepEqual(
        statement.items.map((l: { entry: string; period: string; proceedsMilli: number }) => [l.entry, l.period, l.proceedsMilli]),
        [
          ['refund', '2021-02', refundA],
          ['charge', '2021-02', b.proceedsMilli],
          ['charge', '2021-03', d.proceedsMilli],
        ],
      );
      assert.equal(await unpaidProceedsLines(t.infra.db, even.developerId), 2, 'a zero balance stays unpaid');
    });

    test('only months that are over can be closed; periods must be YYYY-MM; the route needs an Idempotency-Key', async () => {
      const now = new Date();
      const current = now.toISOString().slice(0, 7);
      const next = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString().slice(0, 7);
      for (const period of [current, next, '2999-12']) {
        const err = expectError(await close(period), 422, 'PERIOD_OPEN');
        assert.match(err.message, new RegExp(current));
        await assert.rejects(
          t.modules.payouts.service.closePeriod(period),
          (e) => e instanceof DomainError && e.code === 'PERIOD_OPEN' && toHttpError(e).status === 422,
        );
      }
      for (const period of ['2024-13', '2024-00', '24-01', '2024-1', '2024-01-01', '1999-12', '', 202401]) {
        expectError(await close(period as string), 400, 'VALIDATION_FAILED');
      }
      await assert.rejects(
        t.modules.payouts.service.closePeriod('2024-13'),
        (e) => e instanceof DomainError && e.code === 'BAD_PERIOD' && toHttpError(e).status === 400,
      );
      expectError(await send('POST', '/admin/payouts', { token: admin.token, body: {}, headers: { 'idempotency-key': 'k' } }), 400, 'VALIDATION_FAILED');
      expectError(
        await send('POST', '/admin/payouts', { token: admin.token, body: { period: '2020-01', extra: 1 }, headers: { 'idempotency-key': 'k' } }),
        400,
        'VALIDATION_FAILED',
      );
      expectError(await send('POST', '/admin/payouts', { token: admin.token, body: { period: '2020-01' } }), 400, 'IDEMPOTENCY_KEY_REQUIRED');
      expectError(await close('2020-01', 'k'.repeat(256)), 400, 'IDEMPOTENCY_KEY_INVALID');
      expectError(await close('2020-01', ''), 400);
      ok(await close('2010-01', 'k'.repeat(255)));
    });

    test('ownership: only the owner sees a payout; plain users and developers are refused the routes that are not theirs', async () => {
      const owner = await makeSeller(t, 'Owner Inc');
      const stranger = await makeSeller(t, 'Stranger Inc');
      await recordSale(t.infra.db, owner, { at: '2020-06-01T00:00:00Z', priceMilli: 990 });
      ok(await close('2020-06'));
      const [payout] = await payoutsOf(t.infra.db, owner.developerId, '2020-06');

      ok(await send('GET', `/developer/payouts/${payout.id}`, { token: owner.dev.token }));
      expectError(await send('GET', `/developer/payouts/${payout.id}`, { token: stranger.dev.token }), 404, 'NOT_FOUND');
      expectError(await send('GET', `/developer/payouts/${randomUUID()}`, { token: owner.dev.token }), 404, 'NOT_FOUND');
      expectError(await send('GET', `/developer/payouts/${payout.id}?cursor=garbage`, { token: owner.dev.token }), 400, 'BAD_CURSOR');
      assert.deepEqual(ok(await send('GET', '/developer/payouts', { token: stranger.dev.token })), { items: [], nextCursor: null });
      // admins pass the developer guard but have no payouts of their own
      expectError(await send('GET', `/developer/payouts/${payout.id}`, { token: admin.token }), 404);

      for (const url of ['/developer/payouts', `/developer/payouts/${payout.id}`, '/developer/balance']) {
        expectError(await send('GET', url, { token: user.token }), 403, 'FORBIDDEN');
        expectError(await send('GET', url), 401, 'UNAUTHENTICATED');
      }
      const body = { period: '2020-06' };
      const headers = { 'idempotency-key': randomUUID() };
      expectError(await send('POST', '/admin/payouts', { token: user.token, body, headers }), 403, 'FORBIDDEN');
      expectError(await send('POST', '/admin/payouts', { token: owner.dev.token, body, headers }), 403, 'FORBIDDEN');
      expectError(await send('POST', '/admin/payouts', { body, headers }), 401, 'UNAUTHENTICATED');
    });

    test('balance: unpaid Production proceeds per currency, closed months apart from this month', async () => {
      const seller = await makeSeller(t, 'Balance Co');
      const now = new Date();
      const lastMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 0, 12)); // noon on the last day of the previous month
      const old: Sale[] = await recordSales(t.infra.db, seller, [
        { at: '2019-06-10T00:00:00Z', priceMilli: 990 },
        { at: '2019-06-11T00:00:00Z', priceMilli: 1990 },
      ]);
      ok(await close('2019-06')); // paid: no longer in the balance
      const closed = await recordSales(t.infra.db, seller, [
        { at: lastMonth, priceMilli: 990 },
        { at: lastMonth, priceMilli: 4990, commissionPct: 15 },
        { at: lastMonth, priceMilli: 1090, currency: 'EUR' },
      ]);
      const current = await recordSale(t.infra.db, seller, { at: now, priceMilli: 2990 });
      await recordSale(t.infra.db, seller, { at: now, priceMilli: 99_990, environment: 'Sandbox' });
      await recordRefund(t.infra.db, closed[0], now);

      const balance = ok(await send('GET', '/developer/balance', { token: seller.dev.token }));
      assert.deepEqual(balance, {
        currentPeriod: now.toISOString().slice(0, 7),
        items: [
          { currency: 'EUR', closedPeriodsMilli: closed[2].proceedsMilli, currentPeriodMilli: 0 },
          {
            currency: 'USD',
            closedPeriodsMilli: closed[0].proceedsMilli + closed[1].proceedsMilli,
            currentPeriodMilli: current.proceedsMilli - closed[0].proceedsMilli,
          },
        ],
      });
      assert.equal((await payoutsOf(t.infra.db, seller.developerId, '2019-06'))[0].amountMilli, sum(old.map((s) => s.proceedsMilli)));
      assert.deepEqual(ok(await send('GET', '/developer/balance', { token: admin.token })).items, []);
    });
  });
}
