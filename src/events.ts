// Every event of Orchard: each module declares the events it publishes (its events.ts, exported from its
// index.ts) and this joins them. Infra's bus is typed by it, so subscribing to a misspelt event, reading a
// payload field an event does not have, or publishing a wrong payload fails the typecheck.
import type { EventMap } from './platform/bus/index.ts';
import type { CatalogEvents } from './modules/catalog/index.ts';
import type { IdentityEvents } from './modules/identity/index.ts';
import type { IntegrityEvents } from './modules/integrity/index.ts';
import type { LibraryEvents } from './modules/library/index.ts';
import type { PayoutsEvents } from './modules/payouts/index.ts';
import type { PurchasesEvents } from './modules/purchases/index.ts';
import type { RankingsEvents } from './modules/rankings/index.ts';
import type { RecommendationsEvents } from './modules/recommendations/index.ts';
import type { ReviewsEvents } from './modules/reviews/index.ts';

type Catalogues = [
  IdentityEvents,
  CatalogEvents,
  PurchasesEvents,
  PayoutsEvents,
  LibraryEvents,
  ReviewsEvents,
  IntegrityEvents,
  RankingsEvents,
  RecommendationsEvents,
];

type Join<L extends EventMap[]> = L extends [infer H extends EventMap, ...infer T extends EventMap[]] ? H & Join<T> : unknown;
/** Names declared by more than one catalogue (must be none: an event has one publisher). */
type Repeated<L extends EventMap[], Seen = never> = L extends [infer H extends EventMap, ...infer T extends EventMap[]]
  ? Extract<keyof H, Seen> | Repeated<T, Seen | keyof H>
  : never;

export type OrchardEvents = Join<Catalogues>;

// Fails to compile when two modules declare the same event name.
const oneOwnerPerEvent: [Repeated<Catalogues>] extends [never] ? true : { repeated: Repeated<Catalogues> } = true;
void oneOwnerPerEvent;
