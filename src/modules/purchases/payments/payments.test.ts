// The payment provider port: the sandbox's books (on PGlite, and on PostgreSQL when ORCHARD_TEST_DATABASE_URL
// is set) and the resilience wrapper around it, with small timings.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate, type Db } from '../../../platform/db/index.ts';
import { createPgliteDb } from '../../../platform/db/pglite.ts';
import { createPostgresDb } from '../../../platform/db/postgres.ts';
import { migrationDirs } from '../../../app.ts';
import { createScratchDatabase, productionUrls } from '../../../../test/support/infra.ts';
import {
  IdempotencyKeyReusedError,
  PaymentsUnavailableError,
  ProviderUnavailableError,
  RefundRejectedError,
  type ChargeRequest,
  type PaymentProvider,
} from './index.ts';
import { createSandboxProvider, sandboxOptionsFromEnv } from './sandbox.ts';
import { withResilience } from './resilient.ts';

const purchasesMigrations = fileURLToPath(new URL('../migrations', import.meta.url));
const allMigrationDirs = migrationDirs.some((d) => path.resolve(d) === path.resolve(purchasesMigrations))
  ? migrationDirs
  : [...migrationDirs, purchasesMigrations];

type Kind = 'embedded' | 'production';
const dbKinds: Kind[] = productionUrls.db ? ['embedded', 'production'] : ['embedded'];

/** A fresh, migrated database; `second` is another connection pool on it (another API process) where there can be one. */
async function freshDatabase(kind: Kind): Promise<{ db: Db; second: Db; close(): Promise<void> }> {
  if (kind === 'embedded') {
    const db = await createPgliteDb();
    await migrate(db, allMigrationDirs);
    return { db, second: db, close: () => db.close() };
  }
  const scratch = await createScratchDatabase();
  const db = createPostgresDb(scratch.url, { max: 10 });
  const second = createPostgresDb(scratch.url, { max: 10 });
  await migrate(db, allMigrationDirs);
  return {
    db,
    second,
    async close() {
      await Promise.all([db.close(), second.close()]);
      await scratch.drop();
    },
  };
}

let keySeq = 0;
const chargeRequest = (overrides: Partial<ChargeRequest> = {}): ChargeRequest => ({
  idempotencyKey: `test-charge-${Date.now()}-${++keySeq}`,
  amountMilli: 990,
  currency: 'USD',
  environment: 'Sandbox',
  customerId: 'user-1',
  description: 'Test app',
  ...overrides,
});

/** Randomness that follows a script, so injected failures happen exactly where a test wants them. */
const scripted = (...values: number[]) => () => {
  const v = values.shift();
  if (v === undefined) throw new Error('the test did not script this much randomness');
  return v;
};

/** Counts the calls that reach the provider. */
function counted(provider: PaymentProvider) {
  const calls = { charge: 0, refund: 0 };
  const wrapped: PaymentProvider = {
    name: provider.name,
    charge: (req, o) => (calls.charge++, provider.charge(req, o)),
    refund: (req, o) => (calls.refund++, provider.refund(req, o)),
  };
  return { calls, provider: wrapped };
}

const fastRetries = { initialBackoffMs: 1, maxBackoffMs: 5 };

test('sandbox options: from env, validated, changed at runtime', () => {
  assert.deepEqual(sandboxOptionsFromEnv({}), { latencyMs: 0, jitterMs: 0, declineRate: 0, failureRate: 0, outage: false });
  assert.deepEqual(
    sandboxOptionsFromEnv({
      SANDBOX_PAYMENTS_LATENCY_MS: '40',
      SANDBOX_PAYMENTS_JITTER_MS: '10',
      SANDBOX_PAYMENTS_DECLINE_RATE: '0.1',
      SANDBOX_PAYMENTS_FAILURE_RATE: '0.05',
      SANDBOX_PAYMENTS_OUTAGE: '1',
    }),
    { latencyMs: 40, jitterMs: 10, declineRate: 0.1, failureRate: 0.05, outage: true },
  );
  assert.throws(() => sandboxOptionsFromEnv({ SANDBOX_PAYMENTS_DECLINE_RATE: '1.5' }), /declineRate must be within 0..1/);
  assert.throws(() => sandboxOptionsFromEnv({ SANDBOX_PAYMENTS_LATENCY_MS: 'fast' }), /SANDBOX_PAYMENTS_LATENCY_MS must be a number/);
  assert.throws(() => sandboxOptionsFromEnv({ SANDBOX_PAYMENTS_OUTAGE: 'yes' }), /SANDBOX_PAYMENTS_OUTAGE must be 1 or 0/);

  const sandbox = createSandboxProvider({ db: undefined as unknown as Db, options: { latencyMs: 5 } });
  sandbox.configure({ failureRate: 0.2 });
  assert.deepEqual(sandbox.options(), { latencyMs: 5, jitterMs: 0, declineRate: 0, failureRate: 0.2, outage: false });
  assert.throws(() => sandbox.configure({ jitterMs: -1 }), RangeError);
  assert.equal(sandbox.options().jitterMs, 0, 'a rejected change leaves the options as they were');
});

for (const kind of dbKinds) {
  describe(`payments (${kind} database)`, () => {
    let db: Db;
    let second: Db;
    let close: () => Promise<void>;
    before(async () => {
      ({ db, second, close } = await freshDatabase(kind));
    });
    after(async () => close?.());

    const rowsFor = async (idempotencyKey: string) =>
      (await db.query('SELECT id, status, decline_code, amount_milli FROM sandbox_charges WHERE idempotency_key = $1', [idempotencyKey])).rows;

    test('100 concurrent charges with one key: one row, one chargeId, the same outcome for every caller', async () => {
      const processes = [createSandboxProvider({ db }), createSandboxProvider({ db: second })];
      const req = chargeRequest();
      const outcomes = await Promise.all(Array.from({ length: 100 }, (_, i) => processes[i % 2].charge(req)));
      assert.equal(outcomes[0].status, 'succeeded');
      for (const o of outcomes) assert.deepEqual(o, outcomes[0]);
      const rows = await rowsFor(req.idempotencyKey);
      assert.equal(rows.length, 1);
      assert.equal(outcomes[0].status === 'succeeded' && outcomes[0].chargeId, rows[0].id);
      assert.match(rows[0].id, /^ch_[0-9a-f]{24}$/);
      assert.equal(Number(rows[0].amount_milli), 990);
    });

    test('declines: amount triggers and the decline rate are recorded, and a retry replays the first answer', async () => {
      const sandbox = createSandboxProvider({ db });
      const declined = chargeRequest({ amountMilli: 992 });
      const expected = { status: 'declined', code: 'card_declined', message: 'The card was declined.' };
      assert.deepEqual(await sandbox.charge(declined), expected);
      assert.deepEqual(await sandbox.charge(declined), expected);
      assert.deepEqual(
        (await rowsFor(declined.idempotencyKey)).map((r) => [r.status, r.decline_code]),
        [['declined', 'card_declined']],
      );
      assert.deepEqual(await sandbox.charge(chargeRequest({ amountMilli: 4_995 })), {
        status: 'declined',
        code: 'insufficient_funds',
        message: 'The card has insufficient funds.',
      });

      sandbox.configure({ declineRate: 1 });
      const unlucky = chargeRequest();
      assert.equal((await sandbox.charge(unlucky)).status, 'declined');
      sandbox.configure({ declineRate: 0 });
      assert.equal((await sandbox.charge(unlucky)).status, 'declined', 'the first answer stands for its key');
      assert.equal((await sandbox.charge(chargeRequest())).status, 'succeeded');
    });

    test('a decline passes through the resilience wrapper: not retried, never a breaker failure', async () => {
      const { calls, provider } = counted(createSandboxProvider({ db }));
      const payments = withResilience(provider, { breakerThreshold: 1, ...fastRetries });
      for (let i = 0; i < 3; i++) assert.equal((await payments.charge(chargeRequest({ amountMilli: 1_002 }))).status, 'declined');
      assert.equal(calls.charge, 3);
      assert.equal(payments.state(), 'closed');
    });

    test('the same key with different charge parameters is refused', async () => {
      const sandbox = createSandboxProvider({ db });
      const req = chargeRequest();
      await sandbox.charge(req);
      await assert.rejects(sandbox.charge({ ...req, amountMilli: 1_990 }), IdempotencyKeyReusedError);
      await assert.rejects(sandbox.charge({ ...req, customerId: 'user-2' }), IdempotencyKeyReusedError);
      assert.equal((await rowsFor(req.idempotencyKey)).length, 1);
    });

    test('a transient failure is retried with the same key and charges once', async () => {
      // The first attempt draws 0.1 (< failureRate: fails before recording), the second 0.9 (goes through).
      const { calls, provider } = counted(createSandboxProvider({ db, options: { failureRate: 0.5 }, random: scripted(0.1, 0.9) }));
      const req = chargeRequest();
      const outcome = await withResilience(provider, fastRetries).charge(req);
      assert.equal(outcome.status, 'succeeded');
      assert.equal(calls.charge, 2);
      assert.equal((await rowsFor(req.idempotencyKey)).length, 1);
    });

    test('a response lost after the charge was recorded: the retry returns that charge, not a second one', async () => {
      const sandbox = createSandboxProvider({ db });
      let lost = 0;
      const lossy: PaymentProvider = {
        name: 'lossy',
        async charge(req, o) {
          const outcome = await sandbox.charge(req, o);
          if (lost++ === 0) throw new ProviderUnavailableError('connection reset after the provider answered');
          return outcome;
        },
        refund: (req, o) => sandbox.refund(req, o),
      };
      const req = chargeRequest();
      const outcome = await withResilience(lossy, fastRetries).charge(req);
      const rows = await rowsFor(req.idempotencyKey);
      assert.equal(rows.length, 1);
      assert.deepEqual(outcome, { status: 'succeeded', chargeId: rows[0].id });
    });

    test('outage: PaymentsUnavailableError, the breaker opens, fails fast while open, a half-open probe closes it', async () => {
      const sandbox = createSandboxProvider({ db, options: { outage: true } });
      const { calls, provider } = counted(sandbox);
      const payments = withResilience(provider, { retries: 2, breakerThreshold: 5, halfOpenAfterMs: 300, ...fastRetries });
      const first = chargeRequest();

      // 3 attempts fail: the breaker has seen 3 failures, still closed.
      const err = await payments.charge(first).catch((e) => e);
      assert.ok(err instanceof PaymentsUnavailableError);
      assert.equal(err.retryAfterSeconds, 1);
      assert.equal(err.status, 503);
      assert.deepEqual(err.headers, { 'retry-after': '1' });
      assert.equal(calls.charge, 3);
      assert.equal(payments.state(), 'closed');

      // Attempts 4 and 5 fail and open the breaker; the third attempt of this call is refused without a call.
      await assert.rejects(payments.charge(chargeRequest()), PaymentsUnavailableError);
      assert.equal(calls.charge, 5);
      assert.equal(payments.state(), 'open');

      await assert.rejects(payments.charge(chargeRequest()), PaymentsUnavailableError);
      assert.equal(calls.charge, 5, 'an open circuit does not call the provider');
      assert.equal((await rowsFor(first.idempotencyKey)).length, 0, 'nothing was charged during the outage');

      sandbox.configure({ outage: false });
      await new Promise((r) => setTimeout(r, 350));
      const outcome = await payments.charge(first);
      assert.equal(outcome.status, 'succeeded');
      assert.equal(calls.charge, 6, 'one probe');
      assert.equal(payments.state(), 'closed');
      assert.equal((await rowsFor(first.idempotencyKey)).length, 1);
    });

    test('retryAfterSeconds is the time the circuit has left to stay open', async () => {
      const payments = withResilience(createSandboxProvider({ db, options: { outage: true } }), {
        retries: 0,
        breakerThreshold: 1,
        halfOpenAfterMs: 4_000,
      });
      const opening = await payments.charge(chargeRequest()).catch((e) => e);
      assert.ok(opening instanceof PaymentsUnavailableError);
      assert.equal(opening.retryAfterSeconds, 4);
      const whileOpen = await payments.refund({ chargeId: 'ch_x', amountMilli: 1, idempotencyKey: 'r' }).catch((e) => e);
      assert.ok(whileOpen instanceof PaymentsUnavailableError);
      assert.ok(whileOpen.retryAfterSeconds >= 1 && whileOpen.retryAfterSeconds <= 4);
    });

    test('a slow attempt is cut off by the per-attempt timeout, and the retry goes through', async () => {
      // Jitter draws: 0.9 -> the first attempt would take 9 s; 0 -> the second takes none.
      const { calls, provider } = counted(createSandboxProvider({ db, options: { jitterMs: 10_000 }, random: scripted(0.9, 0) }));
      const req = chargeRequest();
      const started = Date.now();
      const outcome = await withResilience(provider, { attemptTimeoutMs: 50, ...fastRetries }).charge(req);
      assert.equal(outcome.status, 'succeeded');
      assert.equal(calls.charge, 2);
      assert.ok(Date.now() - started < 5_000, 'the slow attempt was abandoned');
      assert.equal((await rowsFor(req.idempotencyKey)).length, 1);
    });

    test('every attempt timing out ends in PaymentsUnavailableError with nothing recorded', async () => {
      const { calls, provider } = counted(createSandboxProvider({ db, options: { latencyMs: 10_000 } }));
      const req = chargeRequest();
      const started = Date.now();
      await assert.rejects(withResilience(provider, { attemptTimeoutMs: 30, retries: 1, ...fastRetries }).charge(req), PaymentsUnavailableError);
      assert.ok(Date.now() - started < 5_000);
      assert.equal(calls.charge, 2);
      assert.equal((await rowsFor(req.idempotencyKey)).length, 0);
    });

    test('refunds: idempotent per key, never more than the charge, concurrent refunds included', async () => {
      const sandbox = createSandboxProvider({ db });
      const payments = withResilience(sandbox, fastRetries);
      const charged = await sandbox.charge(chargeRequest({ amountMilli: 1_990 }));
      assert.equal(charged.status, 'succeeded');
      const chargeId = charged.status === 'succeeded' ? charged.chargeId : '';
      const refunded = async () =>
        Number((await db.query('SELECT refunded_milli FROM sandbox_charges WHERE id = $1', [chargeId])).rows[0].refunded_milli);

      const first = await payments.refund({ chargeId, amountMilli: 990, idempotencyKey: `${chargeId}-r1` });
      assert.match(first.refundId, /^re_[0-9a-f]{24}$/);
      assert.deepEqual(await payments.refund({ chargeId, amountMilli: 990, idempotencyKey: `${chargeId}-r1` }), first);
      assert.equal(await refunded(), 990);
      await assert.rejects(payments.refund({ chargeId, amountMilli: 500, idempotencyKey: `${chargeId}-r1` }), IdempotencyKeyReusedError);

      await assert.rejects(
        payments.refund({ chargeId, amountMilli: 1_001, idempotencyKey: `${chargeId}-r2` }),
        (e: unknown) => e instanceof RefundRejectedError && e.code === 'amount_too_large',
      );
      // 20 concurrent refunds of 100 against the 1 000 left: exactly 10 go through.
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => payments.refund({ chargeId, amountMilli: 100, idempotencyKey: `${chargeId}-c${i}` })),
      );
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 10);
      for (const r of results) {
        if (r.status === 'rejected') assert.ok(r.reason instanceof RefundRejectedError && r.reason.code === 'amount_too_large');
      }
      assert.equal(await refunded(), 1_990);
      const total = await db.query('SELECT sum(amount_milli) AS total FROM sandbox_refunds WHERE charge_id = $1', [chargeId]);
      assert.equal(Number(total.rows[0].total), 1_990);

      const declined = await sandbox.charge(chargeRequest({ amountMilli: 992 }));
      assert.equal(declined.status, 'declined');
      const declinedId = (await db.query("SELECT id FROM sandbox_charges WHERE status = 'declined' LIMIT 1")).rows[0].id;
      await assert.rejects(
        payments.refund({ chargeId: declinedId, amountMilli: 1, idempotencyKey: `${declinedId}-r` }),
        (e: unknown) => e instanceof RefundRejectedError && e.code === 'charge_not_refundable',
      );
      await assert.rejects(
        payments.refund({ chargeId: 'ch_missing', amountMilli: 1, idempotencyKey: 'missing-r' }),
        (e: unknown) => e instanceof RefundRejectedError && e.code === 'charge_not_found',
      );
      assert.equal(payments.state(), 'closed', 'rejected refunds are answers, not provider failures');
    });
  });
}
