// Any PaymentProvider made safe to call on the purchase path. A charge or refund is a few attempts within a time
// budget: each attempt has its own timeout, only "unavailable" is retried (safe: every attempt reuses the idempotency
// key), and a circuit breaker stops calling a provider that is down. Declines are answers, not failures: they pass
// straight through. Lookups and listings (reconciliation, off the purchase path) get a timeout only.
//
// The breaker sees whole calls, after their retries, not attempts. Retries are there to absorb transient failures:
// with half of all attempts failing, 3 attempts leave 12.5% of calls failed. A breaker counting attempts opened on
// runs of failures that the retries were absorbing, and turned that partial failure into a total one (issue 17:
// 5.5% of purchases went through). A provider that is really down fails whole calls, and that is what it must see.
// It opens on either of:
//   - a failure rate: more than breakerThreshold of the calls over breakerWindowMs failed, once there are at least
//     breakerMinimumRps calls a second to judge by (cockatiel's SamplingBreaker): a provider failing most calls;
//   - silence: breakerConsecutiveFailures failed calls in a row during which the provider answered no call at all.
//     That is an outage, and it is seen after a few calls whatever the traffic. A partial failure does not look
//     like it: other calls get answers meanwhile, and calls slowed down to their timeout, which all fail together
//     at the end of their budget, had answers around them too. Alone, at low traffic, a partial failure gets there
//     rarely (0.125^4 = 0.02% of calls at 50%) and then costs a few calls.
// Once the circuit is not closed, calls make one attempt: a half-open probe is a single attempt, and calls in flight
// when it opens stop retrying, so a full outage is a fast 503 for everyone instead of a full budget each.
//
// Attempt timeouts are cooperative: the provider is handed an AbortSignal and stops itself (a charge it already
// recorded is returned, never dropped), so the budget holds for providers that honour it.
import { BrokenCircuitError, CircuitState, SamplingBreaker, TaskCancelledError, circuitBreaker, handleType, type IBreaker } from 'cockatiel';
import { setTimeout as sleep } from 'node:timers/promises';
import { Gauge } from 'prom-client';
import type { Metrics } from '../../../platform/observability/metrics.ts';
import { PaymentsUnavailableError, ProviderUnavailableError, type CallOptions, type PaymentProvider } from './index.ts';

export interface ResilienceOptions {
  /** Per attempt. Default 2000. */
  attemptTimeoutMs?: number;
  /** Attempts after the first, for ProviderUnavailableError (timeouts included) only. Default 2. */
  retries?: number;
  /** No attempt runs past this much time from the start of the call. Default 5000. */
  budgetMs?: number;
  /** First backoff delay; later ones double, with jitter, up to maxBackoffMs. Default 100. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Share of failed calls (0..1, exclusive) over the window that opens the circuit when busy. Default 0.5. */
  breakerThreshold?: number;
  /** The sliding window of the failure rate. Default 10 000. */
  breakerWindowMs?: number;
  /** Calls a second over the window below which the failure rate is not used (too few calls). Default 2. */
  breakerMinimumRps?: number;
  /** Failed calls in a row, with no answer to any call while they ran, that open the circuit. Default 4. */
  breakerConsecutiveFailures?: number;
  /** How long the circuit stays open before one probe attempt is let through. Default 10 000. */
  halfOpenAfterMs?: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface ResilientPaymentProvider extends PaymentProvider {
  /** For /ready and metrics. */
  state(): BreakerState;
}

const BREAKER_STATES: BreakerState[] = ['closed', 'open', 'half-open'];
const breakerGauges = new WeakSet<Metrics>();

/** orchard_payment_breaker_state{state}: 1 for the state the circuit is in now, 0 for the other two. Once per registry. */
export function registerBreakerGauge(metrics: Metrics, provider: PaymentProvider): void {
  if (!isResilient(provider) || breakerGauges.has(metrics)) return;
  breakerGauges.add(metrics);
  new Gauge({
    name: 'orchard_payment_breaker_state',
    help: "The payment provider's circuit breaker in this process: 1 for its state now (closed, open: charges and refunds fail fast with 503, half-open: one probe)",
    labelNames: ['state'],
    registers: [metrics.registry],
    collect() {
      const now = provider.state();
      for (const state of BREAKER_STATES) this.set({ state }, state === now ? 1 : 0);
    },
  });
}

function isResilient(provider: PaymentProvider): provider is ResilientPaymentProvider {
  return typeof (provider as Partial<ResilientPaymentProvider>).state === 'function';
}

const DEFAULTS: Required<ResilienceOptions> = {
  attemptTimeoutMs: 2_000,
  retries: 2,
  budgetMs: 5_000,
  initialBackoffMs: 100,
  maxBackoffMs: 1_000,
  breakerThreshold: 0.5,
  breakerWindowMs: 10_000,
  breakerMinimumRps: 2,
  breakerConsecutiveFailures: 4,
  halfOpenAfterMs: 10_000,
};

/**
 * Throws PaymentsUnavailableError (with retryAfterSeconds) when the circuit is open or no attempt found the
 * provider available; anything else the provider throws or returns comes through unchanged.
 */
export function withResilience(provider: PaymentProvider, opts: ResilienceOptions = {}): ResilientPaymentProvider {
  const o = { ...DEFAULTS, ...opts };
  const outage = new OutageBreaker(o);
  const breaker = circuitBreaker(handleType(ProviderUnavailableError), { halfOpenAfter: o.halfOpenAfterMs, breaker: outage });

  let openedAt = 0;
  breaker.onBreak(() => {
    openedAt = Date.now();
  });
  const retryAfterSeconds = () => (breaker.state === CircuitState.Open ? Math.max(1, Math.ceil((openedAt + o.halfOpenAfterMs - Date.now()) / 1000)) : 1);

  const backoffMs = (attempt: number) => {
    const base = Math.min(o.maxBackoffMs, o.initialBackoffMs * 2 ** (attempt - 1));
    return base / 2 + Math.random() * (base / 2);
  };

  /** Attempts until one gets an answer, the retries or the budget run out, or the circuit leaves the closed state. */
  async function attempts<T>(call: (signal: AbortSignal) => Promise<T>, callerSignal: AbortSignal | undefined): Promise<T> {
    const startedAt = performance.now();
    const deadline = Date.now() + o.budgetMs;
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await withTimeout(call, Math.min(o.attemptTimeoutMs, deadline - Date.now()), callerSignal);
        outage.answered();
        return result;
      } catch (err) {
        if (!(err instanceof ProviderUnavailableError)) {
          outage.answered(); // a refusal (refund rejected, key reused) is an answer too
          throw err;
        }
        const delay = backoffMs(attempt);
        const retry =
          attempt <= o.retries && breaker.state === CircuitState.Closed && !callerSignal?.aborted && deadline - Date.now() - delay >= o.attemptTimeoutMs / 2; // an attempt with less time left is likely wasted
        if (retry) await sleep(delay);
        if (!retry || breaker.state !== CircuitState.Closed) {
          outage.failedCall(startedAt);
          throw err;
        }
      }
    }
  }

  function unavailable(err: unknown): unknown {
    const gone = err instanceof BrokenCircuitError || err instanceof ProviderUnavailableError || err instanceof TaskCancelledError;
    return gone ? new PaymentsUnavailableError(retryAfterSeconds(), err) : err;
  }

  /** Charges and refunds: attempts within the budget, behind the breaker. */
  async function guarded<T>(call: (signal: AbortSignal) => Promise<T>, callerSignal: AbortSignal | undefined): Promise<T> {
    try {
      return await breaker.execute(() => attempts(call, callerSignal), callerSignal);
    } catch (err) {
      throw unavailable(err);
    }
  }

  /** Lookups and listings: one attempt with a timeout. The reconciler tries again on its next pass. */
  async function once<T>(call: (signal: AbortSignal) => Promise<T>, callerSignal: AbortSignal | undefined): Promise<T> {
    try {
      return await withTimeout(call, o.attemptTimeoutMs, callerSignal);
    } catch (err) {
      throw unavailable(err);
    }
  }

  return {
    name: provider.name,
    charge: (req, { signal }: CallOptions = {}) => guarded((s) => provider.charge(req, { signal: s }), signal),
    refund: (req, { signal }: CallOptions = {}) => guarded((s) => provider.refund(req, { signal: s }), signal),
    lookupCharge: (key, { signal }: CallOptions = {}) => once((s) => provider.lookupCharge(key, { signal: s }), signal),
    listCharges: (req, { signal }: CallOptions = {}) => once((s) => provider.listCharges(req, { signal: s }), signal),
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

async function withTimeout<T>(call: (signal: AbortSignal) => Promise<T>, ms: number, callerSignal: AbortSignal | undefined): Promise<T> {
  const timer = new AbortController();
  const handle = setTimeout(() => timer.abort(), Math.max(0, ms));
  try {
    return await call(callerSignal ? AbortSignal.any([timer.signal, callerSignal]) : timer.signal);
  } finally {
    clearTimeout(handle);
  }
}

/** Opens on the failure rate of whole calls, or on failed calls in a row while the provider answered nobody (see the header). */
class OutageBreaker implements IBreaker {
  private readonly sampling: SamplingBreaker;
  private readonly silenceLimit: number;
  private lastAnswerAt = -Infinity;
  /** Failed calls in a row during which no call got an answer. */
  private silent = 0;

  constructor(o: Required<ResilienceOptions>) {
    this.sampling = new SamplingBreaker({ threshold: o.breakerThreshold, duration: o.breakerWindowMs, minimumRps: o.breakerMinimumRps });
    this.silenceLimit = o.breakerConsecutiveFailures;
  }

  /** An attempt got an answer (a decline or a refusal included). */
  answered(): void {
    this.lastAnswerAt = performance.now();
    this.silent = 0;
  }

  /** A call gave up (reported just before the policy calls failure()); started at performance.now() = startedAt. */
  failedCall(startedAt: number): void {
    if (this.lastAnswerAt < startedAt) this.silent++;
  }

  get state(): unknown {
    return { sampling: this.sampling.state, silent: this.silent };
  }

  set state(value: unknown) {
    const v = value as { sampling: unknown; silent: number };
    this.sampling.state = v.sampling;
    this.silent = v.silent;
  }

  success(state: CircuitState): void {
    this.sampling.success(state);
  }

  failure(state: CircuitState): boolean {
    const byRate = this.sampling.failure(state); // true as well when a half-open probe failed
    return byRate || this.silent >= this.silenceLimit;
  }
}
