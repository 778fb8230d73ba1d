// Commerce: orders, transactions with signed receipts, the ledger, entitlements, subscriptions and refunds.
// Money moves only through this module. Other modules import only this file.
//
// Owns: purchases (orders), transactions, ledger_lines, subscriptions, product_entitlements, sandbox_charges,
// sandbox_refunds, payment_book_checks, payment_mismatches. Offers: read views purchases_transactions,
// purchases_subscriptions, purchases_ledger_lines (0403); the commerce service; claimPayableLines (payouts).
// Publishes (events.ts): purchase.completed, transaction.revoked, subscription.*. Consumes: app.changed
// (broadcast: the offers cache). Jobs: purchases.renewals, purchases.reconcile, purchases.books.
// Reads: catalog_apps, catalog_app_prices, catalog_in_app_products, catalog_in_app_prices, catalog_storefronts.
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { Config, Infra } from '../../config.ts';
import type { Principal } from '../../platform/http/auth.ts';
import type { Guards } from '../../platform/http/auth.ts';
import type { Job } from '../../platform/jobs/index.ts';
import { consumersOf } from '../../platform/bus/index.ts';
import type { CatalogEvents } from '../catalog/index.ts';
import { notFound } from '../../platform/errors.ts';
import { createIdempotency, requestHash } from '../../platform/http/idempotency.ts';
import { activeEntitlements, setProductEntitlements } from './entitlements.ts';
import { createSandboxProvider, sandboxOptionsFromEnv, type SandboxProvider } from './payments/sandbox.ts';
import { withResilience, type ResilienceOptions } from './payments/resilient.ts';
import { createReceiptSigner, loadOrCreateReceiptKeys, verifyReceipt, type ReceiptKeys, type ReceiptKeySource } from './receipts/index.ts';
import { createOffers } from './offers.ts';
import { createRefunds, type RevocationReason } from './refunds.ts';
import { DEFAULT_PURCHASE_LIMITS, purchasesRoutes, type PurchaseLimits } from './routes.ts';
import { createPurchasesService, listTransactions, loadTransaction, type Environment, type StoredTransaction } from './service.ts';
import { decodeCursor, encodeCursor, takePage } from '../../platform/http/pagination.ts';
import { toDecodedPayload } from './receipts/index.ts';
import { createSubscriptions } from './subscriptions.ts';
import { createReconciler, reconcileMetrics, reconcileObserver, reconcileSettingsFromEnv, type ReconcileSettings } from './reconcile.ts';
import { createBooks, type MismatchKind } from './books.ts';

export const purchasesMigrations = path.join(path.dirname(new URL(import.meta.url).pathname), 'migrations');
export { PURCHASE_EVENTS, type PurchasesEvents } from './events.ts';
export { claimPayableLines } from './payable.ts';
export type { Environment, StoredTransaction } from './service.ts';
/** Apple's renewal info (JWSRenewalInfoDecodedPayload) of a subscription, for the Server API and notifications to sign. */
export { toRenewalInfoPayload, type RenewalStatus } from './receipts/index.ts';
/** `orchard keys rotate-leaf`: a new signing leaf under the same intermediate and root. */
export { rotateReceiptLeaf } from './receipts/index.ts';

export interface PurchasesModuleDeps extends Infra {
  /** The configuration purchases reads: the receipt keys (configured, or else under the data dir). */
  config: Pick<Config, 'dataDir' | 'receiptKeys'>;
  limits?: Partial<PurchaseLimits>;
  payments?: ResilienceOptions;
  /** Overrides PURCHASE_LOCK_SECONDS, RECONCILE_GRACE_SECONDS and RECONCILE_INTERVAL_SECONDS. */
  reconcile?: Partial<ReconcileSettings>;
}

const RENEWAL_INTERVAL_MS = 60_000;
/** How often a worker looks whether the daily comparison of the books is due. */
const BOOKS_CHECK_MS = 3_600_000;

export function createPurchases(deps: PurchasesModuleDeps) {
  const { db, cache, bus, logger } = deps;
  const { receiptKeys } = deps.config;
  const keySource: ReceiptKeySource = receiptKeys
    ? { pem: { signingKey: receiptKeys.signingKey, chain: receiptKeys.chain }, origin: receiptKeys.origin }
    : { dir: path.join(deps.config.dataDir, 'receipts') };
  const keysReady: Promise<ReceiptKeys> = loadOrCreateReceiptKeys(keySource, logger);
  keysReady.catch((err) => logger.error({ err }, 'receipt keys could not be loaded or created'));
  let signer: ReturnType<typeof createReceiptSigner> | undefined;
  const getSigner = async () => (signer ??= createReceiptSigner(await keysReady));

  const sandbox: SandboxProvider = createSandboxProvider({ db, options: sandboxOptionsFromEnv(process.env) });
  const payments = withResilience(sandbox, deps.payments);
  const idempotency = createIdempotency({ db, cache });
  const nudge = () => bus.nudge();

  const offers = createOffers(db);
  const settings: ReconcileSettings = { ...reconcileSettingsFromEnv(process.env), ...deps.reconcile };
  const onReconciled = reconcileObserver(reconcileMetrics(deps.metrics, db), logger);
  const acquiredListeners: ((userId: string, appId: string) => Promise<void>)[] = [];
  const purchases = createPurchasesService({
    db,
    idempotency,
    offers,
    payments,
    signer: getSigner,
    nudge,
    lockSeconds: settings.lockSeconds,
    graceSeconds: settings.graceSeconds,
    onReconciled,
    // a listener's failure never fails the purchase: the library event in the outbox reaches it later
    onAppAcquired: async (userId, appId) => {
      for (const listener of acquiredListeners)
        await listener(userId, appId).catch((err) => logger.warn({ err, userId, appId }, 'app acquired: listener failed'));
    },
  });
  const reconciler = createReconciler({ cache, purchases, logger, settings });
  const books = createBooks({
    db,
    cache,
    payments,
    logger,
    metrics: deps.metrics,
    settleMs: (settings.lockSeconds + settings.graceSeconds + settings.intervalSeconds) * 1000 + 60_000,
  });
  const subscriptions = createSubscriptions({ db, payments, nudge });
  const refunds = createRefunds({ db, payments, signer: getSigner, nudge });

  const commerce = {
    purchases,
    subscriptions,
    entitlements: (userId: string, appId: string, environment: Environment) => activeEntitlements(db, userId, appId, environment),

    async refund(adminId: string, key: string, transactionId: string, reason: RevocationReason) {
      return idempotency.execute({ userId: adminId, scope: 'refund', key, hash: requestHash([transactionId, reason]) }, () =>
        refunds.refund(transactionId, reason),
      );
    },

    async setProductEntitlements(actor: Principal, appId: string, productUuid: string, entitlements: string[]) {
      const { rows } = await db.query<{ developer_id: string }>(
        'SELECT a.developer_id FROM catalog_in_app_products p JOIN catalog_apps a ON a.id = p.app_id WHERE p.id = $1 AND a.id = $2',
        [productUuid, appId],
      );
      if (!rows[0] || rows[0].developer_id !== actor.developerId) throw notFound('In-app product');
      await db.tx((q) => setProductEntitlements(q, productUuid, entitlements));
    },

    /** Every transaction of the user for an app, renewals and refunded ones included, each signed (StoreKit's Transaction.all). */
    async transactions(userId: string, appId: string, environment: Environment, limit: number, cursor?: string) {
      const before = decodeCursor(cursor, (v): v is string => typeof v === 'string' && /^[0-9]{1,19}$/.test(v));
      const { page, more, last } = takePage(await listTransactions(db, userId, appId, environment, limit + 1, before), limit);
      const signer = await getSigner();
      const now = new Date();
      return {
        items: page.map((t) => ({ transactionId: t.id, signedTransaction: signer.sign(toDecodedPayload(t, now)) })),
        nextCursor: more ? encodeCursor(last.id) : null,
      };
    },

    /** Signature and chain first; then the transaction's current status from the database. */
    async verify(jws: string) {
      const keys = await keysReady;
      const checked = verifyReceipt(jws, keys.rootDer);
      if (!checked.valid) return { valid: false, reason: checked.reason, message: checked.message };
      const id = checked.payload.transactionId;
      const record = typeof id === 'string' && /^[0-9]{1,19}$/.test(id) ? await loadTransaction(db, id) : null;
      if (!record || record.bundleId !== checked.payload.bundleId) {
        return { valid: false, reason: 'UNKNOWN_TRANSACTION', message: 'The signature is ours but no such transaction exists here.' };
      }
      const now = Date.now();
      let status = 'active';
      if (record.revocationDate) status = 'revoked';
      else if (record.expiresDate && record.expiresDate.getTime() <= now) {
        const grace = await db.query(`SELECT 1 FROM subscriptions WHERE original_transaction_id = $1 AND status = 'grace' AND grace_until > now()`, [
          record.originalTransactionId,
        ]);
        status = grace.rows.length ? 'active' : 'expired';
      }
      return { valid: true, status, transaction: checked.payload };
    },

    /** One stored transaction by its numeric id, and its receipt signed now: for the App Store Server API. */
    findTransaction: (id: string) => loadTransaction(db, id),
    signTransaction: async (t: StoredTransaction) => (await getSigner()).sign(toDecodedPayload(t, new Date())),
    /** Any payload signed like receipts (same key and chain): App Store Server Notifications' signedPayload. */
    signPayload: async (payload: object) => (await getSigner()).sign(payload),

    /** The root certificate receipts chain to (PEM); clients and Apple's library pin it. */
    rootCertificate: async () => (await keysReady).rootPem,
    rootCertificateDer: async () => (await keysReady).rootDer,

    /** What the comparisons of the books found (admin). */
    paymentMismatches: (limit: number, cursor?: string, kind?: MismatchKind) => books.listMismatches(limit, cursor, kind),
  };

  /** Periodic jobs: renewals, reconciliation of orders past their lock, the daily comparison of the books. */
  const jobs: Job[] = [
    {
      name: 'purchases.renewals',
      everyMs: RENEWAL_INTERVAL_MS,
      async run() {
        for (;;) {
          const r = await subscriptions.runRenewals();
          if (r.renewed + r.failed + r.expired) logger.info(r, 'subscription renewals');
          if (r.renewed + r.failed + r.expired + r.deferred < 200) break;
        }
      },
    },
    // these two coordinate across processes by themselves (a lock of their own, kept for callers outside the scheduler)
    { name: 'purchases.reconcile', everyMs: settings.intervalSeconds * 1000, exclusive: false, run: () => reconciler.reconcile() },
    { name: 'purchases.books', everyMs: BOOKS_CHECK_MS, exclusive: false, runAtStart: true, run: () => books.compareDaily() },
  ];

  // The root certificate that signed receipts chain to: clients (and Apple's library) pin it.
  const rootRoutes: FastifyPluginAsync = async (app) => {
    app.get('/.well-known/orchard/receipt-root.pem', { schema: { hide: true } }, async (_req, reply) =>
      reply
        .type('application/x-pem-file')
        .header('cache-control', 'public, max-age=86400')
        .send(await commerce.rootCertificate()),
    );
    app.get('/.well-known/orchard/receipt-root.cer', { schema: { hide: true } }, async (_req, reply) =>
      reply
        .type('application/pkix-cert')
        .header('cache-control', 'public, max-age=86400')
        .send(await commerce.rootCertificateDer()),
    );
  };

  const limits = { ...DEFAULT_PURCHASE_LIMITS, ...deps.limits };
  const routes: FastifyPluginAsync<{ guards: Guards }> = purchasesRoutes(commerce, cache, limits);
  // Prices, products or status changed somewhere: this process forgets that app's offers.
  const consumers = [
    consumersOf<CatalogEvents>().broadcast(['app.changed'], async (event) => {
      offers.drop(event.payload.appId);
    }),
  ];
  return {
    name: 'purchases',
    migrations: purchasesMigrations,
    routes,
    rootRoutes,
    jobs,
    consumers,
    onEventGap: () => offers.clear(),
    ...commerce,
    /** Another module's cache of a user's library: told after a Production app purchase commits, before its response. */
    onAppAcquired: (listener: (userId: string, appId: string) => Promise<void>) => void acquiredListeners.push(listener),
    sandbox,
    payments,
    idempotency,
    keysReady,
    /** One reconciliation pass over pending orders past their lock; null when another process is running one. */
    reconcile: reconciler.reconcile,
    /** Compares the provider's charges with our transactions over a range (default: the last day of settled orders). */
    compareBooks: books.compareBooks,
  };
}
export type Commerce = ReturnType<typeof createPurchases>;
/** What the routes use. */
export type CommerceApi = Pick<
  Commerce,
  'purchases' | 'subscriptions' | 'entitlements' | 'transactions' | 'refund' | 'setProductEntitlements' | 'verify' | 'paymentMismatches'
>;
