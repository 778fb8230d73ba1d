// Expected outcomes that stop a request, as services report them: a stable code (ALREADY_PURCHASED,
// NOT_FOUND, PRECONDITION_FAILED ...), a message that tells the caller what to do, optional details, and
// the *kind* of outcome. No HTTP here: platform/http turns the kind into a status and the JSON error shape
// (the /inApps API into Apple's format), web/ into a page. Anything else thrown is unexpected: a 500.

export type ErrorKind =
  | 'invalid' // bad input the request schema cannot express
  | 'unauthenticated' // who is asking is unknown (or the credentials are wrong)
  | 'forbidden' // known, but not allowed to do this
  | 'not_found' // no such thing, or not one the caller may see
  | 'conflict' // the current state forbids it (already done, in progress, taken ...)
  | 'gone' // it existed and is no longer available
  | 'stale' // the caller's copy is out of date (optimistic concurrency)
  | 'too_large' // the input is larger than accepted
  | 'rejected' // well-formed, but a business rule refuses it
  | 'payment_declined' // the payment provider refused the charge
  | 'limited' // too many attempts: retry after retryAfterSeconds
  | 'unavailable'; // a dependency cannot serve now: nothing was done, retry later

export interface DomainErrorOptions {
  details?: unknown;
  /** When trying again makes sense (sent as Retry-After over HTTP). */
  retryAfterSeconds?: number;
  cause?: unknown;
}

export class DomainError extends Error {
  override name = 'DomainError';
  readonly details?: unknown;
  readonly retryAfterSeconds?: number;
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    options: DomainErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export const notFound = (what: string) => new DomainError('not_found', 'NOT_FOUND', `${what} not found`);
export const invalid = (code: string, message: string, details?: unknown) => new DomainError('invalid', code, message, { details });
export const unauthenticated = (message: string, code = 'UNAUTHENTICATED') => new DomainError('unauthenticated', code, message);
export const forbidden = (code: string, message: string, details?: unknown) => new DomainError('forbidden', code, message, { details });
export const conflict = (code: string, message: string, details?: unknown) => new DomainError('conflict', code, message, { details });
export const gone = (code: string, message: string, details?: unknown) => new DomainError('gone', code, message, { details });
export const stale = (code: string, message: string, details?: unknown) => new DomainError('stale', code, message, { details });
export const tooLarge = (code: string, message: string, details?: unknown) => new DomainError('too_large', code, message, { details });
export const rejected = (code: string, message: string, details?: unknown) => new DomainError('rejected', code, message, { details });
export const declined = (code: string, message: string, details?: unknown) => new DomainError('payment_declined', code, message, { details });
export const limited = (code: string, message: string, retryAfterSeconds: number) => new DomainError('limited', code, message, { retryAfterSeconds });
/** A dependency of this request cannot serve now (see also UnavailableError, for the platform's ports). */
export const unavailable = (code: string, message: string, retryAfterSeconds?: number) => new DomainError('unavailable', code, message, { retryAfterSeconds });
