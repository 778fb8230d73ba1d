// The group signal, pure: whether a review belongs to a group of accounts acting together. Patient attackers make
// each review look fine on its own (aged accounts that own the app, a few a day, paraphrased text); what gives
// them away is the group. Three kinds of evidence, each from facts the store gathered (groups.ts):
//
//  - same gist: other authors' recent reviews with the same polarity whose content words (synonyms folded,
//    order ignored: gist.ts) match this one's: one brief paraphrased by a ring or a sleeper campaign;
//  - lockstep (as in CopyCatch): other authors who, within days of this author and with the same polarity,
//    reviewed this app and another app this author reviewed: another app of the same developer, or two others;
//  - profile burst: reviews of the app with this polarity by suspect profiles (accounts under 30 days old, or
//    authors who do not own the app) far above the app's own rate of them.
//
// A member's profile weighs the evidence: fresh accounts, non-owners and dormant accounts woken to review
// (their first app acquired months after they opened the account, and recently) make a group telling; long-standing
// owners make it weak, so a genuine viral day whose reviews happen to share phrasing is not a ring.
// The signal decides alone (decisive): 'reject' for a group that is high-confidence fraud, 'hold' otherwise.
import type { Decisive, Signal } from './signals.ts';

export type Polarity = 'positive' | 'negative';
/** Ratings 4–5 praise, 1–2 attack; 3 takes part in no group. */
export function polarityOf(rating: number): Polarity | null {
  return rating >= 4 ? 'positive' : rating <= 2 ? 'negative' : null;
}

export interface Profile {
  /** Account under 30 days old when writing. */
  fresh: boolean;
  /** The author did not own the app when writing. */
  nonOwner: boolean;
  /** The account sat empty for months, then acquired its first app recently. */
  dormant: boolean;
}

export interface GistPeer extends Profile {
  reviewId: string;
  userId: string;
  appId: string;
  similarity: number;
}

export interface GroupFacts {
  self: Profile & { appId: string };
  /** Other authors' reviews (30 days, same polarity) with a similar gist; an author may appear on several apps. */
  gistPeers: GistPeer[];
  /** Same-polarity reviews of this app in the 30 days before (for the share of them a gist group makes up). */
  appReviews: number;
  /** Other authors acting in lockstep with this one, and the apps they share with it (besides this one). */
  lockstep: { authors: number; apps: number; reviewIds: string[] };
  /** The burst of suspect-profile reviews this review is one of, when it is from a suspect profile. */
  burst: { kind: 'fresh' | 'non-owner'; week: number; before: number; weekAll: number; reviewIds: string[] } | null;
}

export const GROUP = {
  /** Estimated gist Jaccard from which two reviews say the same thing (paraphrases that keep different subsets of
   *  a brief's sentences meet at 0.4-0.6). */
  gistSimilar: 0.5,
  /** … and on the same app, where a group must also be a large share of the app's reviews (gistShare). */
  gistSimilarHere: 0.45,
  /** Authors (this one included) from which similar gists make a group. */
  gistAuthors: 3,
  /** A gist group this large and this large a share of the app's same-polarity reviews is no chance meeting of
   *  phrasings, whoever its members are. */
  gistShare: 0.15,
  gistShareAuthors: 4,
  /** Mean member suspicion from which a gist group is held … */
  holdSuspicion: 0.5,
  /** … and, with at least rejectAuthors members, rejected. */
  rejectSuspicion: 0.5,
  rejectAuthors: 4,
  /** Other authors in lockstep from which the group is held, and rejected. */
  lockstepHold: 2,
  lockstepReject: 4,
  /** Suspect-profile reviews of an app in 7 days from which they are a burst, how far above the app's rate, and
   *  the share of the week's reviews (of that polarity) they make up: a busy app's usual non-owners are no burst. */
  burstWeek: 6,
  burstMultiple: 4,
  burstShare: 0.5,
  /** A burst of fresh accounts this large and this far above the app's rate is a farm: rejected. */
  farmWeek: 10,
  farmMultiple: 6,
} as const;

export const NO_GROUP: GroupFacts = {
  self: { fresh: false, nonOwner: false, dormant: false, appId: '' },
  gistPeers: [],
  appReviews: 0,
  lockstep: { authors: 0, apps: 0, reviewIds: [] },
  burst: null,
};

// a fresh account is what farms use; a dormant one woken to review is a sleeper; a non-owner alone is common
const suspicion = (p: Profile) => (p.fresh ? 1 : p.dormant ? 0.6 : p.nonOwner ? 0.4 : 0);

export interface GroupVerdict {
  decision: Decisive | null;
  kind: 'same-gist' | 'lockstep' | 'profile-burst' | null;
  reason: string;
  /** The earlier reviews the group implicates (revisited when the group decides). */
  members: string[];
}

/** The strongest group evidence about a review, and what it decides. */
export function judgeGroup(f: GroupFacts): GroupVerdict {
  const verdicts: GroupVerdict[] = [gistVerdict(f), lockstepVerdict(f), burstVerdict(f)];
  const rank = (v: GroupVerdict) => (v.decision === 'reject' ? 2 : v.decision === 'hold' ? 1 : 0);
  verdicts.sort((a, b) => rank(b) - rank(a));
  return verdicts[0].decision ? verdicts[0] : { decision: null, kind: null, reason: 'no group found', members: [] };
}

function gistVerdict(f: GroupFacts): GroupVerdict {
  const none: GroupVerdict = { decision: null, kind: 'same-gist', reason: '', members: [] };
  const byAuthor = new Map<string, GistPeer[]>();
  for (const p of f.gistPeers) if (p.similarity >= GROUP.gistSimilar) byAuthor.set(p.userId, [...(byAuthor.get(p.userId) ?? []), p]);
  // on this app alone, a looser match: a brief's paraphrases keep different subsets of its sentences
  const here = new Map<string, GistPeer>();
  for (const p of f.gistPeers) if (p.appId === f.self.appId && p.similarity >= GROUP.gistSimilarHere) here.set(p.userId, p);
  const authors = byAuthor.size + 1;
  const authorsHere = here.size + 1;
  if (authors < GROUP.gistAuthors && authorsHere < GROUP.gistAuthors) return none;
  const members = [...byAuthor.values()].map((reviews) => reviews[0]);
  const mean = (suspicion(f.self) + members.reduce((s, m) => s + suspicion(m), 0)) / authors;
  const apps = new Set([f.self.appId, ...[...byAuthor.values()].flat().map((p) => p.appId)]).size;
  // the same authors' similar texts across apps: authors met on more than one app
  const repeated = [...byAuthor.values()].filter((reviews) => new Set(reviews.map((r) => r.appId)).size > 1).length;
  const share = authorsHere / (f.appReviews + 1);
  const ids = [...new Set([...[...byAuthor.values()].flat(), ...here.values()].map((p) => p.reviewId))];
  const what =
    `same gist as ${authors - 1} other author${authors === 2 ? '' : 's'} on ${apps} app${apps === 1 ? '' : 's'} in 30 days` +
    ` (${authorsHere} authors on this app, ${pct(share)} of its reviews of that polarity; member suspicion ${mean.toFixed(2)}${repeated ? `; ${repeated} met on several apps` : ''})`;
  if (authors >= GROUP.rejectAuthors && (mean >= GROUP.rejectSuspicion || (apps >= 2 && repeated >= 2))) {
    return { decision: 'reject', kind: 'same-gist', reason: what, members: ids };
  }
  const suspect = authors >= GROUP.gistAuthors && (mean >= GROUP.holdSuspicion || (apps >= 2 && repeated >= 1));
  if (suspect || (share >= GROUP.gistShare && authorsHere >= GROUP.gistShareAuthors)) {
    return { decision: 'hold', kind: 'same-gist', reason: what, members: ids };
  }
  return none;
}

function lockstepVerdict(f: GroupFacts): GroupVerdict {
  const { authors, apps, reviewIds } = f.lockstep;
  if (authors < GROUP.lockstepHold) return { decision: null, kind: 'lockstep', reason: '', members: [] };
  const reason = `in lockstep with ${authors} other authors: the same apps (${apps} besides this one) reviewed within days with the same polarity`;
  const decision: Decisive = authors >= GROUP.lockstepReject ? 'reject' : 'hold';
  return { decision, kind: 'lockstep', reason, members: reviewIds };
}

function burstVerdict(f: GroupFacts): GroupVerdict {
  const b = f.burst;
  if (!b) return { decision: null, kind: 'profile-burst', reason: '', members: [] };
  const expected = Math.max(1, (b.before * 7) / 30);
  const multiple = b.week / expected;
  const share = b.week / Math.max(b.week, b.weekAll);
  if (share < GROUP.burstShare) return { decision: null, kind: 'profile-burst', reason: '', members: [] };
  const who = b.kind === 'fresh' ? 'accounts under 30 days old' : 'authors who do not own it';
  const reason = `${b.week} reviews of this app in 7 days (${pct(share)} of them) from ${who}, ${multiple.toFixed(1)}× its usual rate`;
  if (b.kind === 'fresh' && b.week >= GROUP.farmWeek && multiple >= GROUP.farmMultiple) {
    return { decision: 'reject', kind: 'profile-burst', reason, members: b.reviewIds };
  }
  if (b.week >= GROUP.burstWeek && multiple >= GROUP.burstMultiple) return { decision: 'hold', kind: 'profile-burst', reason, members: b.reviewIds };
  return { decision: null, kind: 'profile-burst', reason: '', members: [] };
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

/** The group signal: 1 when no group, GROUP_SCORE with the decision when one is found. */
export const GROUP_SCORE = { hold: 0.1, reject: 0 } as const;
export function groupSignal(f: GroupFacts | undefined): Signal {
  const v = judgeGroup(f ?? NO_GROUP);
  if (!v.decision) return { name: 'group', score: 1, reason: v.reason };
  return { name: 'group', score: GROUP_SCORE[v.decision], reason: `${v.kind}: ${v.reason}`, decisive: v.decision };
}
