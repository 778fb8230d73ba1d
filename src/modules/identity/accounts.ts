// Facts about accounts other modules weigh in bulk (charts: how old an account is, which storefront it uses).
import type { Queryable } from '../../platform/db/index.ts';

export interface AccountFacts {
  country: string;
  createdAt: Date;
}

/** The facts of each known account among `userIds`, in one query (inside the caller's transaction). */
export async function accountFacts(q: Queryable, userIds: readonly string[]): Promise<Map<string, AccountFacts>> {
  if (!userIds.length) return new Map();
  const { rows } = await q.query<{ id: string; country: string; created_at: Date }>('SELECT id, country, created_at FROM users WHERE id = ANY($1::uuid[])', [
    [...new Set(userIds)],
  ]);
  return new Map(rows.map((r) => [r.id, { country: r.country, createdAt: new Date(r.created_at) }]));
}
