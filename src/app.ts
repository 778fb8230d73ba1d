import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Config, Infra } from './config.ts';
import { platformMigrations } from './platform/db/index.ts';
import { frameworkErrorReply, installErrorHandling } from './platform/http/errors.ts';
import { installValidation } from './platform/http/validation.ts';
import { createGuards } from './platform/http/auth.ts';
import { createIdentity } from './modules/identity/index.ts';
import { createCatalog } from './modules/catalog/index.ts';
import { createSearch } from './modules/search/index.ts';
import { createPurchases, type PurchasesModuleDeps } from './modules/purchases/index.ts';
import { createPayouts } from './modules/payouts/index.ts';
import { createLibrary } from './modules/library/index.ts';
import { appleErrorFormats, createServerApi } from './modules/serverapi/index.ts';
import { clientErrorReply } from './platform/http/client-errors.ts';
import { createNotifications, type DeliveryOptions } from './modules/notifications/index.ts';
import { createReviews, type Clock } from './modules/reviews/index.ts';
import { createIntegrity } from './modules/integrity/index.ts';
import { createRankings } from './modules/rankings/index.ts';
import { createRecommendations } from './modules/recommendations/index.ts';
import { busHealth, stateGauge } from './platform/observability/health.ts';
import { requestLogger, type Logger } from './platform/observability/logger.ts';
import { createScheduler } from './platform/jobs/index.ts';
import { registerConsumers } from './platform/bus/index.ts';
import type { ModuleParts } from './platform/module.ts';

const modulesDir = path.join(path.dirname(new URL(import.meta.url).pathname), 'modules');

/**
 * Every migration directory: the platform's and each module's own (src/modules/<name>/migrations). Their files
 * are applied in one global filename order, whose number ranges follow the modules' dependencies.
 */
export const migrationDirs = [
  platformMigrations,
  ...readdirSync(modulesDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(path.join(modulesDir, e.name, 'migrations')))
    .map((e) => path.join(modulesDir, e.name, 'migrations')),
];

/** Builds every module once: their services, routes and bus subscriptions. Used by serve and worker alike. */
export function createModules(
  config: Config,
  infra: Infra,
  options: {
    purchases?: Pick<PurchasesModuleDeps, 'limits' | 'payments'>;
    notifications?: DeliveryOptions;
    /** The time reviews are stamped with (the integrity simulator moves it); the wall clock by default. */
    clock?: Clock;
    /** false: nothing scores reviews (they wait for a moderator); the reviews module's own tests use it. */
    scoreReviews?: boolean;
  } = {},
) {
  const deps = { ...infra, config };
  // The periodic jobs of every module; started only where workers run (see main.ts).
  const scheduler = createScheduler(infra);
  const identity = createIdentity(deps);
  const catalog = createCatalog(deps);
  const search = createSearch({ ...deps, catalog: catalog.service });
  const purchases = createPurchases({ ...deps, ...options.purchases });
  const payouts = createPayouts(deps);
  const library = createLibrary({ ...deps, catalog: catalog.service });
  // serverapi reads the notifications module's appAppleId only at request time, so the forward reference is fine
  const serverapi = createServerApi({ ...deps, purchases, appAppleId: (appId) => notifications.appAppleId(appId) });
  const notifications = createNotifications({
    ...deps,
    purchases,
    authenticate: serverapi.authenticate,
    signedRenewalInfo: serverapi.subscriptions.signedRenewalInfo,
    delivery: options.notifications,
    scheduler,
  });
  const reviews = createReviews({ ...deps, purchases, clock: options.clock });
  const integrity = createIntegrity({ ...deps, reviews, scoring: options.scoreReviews ?? true });
  const rankings = createRankings({ ...deps, catalog: catalog.service, search: search.service, installTokens: library.installTokens });
  const recommendations = createRecommendations({
    ...deps,
    catalog: catalog.service,
    search: search.service,
    rankings: rankings.service,
    purchases,
    scheduler,
  });
  const modules = {
    identity,
    catalog,
    search,
    purchases,
    payouts,
    library,
    serverapi,
    notifications,
    reviews,
    integrity,
    rankings,
    recommendations,
  } satisfies Record<string, ModuleParts>;
  return { ...modules, scheduler };
}
export type Modules = ReturnType<typeof createModules>;

/** Every module's parts, in dependency order: what buildApp mounts and main.ts runs, by iterating (a test may swap one module for another). */
export function moduleParts(modules: Modules): ModuleParts[] {
  return Object.values(modules).filter((m): m is Modules[keyof Modules] & ModuleParts => typeof m === 'object' && m !== null && 'name' in m);
}

/**
 * Registers every module's consumers and gap handlers, then starts the bus: how every process (serve, worker,
 * tests, tools) starts its modules' event handling. relay: move the outbox to the transport; consume: run
 * the durable consumers (broadcasts run in every started process).
 */
export async function startEvents(infra: Infra, modules: Modules, opts: { relay: boolean; consume: boolean }): Promise<void> {
  const parts = moduleParts(modules);
  registerConsumers(
    infra.bus,
    parts.flatMap((m) => m.consumers ?? []),
  );
  for (const m of parts) if (m.onEventGap) infra.bus.onBroadcastGap(() => m.onEventGap!());
  await infra.bus.start(opts);
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** Paths whose errors follow another API's format: Apple's App Store Server API. */
const ERROR_FORMATS = appleErrorFormats;

/** What the process tells the HTTP layer about its own life: draining once SIGTERM has come. */
export interface Lifecycle {
  draining: boolean;
}

/** Seconds a client is told to wait when this process is going away (another instance takes the retry). */
const DRAIN_RETRY_AFTER_S = 1;

/** The HTTP server (not listening): plugins, platform routes, then each module's routes under /api/v1. */
export async function buildApp(
  config: Config,
  infra: Infra,
  modules: Modules = createModules(config, infra),
  lifecycle: Lifecycle = { draining: false },
): Promise<FastifyInstance> {
  const app = Fastify({
    // Requests arriving while the server closes get our own 503 (below), not Fastify's body.
    return503OnClosing: false,
    loggerInstance: infra.logger as FastifyBaseLogger,
    bodyLimit: config.limits.bodyBytes,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // our onResponse hook logs each request once (debug; errors at error level)
    logController: new LogController({ requestIdLogLabel: 'requestId', disableRequestLogging: true }),
    childLoggerFactory: (logger, bindings, options) => requestLogger(logger as Logger, bindings, options) as FastifyBaseLogger,
    trustProxy: process.env.TRUST_PROXY === '1',
    ajv: { customOptions: { removeAdditional: false } },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    frameworkErrors: frameworkErrorReply(ERROR_FORMATS),
    clientErrorHandler: clientErrorReply(ERROR_FORMATS),
  });
  installValidation(app);
  installErrorHandling(app, ERROR_FORMATS);
  app.removeContentTypeParser('text/plain'); // a JSON API: any other body type is a 415, not a confusing 400

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // The hooks every request passes are callback-style: an async hook costs each request a promise round.
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id);
    if (!closing) return done();
    reply.header('retry-after', String(DRAIN_RETRY_AFTER_S));
    reply.code(503).send({ error: { code: 'SHUTTING_DOWN', message: 'This server is shutting down; retry and another one will answer.' } });
  });
  // Draining or closing: every answer asks its keep-alive client to reconnect (to another instance), so
  // the connection ends after a whole response instead of being cut under a request, and close() does
  // not wait for idle keep-alive connections to time out.
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (lifecycle.draining || closing) reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    infra.metrics.httpDuration.observe(req.method, route, reply.statusCode, reply.elapsedTime / 1000);
    // a 500 is a bug; a 503 (a dependency away, draining, not ready yet) is expected and says when to retry
    if (reply.statusCode === 500) req.log.error({ method: req.method, url: req.url, status: reply.statusCode }, 'request failed');
    else if (reply.statusCode > 500 && route !== '/ready') req.log.warn({ method: req.method, url: req.url, status: reply.statusCode }, 'request not served');
    else req.log.debug({ method: req.method, url: req.url, status: reply.statusCode, ms: reply.elapsedTime }, 'request done');
    done();
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Orchard API', version: '1', description: 'Open-source App Store backend.' },
      components: { securitySchemes: { session: { type: 'http', scheme: 'bearer' }, serverApiJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.get('/health', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  // Ready = this process can serve what requests need: the database, and the search index loaded (until
  // then searches would come from the degraded fallback). The cache is an optimisation and events wait
  // in the outbox, so neither gates readiness: they are reported, and an outage shows in /health/details.
  busHealth(infra.bus, infra.metrics); // the bus gauges on /metrics
  stateGauge(infra.metrics, 'orchard_search_index_ready', '1 once this process has its search index loaded (until then searches are degraded)', () =>
    modules.search.service.state === 'ready' ? 1 : 0,
  );
  stateGauge(infra.metrics, 'orchard_cache_degraded', '1 while this process serves without its cache (Redis unreachable)', () =>
    infra.cache.status().degraded ? 1 : 0,
  );
  const probe = async (fn: () => Promise<void>): Promise<string> => {
    try {
      await Promise.race([fn(), new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), 2000).unref())]);
      return 'ok';
    } catch (err) {
      return `down: ${(err as Error).message}`;
    }
  };
  // With a read replica, losing the primary leaves a process that still answers reads (writes get 503): ready.
  const replicaProbe = infra.readDb === infra.db ? null : infra.readDb;
  const readiness = async () => {
    const [db, replica, cache, bus] = await Promise.all([
      probe(() => infra.db.ping()),
      replicaProbe ? probe(() => replicaProbe.ping()) : undefined,
      probe(() => infra.cache.ping()),
      probe(() => infra.bus.ping()),
    ]);
    const search = modules.search.service.state;
    const checks = { db, ...(replica && { replica }), search: search === 'ready' ? 'ok' : search, cache, bus, draining: lifecycle.draining ? 'yes' : 'no' };
    const ready = (db === 'ok' || replica === 'ok') && search === 'ready' && !lifecycle.draining;
    return { ready, checks };
  };
  app.get('/ready', { schema: { hide: true } }, async (_req, reply) => {
    const { ready, checks } = await readiness();
    if (!ready) reply.header('retry-after', '1');
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });
  // For operators: everything /ready knows, and the bus: relay, outbox backlog, consumers per queue.
  app.get('/health/details', { schema: { hide: true } }, async () => {
    const { ready, checks } = await readiness();
    const bus = await infra.bus.health().catch((err: Error) => ({ error: err.message }));
    return { status: ready ? 'ready' : 'not ready', checks, search: { state: modules.search.service.state, docs: modules.search.service.size }, bus };
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.type(infra.metrics.registry.contentType);
    return infra.metrics.registry.metrics();
  });

  const guards = createGuards(modules.identity.authenticator);
  for (const m of moduleParts(modules)) {
    if (m.routes) await app.register(m.routes, { prefix: '/api/v1', guards });
    if (m.rootRoutes) await app.register(m.rootRoutes);
  }
  return app;
}
