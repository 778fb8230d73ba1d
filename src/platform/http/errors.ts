import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type ErrorKind } from '../errors.ts';
import { UnavailableError } from '../unavailable.ts';

/** The one mapping from a service's outcome to HTTP: its kind decides the status. */
const STATUS: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  payment_declined: 402,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  gone: 410,
  stale: 412,
  too_large: 413,
  rejected: 422,
  limited: 429,
  unavailable: 503,
};

/** A domain error as an HTTP answer: status, headers (Retry-After when it says when) and Orchard's JSON shape. */
export function toHttpError(err: DomainError): {
  status: number;
  headers: Record<string, string>;
  body: { error: { code: string; message: string; details?: unknown } };
} {
  const headers: Record<string, string> = {};
  if (err.retryAfterSeconds !== undefined) headers['retry-after'] = String(err.retryAfterSeconds);
  // an over-large upload was not read to its end: the connection cannot carry another request
  if (err.kind === 'too_large') headers.connection = 'close';
  return { status: STATUS[err.kind], headers, body: { error: { code: err.code, message: err.message, details: err.details } } };
}

/**
 * An error decided by the HTTP layer itself (route files, platform/http: a missing header, a malformed
 * Authorization ...): `{ error: { code, message, details? } }` with its status. Services throw DomainError.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
} as const;

interface AjvIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, any>;
}

function describeIssue(context: string, issue: AjvIssue): { path: string; message: string } {
  const path = `${context}${issue.instancePath.replace(/\//g, '.')}`;
  switch (issue.keyword) {
    case 'additionalProperties':
      return { path, message: `${path} has unknown field '${issue.params.additionalProperty}'` };
    case 'required':
      return { path, message: `${path} is missing required field '${issue.params.missingProperty}'` };
    case 'enum':
      return { path, message: `${path} must be one of: ${(issue.params.allowedValues as unknown[]).join(', ')}` };
    default:
      return { path, message: `${path} ${issue.message ?? 'is invalid'}` };
  }
}

const FASTIFY_CODES: Record<string, { status: number; code: string; message: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'INVALID_JSON', message: 'The body is not valid JSON.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'INVALID_JSON', message: 'The body is empty but Content-Type is application/json.' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'BODY_TOO_LARGE', message: 'The body is larger than this route accepts.' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'This Content-Type is not accepted here.' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'BAD_CONTENT_LENGTH', message: 'Content-Length does not match the body.' },
  FST_ERR_CTP_INVALID_TYPE: { status: 400, code: 'BAD_CONTENT_TYPE', message: 'The Content-Type header is malformed.' },
  FST_ERR_BAD_URL: { status: 400, code: 'BAD_URL', message: 'The URL is malformed (check its percent-encoding).' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, code: 'URI_TOO_LONG', message: 'A path segment of the URL is too long.' },
  FST_ERR_ASYNC_CONSTRAINT: { status: 400, code: 'BAD_REQUEST', message: 'The request does not match any route.' },
};

/**
 * Paths that speak another API's error format (e.g. Apple's App Store Server API under /inApps/), supplied
 * by the module that owns them. Used for the errors raised before any route of that module runs.
 */
export interface ForeignErrorFormat {
  prefix: string;
  /** code: one of ours (BAD_REQUEST, URI_TOO_LONG, ROUTE_NOT_FOUND, ...), to map to the foreign one. */
  body(status: number, code: string, message: string): unknown;
}

/** Errors the router raises before a route is chosen (bad URL encoding, over-long path segments). */
export function frameworkErrorReply(formats: ForeignErrorFormat[] = []) {
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    const known = FASTIFY_CODES[err.code] ?? { status: 400, code: 'BAD_REQUEST', message: 'The request is malformed.' };
    reply.code(known.status).send(errorBody(formats, req.url, known.status, known.code, known.message));
  };
}

function errorBody(formats: ForeignErrorFormat[], url: string, status: number, code: string, message: string): unknown {
  const foreign = formats.find((f) => url.startsWith(f.prefix));
  return foreign ? foreign.body(status, code, message) : { error: { code, message } };
}

/** One error shape everywhere; nothing internal leaks from unexpected errors. */
export function installErrorHandling(app: FastifyInstance, formats: ForeignErrorFormat[] = []) {
  app.setErrorHandler((err: FastifyError & { validation?: AjvIssue[]; validationContext?: string }, req, reply) => {
    if (err instanceof DomainError) {
      if (err instanceof UnavailableError) req.log.warn({ dependency: err.dependency, err: err.cause ?? err }, 'dependency unavailable');
      const http = toHttpError(err);
      return reply.code(http.status).headers(http.headers).send(http.body);
    }
    if (err instanceof AppError) {
      if (err.headers) reply.headers(err.headers);
      return reply.code(err.status).send({ error: { code: err.code, message: err.message, details: err.details } });
    }
    if (err.validation) {
      const issues = err.validation.map((i) => describeIssue(err.validationContext ?? 'request', i));
      return reply.code(400).send({
        error: { code: 'VALIDATION_FAILED', message: issues.map((i) => i.message).join('; '), details: issues },
      });
    }
    const known = err.code ? FASTIFY_CODES[err.code] : undefined;
    if (known) return reply.code(known.status).send({ error: { code: known.code, message: known.message } });
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ error: { code: 'BAD_REQUEST', message: err.message } });
    }
    req.log.error({ err }, 'unhandled error');
    return reply.code(500).send({ error: { code: 'INTERNAL', message: 'Something went wrong on our side; it has been logged.' } });
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(errorBody(formats, req.url, 404, 'ROUTE_NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]}`));
  });
}
