// Dense-block detection over the bipartite graph of accounts and apps (an edge: the account reviewed or acquired
// the app), in the spirit of FRAUDAR (Hooi et al., KDD 2016); our own implementation, pure. An edge to an app of
// degree d (distinct accounts) weighs w = 1 / ln(d + c), c = 5, times the edge's own weight (default 1), so
// links to popular apps count for little and fraud accounts cannot hide behind them (camouflage). A set S of
// accounts ∪ apps scores g(S) = f(S) / |S|, f(S) = the weights of the edges with both ends in S plus the nodes'
// prior suspiciousness (default 0). Greedy peeling starts from every node, repeatedly removes the node whose
// removal lowers f the least (its current weighted degree + prior; ties: accounts before apps, then by id),
// and returns the best set seen; an indexed binary min-heap with decrease-key makes it O(E log V). The result is
// within a factor 2 of the densest set. `denseBlocks` removes a found block's edges and peels again.

export interface Edge {
  account: string;
  app: string;
  /** Multiplies the camouflage-resistant weight; ≥ 0, default 1. Duplicate (account, app) pairs are merged, weights summed. */
  weight?: number;
}

export interface DenseBlock {
  /** Sorted ids. */
  accounts: string[];
  apps: string[];
  /** g = (weight + the members' priors) / (accounts + apps). */
  density: number;
  /** Distinct (account, app) edges inside the block. */
  edges: number;
  /** Sum of their weights (1 / ln(d + c) × the edge's weight). */
  weight: number;
}

export type NodeKind = 'account' | 'app';

export interface DenseBlockOptions {
  /** The constant in 1 / ln(d + c); > 0, default 5. */
  c?: number;
  /** Prior suspiciousness of a node, ≥ 0, added to f when the node is in the set; default 0. */
  prior?: (kind: NodeKind, id: string) => number;
}

export interface DenseBlocksOptions extends DenseBlockOptions {
  maxBlocks: number;
  minAccounts: number;
  minApps: number;
  minDensity: number;
}

export const DEFAULT_C = 5;

/**
 * Calibrating minDensity: the density of a lockstep block, m accounts each linked to all n apps that nobody else
 * uses (degree m): m·n / ln(m + c) / (m + n). E.g. 20 × 5 → 1.24, 14 × 4 → 1.06, 10 × 3 → 0.85. An organic account with k
 * edges to apps of degree ≥ D adds at most k / ln(D + c) per node, so set minDensity above what a peel of the
 * store's ordinary traffic returns (`densestBlock` on a quiet day) and below the smallest ring you want to see.
 */
export function lockstepDensity(m: number, n: number, c = DEFAULT_C): number {
  return m > 0 && n > 0 ? (m * n) / Math.log(m + c) / (m + n) : 0;
}

/** The densest block by greedy peeling, or null when there is no edge. */
export function densestBlock(edges: readonly Edge[], opts: DenseBlockOptions = {}): DenseBlock | null {
  const graph = build(edges, opts);
  return peel(graph, new Uint8Array(graph.eu.length).fill(1))?.block ?? null;
}

/** Up to maxBlocks blocks, densest first: each found block's edges are removed before the next peel (weights stay those of the whole graph). */
export function denseBlocks(edges: readonly Edge[], opts: DenseBlocksOptions): DenseBlock[] {
  const graph = build(edges, opts);
  const alive = new Uint8Array(graph.eu.length).fill(1);
  const out: DenseBlock[] = [];
  while (out.length < opts.maxBlocks) {
    const found = peel(graph, alive);
    if (!found || found.block.edges === 0) break;
    const { block, member } = found;
    if (block.accounts.length < opts.minAccounts || block.apps.length < opts.minApps || block.density < opts.minDensity) break;
    out.push(block);
    const A = graph.accounts.length;
    for (let e = 0; e < alive.length; e++) if (member[graph.eu[e]] && member[A + graph.ev[e]]) alive[e] = 0;
  }
  return out;
}

interface Graph {
  accounts: string[]; // sorted
  apps: string[]; // sorted
  eu: Int32Array; // edge -> account index, edges sorted by (account, app), no duplicates
  ev: Int32Array; // edge -> app index
  w: Float64Array;
  prior: Float64Array; // accounts then apps
}

function build(edges: readonly Edge[], opts: DenseBlockOptions): Graph {
  const c = opts.c ?? DEFAULT_C;
  if (!(c > 0 && Number.isFinite(c))) throw new RangeError(`c must be finite and > 0, got ${c}`);
  const [accounts, ea] = sortedIndex(edges, (e) => e.account);
  const [apps, ep] = sortedIndex(edges, (e) => e.app);
  // Bucket the edges by account, sort each account's apps, merge duplicate pairs: edges come out sorted by (account, app).
  const start = new Int32Array(accounts.length + 1);
  for (let i = 0; i < edges.length; i++) start[ea[i] + 1]++;
  for (let a = 0; a < accounts.length; a++) start[a + 1] += start[a];
  const fill = start.slice(0, accounts.length);
  const byApp = new Int32Array(edges.length);
  const byW = new Float64Array(edges.length);
  for (let i = 0; i < edges.length; i++) {
    const w = edges[i].weight ?? 1;
    if (!(w >= 0 && Number.isFinite(w))) throw new RangeError(`edge weight must be finite and ≥ 0, got ${w}`);
    byApp[fill[ea[i]]] = ep[i];
    byW[fill[ea[i]]++] = w;
  }
  const eu = new Int32Array(edges.length);
  const ev = new Int32Array(edges.length);
  const w = new Float64Array(edges.length);
  const degree = new Int32Array(apps.length);
  let n = 0;
  for (let a = 0; a < accounts.length; a++) {
    for (let i = start[a] + 1; i < start[a + 1]; i++) {
      // Insertion sort: an account has few edges.
      const p = byApp[i];
      const x = byW[i];
      let j = i - 1;
      for (; j >= start[a] && byApp[j] > p; j--) (byApp[j + 1] = byApp[j]), (byW[j + 1] = byW[j]);
      byApp[j + 1] = p;
      byW[j + 1] = x;
    }
    for (let i = start[a]; i < start[a + 1]; i++) {
      if (i > start[a] && byApp[i] === byApp[i - 1]) w[n - 1] += byW[i];
      else (eu[n] = a), (ev[n] = byApp[i]), (w[n++] = byW[i]), degree[byApp[i]]++;
    }
  }
  for (let e = 0; e < n; e++) w[e] /= Math.log(degree[ev[e]] + c);
  const prior = new Float64Array(accounts.length + apps.length);
  if (opts.prior) {
    for (let i = 0; i < prior.length; i++) {
      const p = i < accounts.length ? opts.prior('account', accounts[i]) : opts.prior('app', apps[i - accounts.length]);
      if (!(p >= 0 && Number.isFinite(p))) throw new RangeError(`prior must be finite and ≥ 0, got ${p}`);
      prior[i] = p;
    }
  }
  return { accounts, apps, eu: eu.subarray(0, n), ev: ev.subarray(0, n), w: w.subarray(0, n), prior };
}

/** The distinct ids sorted (code-unit order, locale-free), and each edge's index into them. */
function sortedIndex(edges: readonly Edge[], id: (e: Edge) => string): [string[], Int32Array] {
  const first = new Map<string, number>();
  const at = new Int32Array(edges.length);
  for (let i = 0; i < edges.length; i++) {
    const k = id(edges[i]);
    let j = first.get(k);
    if (j === undefined) first.set(k, (j = first.size));
    at[i] = j;
  }
  const ids = [...first.keys()].sort(); // all strings: the default sort is code-unit order
  const rank = new Int32Array(ids.length);
  for (let r = 0; r < ids.length; r++) rank[first.get(ids[r])!] = r;
  for (let i = 0; i < at.length; i++) at[i] = rank[at[i]];
  return [ids, at];
}

/** Greedy peeling over the alive edges; nodes without an alive edge take no part. */
function peel(g: Graph, alive: Uint8Array): { block: DenseBlock; member: Uint8Array } | null {
  const A = g.accounts.length;
  const N = A + g.apps.length;
  // CSR adjacency over alive edges; node v < A is an account, v ≥ A the app v - A.
  const start = new Int32Array(N + 1);
  for (let e = 0; e < alive.length; e++) if (alive[e]) start[g.eu[e] + 1]++, start[A + g.ev[e] + 1]++;
  for (let v = 0; v < N; v++) start[v + 1] += start[v];
  if (start[N] === 0) return null;
  const fill = start.slice(0, N);
  const adj = new Int32Array(start[N]); // neighbour node
  const adjW = new Float64Array(start[N]);
  const key = new Float64Array(N);
  let f = 0;
  for (let e = 0; e < alive.length; e++) {
    if (!alive[e]) continue;
    const u = g.eu[e];
    const v = A + g.ev[e];
    adj[fill[u]] = v;
    adjW[fill[u]++] = g.w[e];
    adj[fill[v]] = u;
    adjW[fill[v]++] = g.w[e];
    key[u] += g.w[e];
    key[v] += g.w[e];
    f += g.w[e];
  }
  // Heap over the nodes that have an alive edge; key = weighted degree + prior.
  const heap = new Int32Array(N);
  let len = 0;
  const pos = new Int32Array(N).fill(-1);
  for (let v = 0; v < N; v++) {
    if (start[v + 1] === start[v]) continue;
    key[v] += g.prior[v];
    f += g.prior[v];
    pos[v] = len;
    heap[len++] = v;
  }
  const less = (a: number, b: number) => key[a] < key[b] || (key[a] === key[b] && a < b);
  const swap = (i: number, j: number) => {
    const t = heap[i];
    heap[i] = heap[j];
    heap[j] = t;
    pos[heap[i]] = i;
    pos[heap[j]] = j;
  };
  const up = (i: number) => {
    while (i > 0 && less(heap[i], heap[(i - 1) >> 1])) swap(i, (i - 1) >> 1), (i = (i - 1) >> 1);
  };
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      if (l >= len) return;
      const m = l + 1 < len && less(heap[l + 1], heap[l]) ? l + 1 : l;
      if (!less(heap[m], heap[i])) return;
      swap(i, m);
      i = m;
    }
  };
  for (let i = (len >> 1) - 1; i >= 0; i--) down(i);

  const order: number[] = [];
  let size = len;
  let best = f / size;
  let bestRemoved = 0;
  while (len > 1) {
    const v = heap[0];
    swap(0, --len);
    pos[v] = -1;
    down(0);
    order.push(v);
    f -= key[v];
    for (let k = start[v]; k < start[v + 1]; k++) {
      const u = adj[k];
      if (pos[u] < 0) continue;
      key[u] -= adjW[k];
      up(pos[u]);
    }
    size--;
    // Strictly denser beyond rounding (f is updated by subtraction): on a tie the larger set, seen first, stays.
    if (f / size > best + 1e-12 * best) (best = f / size), (bestRemoved = order.length);
  }
  order.push(heap[0]);

  // The block: the nodes still present when g was best; its figures recomputed exactly.
  const inBlock = new Uint8Array(N);
  for (let i = bestRemoved; i < order.length; i++) inBlock[order[i]] = 1;
  const accounts: string[] = [];
  const apps: string[] = [];
  let priors = 0;
  for (let v = 0; v < N; v++) {
    if (!inBlock[v]) continue;
    priors += g.prior[v];
    if (v < A) accounts.push(g.accounts[v]);
    else apps.push(g.apps[v - A]);
  }
  let edges = 0;
  let weight = 0;
  for (let e = 0; e < alive.length; e++) if (alive[e] && inBlock[g.eu[e]] && inBlock[A + g.ev[e]]) edges++, (weight += g.w[e]);
  const density = (weight + priors) / (accounts.length + apps.length);
  return density > 0 ? { block: { accounts, apps, density, edges, weight }, member: inBlock } : null;
}
