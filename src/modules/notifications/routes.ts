// HTTP: a developer sets their app's notification URL (under /api/v1, session auth), and Apple's
// notification endpoints of the App Store Server API (under /inApps and /sandbox/inApps, no prefix, API-key JWT,
// Apple's errors).
import type { FastifyPluginAsync } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf, type Guards } from '../../platform/http/auth.ts';
import { inAppsPlugin, type InAppsAuthenticate } from '../serverapi/index.ts';
import type { NotificationsService } from './service.ts';

const ErrorBody = Type.Object({ error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }) });
const AppleErrorBody = Type.Object({ errorCode: Type.Optional(Type.Integer()), errorMessage: Type.String() });
const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const UrlBody = Type.Object({ url: Type.String({ minLength: 1, maxLength: 2000, pattern: '^[Hh][Tt][Tt][Pp][Ss]?://' }) }, { additionalProperties: false });
const UrlSettings = Type.Object({
  url: Type.String(),
  appAppleId: Type.Integer({ description: "the appAppleId in every notification's data (give it to SignedDataVerifier)" }),
});

const SendAttempt = Type.Object({ attemptDate: Type.Integer(), sendAttemptResult: Type.String() });
const HistoryBody = Type.Object({
  startDate: Type.Integer({ minimum: 0 }),
  endDate: Type.Integer({ minimum: 0 }),
  notificationType: Type.Optional(Type.String({ maxLength: 64 })),
  notificationSubtype: Type.Optional(Type.String({ maxLength: 64 })),
  transactionId: Type.Optional(Type.String({ maxLength: 19 })),
  onlyFailures: Type.Optional(Type.Boolean()),
});
const HistoryQuery = Type.Object({ paginationToken: Type.Optional(Type.String({ maxLength: 64 })) });
const HistoryResponse = Type.Object({
  notificationHistory: Type.Array(Type.Object({ signedPayload: Type.String(), sendAttempts: Type.Array(SendAttempt) })),
  hasMore: Type.Boolean(),
  paginationToken: Type.Optional(Type.String()),
});
const TokenParams = Type.Object({ token: Type.String({ minLength: 1, maxLength: 128 }) });
const TestResponse = Type.Object({ testNotificationToken: Type.String() });
const CheckTestResponse = Type.Object({ signedPayload: Type.String(), sendAttempts: Type.Array(SendAttempt) });

export function urlRoutes(service: NotificationsService): FastifyPluginAsync<{ guards: Guards }> {
  const routes: FastifyPluginAsyncTypebox<{ guards: Guards }> = async (app, { guards }) => {
    app.addHook('onRequest', guards.role('developer'));
    const tags = ['notifications'];
    const security = [{ session: [] }];
    const errors = { '4xx': ErrorBody };
    app.put(
      '/developer/apps/:id/notifications-url',
      {
        schema: {
          tags,
          security,
          summary: 'Set the URL where App Store Server Notifications V2 for this app are POSTed',
          params: IdParams,
          body: UrlBody,
          response: { 200: UrlSettings, ...errors },
        },
      },
      async (req) => service.setUrl(principalOf(req), req.params.id, req.body.url),
    );
    app.delete(
      '/developer/apps/:id/notifications-url',
      { schema: { tags, security, summary: 'Stop sending notifications for this app', params: IdParams, response: { 204: Type.Null(), ...errors } } },
      async (req, reply) => {
        await service.removeUrl(principalOf(req), req.params.id);
        return reply.code(204).send(null);
      },
    );
  };
  return routes;
}

export function inAppsNotificationRoutes(authenticate: InAppsAuthenticate, service: NotificationsService): FastifyPluginAsync {
  return inAppsPlugin(authenticate, (app, base) => {
    const errors = { '4xx': AppleErrorBody };
    app.post(
      '/inApps/v1/notifications/history',
      { schema: { ...base, summary: 'Get Notification History', body: HistoryBody, querystring: HistoryQuery, response: { 200: HistoryResponse, ...errors } } },
      async (req) => service.history(req.apiClient!, req.body, req.query.paginationToken),
    );
    app.post(
      '/inApps/v1/notifications/test',
      { schema: { ...base, summary: 'Request a Test Notification', response: { 200: TestResponse, ...errors } } },
      async (req) => service.requestTest(req.apiClient!),
    );
    // Apple documents checkTestNotification/{token}; its client library calls test/{token}: both work.
    for (const path of ['/inApps/v1/notifications/checkTestNotification/:token', '/inApps/v1/notifications/test/:token']) {
      app.get(
        path,
        { schema: { ...base, summary: 'Get Test Notification Status', params: TokenParams, response: { 200: CheckTestResponse, ...errors } } },
        async (req) => service.checkTest(req.apiClient!, req.params.token),
      );
    }
  });
}
