// The payment provider port: the sandbox's books (on PGlite, and on PostgreSQL when ORCHARD_TEST_DATABASE_URL
// is set) and the resilience wrapper around it, with small timings: retries within a budget, and a breaker that
// sees whole calls (partial failure the retries absorb never opens it; an outage does, fast).
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
  type ProviderCharge,
} from './index.ts';
import { createSandboxProvider, sandboxOptionsFromEnv } from './sandbox.ts';
import { withResilience } from './resilient.ts';
import { toHttpError } from '../../../platform/http/errors.ts';
import { setTimeout as sleep } from 'node:timers/promises';

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
const scripted =
  (...values: number[]) =>
  () => {
    const v = values.shift();
    if (v === undefined) throw new Error('the test did not script this much randomness');
    return v;
  };

/** Counts the calls that reach the provider. */
function counted(provider: PaymentProvider) {
  const calls = { charge: 0, refund: 0 };
  const wrapped: PaymentProvider = {
    ...passThrough(provider),
    charge: (req, o) => (calls.charge++, provider.charge(req, o)),
    refund: (req, o) => (calls.refund++, provider.refund(req, o)),
  };
  return { calls, provider: wrapped };
}

const passThrough = (provider: PaymentProvider): PaymentProvider => ({
  name: provider.name,
  charge: (req, o) => provider.charge(req, o),
  refund: (req, o) => provider.refund(req, o),
  lookupCharge: (key, o) => provider.lookupCharge(key, o),
  listCharges: (req, o) => provider.listCharges(req, o),
});

/** A seeded generator (mulberry32): "at random", the same way on every run. */
function seeded(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A provider with no books: each charge fails (unavailable) when `fails()` says so, after `latencyMs()`, honouring the
 * signal. `onCall` sees every attempt that reaches it.
 */
function scriptedProvider(fails: () => boolean, latencyMs: () => number = () => 0, onCall: () => void = () => {}) {
  const calls = { charge: 0 };
  let seq = 0;
  const provider: PaymentProvider = {
    name: 'scripted',
    async charge(_req, { signal } = {}) {
      calls.charge++;
      onCall();
      const ms = latencyMs();
      if (ms > 0) await sleep(ms, undefined, { signal }).catch(() => {});
      await new Promise((r) => setImmediate(r));
      if (signal?.aborted) throw new ProviderUnavailableError('timed out');
      if (fails()) throw new ProviderUnavailableError('scripted failure');
      return { status: 'succeeded', chargeId: `ch_${++seq}` };
    },
    refund: async () => ({ refundId: 're_1' }),
    lookupCharge: async () => ({ status: 'not_found' }),
    listCharges: async () => ({ charges: [], hasMore: false }),
  };
  return { calls, provider };
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
      const payments = withResilience(provider, { breakerConsecutiveFailures: 1, ...fastRetries });
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
        ...passThrough(sandbox),
        async charge(req, o) {
          const outcome = await sandbox.charge(req, o);
          if (lost++ === 0) throw new ProviderUnavailableError('connection reset after the provider answered');
          return outcome;
        },
      };
      const req = chargeRequest();
      const outcome = await withResilience(lossy, fastRetries).charge(req);
      const rows = await rowsFor(req.idempotencyKey);
      assert.equal(rows.length, 1);
      assert.deepEqual(outcome, { status: 'succeeded', chargeId: rows[0].id });
    });

    test('outage with quiet traffic: 4 failed calls in a row open the breaker, it fails fast while open, a half-open probe closes it', async () => {
      const sandbox = createSandboxProvider({ db, options: { outage: true } });
      const { calls, provider } = counted(sandbox);
      const payments = withResilience(provider, { retries: 2, halfOpenAfterMs: 300, ...fastRetries });
      const first = chargeRequest();

      // A call is 3 attempts; the breaker sees the call: one failure, still closed.
      const err = await payments.charge(first).catch((e) => e);
      assert.ok(err instanceof PaymentsUnavailableError);
      assert.equal(err.retryAfterSeconds, 1);
      assert.equal(toHttpError(err).status, 503);
      assert.deepEqual(toHttpError(err).headers, { 'retry-after': '1' });
      assert.equal(calls.charge, 3);
      assert.equal(payments.state(), 'closed');

      await assert.rejects(payments.charge(chargeRequest()), PaymentsUnavailableError);
      await assert.rejects(payments.charge(chargeRequest()), PaymentsUnavailableError);
      assert.equal(calls.charge, 9);
      assert.equal(payments.state(), 'closed');
      // The fourth failed call in a row opens it.
      await assert.rejects(payments.charge(chargeRequest()), PaymentsUnavailableError);
      assert.equal(calls.charge, 12);
      assert.equal(payments.state(), 'open');

      const whileOpen = await payments.charge(chargeRequest()).catch((e) => e);
      assert.ok(whileOpen instanceof PaymentsUnavailableError);
      assert.equal(calls.charge, 12, 'an open circuit does not call the provider');
      assert.equal((await rowsFor(first.idempotencyKey)).length, 0, 'nothing was charged during the outage');

      sandbox.configure({ outage: false });
      await new Promise((r) => setTimeout(r, 350));
      const outcome = await payments.charge(first);
      assert.equal(outcome.status, 'succeeded');
      assert.equal(calls.charge, 13, 'one probe');
      assert.equal(payments.state(), 'closed');
      assert.equal((await rowsFor(first.idempotencyKey)).length, 1);
    });

    test('retryAfterSeconds is the time the circuit has left to stay open', async () => {
      const payments = withResilience(createSandboxProvider({ db, options: { outage: true } }), {
        retries: 0,
        breakerConsecutiveFailures: 1,
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

    test('lookupCharge: succeeded, declined or not found, by idempotency key; through the wrapper an outage is PaymentsUnavailableError', async () => {
      const sandbox = createSandboxProvider({ db });
      const paid = chargeRequest({ amountMilli: 2_990, currency: 'EUR' });
      const charged = await sandbox.charge(paid);
      assert.equal(charged.status, 'succeeded');
      assert.deepEqual(await sandbox.lookupCharge(paid.idempotencyKey), {
        status: 'succeeded',
        chargeId: charged.status === 'succeeded' ? charged.chargeId : '',
        amountMilli: 2_990,
        currency: 'EUR',
      });
      const refused = chargeRequest({ amountMilli: 995 });
      await sandbox.charge(refused);
      assert.deepEqual(await sandbox.lookupCharge(refused.idempotencyKey), {
        status: 'declined',
        code: 'insufficient_funds',
        message: 'The card has insufficient funds.',
      });
      assert.deepEqual(await sandbox.lookupCharge('never-used'), { status: 'not_found' });

      sandbox.configure({ outage: true });
      const payments = withResilience(sandbox, { breakerConsecutiveFailures: 1, ...fastRetries });
      await assert.rejects(payments.lookupCharge(paid.idempotencyKey), PaymentsUnavailableError);
      assert.equal(payments.state(), 'closed', 'lookups are off the purchase path: they do not trip the breaker');
      sandbox.configure({ outage: false });
      assert.equal((await payments.lookupCharge(paid.idempotencyKey)).status, 'succeeded');
    });

    test('listCharges: a time range, oldest first, in pages', async () => {
      const sandbox = createSandboxProvider({ db });
      const from = new Date((await db.query<{ now: Date }>('SELECT now() AS now')).rows[0].now);
      await new Promise((r) => setTimeout(r, 5));
      const keys: string[] = [];
      for (let i = 0; i < 5; i++) {
        const req = chargeRequest({ amountMilli: i === 2 ? 992 : 990 });
        keys.push(req.idempotencyKey);
        await sandbox.charge(req);
      }
      const to = new Date(Date.now() + 1_000);
      const seen: ProviderCharge[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await withResilience(sandbox).listCharges({ from, to, startingAfter: after, limit: 2 });
        assert.ok(page.charges.length <= 2);
        seen.push(...page.charges);
        if (!page.hasMore) break;
        after = page.charges[page.charges.length - 1].id;
      }
      const mine = seen.filter((c) => keys.includes(c.idempotencyKey));
      assert.deepEqual(mine.map((c) => c.idempotencyKey).sort(), [...keys].sort(), 'each once');
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i - 1].createdAt <= seen[i].createdAt, 'oldest first');
      const all = await sandbox.listCharges({ from, to, limit: 1000 });
      const declined = all.charges.find((c) => c.idempotencyKey === keys[2])!;
      assert.equal(declined.status, 'declined');
      assert.equal(all.charges.find((c) => c.idempotencyKey === keys[0])!.amountMilli, 990);
      assert.deepEqual((await sandbox.listCharges({ from: to, to: new Date(to.getTime() + 1000) })).charges, []);
      await assert.rejects(sandbox.listCharges({ from, to, limit: 0 }), RangeError);
    });

    test('refunds: idempotent per key, never more than the charge, concurrent refunds included', async () => {
      const sandbox = createSandboxProvider({ db });
      const payments = withResilience(sandbox, fastRetries);
      const charged = await sandbox.charge(chargeRequest({ amountMilli: 1_990 }));
      assert.equal(charged.status, 'succeeded');
      const chargeId = charged.status === 'succeeded' ? charged.chargeId : '';
      const refunded = async () => Number((await db.query('SELECT refunded_milli FROM sandbox_charges WHERE id = $1', [chargeId])).rows[0].refunded_milli);

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

describe('circuit breaker and retry budget (a scripted provider)', () => {
  const fast = { initialBackoffMs: 1, maxBackoffMs: 5 };
  const charge = (payments: PaymentProvider, i: number) => payments.charge(chargeRequest({ idempotencyKey: `scripted-${i}` }));

  /** Runs n calls, `concurrency` at a time; counts outcomes. Anything but success or PaymentsUnavailableError fails the test. */
  async function run(payments: PaymentProvider, n: number, concurrency: number) {
    let ok = 0;
    let unavailable = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < n) {
          const i = next++;
          try {
            assert.equal((await charge(payments, i)).status, 'succeeded');
            ok++;
          } catch (err) {
            assert.ok(err instanceof PaymentsUnavailableError, String(err));
            unavailable++;
          }
        }
      }),
    );
    return { ok, unavailable };
  }

  test('50% of attempts failing at random: at least 80% of 200 calls succeed and the breaker never opens', async () => {
    const random = seeded(17);
    const { calls, provider } = scriptedProvider(() => random() < 0.5);
    const payments = withResilience(provider, fast);
    const states = new Set<string>();
    const timer = setInterval(() => states.add(payments.state()), 1);
    const { ok } = await run(payments, 200, 10);
    clearInterval(timer);
    assert.ok(ok >= 160, `${ok} of 200 succeeded`);
    assert.ok(calls.charge > 200 && calls.charge <= 600);
    assert.deepEqual([...states], ['closed']);
    assert.equal(payments.state(), 'closed');
  });

  test('latency at the attempt timeout: half the attempts time out, most calls still succeed within the budget', async () => {
    // half the attempts are slower than the 100 ms timeout (they would take 10 s), the others take 20 ms
    const random = seeded(5);
    const { provider } = scriptedProvider(
      () => false,
      () => (random() < 0.5 ? 10_000 : 20),
    );
    const payments = withResilience(provider, { attemptTimeoutMs: 100, budgetMs: 260, ...fast });
    const states = new Set<string>();
    const timer = setInterval(() => states.add(payments.state()), 1);
    const { ok } = await run(payments, 60, 20);
    clearInterval(timer);
    assert.ok(ok >= 40, `${ok} of 60 succeeded (75% expected: two attempts fit in the budget)`);
    assert.deepEqual([...states], ['closed'], 'calls that time out together at the end of their budget do not look like an outage');
  });

  test('a call never outlasts its budget, whatever the number of retries', async () => {
    const { calls, provider } = scriptedProvider(
      () => false,
      () => 10_000,
    );
    const payments = withResilience(provider, { attemptTimeoutMs: 100, budgetMs: 250, retries: 10, ...fast });
    const started = Date.now();
    await assert.rejects(charge(payments, 1), PaymentsUnavailableError);
    const took = Date.now() - started;
    assert.ok(took >= 200 && took < 400, `took ${took} ms`);
    assert.equal(calls.charge, 2, 'a third attempt would have had less than half an attempt timeout');
  });

  test('busy traffic, then a full outage: 4 failed calls with no answer to anyone open it at once, it fails fast, a probe closes it after recovery', async () => {
    let down = false;
    const { calls, provider } = scriptedProvider(() => down);
    const payments = withResilience(provider, { halfOpenAfterMs: 200, ...fast });
    assert.equal((await run(payments, 40, 4)).ok, 40);

    down = true;
    for (let i = 0; i < 3; i++) await assert.rejects(charge(payments, 1000 + i), PaymentsUnavailableError);
    assert.equal(payments.state(), 'closed');
    await assert.rejects(charge(payments, 1003), PaymentsUnavailableError);
    assert.equal(payments.state(), 'open', 'forty recent successes do not hide an outage');

    const before = calls.charge;
    const started = Date.now();
    assert.deepEqual(await run(payments, 50, 10), { ok: 0, unavailable: 50 });
    assert.equal(calls.charge, before, 'an open circuit does not call the provider');
    assert.ok(Date.now() - started < 150, 'and answers at once');

    down = false;
    await sleep(250);
    assert.equal((await charge(payments, 2000)).status, 'succeeded');
    assert.equal(payments.state(), 'closed');
    assert.equal((await run(payments, 20, 5)).ok, 20);
  });

  test('a provider failing most calls (answering some) opens it by the failure rate over the window', async () => {
    const random = seeded(3);
    let failRate = 0;
    const { provider } = scriptedProvider(() => random() < failRate);
    const payments = withResilience(provider, { breakerConsecutiveFailures: 1_000, ...fast });
    assert.equal((await run(payments, 30, 5)).ok, 30);
    failRate = 0.9; // 73% of calls fail after 3 attempts
    const { ok, unavailable } = await run(payments, 200, 5);
    assert.equal(payments.state(), 'open');
    assert.equal(ok + unavailable, 200);
    assert.ok(unavailable > 150, `${unavailable} failed: once open, the rest failed fast`);
  });

  test('full outage: calls in flight when it opens stop retrying (no attempt reaches the provider while it is open), later calls fail fast', async () => {
    let payments: PaymentProvider & { state(): string };
    let whileOpen = 0;
    const { calls, provider } = scriptedProvider(
      () => true,
      () => 5,
      () => payments.state() === 'open' && whileOpen++,
    );
    payments = withResilience(provider, { retries: 9, initialBackoffMs: 20, maxBackoffMs: 40 });
    // 20 calls of up to 10 attempts (about 300 ms each), started 20 ms apart
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => sleep(20 * i).then(() => charge(payments, i).catch((e) => e))));
    for (const err of results) assert.ok(err instanceof PaymentsUnavailableError);
    assert.equal(payments.state(), 'open');
    assert.equal(whileOpen, 0);
    assert.ok(calls.charge < 20 * 10, `${calls.charge} provider calls`);

    const before = calls.charge;
    assert.deepEqual(await run(payments, 100, 20), { ok: 0, unavailable: 100 });
    assert.equal(calls.charge, before);
  });

  test('a half-open probe that fails opens it again; declines are answers and never count as failures', async () => {
    let down = true;
    let declined = false;
    const calls = { charge: 0 };
    const provider: PaymentProvider = {
      ...scriptedProvider(() => false).provider,
      async charge() {
        calls.charge++;
        if (down) throw new ProviderUnavailableError('down');
        return declined ? { status: 'declined', code: 'card_declined', message: 'The card was declined.' } : { status: 'succeeded', chargeId: 'ch_1' };
      },
    };
    const payments = withResilience(provider, { retries: 0, breakerConsecutiveFailures: 2, halfOpenAfterMs: 100 });
    await assert.rejects(charge(payments, 1), PaymentsUnavailableError);
    await assert.rejects(charge(payments, 2), PaymentsUnavailableError);
    assert.equal(payments.state(), 'open');
    await sleep(120);
    await assert.rejects(charge(payments, 3), PaymentsUnavailableError); // the probe fails
    assert.equal(payments.state(), 'open');
    assert.equal(calls.charge, 3);

    down = false;
    declined = true;
    await sleep(120);
    assert.equal((await charge(payments, 4)).status, 'declined', 'a decline is an answer: the probe succeeds');
    assert.equal(payments.state(), 'closed');
    for (let i = 0; i < 5; i++) assert.equal((await charge(payments, 10 + i)).status, 'declined');
    assert.equal(payments.state(), 'closed');
  });
});
