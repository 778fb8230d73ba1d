// Dense-block detection: a planted lockstep ring is found exactly in an organic store (with or without camouflage),
// organic traffic alone stays under the threshold the ring clears, and the peel is deterministic and fast enough.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../../platform/rng.ts';
import { DEFAULT_C, denseBlocks, densestBlock, type Edge, lockstepDensity } from './dense-block.ts';

/** A seeded generator (mulberry32). */

/** An organic store: each account links to `perAccount` distinct apps drawn by Zipf popularity (app0 is the most popular). */
function organic(seed: number, accounts: number, apps: number, perAccount = 3): Edge[] {
  const random = mulberry32(seed);
  const cumulative: number[] = [];
  let total = 0;
  for (let rank = 1; rank <= apps; rank++) cumulative.push((total += 1 / rank));
  const pick = () => {
    const x = random() * total;
    let lo = 0;
    let hi = apps - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const edges: Edge[] = [];
  for (let a = 0; a < accounts; a++) {
    const chosen = new Set<number>();
    while (chosen.size < perAccount) chosen.add(pick());
    for (const p of chosen) edges.push({ account: `user-${a}`, app: `app-${p}` });
  }
  return edges;
}

/** m ring accounts each linked to n apps nobody else uses. */
function ring(prefix: string, m: number, n: number): Edge[] {
  const edges: Edge[] = [];
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) edges.push({ account: `${prefix}-acct-${i}`, app: `${prefix}-app-${j}` });
  return edges;
}

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`).sort();

// Organic peels of this store come out at ≈ 0.70 (seeds 1–8: 0.697–0.704); a 20 × 5 ring scores ≈ 1.21–1.24.
const MIN_DENSITY = 1;

test('a planted 20 × 5 ring inside 2,000 × 500 Zipf traffic is found exactly', () => {
  const block = densestBlock([...organic(1, 2000, 500), ...ring('fraud', 20, 5)])!;
  assert.deepEqual(block.accounts, ids('fraud-acct', 20));
  assert.deepEqual(block.apps, ids('fraud-app', 5));
  assert.equal(block.edges, 100);
  assert.ok(Math.abs(block.density - lockstepDensity(20, 5)) < 1e-12);
  assert.ok(Math.abs(block.weight - 100 / Math.log(20 + DEFAULT_C)) < 1e-12);
});

test('camouflage: each ring account also links to 3 popular apps, and the ring is still found exactly', () => {
  const random = mulberry32(2);
  const camouflage: Edge[] = [];
  for (let i = 0; i < 20; i++) {
    const chosen = new Set<number>();
    while (chosen.size < 3) chosen.add(Math.floor(random() * 50)); // among the 50 most popular apps
    for (const p of chosen) camouflage.push({ account: `fraud-acct-${i}`, app: `app-${p}` });
  }
  const edges = [...organic(1, 2000, 500), ...ring('fraud', 20, 5), ...camouflage];
  const block = densestBlock(edges)!;
  assert.deepEqual(block.accounts, ids('fraud-acct', 20));
  assert.deepEqual(block.apps, ids('fraud-app', 5));
  assert.ok(block.density >= MIN_DENSITY + 0.15);
  // Without the 1 / ln(d + c) discount (c huge: every edge weighs about the same) the ring drags popular apps in.
  assert.ok(densestBlock(edges, { c: 1e12 })!.apps.some((app) => !app.startsWith('fraud-')));
});

test('organic traffic alone gives no block above the threshold the ring clears', () => {
  for (const seed of [1, 2, 3]) {
    const store = organic(seed, 2000, 500);
    const quiet = densestBlock(store)!;
    assert.ok(quiet.density < MIN_DENSITY - 0.25, `seed ${seed}: ${quiet.density}`);
    const opts = { maxBlocks: 5, minAccounts: 5, minApps: 3, minDensity: MIN_DENSITY };
    assert.deepEqual(denseBlocks(store, opts), []);
    // Two rings: both found, densest first, and the organic rest stops the loop.
    const found = denseBlocks([...store, ...ring('big', 20, 5), ...ring('small', 14, 4)], opts);
    assert.deepEqual(
      found.map((b) => [b.accounts.length, b.apps.length, b.accounts[0]]),
      [
        [20, 5, 'big-acct-0'],
        [14, 4, 'small-acct-0'],
      ],
    );
    assert.ok(found[1].density >= MIN_DENSITY + 0.05 && found[1].density < found[0].density); // 14 × 4: ≈ 1.06
  }
  // minAccounts / minApps stop the loop too.
  const rings = [...ring('big', 20, 5), ...ring('small', 14, 4)];
  assert.equal(denseBlocks(rings, { maxBlocks: 5, minAccounts: 15, minApps: 1, minDensity: 0 }).length, 1);
  assert.equal(denseBlocks(rings, { maxBlocks: 5, minAccounts: 1, minApps: 5, minDensity: 0 }).length, 1);
  assert.equal(denseBlocks(rings, { maxBlocks: 1, minAccounts: 1, minApps: 1, minDensity: 0 }).length, 1);
});

test('deterministic: the input order does not matter; equal densities keep the larger set', () => {
  const edges = [...organic(4, 500, 100), ...ring('fraud', 10, 4), ...ring('other', 10, 4)];
  const shuffled = edges.slice();
  const random = mulberry32(9);
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
  }
  const first = densestBlock(edges);
  assert.deepEqual(densestBlock(shuffled), first);
  assert.deepEqual(densestBlock(edges.slice().reverse()), first);
  // The two identical rings tie: their union has the same density and is seen first.
  assert.deepEqual(first!.accounts, [...ids('fraud-acct', 10), ...ids('other-acct', 10)]);
  const opts = { maxBlocks: 3, minAccounts: 2, minApps: 2, minDensity: 0.5 };
  assert.deepEqual(denseBlocks(shuffled, opts), denseBlocks(edges, opts));
});

test('degenerate inputs, duplicates, weights and priors', () => {
  assert.equal(densestBlock([]), null);
  assert.deepEqual(denseBlocks([], { maxBlocks: 3, minAccounts: 1, minApps: 1, minDensity: 0 }), []);
  assert.deepEqual(denseBlocks(ring('r', 3, 3), { maxBlocks: 0, minAccounts: 1, minApps: 1, minDensity: 0 }), []);

  const one = { accounts: ['a'], apps: ['p'], density: 1 / Math.log(1 + DEFAULT_C) / 2, edges: 1, weight: 1 / Math.log(1 + DEFAULT_C) };
  assert.deepEqual(densestBlock([{ account: 'a', app: 'p' }]), one);
  // A duplicate pair is one edge, its weights summed; the same id may name an account and an app.
  const twice = densestBlock([
    { account: 'a', app: 'a' },
    { account: 'a', app: 'a', weight: 2 },
  ])!;
  assert.deepEqual([twice.edges, twice.weight], [1, 3 / Math.log(1 + DEFAULT_C)]);
  // An edge of weight 0 counts for nothing; only zero-weight edges: no block.
  assert.equal(densestBlock([{ account: 'a', app: 'p', weight: 0 }]), null);

  // Priors add to f: a 2 × 2 ring with prior 1 on every node.
  const prior = densestBlock(ring('r', 2, 2), { prior: () => 1 })!;
  assert.ok(Math.abs(prior.density - (4 / Math.log(2 + DEFAULT_C) + 4) / 4) < 1e-12);
  assert.ok(Math.abs(densestBlock(ring('r', 2, 2), { c: 1 })!.weight - 4 / Math.log(3)) < 1e-12);

  assert.throws(() => densestBlock([{ account: 'a', app: 'p', weight: -1 }]), RangeError);
  assert.throws(() => densestBlock([{ account: 'a', app: 'p', weight: Number.NaN }]), RangeError);
  assert.throws(() => densestBlock([{ account: 'a', app: 'p' }], { c: 0 }), RangeError);
  assert.throws(() => densestBlock([{ account: 'a', app: 'p' }], { prior: () => -1 }), RangeError);
  assert.equal(lockstepDensity(0, 5), 0);
});

test('200k edges: the peel completes and still finds the ring', (t) => {
  const edges = [...organic(5, 66_660, 20_000), ...ring('fraud', 20, 5)];
  assert.equal(edges.length, 200_080);
  const started = performance.now();
  const found = denseBlocks(edges, { maxBlocks: 3, minAccounts: 5, minApps: 3, minDensity: MIN_DENSITY });
  const ms = performance.now() - started;
  assert.deepEqual(
    found.map((b) => [b.accounts, b.apps]),
    [[ids('fraud-acct', 20), ids('fraud-app', 5)]],
  );
  t.diagnostic(`200k edges: ${ms.toFixed(0)} ms`);
});
