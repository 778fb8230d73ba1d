// Any PaymentProvider made safe to call on the purchase path: a timeout per attempt, retries with backoff
// for "unavailable" only (safe: every attempt reuses the idempotency key), and a circuit breaker that stops
// calling a provider that keeps failing. Declines are answers, not failures: they pass straight through.
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  TaskCancelledError,
  TimeoutStrategy,
  circuitBreaker,
  handleType,
  retry,
  timeout,
  wrap,
} from 'cockatiel';
import { PaymentsUnavailableError, ProviderUnavailableError, type CallOptions, type PaymentProvider } from './index.ts';

export interface ResilienceOptions {
  /** Per attempt; cooperative: the provider is handed an AbortSignal and stops itself. Default 2000. */
  attemptTimeoutMs?: number;
  /** Attempts after the first, for ProviderUnavailableError and timeouts only. Default 2. */
  retries?: number;
  /** First backoff delay; later ones grow exponentially, with jitter. Default 100. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Consecutive failed attempts (in any calls) that open the circuit. Default 5. */
  breakerThreshold?: number;
  /** How long the circuit stays open before one probe call is let through. Default 10 000. */
  halfOpenAfterMs?: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface ResilientPaymentProvider extends PaymentProvider {
  /** For /ready and metrics. */
  state(): BreakerState;
}

const DEFAULTS: Required<ResilienceOptions> = {
  attemptTimeoutMs: 2_000,
  retries: 2,
  initialBackoffMs: 100,
  maxBackoffMs: 2_000,
  breakerThreshold: 5,
  halfOpenAfterMs: 10_000,
};

/**
 * Throws PaymentsUnavailableError (with retryAfterSeconds) when the circuit is open or every attempt found
 * the provider unavailable; anything else the provider throws or returns comes through unchanged.
 */
export function withResilience(provider: PaymentProvider, opts: ResilienceOptions = {}): ResilientPaymentProvider {
  const o = { ...DEFAULTS, ...opts };
  // TaskCancelledError: cockatiel's own, when an attempt is cancelled inside the breaker.
  const unavailable = handleType(ProviderUnavailableError).orType(TaskCancelledError);
  const breaker = circuitBreaker(unavailable, {
    halfOpenAfter: o.halfOpenAfterMs,
    breaker: new ConsecutiveBreaker(o.breakerThreshold),
  });
  // Retry outside the breaker: each attempt counts towards opening it, and an open circuit ends the retries
  // at once (BrokenCircuitError is not retried).
  const policy = wrap(
    retry(unavailable, {
      maxAttempts: o.retries,
      backoff: new ExponentialBackoff({ initialDelay: o.initialBackoffMs, maxDelay: o.maxBackoffMs }),
    }),
    breaker,
    timeout(o.attemptTimeoutMs, TimeoutStrategy.Cooperative),
  );

  let openedAt = 0;
  breaker.onBreak(() => {
    openedAt = Date.now();
  });
  const retryAfterSeconds = () =>
    breaker.state === CircuitState.Open ? Math.max(1, Math.ceil((openedAt + o.halfOpenAfterMs - Date.now()) / 1000)) : 1;

  async function run<T>(call: (signal: AbortSignal) => Promise<T>, callerSignal: AbortSignal | undefined): Promise<T> {
    try {
      return await policy.execute(({ signal }) => call(signal), callerSignal);
    } catch (err) {
      if (err instanceof BrokenCircuitError || err instanceof ProviderUnavailableError || err instanceof TaskCancelledError) {
        throw new PaymentsUnavailableError(retryAfterSeconds(), err);
      }
      throw err;
    }
  }

  return {
    name: provider.name,
    charge: (req, { signal }: CallOptions = {}) => run((attemptSignal) => provider.charge(req, { signal: attemptSignal }), signal),
    refund: (req, { signal }: CallOptions = {}) => run((attemptSignal) => provider.refund(req, { signal: attemptSignal }), signal),
    state() {
      switch (breaker.state) {
        case CircuitState.Closed:
          return 'closed';
        case CircuitState.HalfOpen:
          return 'half-open';
        default:
          return 'open'; // Open, or Isolated (held open by hand)
      }
    },
  };
}
