// HTTP of engagement: developers' SDK keys (session auth, developer role) and the SDK's ingestion endpoint (SDK
// key auth: the key names the app). Thin and schema-first; the rules live in EngagementService (engagement.ts).
// Registered under /api/v1.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static, type TSchema } from 'typebox';
import type { Cache } from '../../platform/cache/index.ts';
import { principalOf, type Guards } from '../../platform/http/auth.ts';
import { AppError } from '../../platform/http/errors.ts';
import { hit, type Limit } from '../../platform/http/rate-limit.ts';
import type { EngagementService, SdkKeyRef } from './engagement.ts';

// ==================================================================== schemas

/** Sessions per batch. */
export const MAX_BATCH_SESSIONS = 500;
/** A batch's body (500 sessions of ~300 bytes, install tokens included, fit with room to spare). */
export const BATCH_BODY_LIMIT_BYTES = 256 * 1024;
/** Install tokens are 94 characters; anything much longer is not one (a 400, not a refusal). */
export const MAX_INSTALL_TOKEN_CHARS = 128;
/** Why a session was refused (and the label of orchard_engagement_sessions_refused_total). */
export const REFUSAL_REASONS = ['missing', 'invalid_token', 'wrong_app', 'expired', 'before_download', 'over_daily_cap'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Uuid = Type.String({ format: 'uuid' });
const Timestamp = Type.String({ format: 'date-time' });
const SdkId = (what: string) => Type.String({ minLength: 8, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: `${what}: 8 to 64 of A-Z a-z 0-9 _ -` });

export const ErrorBody = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }),
});
const NoContent = Type.Null({ description: 'No content' });

export const AppParams = Type.Object({ id: Uuid });
export const KeyParams = Type.Object({ id: Uuid, keyId: Uuid });

export const NewSdkKey = Type.Object({
  id: Uuid,
  key: Type.String({ description: 'the secret ("osk_..."): shown this once, only its hash is kept' }),
  createdAt: Timestamp,
});
export const SdkKey = Type.Object({
  id: Uuid,
  createdAt: Timestamp,
  lastUsedAt: Nullable(Timestamp),
  revokedAt: Nullable(Timestamp),
});
export const SdkKeyList = Type.Object({ items: Type.Array(SdkKey) });

export const Session = Type.Object(
  {
    sessionId: SdkId("the SDK's id of the session (a replayed session is counted once)"),
    installId: Type.Optional(SdkId("the SDK's own id of the install: no longer used (the install token's install id is the install), still accepted")),
    installToken: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: MAX_INSTALL_TOKEN_CHARS,
        description:
          'the installToken of the download this install came from (POST /api/v1/apps/:id/download); a session without a valid token of this app is refused (refusals)',
      }),
    ),
    country: Type.String({ pattern: '^[A-Z]{2}$', description: "the device's storefront, ISO 3166-1 alpha-2 (an Orchard storefront)" }),
    startedAt: Type.String({ format: 'date-time', description: 'ISO 8601; at most 5 minutes ahead, at most 30 days old' }),
    durationSeconds: Type.Integer({ minimum: 0, maximum: 86_400 }),
  },
  { additionalProperties: false },
);
export type SessionInput = Static<typeof Session>;

export const Batch = Type.Object({ sessions: Type.Array(Session, { minItems: 1, maxItems: MAX_BATCH_SESSIONS }) }, { additionalProperties: false });
export const IngestAnswer = Type.Object({
  accepted: Type.Integer({ description: 'sessions stored by this batch' }),
  duplicates: Type.Integer({ description: 'sessions already stored (a replay), ignored' }),
  refused: Type.Integer({
    description:
      "sessions not counted: no valid install token of this app, dated before its download, or past the install's daily cap (the rest of the batch is stored)",
  }),
  refusals: Type.Array(
    Type.Object({
      index: Type.Integer({ minimum: 0, description: 'the position of the session in the batch' }),
      reason: Type.Enum([...REFUSAL_REASONS], {
        description:
          'missing: no installToken | invalid_token: not one this store issued, or altered | wrong_app: a token of another app | expired: older than 400 days | ' +
          'before_download: started before the download its token came from | over_daily_cap: past what one install may report a day (sessions or minutes)',
      }),
    }),
    { description: 'each refused session, in batch order' },
  ),
});

// ==================================================================== routes

const errors = { '4xx': ErrorBody };
const security = [{ session: [] }];

export function engagementRoutes(service: EngagementService, cache: Cache, limit: Limit): FastifyPluginAsync<{ guards: Guards }> {
  return async (app, { guards }) => {
    await app.register(keyRoutes, { guards, service });
    await app.register(ingestRoutes, { service, cache, limit });
  };
}

const keyRoutes: FastifyPluginAsyncTypebox<{ guards: Guards; service: EngagementService }> = async (app, { guards, service }) => {
  app.addHook('onRequest', guards.role('developer'));
  const tags = ['engagement: developer'];

  app.post(
    '/developer/apps/:id/sdk-keys',
    {
      schema: {
        tags,
        security,
        summary: `A new SDK ingestion key of my app: the secret is in this answer only (409 TOO_MANY_SDK_KEYS past 5 active keys)`,
        params: AppParams,
        response: { 201: NewSdkKey, ...errors },
      },
    },
    async (req, reply) => reply.code(201).send(await service.createKey(principalOf(req), req.params.id)),
  );

  app.get(
    '/developer/apps/:id/sdk-keys',
    {
      schema: {
        tags,
        security,
        summary: "My app's SDK keys, without secrets: active ones first, then revoked ones",
        params: AppParams,
        response: { 200: SdkKeyList, ...errors },
      },
    },
    async (req) => ({ items: await service.listKeys(principalOf(req), req.params.id) }),
  );

  app.delete(
    '/developer/apps/:id/sdk-keys/:keyId',
    {
      schema: {
        tags,
        security,
        summary: 'Revoke an SDK key: batches sent with it are refused from now on',
        params: KeyParams,
        response: { 204: NoContent, ...errors },
      },
    },
    async (req, reply) => {
      await service.revokeKey(principalOf(req), req.params.id, req.params.keyId);
      return reply.code(204).send(null);
    },
  );
};

const ingestRoutes: FastifyPluginAsyncTypebox<{ service: EngagementService; cache: Cache; limit: Limit }> = async (app, { service, cache, limit }) => {
  const keys = new WeakMap<FastifyRequest, SdkKeyRef>();

  // Before the body is read: unknown callers never make us parse 256 KiB, and each key has its own budget.
  app.addHook('onRequest', async (req) => {
    const header = req.headers.authorization;
    if (!header) throw new AppError(401, 'UNAUTHENTICATED', "Send the app's SDK key: Authorization: Bearer osk_...");
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    const key = m ? await service.authenticate(m[1]) : null;
    if (!key)
      throw new AppError(
        401,
        'INVALID_SDK_KEY',
        'The SDK key is unknown or revoked: use an active key from the developer console (Authorization: Bearer osk_...).',
      );
    await hit(cache, limit, key.keyId);
    keys.set(req, key);
  });

  app.post(
    '/sdk/engagement',
    {
      bodyLimit: BATCH_BODY_LIMIT_BYTES,
      schema: {
        tags: ['engagement: sdk'],
        summary:
          `Report app sessions (the app's SDK; Authorization: Bearer <SDK key>). 1 to ${MAX_BATCH_SESSIONS} sessions, body at most 256 KiB; ` +
          'a session already reported is counted once (duplicates); a session without a valid install token of this app (from a real download) is refused and ' +
          'listed in refusals while the rest is stored. 401 for an unknown or revoked key, 429 past the per-key rate',
        body: Batch,
        response: { 202: IngestAnswer, ...errors },
      },
    },
    async (req, reply) => reply.code(202).send(await service.ingest(keys.get(req)!, req.body.sessions)),
  );
};
