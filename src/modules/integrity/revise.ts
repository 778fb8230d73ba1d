// The periodic pass (job integrity.groups): what the review-by-review detection cannot see. It finds dense
// blocks of accounts × apps over the last 30 days (dense-block.ts, FRAUDAR-style, camouflage resistant) and holds
// their members' reviews still approved; and it restores reviews held only for a group that moderators have since
// found genuine (at least two of its members approved by a moderator, and none rejected by one). Every revision
// is recorded in integrity_revisions with its reason; moderators' own decisions are never revisited.
import type { Db, Queryable } from '../../platform/db/index.ts';
import { integrityApproved, integrityHeld, type Verdict } from '../reviews/index.ts';
import { denseBlocks } from './dense-block.ts';
import { GROUP_SCORE } from './group.ts';
import { recordGroup, recordRevisions, type Revision } from './groups.ts';
import { decideAgain } from './consumer.ts';
import type { StoredModel } from './model.ts';
import type { ModelHolder } from './models.ts';
import type { WeightedSignal } from './score.ts';
import type { Signal } from './signals.ts';

/** Blocks looked for per pass, and what makes one: ≥ 5 accounts on ≥ 2 apps (same polarity) at a density that
 *  random review graphs stay well below (~0.7; a 10 × 4 ring scores ≈ 1.1: lockstepDensity in dense-block.ts). */
export const DENSE = { maxBlocks: 20, minAccounts: 5, minApps: 2, minDensity: 1.0 } as const;
/** Reviews read per pass, the newest: a bound on memory at any review rate. */
const MAX_EDGES = 500_000;
/** Moderator-approved members from which a group is taken back. */
const RESTORE_GENUINE = 2;

export interface ReviseDeps {
  db: Db;
  applyVerdicts(q: Queryable, v: Verdict[]): Promise<boolean[]>;
  models: ModelHolder;
}

export interface ReviseReport {
  blocks: number;
  held: number;
  restored: number;
}

export async function reviseGroups(deps: ReviseDeps, now: Date = new Date()): Promise<ReviseReport> {
  const report: ReviseReport = { blocks: 0, held: 0, restored: 0 };
  const { rows } = await deps.db.query<{ review_id: string; user_id: string; app_id: string; pol: number }>(
    `SELECT review_id, user_id, app_id, CASE WHEN rating >= 4 THEN 1 ELSE -1 END AS pol FROM integrity_reviews
      WHERE first_written_at > $1::timestamptz - interval '30 days' AND rating <> 3
      ORDER BY first_written_at DESC LIMIT ${MAX_EDGES}`,
    [now],
  );
  // praise and attacks of one app are separate columns: a ring is one direction
  const column = (r: { app_id: string; pol: number }) => `${r.app_id}:${r.pol}`;
  for (const block of denseBlocks(
    rows.map((r) => ({ account: r.user_id, app: column(r) })),
    DENSE,
  )) {
    report.blocks++;
    const accounts = new Set(block.accounts);
    const apps = new Set(block.apps);
    const members = rows.filter((r) => accounts.has(r.user_id) && apps.has(column(r)));
    const reason = `dense block: ${block.accounts.length} accounts × ${block.apps.length} apps reviewed with the same polarity in 30 days (density ${block.density.toFixed(2)})`;
    report.held += await deps.db.tx(async (q) => {
      const groupId = await recordGroup(q, {
        kind: 'dense-block',
        reason,
        decision: 'hold',
        foundBy: 'periodic',
        reviewIds: members.map((m) => m.review_id),
      });
      const signal: Signal = { name: 'group', score: GROUP_SCORE.hold, reason: `dense-block: ${reason}`, decisive: 'hold' };
      return revise(
        q,
        deps,
        await deps.models.current(q),
        await integrityApproved(
          q,
          members.map((m) => m.review_id),
        ),
        signal,
        groupId,
        'approved',
      );
    });
  }
  report.restored = await restoreGenuineGroups(deps);
  return report;
}

/** Reviews held for their group whose group moderators found genuine: the group signal is withdrawn. */
async function restoreGenuineGroups(deps: ReviseDeps): Promise<number> {
  const { rows: groups } = await deps.db.query<{ group_id: string; genuine: number }>(
    `WITH labels AS (
       SELECT DISTINCT ON (review_id) review_id, genuine FROM integrity_labels ORDER BY review_id, decided_at DESC, id DESC
     )
     SELECT m.group_id, count(*) FILTER (WHERE l.genuine)::int AS genuine
       FROM integrity_group_members m JOIN labels l ON l.review_id = m.review_id
      GROUP BY m.group_id HAVING count(*) FILTER (WHERE l.genuine) >= ${RESTORE_GENUINE} AND count(*) FILTER (WHERE NOT l.genuine) = 0`,
  );
  let restored = 0;
  for (const g of groups) {
    restored += await deps.db.tx(async (q) => {
      const { rows } = await q.query<{ review_id: string }>('SELECT review_id FROM integrity_group_members WHERE group_id = $1', [g.group_id]);
      const held = (
        await integrityHeld(
          q,
          rows.map((r) => r.review_id),
        )
      ).filter((e) => (e.signals as Signal[]).some((s) => s.name === 'group' && s.decisive));
      const signal: Signal = { name: 'group', score: 1, reason: `its group was restored: moderators found ${g.genuine} of its members genuine` };
      return revise(q, deps, await deps.models.current(q), held, signal, g.group_id, 'held');
    });
  }
  return restored;
}

/** Decides reviews again with their group signal replaced, applies the changed verdicts and records them. */
async function revise(
  q: Queryable,
  deps: ReviseDeps,
  model: StoredModel | null,
  reviews: Awaited<ReturnType<typeof integrityApproved>>,
  signal: Signal,
  groupId: string,
  from: 'approved' | 'held',
): Promise<number> {
  const verdicts: Verdict[] = [];
  const revisions: Revision[] = [];
  for (const e of reviews) {
    const verdict = decideAgain(e, [...(e.signals as WeightedSignal[]).filter((s) => s.name !== 'group'), signal as WeightedSignal], model);
    const to = verdict.status;
    if (to === from) continue;
    verdicts.push(verdict);
    revisions.push({ reviewId: e.reviewId, revision: e.revision, from, to, reason: signal.reason, groupId, foundBy: 'periodic' });
  }
  if (!verdicts.length) return 0;
  await deps.applyVerdicts(q, verdicts);
  await recordRevisions(q, revisions);
  return verdicts.length;
}
