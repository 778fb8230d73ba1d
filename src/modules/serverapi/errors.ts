// Errors in the App Store Server API's own format, `{ errorCode, errorMessage }`, so that Apple's client
// libraries report them as they would Apple's (APIException with apiError = errorCode). Services throw the
// platform's domain errors; a code named as in APPLE_ERRORS is answered with Apple's number, and the status
// comes from the same mapping as everywhere else (platform/http). This file is the HTTP layer of /inApps.
import { UnavailableError } from '../../platform/unavailable.ts';
import type { FastifyError, FastifyInstance } from 'fastify';
import { DomainError, invalid, limited, unauthenticated as unauthenticatedError } from '../../platform/errors.ts';
import { AppError, toHttpError, type ForeignErrorFormat } from '../../platform/http/errors.ts';

/** Codes from Apple's APIError enum (app-store-server-library), by name: the domain errors' codes. */
export const APPLE_ERRORS = {
  GENERAL_BAD_REQUEST: 4000000,
  INVALID_REQUEST_REVISION: 4000005,
  INVALID_TRANSACTION_ID: 4000006,
  START_DATE_AFTER_END_DATE: 4000013,
  INVALID_PAGINATION_TOKEN: 4000014,
  INVALID_START_DATE: 4000015,
  INVALID_END_DATE: 4000016,
  INVALID_SORT: 4000021,
  INVALID_PRODUCT_TYPE: 4000022,
  INVALID_IN_APP_OWNERSHIP_TYPE: 4000026,
  INVALID_REVOKED: 4000030,
  INVALID_STATUS: 4000031,
  TEST_NOTIFICATION_NOT_FOUND: 4040008,
  TRANSACTION_ID_NOT_FOUND: 4040010,
  RATE_LIMIT_EXCEEDED: 4290000,
  GENERAL_INTERNAL: 5000000,
  GENERAL_INTERNAL_RETRYABLE: 5000001,
} as const;

/** Apple's number for a domain error: by its code's name; else GENERAL_BAD_REQUEST for bad input, else none (a message alone). */
function appleCodeOf(code: string, status: number): number | null {
  if (Object.hasOwn(APPLE_ERRORS, code)) return APPLE_ERRORS[code as keyof typeof APPLE_ERRORS];
  // Apple documents no code for a 401 (nor for Orchard's own outcomes): the message alone, the library reports the status
  return status === 400 ? APPLE_ERRORS.GENERAL_BAD_REQUEST : null;
}

export const rateLimited = (retryAfterSeconds: number) =>
  limited('RATE_LIMIT_EXCEEDED', `Rate limit exceeded; retry in ${retryAfterSeconds} s.`, retryAfterSeconds);
export const unauthenticated = (why: string) => unauthenticatedError(`Unauthenticated: ${why}`);
export const transactionNotFound = () => new DomainError('not_found', 'TRANSACTION_ID_NOT_FOUND', 'Transaction id not found.');
export const invalidTransactionId = () => invalid('INVALID_TRANSACTION_ID', 'Invalid transaction id.');

/** Which Apple code a failed request field maps to (the rest are GENERAL_BAD_REQUEST). */
const FIELD_ERRORS: Record<string, { code: number; message: string }> = {
  transactionId: { code: APPLE_ERRORS.INVALID_TRANSACTION_ID, message: 'Invalid transaction id.' },
  revision: { code: APPLE_ERRORS.INVALID_REQUEST_REVISION, message: 'Invalid request revision.' },
  startDate: { code: APPLE_ERRORS.INVALID_START_DATE, message: 'Invalid request start date.' },
  endDate: { code: APPLE_ERRORS.INVALID_END_DATE, message: 'Invalid request end date.' },
  sort: { code: APPLE_ERRORS.INVALID_SORT, message: 'Invalid sort parameter; use ASCENDING or DESCENDING.' },
  productType: { code: APPLE_ERRORS.INVALID_PRODUCT_TYPE, message: 'Invalid product type parameter.' },
  inAppOwnershipType: { code: APPLE_ERRORS.INVALID_IN_APP_OWNERSHIP_TYPE, message: 'Invalid in-app ownership type parameter.' },
  revoked: { code: APPLE_ERRORS.INVALID_REVOKED, message: 'Invalid revoked parameter; use true or false.' },
  status: { code: APPLE_ERRORS.INVALID_STATUS, message: 'Invalid status parameter; use 1 to 5.' },
};

interface ValidationIssue {
  instancePath: string;
  params: Record<string, any>;
}

/** Errors raised before an /inApps route runs (unknown path, malformed URL), in Apple's format. */
export const appleErrorFormat: ForeignErrorFormat = {
  prefix: '/inApps/',
  // Apple has no code for an unknown path (nor for 401): the message alone, as its client libraries expect.
  body: (status, _code, message) => (status === 404 ? { errorMessage: message } : { errorCode: APPLE_ERRORS.GENERAL_BAD_REQUEST, errorMessage: message }),
};

/** Both base URLs: Production at the root, Sandbox under /sandbox (see IN_APPS_ENVIRONMENTS). */
export const appleErrorFormats: ForeignErrorFormat[] = [appleErrorFormat, { ...appleErrorFormat, prefix: '/sandbox/inApps/' }];

/** Installed inside the /inApps plugin only: the rest of Orchard keeps its own error shape. */
export function installAppleErrorHandling(app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError & { validation?: ValidationIssue[] }, req, reply) => {
    if (err instanceof DomainError) {
      const { status, headers } = toHttpError(err);
      reply.headers(headers);
      if (status >= 500) {
        // Apple's retryable error code; the status and Retry-After say when, as everywhere else in Orchard
        if (err instanceof UnavailableError) req.log.warn({ dependency: err.dependency, err: err.cause ?? err }, 'dependency unavailable');
        return reply.code(503).send({ errorCode: APPLE_ERRORS.GENERAL_INTERNAL_RETRYABLE, errorMessage: 'The service is temporarily unavailable; retry.' });
      }
      const errorCode = appleCodeOf(err.code, status);
      return reply.code(status).send(errorCode === null ? { errorMessage: err.message } : { errorCode, errorMessage: err.message });
    }
    // Orchard's platform checks (e.g. a NUL character in the request) keep their message, in Apple's shape
    if (err instanceof AppError && err.status < 500) {
      if (err.headers) reply.headers(err.headers);
      return reply
        .code(err.status)
        .send(err.status === 400 ? { errorCode: APPLE_ERRORS.GENERAL_BAD_REQUEST, errorMessage: err.message } : { errorMessage: err.message });
    }
    if (err.validation) {
      const issue = err.validation[0];
      const field = issue?.instancePath.split('/')[1] || issue?.params.missingProperty;
      const known = FIELD_ERRORS[field];
      return reply
        .code(400)
        .send(
          known ? { errorCode: known.code, errorMessage: known.message } : { errorCode: APPLE_ERRORS.GENERAL_BAD_REQUEST, errorMessage: 'Invalid request.' },
        );
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ errorCode: APPLE_ERRORS.GENERAL_BAD_REQUEST, errorMessage: 'Invalid request.' });
    }
    req.log.error({ err }, 'unhandled error');
    return reply.code(500).send({ errorCode: APPLE_ERRORS.GENERAL_INTERNAL, errorMessage: 'An unknown error occurred.' });
  });
}
