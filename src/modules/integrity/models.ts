// Which model scores reviews: the newest trained one, else (null) the seed weights. Each process keeps it
// in memory; `integrity.model_trained` (broadcast) makes every process reload at once, and a periodic
// reload covers a process that missed the broadcast.
import type { Queryable } from '../../platform/db/index.ts';
import type { Model } from './model.ts';
import { latestModel } from './store.ts';

const RELOAD_MS = 60_000;

export interface ModelHolder {
  /** `q`: the caller's transaction, if it is in one (PGlite has a single connection). */
  current(q: Queryable): Promise<(Model & { version: number }) | null>;
  invalidate(): void;
}

export function createModelHolder(reloadMs = RELOAD_MS): ModelHolder {
  let loaded: { at: number; value: Promise<(Model & { version: number }) | null> } | null = null;
  return {
    current(q) {
      if (!loaded || Date.now() - loaded.at > reloadMs) {
        const value = latestModel<Model>(q).then((m) => (m ? { ...m.model, version: m.version } : null));
        loaded = { at: Date.now(), value };
        value.catch(() => {
          loaded = null;
        });
      }
      return loaded.value;
    },
    invalidate() {
      loaded = null;
    },
  };
}
