// HTTP: thin, schema-first routes over LibraryService. Registered under /api/v1.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { principalOf, type Guards } from '../../platform/http/auth.ts';
import { AppError } from '../../platform/http/errors.ts';
import { ifRangeHolds, matchesNoneMatch, parseRange, type RangeAnswer } from './range.ts';
import * as S from './schemas.ts';
import type { LibraryService } from './service.ts';

interface Options {
  guards: Guards;
  service: LibraryService;
}

const errors = { '4xx': S.ErrorBody };
const security = [{ session: [] }];

export function libraryRoutes(service: LibraryService): FastifyPluginAsync<{ guards: Guards }> {
  return async (app, { guards }) => {
    await app.register(userRoutes, { guards, service });
    await app.register(downloadRoute, { guards, service });
    await app.register(developerRoutes, { guards, service });
  };
}

const userRoutes: FastifyPluginAsyncTypebox<Options> = async (app, { guards, service }) => {
  app.addHook('onRequest', guards.user);
  const tags = ['library'];

  app.get(
    '/me/library',
    {
      schema: {
        tags,
        security,
        summary: 'What I own: apps and live in-app purchases, newest first (Production; refunded ones excluded)',
        querystring: S.LibraryQuery,
        response: { 200: S.LibraryPage, ...errors },
      },
    },
    async (req) => service.library(principalOf(req).userId, req.query),
  );

  app.post(
    '/apps/:id/download',
    {
      schema: {
        tags,
        security,
        summary:
          'A short-lived signed URL of the current build of an app I own, and the install token its SDK sends with its sessions (403 NOT_OWNED: get or buy it first)',
        params: S.IdParams,
        response: { 200: S.DownloadLink, ...errors },
      },
    },
    async (req) => service.issueDownload(principalOf(req).userId, req.params.id),
  );

  app.post(
    '/me/updates',
    {
      schema: {
        tags,
        security,
        summary: `Newer versions of installed apps (at most ${S.MAX_INSTALLED}), with download URLs for those I own`,
        body: S.UpdatesBody,
        response: { 200: S.Updates, ...errors },
      },
    },
    async (req) => service.updates(principalOf(req).userId, req.body.installed),
  );
};

/**
 * No session: the token is the permission, so a CDN may serve it. HEAD has its own route (Fastify's automatic
 * one would reset Content-Length) and is left out of the API document: its errors have no body to describe.
 */
const downloadRoute: FastifyPluginAsync<Options> = async (app, { service }) => {
  const serveBuild = async (req: FastifyRequest<{ Params: { token: string } }>, reply: FastifyReply) => {
    const build = await service.resolveDownload(req.params.token);
    const etag = `"${build.sha256}"`;
    const maxAge = Math.max(0, Math.floor((build.expiresAt.getTime() - Date.now()) / 1000));
    const validators = { etag, 'cache-control': `private, max-age=${maxAge}, immutable` };
    if (matchesNoneMatch(req.headers['if-none-match'], etag)) return reply.code(304).headers(validators).send();

    const ifRange = req.headers['if-range'];
    const range: RangeAnswer = ifRangeHolds(typeof ifRange === 'string' ? ifRange : undefined, etag)
      ? parseRange(req.headers.range, build.size)
      : { kind: 'full' };
    if (range.kind === 'unsatisfiable') {
      throw new AppError(
        416,
        'RANGE_NOT_SATISFIABLE',
        `The range asked for lies outside the build's ${build.size} bytes.`,
        { size: build.size },
        {
          'content-range': `bytes */${build.size}`,
          'accept-ranges': 'bytes',
        },
      );
    }
    reply.headers({
      ...validators,
      'accept-ranges': 'bytes',
      'content-type': 'application/octet-stream',
      'content-disposition': `attachment; filename="${build.filename}"`,
      'x-content-type-options': 'nosniff',
    });
    const part = range.kind === 'partial' ? { start: range.start, end: range.end } : undefined;
    if (part) reply.code(206).header('content-range', `bytes ${part.start}-${part.end}/${build.size}`);
    reply.header('content-length', part ? part.end - part.start + 1 : build.size);
    if (req.method === 'HEAD') return reply.send();
    return reply.send(await service.openBuild(build.sha256, part));
  };

  const schema = {
    tags: ['library'],
    summary: 'The build a download URL grants (byte ranges, ETag, HEAD too); 403 when the link is altered or expired',
    params: S.TokenParams,
    response: errors,
  };
  app.get('/downloads/:token', { schema, exposeHeadRoute: false }, serveBuild);
  app.head('/downloads/:token', { schema: { ...schema, hide: true } }, serveBuild);
};

const developerRoutes: FastifyPluginAsyncTypebox<Options> = async (app, { guards, service }) => {
  app.addHook('onRequest', guards.role('developer'));

  app.get(
    '/developer/apps/:id/downloads',
    {
      schema: {
        tags: ['library: developer'],
        security,
        summary: 'Daily downloads of my app (first downloads, re-downloads, updates), UTC days; default the last 30',
        params: S.IdParams,
        querystring: S.DownloadStatsQuery,
        response: { 200: S.DownloadStats, ...errors },
      },
    },
    async (req) => service.downloadStats(principalOf(req), req.params.id, req.query),
  );
};
