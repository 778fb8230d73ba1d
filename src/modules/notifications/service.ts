// Notifications: each app's URL, turning commerce events into signed notifications (a durable consumer),
// TEST notifications, and the history Apple's Get Notification History returns.
import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { v7 as uuidv7 } from 'uuid';
import type { Db, Queryable } from '../../platform/db/index.ts';
import type { OrchardEvent } from '../../platform/bus/index.ts';
import { DomainError, invalid, notFound } from '../../platform/errors.ts';
import type { Principal } from '../../platform/http/auth.ts';
import type { Commerce } from '../purchases/index.ts';
import type { ApiClient } from '../serverapi/index.ts';
import type { Due } from './delivery.ts';
import { notificationKind } from './mapping.ts';

export type NotificationsCommerce = Pick<Commerce, 'findTransaction' | 'signTransaction' | 'signPayload'>;

const MAX_URL_LENGTH = 2000;
const HISTORY_PAGE = 20;

export interface HistoryRequest {
  startDate: number;
  endDate: number;
  notificationType?: string;
  notificationSubtype?: string;
  transactionId?: string;
  onlyFailures?: boolean;
}

/** `created` is called after a notification is committed outside the consumer (a TEST one): wake the worker. */
export function createNotificationsService(
  db: Db,
  commerce: NotificationsCommerce,
  signedRenewalInfo: (originalTransactionId: string) => Promise<string | null>,
  created: () => void = () => {},
) {
  /** Like every developer route: another developer's app is not found, for admins too (they have admin routes). */
  async function ownedApp(actor: Principal, appId: string) {
    const { rows } = await db.query<{ developer_id: string }>('SELECT developer_id FROM catalog_apps WHERE id = $1', [appId]);
    if (!rows[0] || rows[0].developer_id !== actor.developerId) throw notFound('App');
  }

  const appleIds = new LRUCache<string, number>({ max: 10_000 }); // an app's appAppleId never changes

  /** Apple's numeric id of the app (appAppleId), given on first use. */
  async function appAppleId(appId: string): Promise<number> {
    const known = appleIds.get(appId);
    if (known !== undefined) return known;
    const select = () => db.query<{ app_apple_id: string }>('SELECT app_apple_id FROM notification_endpoints WHERE app_id = $1', [appId]);
    let { rows } = await select();
    if (!rows[0]) {
      ({ rows } = await db.query<{ app_apple_id: string }>(
        'INSERT INTO notification_endpoints (app_id) VALUES ($1) ON CONFLICT (app_id) DO NOTHING RETURNING app_apple_id',
        [appId],
      ));
      if (!rows[0]) ({ rows } = await select()); // another request gave it one meanwhile
    }
    const id = Number(rows[0].app_apple_id);
    appleIds.set(appId, id);
    return id;
  }

  async function setUrl(actor: Principal, appId: string, url: string) {
    await ownedApp(actor, appId);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw invalid('INVALID_URL', 'url must be an absolute http or https URL.');
    }
    if (!['http:', 'https:'].includes(parsed.protocol) || url.length > MAX_URL_LENGTH) {
      throw invalid('INVALID_URL', `url must be an http or https URL of at most ${MAX_URL_LENGTH} characters.`);
    }
    const { rows } = await db.query<{ app_apple_id: string }>(
      `INSERT INTO notification_endpoints (app_id, url) VALUES ($1, $2)
       ON CONFLICT (app_id) DO UPDATE SET url = EXCLUDED.url, updated_at = now()
       RETURNING app_apple_id`,
      [appId, url],
    );
    return { url, appAppleId: Number(rows[0].app_apple_id) };
  }

  async function removeUrl(actor: Principal, appId: string) {
    await ownedApp(actor, appId);
    await db.query('UPDATE notification_endpoints SET url = NULL, updated_at = now() WHERE app_id = $1', [appId]);
  }

  function sign(
    kind: { type: string; subtype?: string; status?: number },
    id: string,
    t: Pick<Due, 'bundle_id' | 'environment' | 'app_apple_id'>,
    extra: Record<string, unknown>,
  ) {
    return commerce.signPayload({
      notificationType: kind.type,
      ...(kind.subtype ? { subtype: kind.subtype } : {}),
      notificationUUID: id,
      data: {
        appAppleId: Number(t.app_apple_id),
        bundleId: t.bundle_id,
        environment: t.environment,
        ...extra,
        ...(kind.status ? { status: kind.status } : {}),
      },
      version: '2.0',
      signedDate: Date.now(),
    });
  }

  /**
   * The durable consumer's effect: one notification per event for an app with a URL, in the consumer's
   * transaction and through it only (on the embedded database another query would wait for this transaction).
   */
  async function onPurchaseEvent(event: OrchardEvent<Record<string, any>>, q: Queryable, settleMs: number): Promise<boolean> {
    const p = event.payload;
    // Events without a transaction id (renewal status, billing, expiry) concern the latest transaction of the subscription.
    const byId = p.transactionId !== undefined;
    const key = String(byId ? p.transactionId : p.originalTransactionId);
    if (!/^[0-9]{1,19}$/.test(key)) return false;
    const { rows } = await q.query<{ id: string; original_transaction_id: string; app_id: string; kind: string; environment: string }>(
      `SELECT t.id::text AS id, t.original_transaction_id::text AS original_transaction_id, t.app_id, t.kind, t.environment
         FROM purchases_transactions t JOIN notification_endpoints e ON e.app_id = t.app_id AND e.url IS NOT NULL
        WHERE ${byId ? 't.id = $1' : 't.original_transaction_id = $1'}
        ORDER BY t.id DESC LIMIT 1`,
      [key],
    );
    const t = rows[0];
    const kind = t && notificationKind(event, t.kind);
    if (!t || !kind) return false;
    await q.query(
      `INSERT INTO notifications (id, app_id, type, subtype, original_transaction_id, transaction_id, environment, data_status, next_attempt_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING`,
      [
        event.id,
        t.app_id,
        kind.type,
        kind.subtype ?? null,
        t.original_transaction_id,
        t.id,
        t.environment,
        kind.status ?? null,
        new Date(Date.now() + settleMs),
      ],
    );
    return true;
  }

  /** A notification's signedPayload, with the transaction as it is now (signed at the first attempt). */
  async function signNotification(n: Due): Promise<string> {
    const transaction = n.transaction_id ? await commerce.findTransaction(n.transaction_id) : null;
    const extra: Record<string, unknown> = transaction ? { signedTransactionInfo: await commerce.signTransaction(transaction) } : {};
    const renewal = transaction?.kind === 'auto_renewable' ? await signedRenewalInfo(transaction.originalTransactionId) : null;
    if (renewal) extra.signedRenewalInfo = renewal;
    return sign({ type: n.type, subtype: n.subtype ?? undefined, status: n.data_status ?? undefined }, n.id, n, extra);
  }

  /** Apple's Request a Test Notification: a TEST notification to the app's URL, sent once. */
  async function requestTest(client: ApiClient) {
    const id = uuidv7();
    const token = `${randomUUID()}_${Date.now()}`;
    const target = { bundle_id: client.bundleId, environment: client.environment, app_apple_id: String(await appAppleId(client.appId)) };
    const signedPayload = await sign({ type: 'TEST' }, id, target, {});
    await db.query(`INSERT INTO notifications (id, app_id, type, environment, signed_payload, test_token) VALUES ($1, $2, 'TEST', $3, $4, $5)`, [
      id,
      client.appId,
      client.environment,
      signedPayload,
      token,
    ]);
    created();
    return { testNotificationToken: token };
  }

  async function attemptsOf(ids: string[]) {
    const { rows } = await db.query<{ notification_id: string; attempted_at: Date; result: string }>(
      'SELECT notification_id, attempted_at, result FROM notification_attempts WHERE notification_id = ANY($1::uuid[]) ORDER BY id',
      [ids],
    );
    const byId = new Map<string, { attemptDate: number; sendAttemptResult: string }[]>(ids.map((id) => [id, []]));
    for (const r of rows) byId.get(r.notification_id)!.push({ attemptDate: new Date(r.attempted_at).getTime(), sendAttemptResult: r.result });
    return byId;
  }

  async function checkTest(client: ApiClient, token: string) {
    const { rows } = await db.query<{ id: string; signed_payload: string }>(
      'SELECT id, signed_payload FROM notifications WHERE test_token = $1 AND app_id = $2 AND environment = $3',
      [token, client.appId, client.environment],
    );
    if (!rows[0]) throw new DomainError('not_found', 'TEST_NOTIFICATION_NOT_FOUND', 'Test notification not found.'); // Apple's TestNotificationNotFoundError
    return { signedPayload: rows[0].signed_payload, sendAttempts: (await attemptsOf([rows[0].id])).get(rows[0].id)! };
  }

  /** Apple's Get Notification History: the client's environment only, oldest first, pages of 20, filtered as Apple's request body says. */
  async function history(client: ApiClient, req: HistoryRequest, paginationToken?: string) {
    if (req.startDate > req.endDate)
      throw invalid('START_DATE_AFTER_END_DATE', 'Invalid request. The end date precedes the start date or the dates are the same.');
    let after = '00000000-0000-0000-0000-000000000000';
    if (paginationToken !== undefined) {
      after = Buffer.from(paginationToken, 'base64url').toString();
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(after)) throw invalid('INVALID_PAGINATION_TOKEN', 'Invalid pagination token.');
    }
    const params: unknown[] = [client.appId, new Date(req.startDate), new Date(req.endDate), after, client.environment];
    const where = ['n.signed_payload IS NOT NULL', 'n.app_id = $1', 'n.created_at >= $2', 'n.created_at < $3', 'n.id > $4', 'n.environment = $5'];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (req.notificationType) add('n.type = ?', req.notificationType);
    if (req.notificationSubtype) add('n.subtype = ?', req.notificationSubtype);
    if (req.transactionId) {
      if (!/^[0-9]{1,19}$/.test(req.transactionId)) throw invalid('INVALID_TRANSACTION_ID', 'Invalid transaction id.');
      add('n.original_transaction_id = (SELECT original_transaction_id FROM purchases_transactions WHERE id = ? AND app_id = $1)', req.transactionId);
    }
    if (req.onlyFailures) where.push(`EXISTS (SELECT 1 FROM notification_attempts f WHERE f.notification_id = n.id AND f.result <> 'SUCCESS')`);
    params.push(HISTORY_PAGE + 1);
    const { rows } = await db.query<{ id: string; signed_payload: string }>(
      `SELECT n.id, n.signed_payload FROM notifications n WHERE ${where.join(' AND ')} ORDER BY n.id LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, HISTORY_PAGE);
    const hasMore = rows.length > HISTORY_PAGE;
    const attempts = await attemptsOf(page.map((r) => r.id));
    return {
      notificationHistory: page.map((r) => ({ signedPayload: r.signed_payload, sendAttempts: attempts.get(r.id)! })),
      hasMore,
      ...(hasMore ? { paginationToken: Buffer.from(page[page.length - 1].id).toString('base64url') } : {}),
    };
  }

  return { setUrl, removeUrl, appAppleId, onPurchaseEvent, signNotification, requestTest, checkTest, history };
}
export type NotificationsService = ReturnType<typeof createNotificationsService>;
