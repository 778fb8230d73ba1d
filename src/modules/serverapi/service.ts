// The App Store Server API's transaction endpoints over Orchard's transactions: Get Transaction Info and
// Get Transaction History, answered with receipts signed by the purchases module.
import type { Db } from '../../platform/db/index.ts';
import type { Commerce, StoredTransaction } from '../purchases/index.ts';
import type { ApiClient } from './auth.ts';
import { invalid } from '../../platform/errors.ts';
import { transactionNotFound } from './errors.ts';

/** Apple's page size for transaction history. */
export const HISTORY_PAGE_SIZE = 20;

export type ProductType = 'AUTO_RENEWABLE' | 'NON_RENEWABLE' | 'CONSUMABLE' | 'NON_CONSUMABLE';

/** Apple's history query parameters (startDate and endDate are ms since the epoch). */
export interface HistoryQuery {
  revision?: string;
  sort?: 'ASCENDING' | 'DESCENDING';
  startDate?: number;
  endDate?: number;
  productId?: string[];
  productType?: ProductType[];
  subscriptionGroupIdentifier?: string[];
  inAppOwnershipType?: 'PURCHASED' | 'FAMILY_SHARED';
  revoked?: boolean;
}

// Orchard's kinds as Apple's product types; the app itself is bought once, like a non-consumable.
const KINDS_OF: Record<ProductType, string[]> = {
  AUTO_RENEWABLE: ['auto_renewable'],
  NON_RENEWABLE: ['non_renewing'],
  CONSUMABLE: ['consumable'],
  NON_CONSUMABLE: ['non_consumable', 'app'],
};

type Purchases = Pick<Commerce, 'findTransaction' | 'signTransaction'>;

/**
 * The transaction if it belongs to the client's app and environment: Apple answers "not found" for anyone else's,
 * and its production host for Sandbox transactions (clients then try the sandbox host), and the reverse.
 */
export async function transactionOf(purchases: Pick<Commerce, 'findTransaction'>, client: ApiClient, transactionId: string): Promise<StoredTransaction> {
  const t = await purchases.findTransaction(transactionId);
  if (!t || t.appId !== client.appId || t.environment !== client.environment) throw transactionNotFound();
  return t;
}

export function createServerApiService(db: Db, purchases: Purchases, appAppleId: (appId: string) => Promise<number>) {
  async function transactionInfo(client: ApiClient, transactionId: string) {
    return { signedTransactionInfo: await purchases.signTransaction(await transactionOf(purchases, client, transactionId)) };
  }

  /** Pages of the transactions of the same customer, app and environment; the revision is the last id seen. */
  async function history(client: ApiClient, transactionId: string, query: HistoryQuery) {
    const anchor = await transactionOf(purchases, client, transactionId);
    const after = query.revision === undefined ? null : parseRevision(query.revision);
    if (query.startDate !== undefined && query.endDate !== undefined && query.startDate > query.endDate) {
      throw invalid('START_DATE_AFTER_END_DATE', 'The start date is after the end date.');
    }
    const ascending = query.sort !== 'DESCENDING';
    const kinds = query.productType?.flatMap((type) => KINDS_OF[type]);
    // Orchard has no Family Sharing: every transaction is PURCHASED.
    const none = query.inAppOwnershipType === 'FAMILY_SHARED';
    const { rows } = await db.query<{ id: string }>(
      `SELECT id FROM purchases_transactions
        WHERE user_id = $1 AND app_id = $2 AND environment = $3 AND NOT $4::boolean
          AND ($5::bigint IS NULL OR (CASE WHEN $6::boolean THEN id > $5 ELSE id < $5 END))
          AND ($7::timestamptz IS NULL OR purchase_date >= $7) AND ($8::timestamptz IS NULL OR purchase_date < $8)
          AND ($9::text[] IS NULL OR product_id = ANY($9)) AND ($10::text[] IS NULL OR kind = ANY($10))
          AND ($11::text[] IS NULL OR subscription_group = ANY($11))
          AND ($12::boolean IS NULL OR (revocation_date IS NOT NULL) = $12)
        ORDER BY CASE WHEN $6::boolean THEN id END ASC, CASE WHEN NOT $6::boolean THEN id END DESC
        LIMIT $13`,
      [
        anchor.userId,
        anchor.appId,
        anchor.environment,
        none,
        after,
        ascending,
        dateOrNull(query.startDate),
        dateOrNull(query.endDate),
        query.productId ?? null,
        kinds ?? null,
        query.subscriptionGroupIdentifier ?? null,
        query.revoked ?? null,
        HISTORY_PAGE_SIZE + 1,
      ],
    );
    const page = rows.slice(0, HISTORY_PAGE_SIZE).map((r) => String(r.id));
    const transactions = await Promise.all(page.map((id) => purchases.findTransaction(id)));
    const signedTransactions = await Promise.all(transactions.filter((t) => t !== null).map((t) => purchases.signTransaction(t)));
    return {
      // The next page starts after this page's last id; an empty page keeps the revision it was asked with.
      revision: page.length ? formatRevision(page[page.length - 1]) : (query.revision ?? formatRevision(null)),
      hasMore: rows.length > HISTORY_PAGE_SIZE,
      bundleId: client.bundleId,
      appAppleId: await appAppleId(client.appId),
      environment: anchor.environment,
      signedTransactions,
    };
  }

  return { transactionInfo, history };
}
export type ServerApiService = ReturnType<typeof createServerApiService>;

const dateOrNull = (ms: number | undefined) => (ms === undefined ? null : new Date(ms));

// A revision is opaque to clients: the last transaction id of the page they have, base64url-encoded.
const REVISION_ID = /^(0|[1-9][0-9]{0,17})$/;

function formatRevision(lastId: string | null): string {
  return Buffer.from(lastId ?? '0').toString('base64url');
}

function parseRevision(revision: string): string | null {
  const id = Buffer.from(revision, 'base64url').toString('utf8');
  if (!REVISION_ID.test(id)) throw invalid('INVALID_REQUEST_REVISION', 'Invalid request revision.');
  return id === '0' ? null : id;
}
