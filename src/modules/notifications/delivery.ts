// The delivery worker: sends due notifications to each app's URL, in order per original transaction
// (the order their events happened in: notification ids are the events' UUIDv7),
// with Apple's retry schedule, recording every attempt. Several processes may run it: rows are claimed
// with FOR UPDATE SKIP LOCKED and leased (next_attempt_at pushed ahead) while their POST is in flight.
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import type { Db } from '../../platform/db/index.ts';
import type { Logger } from '../../platform/observability/logger.ts';

const HOUR = 60 * 60 * 1000;
/** Apple retries five times: about 1, 12, 24, 48 and 72 hours after the first attempt fails. */
export const APPLE_RETRY_SCHEDULE_MS = [1 * HOUR, 12 * HOUR, 24 * HOUR, 48 * HOUR, 72 * HOUR];

export interface DeliveryOptions {
  /** Delay before each retry; after the last one fails, the notification is 'failed'. */
  retryScheduleMs?: number[];
  timeoutMs?: number;
  /**
   * How long a new notification waits before its first attempt. Consumers may take events slightly out
   * of order (RabbitMQ prefetch); within this window an earlier event's notification still goes first.
   */
  settleMs?: number;
  pollMs?: number;
  batch?: number;
  /** Deliver to loopback and private addresses too (tests, a local receiver). Default: WEBHOOKS_ALLOW_PRIVATE=1, else no. */
  allowPrivateAddresses?: boolean;
}

// A webhook URL is the developer's to choose: without this, it could make the server call its own
// network (databases, metadata services). Checked on the resolved addresses at every attempt.
const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 127],
  ['fc00::', 7],
  ['fe80::', 10],
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv6');

/** True when the host is, or resolves to, a loopback, private or link-local address. */
export async function isPrivateHost(hostname: string): Promise<boolean> {
  const host = hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await lookup(host, { all: true });
  return addresses.some(({ address, family }) => {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    return mapped ? PRIVATE.check(mapped, 'ipv4') : PRIVATE.check(address, family === 6 ? 'ipv6' : 'ipv4');
  });
}

export interface Due {
  id: string;
  type: string;
  subtype: string | null;
  transaction_id: string | null;
  environment: 'Sandbox' | 'Production';
  data_status: number | null;
  signed_payload: string | null;
  attempts: number;
  url: string | null;
  bundle_id: string;
  app_apple_id: string;
}

interface Outcome {
  ok: boolean;
  httpStatus: number | null;
  result: string; // Apple's SendAttemptResult
  error: string | null;
}

/** `sign` builds a notification's signedPayload at its first attempt (kept for the retries). */
export function createDelivery(db: Db, logger: Pick<Logger, 'error' | 'debug'>, sign: (n: Due) => Promise<string>, opts: DeliveryOptions = {}) {
  const schedule = opts.retryScheduleMs ?? APPLE_RETRY_SCHEDULE_MS;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const pollMs = opts.pollMs ?? 500;
  const batch = opts.batch ?? 20;
  const settleMs = opts.settleMs ?? 2000;
  const allowPrivate = opts.allowPrivateAddresses ?? process.env.WEBHOOKS_ALLOW_PRIVATE === '1';
  const leaseMs = timeoutMs + 30_000;

  /** Claims due notifications (oldest first, never one behind a pending earlier one of its original transaction). */
  async function claim(): Promise<Due[]> {
    return db.tx(async (q) => {
      const now = new Date();
      const { rows } = await q.query<Due>(
        `SELECT n.id, n.type, n.subtype, n.transaction_id::text AS transaction_id, n.environment, n.data_status, n.signed_payload, n.attempts,
                e.url, a.bundle_id, e.app_apple_id::text AS app_apple_id
           FROM notifications n JOIN catalog_apps a ON a.id = n.app_id LEFT JOIN notification_endpoints e ON e.app_id = n.app_id
          WHERE n.status = 'pending' AND n.next_attempt_at <= $1
            AND NOT EXISTS (SELECT 1 FROM notifications b
                             WHERE b.original_transaction_id = n.original_transaction_id AND b.status = 'pending' AND b.id < n.id)
          ORDER BY n.id LIMIT $2
          FOR UPDATE OF n SKIP LOCKED`,
        [now, batch],
      );
      if (rows.length) {
        await q.query('UPDATE notifications SET next_attempt_at = $2 WHERE id = ANY($1::uuid[])', [rows.map((r) => r.id), new Date(now.getTime() + leaseMs)]);
      }
      return rows;
    });
  }

  async function post(url: string | null, signedPayload: string): Promise<Outcome> {
    if (!url) return { ok: false, httpStatus: null, result: 'OTHER', error: 'no notification URL is set for the app' };
    try {
      if (!allowPrivate && (await isPrivateHost(new URL(url).hostname))) {
        return { ok: false, httpStatus: null, result: 'OTHER', error: 'the URL resolves to a loopback or private address' };
      }
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ signedPayload }),
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined); // drain, so the connection can be reused
      const ok = res.status >= 200 && res.status < 300;
      return { ok, httpStatus: res.status, result: ok ? 'SUCCESS' : 'UNSUCCESSFUL_HTTP_RESPONSE_CODE', error: null };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      if (e.name === 'TimeoutError') return { ok: false, httpStatus: null, result: 'TIMED_OUT', error: 'timed out' };
      const code = e.cause?.code ?? '';
      const result = /CERT|TLS|SSL/.test(code)
        ? 'TLS_ISSUE'
        : code === 'ECONNREFUSED' || code === 'ENOTFOUND'
          ? 'NO_RESPONSE'
          : code === 'ECONNRESET' || code === 'UND_ERR_SOCKET'
            ? 'SOCKET_ISSUE'
            : 'OTHER';
      return { ok: false, httpStatus: null, result, error: (code || e.message).slice(0, 500) };
    }
  }

  async function deliver(n: Due) {
    if (n.signed_payload === null) {
      n.signed_payload = await sign(n);
      await db.query('UPDATE notifications SET signed_payload = $2 WHERE id = $1', [n.id, n.signed_payload]);
    }
    const attemptedAt = new Date();
    const outcome = await post(n.url, n.signed_payload);
    const attempts = n.attempts + 1;
    // TEST notifications are sent once, as Apple does.
    const retryIn = n.type === 'TEST' ? undefined : schedule[attempts - 1];
    const status = outcome.ok ? 'delivered' : retryIn === undefined ? 'failed' : 'pending';
    await db.tx(async (q) => {
      await q.query('INSERT INTO notification_attempts (notification_id, attempted_at, http_status, result, error) VALUES ($1, $2, $3, $4, $5)', [
        n.id,
        attemptedAt,
        outcome.httpStatus,
        outcome.result,
        outcome.error,
      ]);
      await q.query('UPDATE notifications SET status = $2, attempts = $3, next_attempt_at = $4 WHERE id = $1', [
        n.id,
        status,
        attempts,
        status === 'pending' ? new Date(Date.now() + retryIn!) : attemptedAt,
      ]);
    });
    logger.debug({ notification: n.id, type: n.type, status, result: outcome.result }, 'notification attempt');
  }

  /** Sends everything due now; returns how many attempts were made. */
  async function runOnce(): Promise<number> {
    let total = 0;
    for (;;) {
      const due = await claim();
      // one per original transaction at most (the ordering rule), so they may go in parallel
      await Promise.all(due.map((n) => deliver(n).catch((err) => logger.error({ err, notification: n.id }, 'notification delivery failed'))));
      total += due.length;
      if (due.length < batch) return total;
    }
  }

  return { settleMs, pollMs, runOnce };
}
export type Delivery = ReturnType<typeof createDelivery>;
