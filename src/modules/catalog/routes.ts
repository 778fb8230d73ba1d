// HTTP: thin, schema-first routes over CatalogService. Registered under /api/v1.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Readable } from 'node:stream';
import { principalOf, type Guards } from '../../platform/http/auth.ts';
import { DomainError, notFound } from '../../platform/errors.ts';
import { AppError } from '../../platform/http/errors.ts';
import { etagOf, parseIfMatch } from './etag.ts';
import { BINARY_TYPE, IMAGE_TYPES, isImageType, mediaTypeOf } from './media.ts';
import * as S from './schemas.ts';
import type { CatalogConfig, CatalogService, ImageUpload } from './service.ts';

interface Options {
  guards: Guards;
  service: CatalogService;
  config: CatalogConfig;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const errors = { '4xx': S.ErrorBody };
const authed = [{ session: [] }];

/** Sends JSON that is already serialised: no serializer runs. */
function sendJson(reply: FastifyReply, json: string | Buffer): FastifyReply {
  return reply.type(JSON_TYPE).send(json);
}

export function catalogRoutes(service: CatalogService, config: CatalogConfig): FastifyPluginAsync<{ guards: Guards }> {
  return async (app, { guards }) => {
    // Uploads arrive as raw bodies: the stream is handed to the route as it is, never buffered here.
    app.addContentTypeParser([...IMAGE_TYPES, BINARY_TYPE], (_req, payload, done) => done(null, payload));
    const opts: Options = { guards, service, config };
    await app.register(publicRoutes, opts);
    await app.register(developerRoutes, opts);
    await app.register(adminRoutes, opts);
  };
}

// ==================================================================== public

const COMMA = Buffer.from(',');
const CLOSING_BRACE = Buffer.from('}');

/** The detail's parts so far (its JSON without the closing brace, then members) with one more member. */
function withMember(parts: Buffer[] | undefined, json: Buffer, member: string | Buffer): Buffer[] {
  const out = parts ?? [json.subarray(0, json.length - 1)];
  out.push(COMMA, typeof member === 'string' ? Buffer.from(member) : member);
  return out;
}

function sendSpliced(reply: FastifyReply, json: Buffer, parts: Buffer[] | undefined): void {
  if (parts) parts.push(CLOSING_BRACE);
  sendJson(reply, parts ? Buffer.concat(parts) : json);
}

const publicRoutes: FastifyPluginAsyncTypebox<Options> = async (app, { guards, service }) => {
  const tags = ['catalog'];

  /**
   * The public detail with the members other modules add (chart positions, similar apps), spliced before its
   * closing brace: at once when every member is in memory, else once the others arrive. No closure is made on the
   * way (the hottest path: each costs a function object and tsx's name helper).
   */
  function sendDetail(reply: FastifyReply, appId: string, json: Buffer): void | Promise<void> {
    let parts: Buffer[] | undefined;
    let waiting: Promise<string | Buffer | undefined>[] | undefined;
    for (const member of service.detailMembers) {
      const m = member(appId);
      if (m instanceof Promise) (waiting ??= []).push(m);
      else if (m) parts = withMember(parts, json, m);
    }
    if (!waiting) return sendSpliced(reply, json, parts);
    return Promise.all(waiting).then((arrived) => {
      for (const m of arrived) if (m) parts = withMember(parts, json, m);
      sendSpliced(reply, json, parts);
    });
  }

  /** Slow path of app detail: shared cache or database; a non-public app only for its developer or an admin. */
  async function answerDetail(req: FastifyRequest, reply: FastifyReply, appId: string, l1?: Buffer): Promise<void> {
    const json = l1 ?? (await service.publicDetail(appId));
    if (json.length) return sendDetail(reply, appId, json);
    if (req.headers.authorization) {
      await guards.optional(req, reply);
      const own = await service.privateDetail(appId, req.principal);
      if (own) {
        sendJson(reply.header('cache-control', 'private, no-store'), own);
        return;
      }
    }
    throw notFound('App');
  }

  app.get('/categories', { schema: { tags, summary: 'Categories with their subcategories', response: { 200: S.CategoryTree } } }, async (_req, reply) =>
    sendJson(reply, await service.categoryTreeJson()),
  );

  app.get(
    '/storefronts',
    { schema: { tags, summary: 'Storefronts: country, currency, Apple storefront id', response: { 200: S.Storefronts } } },
    async (_req, reply) => sendJson(reply, await service.storefrontsJson()),
  );

  app.get(
    '/apps',
    { schema: { tags, summary: 'Browse published apps (keyset pagination)', querystring: S.BrowseQuery, response: { 200: S.BrowsePage, ...errors } } },
    async (req, reply) => sendJson(reply, await service.browse(req.query)),
  );

  // The hottest path: an L1 hit answers synchronously, with no auth work and no await.
  app.get(
    '/apps/:id',
    {
      schema: {
        tags,
        summary: 'App detail (published apps; drafts for their developer and admins)',
        params: S.IdParams,
        response: { 200: S.PublicApp, ...errors },
      },
    },
    (req, reply) => {
      const l1 = service.peekPublicDetail(req.params.id);
      if (l1?.length) return sendDetail(reply, req.params.id, l1);
      return answerDetail(req, reply, req.params.id, l1);
    },
  );

  app.get(
    '/apps/by-bundle/:bundleId',
    { schema: { tags, summary: 'App detail by bundle id', params: S.BundleParams, response: { 200: S.PublicApp, ...errors } } },
    (req, reply) => {
      const known = service.peekAppIdForBundle(req.params.bundleId);
      const l1 = known ? service.peekPublicDetail(known) : undefined;
      if (l1?.length) return sendDetail(reply, known!, l1);
      return (async () => {
        const appId = known ?? (await service.appIdForBundle(req.params.bundleId));
        if (!appId) throw notFound('App');
        return answerDetail(req, reply, appId, l1);
      })();
    },
  );

  app.get(
    '/media/:sha256',
    { schema: { tags, summary: 'An icon or screenshot (content-addressed, immutable)', params: S.Sha256Params } },
    async (req, reply) => {
      const { sha256 } = req.params;
      const type = await service.mediaContentType(sha256);
      if (!type) throw notFound('Media');
      const etag = `"${sha256}"`;
      reply.header('etag', etag).header('cache-control', 'public, max-age=31536000, immutable').header('x-content-type-options', 'nosniff');
      if (req.headers['if-none-match']?.split(',').some((t) => t.trim() === etag)) return reply.code(304).send();
      const blob = await service.openMedia(sha256);
      if (!blob) throw notFound('Media');
      return reply.type(type).header('content-length', blob.size).send(blob.stream);
    },
  );
};

// ==================================================================== developer

const developerRoutes: FastifyPluginAsyncTypebox<Options> = async (app, { guards, service, config }) => {
  // onRequest: refused callers are answered before any body is read (uploads included).
  app.addHook('onRequest', guards.role('developer'));
  const tags = ['catalog: developer'];
  const security = authed;
  const me = principalOf;

  app.post(
    '/developer/apps',
    { schema: { tags, security, summary: 'Create an app (draft)', body: S.CreateAppBody, response: { 201: S.DeveloperApp, ...errors } } },
    async (req, reply) => {
      const created = await service.createApp(me(req), req.body);
      return reply.code(201).header('etag', `"${created.revision}"`).header('location', `/api/v1/developer/apps/${created.id}`).send(created);
    },
  );

  app.get(
    '/developer/apps',
    { schema: { tags, security, summary: 'My apps, newest first', querystring: S.PageQuery, response: { 200: S.AppSummaryPage, ...errors } } },
    async (req) => service.listMyApps(me(req), req.query.limit, req.query.cursor),
  );

  app.get(
    '/developer/apps/:id',
    { schema: { tags, security, summary: 'One of my apps; ETag = revision', params: S.IdParams, response: { 200: S.DeveloperApp, ...errors } } },
    async (req, reply) => {
      const { app: found, etag } = await service.getMyApp(me(req), req.params.id);
      return reply.header('etag', etag).send(found);
    },
  );

  app.patch(
    '/developer/apps/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Partial update; If-Match: the ETag from GET (428 without, 412 when stale)',
        params: S.IdParams,
        body: S.UpdateAppBody,
        response: { 200: S.DeveloperApp, ...errors },
      },
    },
    async (req, reply) => {
      const ifMatch = parseIfMatch(req.headers['if-match']);
      if (ifMatch.kind !== 'revisions') {
        throw new AppError(
          428,
          'PRECONDITION_REQUIRED',
          'Send If-Match with the ETag of GET /api/v1/developer/apps/:id, so that concurrent edits are not lost.',
        );
      }
      try {
        const { app: updated, etag } = await service.updateApp(me(req), req.params.id, ifMatch.revisions, req.body);
        return reply.header('etag', etag).send(updated);
      } catch (err) {
        // stale: the 412 carries the current ETag
        if (err instanceof DomainError && err.kind === 'stale') reply.header('etag', etagOf((err.details as { currentRevision: number }).currentRevision));
        throw err;
      }
    },
  );

  app.post(
    '/developer/apps/:id/remove',
    { schema: { tags, security, summary: 'Remove my app from the store (final)', params: S.IdParams, response: { 200: S.StatusResult, ...errors } } },
    async (req) => service.remove(me(req), req.params.id, 'developer'),
  );

  // ---- media

  const imageUpload = (req: FastifyRequest, maxBytes: number, what: string): ImageUpload => {
    const type = mediaTypeOf(req.headers['content-type']);
    if (!isImageType(type) || !isStream(req.body)) {
      throw new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', `Send the ${what} as the raw body with Content-Type image/png or image/jpeg.`);
    }
    refuseDeclaredOversize(req, maxBytes, what);
    return { type, stream: req.body };
  };

  app.get(
    '/developer/apps/:id/media',
    { schema: { tags, security, summary: 'Icon and screenshots of my app', params: S.IdParams, response: { 200: S.MediaList, ...errors } } },
    async (req) => ({ items: await service.listMedia(me(req), req.params.id) }),
  );

  app.put(
    '/developer/apps/:id/icon',
    {
      schema: {
        tags,
        security,
        summary: `Set the icon: raw PNG or JPEG body, at most ${config.limits.iconBytes} bytes`,
        consumes: [...IMAGE_TYPES],
        params: S.IdParams,
        response: { 200: S.MediaItem, ...errors },
      },
    },
    async (req) => service.setIcon(me(req), req.params.id, imageUpload(req, config.limits.iconBytes, 'icon')),
  );

  app.post(
    '/developer/apps/:id/screenshots/:deviceType',
    {
      schema: {
        tags,
        security,
        summary: `Append a screenshot for a device type: raw PNG or JPEG body, at most ${config.limits.screenshotBytes} bytes`,
        consumes: [...IMAGE_TYPES],
        params: S.DeviceParams,
        response: { 201: S.MediaItem, ...errors },
      },
    },
    async (req, reply) =>
      reply
        .code(201)
        .send(await service.addScreenshot(me(req), req.params.id, req.params.deviceType, imageUpload(req, config.limits.screenshotBytes, 'screenshot'))),
  );

  app.put(
    '/developer/apps/:id/screenshots/:deviceType/order',
    {
      schema: {
        tags,
        security,
        summary: "Reorder a device type's screenshots (every id once)",
        params: S.DeviceParams,
        body: S.OrderBody,
        response: { 200: S.MediaList, ...errors },
      },
    },
    async (req) => ({ items: await service.orderScreenshots(me(req), req.params.id, req.params.deviceType, req.body.ids) }),
  );

  app.delete(
    '/developer/apps/:id/screenshots/:mediaId',
    { schema: { tags, security, summary: 'Delete a screenshot', params: S.MediaParams, response: { 204: S.NoContent, ...errors } } },
    async (req, reply) => {
      await service.deleteScreenshot(me(req), req.params.id, req.params.mediaId);
      return reply.code(204).send(null);
    },
  );

  // ---- versions

  app.get(
    '/developer/apps/:id/versions',
    {
      schema: {
        tags,
        security,
        summary: 'Versions of my app, newest first, with permission diffs',
        params: S.IdParams,
        response: { 200: S.VersionList, ...errors },
      },
    },
    async (req) => ({ items: await service.listVersions(me(req), req.params.id) }),
  );

  app.post(
    '/developer/apps/:id/versions',
    {
      schema: {
        tags,
        security,
        summary: 'Start a new version (greater than the last published one)',
        params: S.IdParams,
        body: S.CreateVersionBody,
        response: { 201: S.Version, ...errors },
      },
    },
    async (req, reply) => reply.code(201).send(await service.createVersion(me(req), req.params.id, req.body)),
  );

  app.delete(
    '/developer/apps/:id/versions/:versionId',
    { schema: { tags, security, summary: 'Delete a draft or rejected version', params: S.VersionParams, response: { 204: S.NoContent, ...errors } } },
    async (req, reply) => {
      await service.deleteVersion(me(req), req.params.id, req.params.versionId);
      return reply.code(204).send(null);
    },
  );

  app.put(
    '/developer/apps/:id/versions/:versionId/binary',
    {
      schema: {
        tags,
        security,
        summary: `Upload the build: raw application/octet-stream body, at most ${config.limits.binaryBytes} bytes`,
        consumes: [BINARY_TYPE],
        params: S.VersionParams,
        response: { 200: S.Version, ...errors },
      },
    },
    async (req) => {
      if (mediaTypeOf(req.headers['content-type']) !== BINARY_TYPE || !isStream(req.body)) {
        throw new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the build as the raw body with Content-Type application/octet-stream.');
      }
      refuseDeclaredOversize(req, config.limits.binaryBytes, 'binary');
      return service.uploadBinary(me(req), req.params.id, req.params.versionId, req.body);
    },
  );

  // ---- prices and in-app products

  app.put(
    '/developer/apps/:id/prices',
    {
      schema: {
        tags,
        security,
        summary: 'Replace the prices of my paid app, per storefront, in integer milliunits of its currency',
        params: S.IdParams,
        body: S.PricesBody,
        response: { 200: S.Prices, ...errors },
      },
    },
    async (req) => service.setPrices(me(req), req.params.id, req.body.prices),
  );

  app.get(
    '/developer/apps/:id/products',
    { schema: { tags, security, summary: 'In-app products of my app', params: S.IdParams, response: { 200: S.ProductList, ...errors } } },
    async (req) => ({ items: await service.listProducts(me(req), req.params.id) }),
  );

  app.post(
    '/developer/apps/:id/products',
    { schema: { tags, security, summary: 'Create an in-app product', params: S.IdParams, body: S.CreateProductBody, response: { 201: S.Product, ...errors } } },
    async (req, reply) => reply.code(201).send(await service.createProduct(me(req), req.params.id, req.body)),
  );

  app.put(
    '/developer/apps/:id/products/:productId/prices',
    {
      schema: {
        tags,
        security,
        summary: "Replace an in-app product's prices",
        params: S.ProductParams,
        body: S.PricesBody,
        response: { 200: S.Product, ...errors },
      },
    },
    async (req) => service.setProductPrices(me(req), req.params.id, req.params.productId, req.body.prices),
  );

  // ---- workflow

  app.post(
    '/developer/apps/:id/submit',
    {
      schema: {
        tags,
        security,
        summary: 'Submit the open version for review (422 lists what is missing)',
        params: S.IdParams,
        response: { 200: S.StatusResult, ...errors },
      },
    },
    async (req) => service.submit(me(req), req.params.id),
  );

  app.post(
    '/developer/apps/:id/publish',
    { schema: { tags, security, summary: 'Publish the approved version', params: S.IdParams, response: { 200: S.StatusResult, ...errors } } },
    async (req) => service.publish(me(req), req.params.id),
  );
};

// ==================================================================== admin

const adminRoutes: FastifyPluginAsyncTypebox<Options> = async (app, { guards, service }) => {
  app.addHook('onRequest', guards.role('admin'));
  const tags = ['catalog: review'];
  const security = authed;

  app.get(
    '/admin/review-queue',
    {
      schema: {
        tags,
        security,
        summary: 'Versions waiting for review, oldest first, with permission diffs',
        querystring: S.PageQuery,
        response: { 200: S.ReviewQueue, ...errors },
      },
    },
    async (req) => service.reviewQueue(req.query.limit, req.query.cursor),
  );

  app.post(
    '/admin/apps/:id/approve',
    { schema: { tags, security, summary: 'Approve the version in review', params: S.IdParams, response: { 200: S.StatusResult, ...errors } } },
    async (req) => service.review(principalOf(req), req.params.id, 'approved'),
  );

  app.post(
    '/admin/apps/:id/reject',
    {
      schema: {
        tags,
        security,
        summary: 'Reject the version in review, with a reason',
        params: S.IdParams,
        body: S.RejectBody,
        response: { 200: S.StatusResult, ...errors },
      },
    },
    async (req) => service.review(principalOf(req), req.params.id, 'rejected', req.body.reason),
  );

  app.post(
    '/admin/apps/:id/remove',
    { schema: { tags, security, summary: 'Remove any app from the store', params: S.IdParams, response: { 200: S.StatusResult, ...errors } } },
    async (req) => service.remove(principalOf(req), req.params.id, 'admin'),
  );
};

// ==================================================================== helpers

function isStream(body: unknown): body is Readable {
  return typeof (body as Readable | null)?.pipe === 'function';
}

/** 413 straight away when Content-Length already says too much (the stream is capped as well). */
function refuseDeclaredOversize(req: FastifyRequest, maxBytes: number, what: string): void {
  const declared = Number(req.headers['content-length']);
  if (declared > maxBytes) {
    throw new AppError(413, 'PAYLOAD_TOO_LARGE', `The ${what} is larger than ${maxBytes} bytes.`, { maxBytes }, { connection: 'close' });
  }
}
