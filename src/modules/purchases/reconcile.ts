// The reconciler job (issue 17): orders a crash left pending are settled from the provider's books. Every
// RECONCILE_INTERVAL_SECONDS, one process at a time (a cache lock; a process that cannot take it skips its turn)
// takes the pending orders past their lock and the grace, one by one. Each is also claimed in the database
// (service.ts, reconcileStale), so two reconcilers never settle one order twice even if the lock expires.
import { Gauge } from 'prom-client';
import { withLock, type Cache } from '../../platform/cache/index.ts';
import type { Queryable } from '../../platform/db/index.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import type { Metrics } from '../../platform/observability/metrics.ts';
import { PaymentsUnavailableError } from './payments/index.ts';
import type { PurchasesService, ReconcileOutcome } from './service.ts';

export interface ReconcileSettings {
  /** PURCHASE_LOCK_SECONDS: how long a pending order is its request's alone. Default 60. */
  lockSeconds: number;
  /**
   * RECONCILE_GRACE_SECONDS: past the lock, before reconciliation takes an order. Default 1. Lock + grace must exceed
   * a charge's time budget (5 s): an order is released only when no request can still be charging it.
   */
  graceSeconds: number;
  /** RECONCILE_INTERVAL_SECONDS: between two passes. Default 60. */
  intervalSeconds: number;
}

export function reconcileSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): ReconcileSettings {
  const seconds = (name: string, fallback: number, min: number) => {
    const v = env[name];
    if (v === undefined || v === '') return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number of seconds >= ${min}, got "${v}"`);
    return n;
  };
  return {
    lockSeconds: seconds('PURCHASE_LOCK_SECONDS', 60, 0.1),
    graceSeconds: seconds('RECONCILE_GRACE_SECONDS', 1, 0),
    intervalSeconds: seconds('RECONCILE_INTERVAL_SECONDS', 60, 0.1),
  };
}

export type ReconcileReport = Record<ReconcileOutcome | 'errors', number>;

type Outcome = ReconcileOutcome | 'error';

const perRegistry = new WeakMap<Metrics, { reconciled: ReturnType<Metrics['counter']> }>();

/** The reconciler's metrics, once per registry (tests build several apps over one infra). */
export function reconcileMetrics(metrics: Metrics, db: Queryable) {
  let m = perRegistry.get(metrics);
  if (!m) {
    m = { reconciled: metrics.counter('orchard_orders_reconciled_total', 'Pending orders past their lock settled by reconciliation, by outcome', ['outcome']) };
    new Gauge({
      name: 'orchard_orders_pending_past_lock',
      help: 'Orders still pending past their lock: left by a crash and not yet reconciled (stays above 0: the provider cannot be asked)',
      registers: [metrics.registry],
      async collect() {
        const { rows } = await db
          .query<{ n: number }>(`SELECT count(*)::int AS n FROM purchases WHERE status = 'pending' AND locked_until < now()`)
          .catch(() => ({ rows: [] as { n: number }[] }));
        if (rows[0]) this.set(rows[0].n);
      },
    });
    perRegistry.set(metrics, m);
  }
  return m;
}

export function createReconciler(deps: { cache: Cache; purchases: PurchasesService; logger: Logger; settings: ReconcileSettings }) {
  const { cache, purchases, logger } = deps;
  // A pass stops taking orders after half the lock's life, so the lock never expires under a live pass; a process
  // that dies holding it delays the others by at most its life.
  const lockMs = Math.min(5 * 60_000, Math.max(10_000, 2 * deps.settings.intervalSeconds * 1000));

  async function pass(): Promise<ReconcileReport> {
    const report: ReconcileReport = { completed: 0, failed: 0, released: 0, deferred: 0, errors: 0 };
    const stopAt = Date.now() + lockMs / 2;
    while (Date.now() < stopAt) {
      try {
        const settled = await purchases.reconcileStale();
        if (!settled) break;
        report[settled.outcome]++;
      } catch (err) {
        // The provider cannot be asked now: the next pass will. Anything else: that order stays claimed for a lock
        // period (the next pass goes on with the others), and this pass stops rather than fail order after order.
        if (err instanceof PaymentsUnavailableError) report.deferred++;
        else {
          report.errors++;
          logger.error({ err }, 'reconciling a pending order failed');
        }
        break;
      }
    }
    return report;
  }

  /** One pass; null when another process is running one. */
  async function reconcile(): Promise<ReconcileReport | null> {
    const report = await withLock(cache, 'purchases:reconcile', lockMs, pass);
    if (report && report.completed + report.failed + report.released + report.deferred + report.errors > 0) logger.info(report, 'pending orders reconciled');
    return report ?? null;
  }

  return { reconcile };
}

/** What the service tells of each order it reconciles: a counter and a log line. */
export function reconcileObserver(metrics: ReturnType<typeof reconcileMetrics>, logger: Logger) {
  return (orderId: string, outcome: Outcome) => {
    metrics.reconciled.inc({ outcome });
    logger[outcome === 'error' || outcome === 'deferred' ? 'warn' : 'info']({ orderId, outcome }, 'pending order reconciled');
  };
}
