// A sandbox payment processor: no money moves, but the books are real rows in PostgreSQL (sandbox_charges,
// sandbox_refunds, migration 0401), so every API process shares them and a double charge would show in SQL.
// Latency, declines, transient failures and outages can be injected, at start (env) or at runtime (configure).
//
// Deterministic declines, like Stripe's test cards, by the last digit of the amount in milliunits
// (a real price in a currency with at most two decimals always ends in 0 there):
//   ...2  (e.g. 992 = 0.992)  -> card_declined
//   ...5  (e.g. 995 = 0.995)  -> insufficient_funds
// Three-decimal currencies (KWD, BHD, ...) can hit these with real prices: this is a sandbox.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createBatcher } from '../../../platform/db/batch.ts';
import type { Db } from '../../../platform/db/index.ts';
import {
  IdempotencyKeyReusedError,
  ProviderUnavailableError,
  RefundRejectedError,
  type CallOptions,
  type ChargeListRequest,
  type ChargeLookup,
  type ChargeOutcome,
  type ChargePage,
  type ChargeRequest,
  type PaymentProvider,
  type RefundRequest,
} from './index.ts';

export interface SandboxOptions {
  /** Added to every call, like the round trip to a real provider. */
  latencyMs: number;
  /** Up to this much more per call, uniformly at random. */
  jitterMs: number;
  /** Share of charges (0..1) declined with card_declined, on top of the amount triggers. */
  declineRate: number;
  /** Share of calls (0..1) that throw ProviderUnavailableError without recording anything. */
  failureRate: number;
  /** Every call throws ProviderUnavailableError (after the latency). */
  outage: boolean;
}

export interface SandboxProvider extends PaymentProvider {
  configure(changes: Partial<SandboxOptions>): void;
  options(): SandboxOptions;
}

export const sandboxDeclineTriggers: Readonly<Record<number, string>> = { 2: 'card_declined', 5: 'insufficient_funds' };

const DECLINE_MESSAGES: Record<string, string> = {
  card_declined: 'The card was declined.',
  insufficient_funds: 'The card has insufficient funds.',
};

const DEFAULT_OPTIONS: SandboxOptions = { latencyMs: 0, jitterMs: 0, declineRate: 0, failureRate: 0, outage: false };

/** SANDBOX_PAYMENTS_LATENCY_MS, _JITTER_MS, _DECLINE_RATE, _FAILURE_RATE (0..1), _OUTAGE=1. */
export function sandboxOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): SandboxOptions {
  const number = (name: string, fallback: number) => {
    const v = env[name];
    if (v === undefined || v === '') return fallback;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`${name} must be a number, got "${v}"`);
    return n;
  };
  const outage = env.SANDBOX_PAYMENTS_OUTAGE ?? '';
  if (!['', '0', '1'].includes(outage)) throw new Error(`SANDBOX_PAYMENTS_OUTAGE must be 1 or 0, got "${outage}"`);
  return checkedOptions({
    latencyMs: number('SANDBOX_PAYMENTS_LATENCY_MS', DEFAULT_OPTIONS.latencyMs),
    jitterMs: number('SANDBOX_PAYMENTS_JITTER_MS', DEFAULT_OPTIONS.jitterMs),
    declineRate: number('SANDBOX_PAYMENTS_DECLINE_RATE', DEFAULT_OPTIONS.declineRate),
    failureRate: number('SANDBOX_PAYMENTS_FAILURE_RATE', DEFAULT_OPTIONS.failureRate),
    outage: outage === '1',
  });
}

function checkedOptions(o: SandboxOptions): SandboxOptions {
  for (const key of ['latencyMs', 'jitterMs'] as const) {
    if (!Number.isFinite(o[key]) || o[key] < 0) throw new RangeError(`sandbox payments: ${key} must be >= 0, got ${o[key]}`);
  }
  for (const key of ['declineRate', 'failureRate'] as const) {
    if (!(o[key] >= 0 && o[key] <= 1)) throw new RangeError(`sandbox payments: ${key} must be within 0..1, got ${o[key]}`);
  }
  if (typeof o.outage !== 'boolean') throw new TypeError('sandbox payments: outage must be a boolean');
  return o;
}

interface ChargeRow {
  id: string;
  amount_milli: number | string;
  currency: string;
  environment: string;
  customer_id: string;
  decline_code: string | null;
}

export function createSandboxProvider(deps: {
  db: Db;
  options?: Partial<SandboxOptions>;
  /** Source of the injected randomness (tests pass a scripted one). */
  random?: () => number;
}): SandboxProvider {
  const { db, random = Math.random } = deps;
  let current = checkedOptions({ ...DEFAULT_OPTIONS, ...deps.options });
  const books = createBatcher<NewCharge, boolean>({ runBatch: (charges) => recordCharges(db, charges) });

  /** What every call goes through before the books are touched: latency, then outage and transient failures. */
  async function reachProvider(signal: AbortSignal | undefined) {
    const delayMs = current.latencyMs + (current.jitterMs > 0 ? random() * current.jitterMs : 0);
    if (delayMs > 0) await sleep(delayMs, undefined, { signal }).catch(() => {});
    if (signal?.aborted) throw new ProviderUnavailableError('sandbox payments: the caller stopped waiting');
    if (current.outage) throw new ProviderUnavailableError('sandbox payments: outage (SANDBOX_PAYMENTS_OUTAGE)');
    if (current.failureRate > 0 && random() < current.failureRate) {
      throw new ProviderUnavailableError('sandbox payments: transient failure (SANDBOX_PAYMENTS_FAILURE_RATE)');
    }
  }

  function declineFor(amountMilli: number): string | null {
    const triggered = sandboxDeclineTriggers[amountMilli % 10];
    if (triggered) return triggered;
    return current.declineRate > 0 && random() < current.declineRate ? 'card_declined' : null;
  }

  return {
    name: 'sandbox',

    configure(changes) {
      current = checkedOptions({ ...current, ...changes });
    },

    options() {
      return { ...current };
    },

    async charge(req: ChargeRequest, { signal }: CallOptions = {}): Promise<ChargeOutcome> {
      checkCharge(req);
      await reachProvider(signal);
      const declineCode = declineFor(req.amountMilli);
      const id = newId('ch');
      // One statement for a new key (shared with concurrent charges). On a conflict the first attempt's row wins, whatever this one decided.
      if (await books.submit({ id, req, declineCode })) return outcome(id, declineCode);

      // A new statement sees the conflicting row: ON CONFLICT waited for its transaction to commit.
      const { rows } = await db.query<ChargeRow>(
        'SELECT id, amount_milli, currency, environment, customer_id, decline_code FROM sandbox_charges WHERE idempotency_key = $1',
        [req.idempotencyKey],
      );
      const first = rows[0];
      if (!first) throw new Error(`sandbox payments: charge with idempotency key ${req.idempotencyKey} conflicted but is gone`);
      const same =
        Number(first.amount_milli) === req.amountMilli &&
        first.currency === req.currency &&
        first.environment === req.environment &&
        first.customer_id === req.customerId;
      if (!same) {
        throw new IdempotencyKeyReusedError(`Idempotency key ${req.idempotencyKey} was first used for a different charge (${first.id}).`);
      }
      return outcome(first.id, first.decline_code);
    },

    async refund(req: RefundRequest, { signal }: CallOptions = {}) {
      checkRefund(req);
      await reachProvider(signal);
      return db.tx(async (q) => {
        // Locking the charge first serialises its refunds, including retries of this very key.
        const charge = (
          await q.query<{ status: string; amount_milli: number | string; refunded_milli: number | string }>(
            'SELECT status, amount_milli, refunded_milli FROM sandbox_charges WHERE id = $1 FOR UPDATE',
            [req.chargeId],
          )
        ).rows[0];
        if (!charge) throw new RefundRejectedError('charge_not_found', `There is no charge ${req.chargeId}.`);

        const earlier = (
          await q.query<{ id: string; charge_id: string; amount_milli: number | string }>(
            'SELECT id, charge_id, amount_milli FROM sandbox_refunds WHERE idempotency_key = $1',
            [req.idempotencyKey],
          )
        ).rows[0];
        if (earlier) {
          if (earlier.charge_id !== req.chargeId || Number(earlier.amount_milli) !== req.amountMilli) {
            throw new IdempotencyKeyReusedError(`Idempotency key ${req.idempotencyKey} was first used for a different refund (${earlier.id}).`);
          }
          return { refundId: earlier.id };
        }

        if (charge.status !== 'succeeded') {
          throw new RefundRejectedError('charge_not_refundable', `Charge ${req.chargeId} was declined: there is nothing to refund.`);
        }
        const refundable = Number(charge.amount_milli) - Number(charge.refunded_milli);
        if (req.amountMilli > refundable) {
          throw new RefundRejectedError(
            'amount_too_large',
            `Refund of ${req.amountMilli} exceeds the ${refundable} milliunits of charge ${req.chargeId} that remain refundable.`,
          );
        }
        const refundId = newId('re');
        await q.query('INSERT INTO sandbox_refunds (id, idempotency_key, charge_id, amount_milli) VALUES ($1, $2, $3, $4)', [
          refundId,
          req.idempotencyKey,
          req.chargeId,
          req.amountMilli,
        ]);
        await q.query('UPDATE sandbox_charges SET refunded_milli = refunded_milli + $2 WHERE id = $1', [req.chargeId, req.amountMilli]);
        return { refundId };
      });
    },

    async lookupCharge(idempotencyKey: string, { signal }: CallOptions = {}): Promise<ChargeLookup> {
      if (!idempotencyKey) throw new TypeError('lookupCharge: idempotencyKey is required');
      await reachProvider(signal);
      const { rows } = await db.query<ChargeRow>(
        'SELECT id, amount_milli, currency, environment, customer_id, decline_code FROM sandbox_charges WHERE idempotency_key = $1',
        [idempotencyKey],
      );
      const row = rows[0];
      if (!row) return { status: 'not_found' };
      const found = outcome(row.id, row.decline_code);
      return found.status === 'declined' ? found : { ...found, amountMilli: Number(row.amount_milli), currency: row.currency };
    },

    async listCharges(req: ChargeListRequest, { signal }: CallOptions = {}): Promise<ChargePage> {
      const limit = req.limit ?? 100;
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new RangeError(`listCharges: limit must be 1..1000, got ${limit}`);
      await reachProvider(signal);
      const { rows } = await db.query<{
        id: string;
        idempotency_key: string;
        status: 'succeeded' | 'declined';
        amount_milli: string;
        currency: string;
        environment: 'Sandbox' | 'Production';
        refunded_milli: string;
        created_at: Date;
      }>(
        `SELECT id, idempotency_key, status, amount_milli, currency, environment, refunded_milli, created_at FROM sandbox_charges
          WHERE created_at >= $1 AND created_at < $2
            AND ($3::text IS NULL OR (created_at, id) > (SELECT created_at, id FROM sandbox_charges WHERE id = $3))
          ORDER BY created_at, id LIMIT $4`,
        [req.from, req.to, req.startingAfter ?? null, limit + 1],
      );
      return {
        charges: rows.slice(0, limit).map((r) => ({
          id: r.id,
          idempotencyKey: r.idempotency_key,
          status: r.status,
          amountMilli: Number(r.amount_milli),
          currency: r.currency,
          environment: r.environment,
          refundedMilli: Number(r.refunded_milli),
          createdAt: new Date(r.created_at),
        })),
        hasMore: rows.length > limit,
      };
    },
  };
}

function outcome(chargeId: string, declineCode: string | null): ChargeOutcome {
  if (!declineCode) return { status: 'succeeded', chargeId };
  return { status: 'declined', code: declineCode, message: DECLINE_MESSAGES[declineCode] ?? 'The card was declined.' };
}

const newId = (prefix: 'ch' | 're') => `${prefix}_${randomBytes(12).toString('hex')}`;

function checkCharge(req: ChargeRequest) {
  if (!req.idempotencyKey) throw new TypeError('charge: idempotencyKey is required');
  if (!Number.isSafeInteger(req.amountMilli) || req.amountMilli <= 0) {
    throw new RangeError(`charge: amountMilli must be a positive integer, got ${req.amountMilli}`);
  }
  if (!/^[A-Z]{3}$/.test(req.currency)) throw new TypeError(`charge: currency must be an ISO 4217 code, got "${req.currency}"`);
  if (req.environment !== 'Sandbox' && req.environment !== 'Production') {
    throw new TypeError(`charge: environment must be Sandbox or Production, got "${req.environment}"`);
  }
  if (!req.customerId) throw new TypeError('charge: customerId is required');
}

function checkRefund(req: RefundRequest) {
  if (!req.idempotencyKey) throw new TypeError('refund: idempotencyKey is required');
  if (!req.chargeId) throw new TypeError('refund: chargeId is required');
  if (!Number.isSafeInteger(req.amountMilli) || req.amountMilli <= 0) {
    throw new RangeError(`refund: amountMilli must be a positive integer, got ${req.amountMilli}`);
  }
}

interface NewCharge {
  id: string;
  req: ChargeRequest;
  declineCode: string | null;
}

/** Records new charges in one statement; false for a charge whose idempotency key is already in the books. */
async function recordCharges(db: Db, charges: NewCharge[]): Promise<boolean[]> {
  const params: unknown[] = [];
  const values = charges.map(({ id, req, declineCode }) => {
    const cells = [
      id,
      req.idempotencyKey,
      req.amountMilli,
      req.currency,
      req.environment,
      req.customerId,
      req.description,
      declineCode ? 'declined' : 'succeeded',
      declineCode,
    ];
    return `(${cells.map((v) => `$${params.push(v)}`).join(', ')})`;
  });
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO sandbox_charges (id, idempotency_key, amount_milli, currency, environment, customer_id, description, status, decline_code)
     VALUES ${values.join(', ')}
     ON CONFLICT (idempotency_key) DO NOTHING
     RETURNING id`,
    params,
  );
  const inserted = new Set(rows.map((r) => r.id));
  return charges.map((c) => inserted.has(c.id));
}
