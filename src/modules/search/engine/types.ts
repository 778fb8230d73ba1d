// The contract between the search engine (engine/) and the rest of the search module.
// The engine is pure in-memory code: no I/O except save/load of a snapshot.

/** One app as the index sees it. */
export interface SearchDoc {
  id: string; // app UUID
  bundleId: string;
  name: string;
  subtitle: string | null;
  developer: string; // company name
  description: string;
  keywords: string[];
  category: string; // top-level slug
  subcategory: string | null;
  isFree: boolean;
  ageRating: '4+' | '9+' | '13+' | '16+' | '18+';
  ratingAverage: number; // 0..5
  ratingCount: number;
  downloads: number;
  /** Storefronts where the app can be had; null = every storefront. */
  countries: string[] | null;
  /** 0..1 engagement signal (DAU/MAU etc.); 0 until the charts module provides it. */
  engagement: number;
}

export interface SearchFilters {
  category?: string;
  subcategory?: string;
  price?: 'free' | 'paid';
  minRating?: number; // 0..5
  /** Highest age rating the caller accepts, e.g. '13+' keeps 4+, 9+, 13+. */
  maxAgeRating?: SearchDoc['ageRating'];
  country?: string; // keep apps available in this storefront
}

export interface SearchOptions {
  filters?: SearchFilters;
  limit: number; // 1..50
  offset?: number; // 0..(a few hundred): deep paging is not a search feature
}

/** How the hits were found; the response tells the client (e.g. "showing results for …"). */
export type MatchMode = 'all-terms' | 'any-terms' | 'none';

export interface SearchHit {
  id: string;
  score: number; // final score after the quality re-rank
  textScore: number; // BM25F (+ exact/intent boosts) before re-rank
  exact: boolean; // the query is this app's name, alias or bundle id
  fuzzy: boolean; // some query term matched only through a typo correction
}

export interface SearchResult {
  hits: SearchHit[];
  /** Matches before paging (may be a lower bound when retrieval terminated early). */
  total: number;
  mode: MatchMode;
  /** Query terms that were corrected, e.g. { spotfy: 'spotify' }. */
  corrections: Record<string, string>;
}

export interface Suggestion {
  text: string;
  kind: 'app' | 'query';
  appId?: string;
}

export interface EngineOptions {
  /** Extra synonym groups, merged with the defaults; each group's terms are interchangeable. */
  synonyms?: string[][];
  /** Field weights; defaults name 3, developer 2, description 1, keywords 1. */
  boosts?: Partial<Record<'name' | 'developer' | 'description' | 'keywords', number>>;
}

export interface SearchEngine {
  readonly size: number; // live documents
  search(query: string, options: SearchOptions): SearchResult;
  suggest(prefix: string, limit: number): Suggestion[];
  /** More-like-this over the app's own terms, same category first; excludes the app itself. */
  similar(appId: string, limit: number, filters?: SearchFilters): SearchHit[];
  /** Adds or replaces a document (published or edited app): searchable on return. */
  upsert(doc: SearchDoc): void;
  /** Removes a document (unpublished or removed app). */
  remove(appId: string): void;
  /** Records a query that users ran, for query suggestions. */
  recordQuery(query: string): void;
  /** Writes a binary snapshot; load it with loadEngine(). */
  save(path: string): Promise<void>;
}

// Implemented in engine/index.ts:
//   buildEngine(docs: Iterable<SearchDoc>, options?: EngineOptions, onProgress?: (done: number) => void): SearchEngine
//   loadEngine(path: string, options?: EngineOptions): Promise<SearchEngine>
