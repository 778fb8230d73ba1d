// The integrity consumer: every review.created / review.updated is scored in the transaction that
// records the event as processed, so a redelivery never scores twice and a crash never loses a score.
//
// A review is scored on what came before it. The first reviews of a burst, and the original of a text
// later copied across apps, looked innocent when they were scored; so when a review reveals a burst or a
// copy, the earlier reviews it implicates (still approved by integrity alone) are scored again with that
// signal lowered. Moderators' decisions are never revisited.
import type { DurableHandler, OrchardEvent } from '../../platform/bus/index.ts';
import type { Queryable } from '../../platform/db/index.ts';
import type { Metrics } from '../../platform/observability/metrics.ts';
import { integrityApproved, type ReviewSubmitted, type Verdict } from '../reviews/index.ts';
import { analyze, rescore, type IntegrityFacts, type IntegrityResult, type StoredModel } from './model.ts';
import type { ModelHolder } from './models.ts';
import type { Action, WeightedSignal } from './score.ts';
import type { SignalName } from './signals.ts';
import { forgetReview, gatherFacts, recordScored, type RawFacts, type ScoredReview } from './store.ts';
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
const STATUS_OF: Record<Action, Verdict['status']> = { approve: 'approved', manual_review: 'held', reject: 'rejected' };

export interface ConsumerDeps {
  applyVerdict(q: Queryable, v: Verdict): Promise<boolean>;
  models: ModelHolder;
  metrics: Metrics;
}

/** Scores one review revision: facts from the projection, signals, verdict; then updates the projection. */
export async function scoreReview(q: Queryable, p: ReviewSubmitted, deps: ConsumerDeps): Promise<IntegrityResult> {
  const text = reviewText(p.title, p.body);
  const signature = minhash(text);
  const bands = lshBands(signature);
  const sentences = sentenceKeys(p.body);
  const review: ScoredReview = {
    reviewId: p.reviewId,
    appId: p.appId,
    userId: p.userId,
    rating: p.rating,
    revision: p.revision,
    firstWrittenAt: new Date(p.createdAt),
    writtenAt: new Date(p.writtenAt),
  };
  const raw = await gatherFacts(q, review, bands, sentences);
  const facts = toFacts(raw, p, signature, sentences.length);
  const model = await deps.models.current(q);
  const result = analyze(facts.facts, { rating: p.rating, title: p.title, body: p.body }, model);
  await recordScored(q, review, encodeSignature(signature), [...bands, ...sentences]);
  await deps.applyVerdict(q, {
    reviewId: p.reviewId,
    revision: p.revision,
    status: STATUS_OF[result.action],
    by: 'integrity',
    integrity: { score: result.score, signals: result.signals, action: result.action, model: result.model },
  });

  const coordination = result.signals.find((s) => s.name === 'coordination')!;
  if (coordination.score <= BURST) {
    const burst = raw.window.filter((w) => w.rating === p.rating).map((w) => w.reviewId);
    await implicate(q, deps, model, burst, 'coordination', coordination.score, 'part of a burst found later');
  }
  const originality = result.signals.find((s) => s.name === 'originality')!;
  const copied = text.split(/\s+/).length >= WORD_SHINGLE_MIN_WORDS ? facts.copies : [];
  const templated = sentences.length && raw.sentencesSeen / sentences.length >= TEMPLATED ? raw.sentenceSharers : [];
  if (copied.length || templated.length) {
    await implicate(q, deps, model, [...new Set([...copied, ...templated])], 'originality', originality.score, 'its text re-used by a later review');
  }
  return result;
}

/** Lowers one signal of earlier reviews still approved by integrity alone, and re-decides those it tips over. */
async function implicate(q: Queryable, deps: ConsumerDeps, model: StoredModel | null, reviewIds: string[], name: SignalName, score: number, why: string) {
  for (const earlier of await integrityApproved(q, reviewIds)) {
    const signals = earlier.signals as WeightedSignal[];
    const current = signals.find((s) => s.name === name);
    if (!current || current.score <= score) continue;
    const lowered = signals.map((s) => (s.name === name ? { ...s, score, reason: `${why} (was ${s.score})` } : s));
    const again = rescore(lowered, { rating: earlier.rating, title: earlier.title, body: earlier.body }, model);
    if (again.action === 'approve') continue;
    await deps.applyVerdict(q, {
      reviewId: earlier.reviewId,
      revision: earlier.revision,
      status: STATUS_OF[again.action],
      by: 'integrity',
      integrity: { score: again.score, signals: again.signals, action: again.action, model: again.model },
    });
  }
}

export function toFacts(raw: RawFacts, p: ReviewSubmitted, signature: Uint32Array, sentenceCount: number): { facts: IntegrityFacts; copies: string[] } {
  let bestWithinApp = 0;
  let bestAcrossApps = 0;
  let nearDuplicates = 0;
  const copies: string[] = [];
  for (const c of raw.candidates) {
    const s = similarity(signature, decodeSignature(c.signature));
    if (s >= NEAR_DUPLICATE) nearDuplicates++;
    if (s >= COPY) copies.push(c.reviewId);
    if (c.appId === p.appId) bestWithinApp = Math.max(bestWithinApp, s);
    else bestAcrossApps = Math.max(bestAcrossApps, s);
  }
  // Whole sentences seen before: as telling as that much whole-text overlap with another app's review.
  if (sentenceCount > 0) bestAcrossApps = Math.max(bestAcrossApps, raw.sentencesSeen / sentenceCount);
  if (normalize(p.body).split(' ').length < STOCK_PHRASE_WORDS) {
    bestWithinApp = bestAcrossApps = nearDuplicates = 0;
    copies.length = 0;
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
      originality: { bestWithinApp, bestAcrossApps, nearDuplicates },
    },
  };
}

export function integrityHandler(deps: ConsumerDeps): DurableHandler {
  const scored = deps.metrics.counter('integrity_reviews_scored_total', 'Reviews scored by the integrity consumer, by action', ['action']);
  return async (event: OrchardEvent<any>, q) => {
    if (event.type === 'review.deleted') {
      await forgetReview(q, String(event.payload.reviewId));
      return;
    }
    const result = await scoreReview(q, event.payload as ReviewSubmitted, deps);
    scored.inc({ action: result.action });
  };
}
