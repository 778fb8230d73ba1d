// The payment provider port: what the purchases module needs from whoever moves the money.
// Semantics are Stripe's: one idempotency key never charges (or refunds) twice, a retry with the same
// key returns the first outcome, and a decline is a final answer that must not be retried.
// Money is integer milliunits (990 = 0.99) of an ISO 4217 currency.
// Reconciliation reads the provider's books back: what became of one idempotency key, and the charges of a
// time range (the daily comparison with our orders).
// Adapters: sandbox.ts (books in PostgreSQL, latency and failure injection); resilient.ts wraps any of them
// with timeouts, retries and a circuit breaker.
import { DomainError } from '../../../platform/errors.ts';

export type PaymentEnvironment = 'Sandbox' | 'Production';

export interface ChargeRequest {
  idempotencyKey: string;
  amountMilli: number;
  currency: string;
  environment: PaymentEnvironment;
  customerId: string;
  description: string;
}

export type ChargeOutcome = { status: 'succeeded'; chargeId: string } | { status: 'declined'; code: string; message: string };

export interface RefundRequest {
  chargeId: string;
  amountMilli: number;
  idempotencyKey: string;
}

export interface CallOptions {
  /**
   * Aborted when the caller stops waiting (a per-attempt timeout). A provider that gives up because of it
   * throws ProviderUnavailableError; one that already recorded the charge returns the outcome instead.
   */
  signal?: AbortSignal;
}

/** What the provider's books say about one idempotency key. */
export type ChargeLookup =
  | { status: 'succeeded'; chargeId: string; amountMilli: number; currency: string }
  | { status: 'declined'; code: string; message: string }
  | { status: 'not_found' };

/** A charge as the provider lists it. */
export interface ProviderCharge {
  id: string;
  idempotencyKey: string;
  status: 'succeeded' | 'declined';
  amountMilli: number;
  currency: string;
  environment: PaymentEnvironment;
  refundedMilli: number;
  createdAt: Date;
}

export interface ChargeListRequest {
  /** Charges created at or after this instant and before `to`. */
  from: Date;
  to: Date;
  /** The last charge id of the previous page (pages go oldest first). */
  startingAfter?: string;
  /** Page size: default 100, at most 1000. */
  limit?: number;
}

export interface ChargePage {
  charges: ProviderCharge[];
  hasMore: boolean;
}

export interface PaymentProvider {
  readonly name: string;
  charge(req: ChargeRequest, options?: CallOptions): Promise<ChargeOutcome>;
  /** Throws RefundRejectedError when the refund can never succeed (unknown charge, more than remains). */
  refund(req: RefundRequest, options?: CallOptions): Promise<{ refundId: string }>;
  /** The outcome of the charge made with this idempotency key, or not_found when none was ever recorded. */
  lookupCharge(idempotencyKey: string, options?: CallOptions): Promise<ChargeLookup>;
  /** Charges (succeeded and declined) created in [from, to), a page at a time (Stripe's list with starting_after). */
  listCharges(req: ChargeListRequest, options?: CallOptions): Promise<ChargePage>;
}

/** Outage, timeout, 5xx-like: nothing is known to have happened; safe to retry with the same idempotency key. */
export class ProviderUnavailableError extends Error {
  override name = 'ProviderUnavailableError';
}

/** The same idempotency key was sent with different parameters: a caller bug, never retried. */
export class IdempotencyKeyReusedError extends Error {
  override name = 'IdempotencyKeyReusedError';
}

export type RefundRejection = 'charge_not_found' | 'charge_not_refundable' | 'amount_too_large';

/** A final answer to a refund: retrying it changes nothing. */
export class RefundRejectedError extends Error {
  override name = 'RefundRejectedError';
  constructor(
    readonly code: RefundRejection,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The provider cannot be reached now (circuit open, or every attempt failed as unavailable): no charge was
 * confirmed. Retrying later with the same idempotency key is safe. Reaching the HTTP layer, it becomes 503
 * with Retry-After.
 */
export class PaymentsUnavailableError extends DomainError {
  override name = 'PaymentsUnavailableError';
  declare readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number, cause?: unknown) {
    super(
      'unavailable',
      'PAYMENTS_UNAVAILABLE',
      `Payments are unavailable right now. Retry in ${retryAfterSeconds} s with the same Idempotency-Key: it can never charge twice.`,
      { details: { retryAfterSeconds }, retryAfterSeconds, cause },
    );
  }
}
