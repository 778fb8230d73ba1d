// A dependency (the database, the broker, a payment provider) cannot serve right now: nothing was done,
// and the same request may be retried later. Services throw it (or let the adapters' throws through);
// platform/http turns it into 503 with Retry-After, never a 500.
import { DomainError } from './errors.ts';

export class UnavailableError extends DomainError {
  override name = 'UnavailableError';
  declare readonly code: 'SERVICE_UNAVAILABLE';
  declare readonly retryAfterSeconds: number;
  constructor(
    readonly dependency: string,
    retryAfterSeconds: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('unavailable', 'SERVICE_UNAVAILABLE', message, { details: { dependency, retryAfterSeconds }, retryAfterSeconds, cause: options?.cause });
  }
}
