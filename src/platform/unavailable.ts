// A dependency (the database, the broker, a payment provider) cannot serve right now: nothing was done,
// and the same request may be retried later. Services throw it (or let the adapters' throws through);
// platform/http turns it into 503 with Retry-After, never a 500.
export class UnavailableError extends Error {
  override name = 'UnavailableError';
  readonly code = 'SERVICE_UNAVAILABLE';
  constructor(
    readonly dependency: string,
    readonly retryAfterSeconds: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
