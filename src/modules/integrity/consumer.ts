// The integrity consumer: every review.created / review.updated is scored in the transaction that
// records the event as processed, so a redelivery never scores twice and a crash never loses a score.
//
// A review is scored on what came before it. The first reviews of a burst, and the original of a text
// later copied across apps, looked innocent when they were scored; so when a review reveals a burst or a
// copy, the earlier reviews it implicates (still approved by integrity alone) are scored again with that
// signal lowered. Moderators' decisions are never revisited.
import type { DurableBatchHandler, OrchardEvent } from '../../platform/bus/index.ts';
import type { Queryable } from '../../platform/db/index.ts';
import type { Metrics } from '../../platform/observability/metrics.ts';
import { integrityApproved, integrityHeld, type IntegrityApproved, type ReviewSubmitted, type Verdict } from '../reviews/index.ts';
import { gistBands, gistSignature, gistWords } from './gist.ts';
import { groupSignal, judgeGroup, type GroupFacts } from './group.ts';
import { gatherGroupFacts, profileOf, recordGroup, recordRevisions, type GroupQuery, type Revision } from './groups.ts';
import { analyze, rescore, type IntegrityFacts, type IntegrityResult, type StoredModel } from './model.ts';
import type { ModelHolder } from './models.ts';
import type { Action, WeightedSignal } from './score.ts';
import { COPY_MIN_WORDS, copyThreshold, type OriginalityFacts, type SignalName } from './signals.ts';
import { burstMembers, forgetReview, gatherFactsBatch, HISTORY_DAYS, recordScoredBatch, WINDOW_SAMPLE, type RawFacts, type ScoredReview } from './store.ts';
import { decodeSignature, encodeSignature, lshBands, minhash, normalize, reviewText, sentenceKeys, similarity, WORD_SHINGLE_MIN_WORDS } from './text.ts';

export const INTEGRITY_CONSUMER = 'integrity.analyze';
/** Near-duplicate threshold: an estimated Jaccard this high counts as a copy. */
export const NEAR_DUPLICATE = 0.5;
/** A coordination score this low marks a burst: the window's reviews with the same rating are part of it. */
const BURST = 0.5;
/** Texts this similar (and long enough to be more than a stock phrase) make the earlier one a copy too. */
const COPY = 0.8;
/** A review whose sentences were mostly written before makes the reviews it took them from suspect too. */
const TEMPLATED = 0.5;
/** Below this many words a text is a stock phrase ("Great app"): its duplicates say nothing about copying. */
const STOCK_PHRASE_WORDS = 3;

const DAY_MS = 86_400_000;
/**
 * A text of 8-14 words with at least 6 content words (not a stock sentence like "the subscription is too expensive")
 * is a copy only when near-identical (≥ 0.95) to another app's review: held. Simulated organic reviews met one
 * that closely in 0.1-0.5% of cases (seeds 1-3), the copy family in 2-20%.
 */
const SHORT_COPY = { words: 8, contentWords: 6, similarity: 0.95 } as const;
const STATUS_OF: Record<Action, Verdict['status']> = { approve: 'approved', manual_review: 'held', reject: 'rejected' };

export interface ConsumerDeps {
  applyVerdicts(q: Queryable, v: Verdict[]): Promise<boolean[]>;
  models: ModelHolder;
  metrics: Metrics;
}

/** Reviews scored per transaction: one commit and a fixed number of statements for all of them. */
export const SCORING_BATCH = 64;

interface Prepared {
  p: ReviewSubmitted;
  review: ScoredReview;
  text: string;
  signature: Uint32Array;
  /** MinHash of the body alone: a copy is decided on bodies (titles are short and easily changed). */
  bodySignature: Uint32Array;
  bands: number[];
  sentences: number[];
  group: GroupQuery;
}

/**
 * Scores a batch of review revisions: facts from the projection (plus the batch's own earlier reviews, which
 * the projection does not hold yet), signals, verdicts; then updates the projection. Only the latest revision
 * of a review in the batch is scored (an earlier one's verdict would be stale anyway).
 */
export async function scoreReviews(q: Queryable, submitted: ReviewSubmitted[], deps: ConsumerDeps): Promise<IntegrityResult[]> {
  const latest = new Map<string, ReviewSubmitted>();
  for (const p of submitted) if ((latest.get(p.reviewId)?.revision ?? 0) < p.revision) latest.set(p.reviewId, p);
  const batch: Prepared[] = [...latest.values()].map((p) => {
    const text = reviewText(p.title, p.body);
    const signature = minhash(text);
    const gist = gistSignature(p.title, p.body);
    const firstWrittenAt = new Date(p.createdAt);
    return {
      p,
      text,
      signature,
      bodySignature: minhash(p.body ?? ''),
      bands: lshBands(signature),
      sentences: sentenceKeys(p.body),
      review: {
        reviewId: p.reviewId,
        appId: p.appId,
        userId: p.userId,
        rating: p.rating,
        revision: p.revision,
        firstWrittenAt,
        writtenAt: new Date(p.writtenAt),
      },
      group: {
        reviewId: p.reviewId,
        appId: p.appId,
        userId: p.userId,
        developerId: p.developerId ?? null,
        rating: p.rating,
        at: firstWrittenAt,
        profile: profileOf(firstWrittenAt, p.accountCreatedAt, p.verified, p.author),
        gist,
        gistKeys: gist ? gistBands(gist) : [],
      },
    };
  });
  const gathered = await gatherFactsBatch(q, batch);
  const model = await deps.models.current(q);
  // a stock phrase's keys would only ever match other stock phrases, which originality ignores
  const keysOf = (b: Prepared) => (isStockPhrase(b.p.body) ? [] : [...b.bands, ...b.sentences, ...b.group.gistKeys]);
  await recordScoredBatch(
    q,
    batch.map((b) => ({
      review: b.review,
      signature: encodeSignature(b.signature),
      bodySignature: encodeSignature(b.bodySignature),
      gistSignature: b.group.gist ? encodeSignature(b.group.gist) : null,
      author: {
        developerId: b.group.developerId,
        verified: b.p.verified,
        accountCreatedAt: b.p.accountCreatedAt,
        acquiredAt: b.p.author?.acquiredAt ?? null,
        firstAcquiredAt: b.p.author?.firstAcquiredAt ?? null,
      },
      keys: keysOf(b),
    })),
  );
  // after the projection took the batch: its reviews are each other's group peers
  const groups = await gatherGroupFacts(
    q,
    batch.map((b) => b.group),
  );

  const results: IntegrityResult[] = [];
  const burstImplicated: { b: Prepared; score: number }[] = [];
  const copyImplicated: { ids: string[]; score: number }[] = [];
  batch.forEach((b, i) => {
    const raw = withBatchNeighbours(gathered[i], b, batch);
    const facts = toFacts(raw, b.p, b.signature, b.sentences.length, b.bodySignature);
    const result = analyze({ ...facts.facts, group: groups[i] }, { rating: b.p.rating, title: b.p.title, body: b.p.body }, model);
    results.push(result);
    const coordination = result.signals.find((s) => s.name === 'coordination')!;
    if (coordination.score <= BURST) {
      burstImplicated.push({ b, score: coordination.score });
    }
    const originality = result.signals.find((s) => s.name === 'originality')!;
    const copied = b.text.split(/\s+/).length >= WORD_SHINGLE_MIN_WORDS ? facts.copies : [];
    const templated = b.sentences.length && raw.sentencesSeen / b.sentences.length >= TEMPLATED ? raw.sentenceSharers : [];
    if (copied.length || templated.length) copyImplicated.push({ ids: [...new Set([...copied, ...templated])], score: originality.score });
  });

  await deps.applyVerdicts(
    q,
    batch.map((b, i) => ({
      reviewId: b.p.reviewId,
      revision: b.p.revision,
      status: STATUS_OF[results[i].action],
      by: 'integrity' as const,
      integrity: { score: results[i].score, signals: results[i].signals, action: results[i].action, model: results[i].model },
    })),
  );
  // after the projection took the batch, so the batch's own earlier reviews are among the burst's members
  const implications: Implication[] = [];
  for (const x of burstImplicated) {
    const ids = await burstMembers(q, x.b.review.appId, x.b.review.rating, x.b.review.firstWrittenAt, WINDOW_SAMPLE);
    implications.push({ ids, lower: lowerTo('coordination', x.score, 'part of a burst found later'), reason: 'coordination: part of a burst found later' });
  }
  for (const x of copyImplicated) {
    const why = 'its text re-used by a later review';
    implications.push({ ids: x.ids, lower: lowerTo('originality', x.score, why), reason: `originality: ${why}` });
  }
  for (const [i, b] of batch.entries()) {
    if (results[i].signals.some((s) => s.name === 'group' && s.decisive)) implications.push(await groupImplication(q, b, groups[i]));
  }
  await reviseEarlier(q, deps, model, implications);
  return results;
}

/** An earlier review's verdict from its signals as changed since (integrity's, on the same revision). */
export function decideAgain(e: IntegrityApproved, signals: WeightedSignal[], model: StoredModel | null): Verdict {
  const again = rescore(signals, { rating: e.rating, title: e.title, body: e.body }, model);
  return {
    reviewId: e.reviewId,
    revision: e.revision,
    status: STATUS_OF[again.action],
    by: 'integrity',
    integrity: { score: again.score, signals: again.signals, action: again.action, model: again.model },
  };
}

/** What a later review reveals about earlier ones: which, how their signals change, and why. */
interface Implication {
  ids: string[];
  /** The signals lowered, or null when this implication changes nothing for that review. */
  lower(signals: WeightedSignal[]): WeightedSignal[] | null;
  reason: string;
  groupId?: string;
  /** Also revisit reviews integrity holds (a group found to be fraud rejects them). */
  held?: boolean;
}

const lowerTo = (name: SignalName, score: number, why: string) => (signals: WeightedSignal[]) =>
  signals.some((s) => s.name === name && s.score > score)
    ? signals.map((s) => (s.name === name ? { ...s, score, reason: `${why} (was ${s.score})` } : s))
    : null;

/** A review revealed a group: the group is recorded (or joined), and its earlier members are to be decided with it. */
async function groupImplication(q: Queryable, b: Prepared, facts: GroupFacts): Promise<Implication> {
  const verdict = judgeGroup(facts);
  const signal = groupSignal(facts);
  const earlier = verdict.members.filter((id) => id !== b.p.reviewId);
  const groupId = await recordGroup(q, {
    kind: verdict.kind!,
    reason: verdict.reason,
    decision: verdict.decision!,
    foundBy: 'incremental',
    reviewIds: [b.p.reviewId, ...earlier],
  });
  const found = { ...signal, weight: 0, reason: `${signal.reason} (found by a later review of the group)` };
  return {
    ids: earlier,
    lower: (signals) => [...signals.filter((s) => s.name !== 'group'), found],
    reason: found.reason,
    groupId,
    held: verdict.decision === 'reject',
  };
}

/**
 * Decides earlier reviews again (those integrity alone approved, and those it holds where a group found to be
 * fraud says so) with what later reviews revealed, all implications of a batch at once: one read, one write of
 * the verdicts and of their revisions, each with its reason. Moderators' decisions are never revisited.
 */
async function reviseEarlier(q: Queryable, deps: ConsumerDeps, model: StoredModel | null, implications: Implication[]) {
  if (!implications.length) return;
  const ids = [...new Set(implications.flatMap((x) => x.ids))];
  const heldIds = [...new Set(implications.filter((x) => x.held).flatMap((x) => x.ids))];
  const state = new Map<
    string,
    { e: Awaited<ReturnType<typeof integrityApproved>>[number]; from: 'approved' | 'held'; signals: WeightedSignal[]; reasons: string[]; groupId?: string }
  >();
  for (const e of await integrityApproved(q, ids)) state.set(e.reviewId, { e, from: 'approved', signals: e.signals as WeightedSignal[], reasons: [] });
  for (const e of await integrityHeld(q, heldIds)) state.set(e.reviewId, { e, from: 'held', signals: e.signals as WeightedSignal[], reasons: [] });
  for (const x of implications) {
    for (const id of x.ids) {
      const st = state.get(id);
      if (!st || (st.from === 'held' && !x.held)) continue;
      const lowered = x.lower(st.signals);
      if (!lowered) continue;
      st.signals = lowered;
      st.reasons.push(x.reason);
      st.groupId ??= x.groupId;
    }
  }
  const verdicts: Verdict[] = [];
  const revisions: Revision[] = [];
  for (const { e, from, signals, reasons, groupId } of state.values()) {
    if (!reasons.length) continue;
    const verdict = decideAgain(e, signals, model);
    const to = verdict.status;
    if (to === from || to === 'approved' || (from === 'held' && to !== 'rejected')) continue;
    verdicts.push(verdict);
    revisions.push({ reviewId: e.reviewId, revision: e.revision, from, to, reason: reasons.join('; '), groupId, foundBy: 'incremental' });
  }
  if (!verdicts.length) return;
  await deps.applyVerdicts(q, verdicts);
  await recordRevisions(q, revisions);
}

/** The facts from the database plus what the batch's reviews written before this one add to them. */
function withBatchNeighbours(raw: RawFacts, self: Prepared, batch: Prepared[]): RawFacts {
  const at = self.review.firstWrittenAt.getTime();
  const since = at - DAY_MS;
  const bands = new Set(self.bands);
  const sentences = new Set(self.sentences);
  const out: RawFacts = { ...raw, window: [...raw.window], candidates: [...raw.candidates], sentenceSharers: [...raw.sentenceSharers] };
  const seen = new Set<number>();
  for (const other of batch) {
    const t = other.review.firstWrittenAt.getTime();
    if (other === self || other.review.reviewId === self.review.reviewId || t >= at) continue;
    if (t >= since && other.review.userId === self.review.userId) out.authorReviewsInPrior24h++;
    if (other.review.appId === self.review.appId) {
      if (t >= since) {
        out.windowCount++;
        out.window.unshift({ at: t, rating: other.review.rating });
      } else if (t >= since - HISTORY_DAYS * DAY_MS) {
        out.historyReviews++;
      }
    }
    if (other.bands.some((k) => bands.has(k))) {
      out.candidates.push({
        reviewId: other.review.reviewId,
        appId: other.review.appId,
        userId: other.review.userId,
        signature: encodeSignature(other.signature),
        bodySignature: encodeSignature(other.bodySignature),
      });
    }
    const shared = other.sentences.filter((k) => sentences.has(k));
    if (shared.length) {
      out.sentenceSharers.push(other.review.reviewId);
      for (const k of shared) seen.add(k);
    }
  }
  // sentence keys found in the database are counted there; add those only the batch has
  if (seen.size) out.sentencesSeen = Math.min(self.sentences.length, raw.sentencesSeen + seen.size);
  out.window.sort((a, b) => b.at - a.at);
  return out;
}

const isStockPhrase = (body: string) => normalize(body).split(' ').length < STOCK_PHRASE_WORDS;
/** Words of the review's body (its title when it has no body): what decides whether it is long enough to be a copy. */
const copyWords = (p: ReviewSubmitted) => {
  const n = normalize(p.body?.trim() ? p.body : (p.title ?? ''));
  return n ? n.split(' ').length : 0;
};

export function toFacts(
  raw: RawFacts,
  p: ReviewSubmitted,
  signature: Uint32Array,
  sentenceCount: number,
  bodySignature: Uint32Array | null = null,
): { facts: IntegrityFacts; copies: string[] } {
  let bestWithinApp = 0;
  let bestAcrossApps = 0;
  let nearDuplicates = 0;
  const copies: string[] = [];
  let copyOf: OriginalityFacts['copyOf'] = null;
  const words = copyWords(p);
  const long = words >= COPY_MIN_WORDS;
  const copyAt = copyThreshold(words);
  const shortCopyable = !long && words >= SHORT_COPY.words && gistWords('', p.body).length >= SHORT_COPY.contentWords;
  for (const c of raw.candidates) {
    const s = similarity(signature, decodeSignature(c.signature));
    if (s >= NEAR_DUPLICATE) nearDuplicates++;
    if (s >= COPY) copies.push(c.reviewId);
    // a copy of another author's review, or of the author's own on another app (a revision is the same review)
    const sameAuthor = c.userId === p.userId;
    const sameApp = c.appId === p.appId;
    // a shorter text counts only when copied word for word from another app (SHORT_COPY)
    const eligible = long ? !(sameAuthor && sameApp) : shortCopyable && !sameApp;
    if (eligible) {
      // bodies compared when both have one (rows scored before 0811 have none): a changed title hides nothing
      const body = bodySignature && c.bodySignature ? Math.max(s, similarity(bodySignature, decodeSignature(c.bodySignature))) : s;
      const at = long ? copyAt : SHORT_COPY.similarity;
      if (body >= at && (!copyOf || body > copyOf.similarity)) copyOf = { reviewId: c.reviewId, similarity: body, sameAuthor, sameApp, words };
    }
    if (c.appId === p.appId) bestWithinApp = Math.max(bestWithinApp, s);
    else bestAcrossApps = Math.max(bestAcrossApps, s);
  }
  // Whole sentences seen before: as telling as that much whole-text overlap with another app's review.
  if (sentenceCount > 0) bestAcrossApps = Math.max(bestAcrossApps, raw.sentencesSeen / sentenceCount);
  if (isStockPhrase(p.body)) {
    bestWithinApp = bestAcrossApps = nearDuplicates = 0;
    copies.length = 0;
    copyOf = null;
  }
  return {
    copies,
    facts: {
      authorReviewsInPrior24h: raw.authorReviewsInPrior24h,
      accountAgeDays: Math.max(0, (Date.parse(p.writtenAt) - Date.parse(p.accountCreatedAt)) / DAY_MS),
      verified: p.verified,
      coordination: {
        windowCount: raw.windowCount,
        historyDailyAverage: raw.historyDays > 0 ? raw.historyReviews / raw.historyDays : 0,
        historyDays: raw.historyDays,
        windowTimestamps: raw.window.map((w) => w.at),
        windowRatings: raw.window.map((w) => w.rating),
        rating: p.rating,
        at: Date.parse(p.createdAt),
      },
      originality: { bestWithinApp, bestAcrossApps, nearDuplicates, copyOf },
    },
  };
}

export function integrityHandler(deps: ConsumerDeps): DurableBatchHandler {
  const scored = deps.metrics.counter('integrity_reviews_scored_total', 'Reviews scored by the integrity consumer, by action', ['action']);
  return async (events: OrchardEvent<any>[], q) => {
    const deleted = new Set(events.filter((e) => e.type === 'review.deleted').map((e) => String(e.payload.reviewId)));
    for (const id of deleted) await forgetReview(q, id);
    const submitted = events
      .filter((e) => e.type !== 'review.deleted')
      .map((e) => e.payload as ReviewSubmitted)
      .filter((p) => !deleted.has(p.reviewId));
    for (const r of await scoreReviews(q, submitted, deps)) scored.inc({ action: r.action });
  };
}
