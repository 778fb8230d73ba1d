// App Store Server Notifications V2: each app's webhook URL, a durable consumer turning commerce events
// into signed notifications, the delivery worker (retries on Apple's schedule, in order per original
// transaction), and Apple's notification endpoints (history, test). Other modules import only this file.
//
// Owns: notification_endpoints, notifications, notification_attempts. Jobs: notifications.delivery.
// Consumes: every purchases event (durable: one notification per event). Publishes nothing.
// Reads: catalog_apps, purchases_transactions.
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { Infra } from '../../config.ts';
import type { Guards } from '../../platform/http/auth.ts';
import type { Job, Scheduler } from '../../platform/jobs/index.ts';
import { consumersOf } from '../../platform/bus/index.ts';
import { PURCHASE_EVENTS, type PurchasesEvents } from '../purchases/index.ts';
import type { ServerApi } from '../serverapi/index.ts';
import { createDelivery, type DeliveryOptions } from './delivery.ts';
import { inAppsNotificationRoutes, urlRoutes } from './routes.ts';
import { createNotificationsService, type NotificationsCommerce } from './service.ts';

export const notificationsMigrations = path.join(path.dirname(new URL(import.meta.url).pathname), 'migrations');
export { APPLE_RETRY_SCHEDULE_MS, type DeliveryOptions } from './delivery.ts';

export interface NotificationsDeps extends Pick<Infra, 'db' | 'bus' | 'logger'> {
  purchases: NotificationsCommerce;
  authenticate: ServerApi['authenticate'];
  /** A subscription's renewal info as it is now, signed (null for other transactions). */
  signedRenewalInfo: ServerApi['subscriptions']['signedRenewalInfo'];
  delivery?: DeliveryOptions;
  /** Wakes the delivery job (when this process runs jobs) after a commit that gave it work. */
  scheduler: Pick<Scheduler, 'trigger'>;
}

const DELIVERY_JOB = 'notifications.delivery';

export function createNotifications(deps: NotificationsDeps) {
  const nudge = () => deps.scheduler.trigger(DELIVERY_JOB);
  const service = createNotificationsService(deps.db, deps.purchases, deps.signedRenewalInfo, nudge);
  const delivery = createDelivery(deps.db, deps.logger, service.signNotification, deps.delivery);
  const consumers = [
    consumersOf<PurchasesEvents>().durable('notifications', PURCHASE_EVENTS, async (event, q) => {
      // the bus commits right after this returns: wake the worker when the notification is due
      if (await service.onPurchaseEvent(event, q, delivery.settleMs)) setTimeout(nudge, delivery.settleMs + 20).unref();
    }),
  ];
  /** Session-authenticated URL settings: register under /api/v1. */
  const routes: FastifyPluginAsync<{ guards: Guards }> = urlRoutes(service);
  /** Apple's endpoints: register without a prefix. */
  const inApps: FastifyPluginAsync = inAppsNotificationRoutes(deps.authenticate, service);
  // Notifications are claimed row by row, so every process that runs jobs may deliver at once.
  const jobs: Job[] = [{ name: DELIVERY_JOB, everyMs: delivery.pollMs, exclusive: false, runAtStart: true, run: delivery.runOnce }];
  return {
    name: 'notifications',
    migrations: notificationsMigrations,
    routes,
    rootRoutes: inApps,
    consumers,
    jobs,
    service,
    /** Apple's numeric id of an app (appAppleId), given on first use: for the App Store Server API's responses. */
    appAppleId: service.appAppleId,
    runDelivery: delivery.runOnce,
  };
}
export type Notifications = ReturnType<typeof createNotifications>;
