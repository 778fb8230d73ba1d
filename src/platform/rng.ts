// Deterministic randomness: the same (seed, stream, index) always yields the same numbers, so every row, id
// and timestamp the seed generates is reproducible byte for byte. Also used by the labs' synthetic worlds and
// by modules that need reproducible draws (integrity's seeded model training). Not for secrets.

/** One round of a 32-bit avalanche mix (murmur3's finaliser over a golden-ratio increment). */
function mix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a of a label, so streams can be named ('app', 'user', ...). */
function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** sfc32: a small, fast PRNG with 128 bits of state; good enough for synthetic data, not for secrets. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** An independent stream per (seed, label, index): app #i is the same whatever else is generated. */
  constructor(seed: number, label = '', index = 0) {
    const h = mix32(mix32(seed) ^ hashLabel(label) ^ mix32(index + 0x51ed270b));
    this.a = mix32(h);
    this.b = mix32(this.a ^ 0x2545f491);
    this.c = mix32(this.b ^ 0x68e31da4);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.uint32();
  }

  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Advances the stream by n draws: where a generator stops using some numbers, later ones stay the same. */
  skip(n: number): void {
    for (let i = 0; i < n; i++) this.uint32();
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** k distinct items (k capped at items.length), in random order. */
  sample<T>(items: readonly T[], k: number): T[] {
    const pool = items.slice();
    const n = Math.min(k, pool.length);
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(this.next() * (pool.length - i));
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    return pool.slice(0, n);
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  logNormal(mu: number, sigma: number): number {
    return Math.exp(mu + sigma * this.normal());
  }

  hex(bytes: number): string {
    let s = '';
    for (let i = 0; i < bytes; i++) s += HEX[this.uint32() & 0xff];
    return s;
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A UUIDv7-shaped id: the 48-bit millisecond timestamp, then version/variant bits and 74 bits from rng. */
export function uuidv7(rng: Rng, ms: number): string {
  const t = Math.floor(ms);
  const hi = Math.floor(t / 2 ** 16); // top 32 bits of the 48-bit time
  const lo = t % 2 ** 16;
  const r1 = rng.uint32();
  const r2 = rng.uint32();
  const r3 = rng.uint32();
  const h8 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');
  const h4 = (n: number) => (n & 0xffff).toString(16).padStart(4, '0');
  return h8(hi) + '-' + h4(lo) + '-' + h4(0x7000 | (r1 & 0x0fff)) + '-' + h4(0x8000 | ((r1 >>> 12) & 0x3fff)) + '-' + h4(r2) + h8(r3);
}

/** Draws from fixed weights in O(log n): build once, sample many times. */
export class Weighted<T> {
  private readonly cumulative: Float64Array;
  readonly items: T[];

  constructor(entries: readonly (readonly [T, number])[]) {
    this.items = entries.map(([item]) => item);
    this.cumulative = new Float64Array(entries.length);
    let sum = 0;
    entries.forEach(([, w], i) => (this.cumulative[i] = sum += w));
    for (let i = 0; i < entries.length; i++) this.cumulative[i] /= sum;
  }

  index(rng: Rng): number {
    const u = rng.next();
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cumulative[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  pick(rng: Rng): T {
    return this.items[this.index(rng)];
  }
}

/** Zipf over ranks 0..n-1 (P(rank k) ∝ 1/(k+1)^s): a few items very common, a long tail of rare ones. */
export function zipf<T>(items: readonly T[], s = 1): Weighted<T> {
  return new Weighted(items.map((item, k) => [item, 1 / Math.pow(k + 1, s)] as const));
}

/** A deterministic random() in [0, 1) from a seed: for code that wants only that (a reproducible split, test data). */
export function seededRandom(seed: number): () => number {
  const rng = new Rng(seed, 'random');
  return () => rng.next();
}

/**
 * mulberry32: a tiny, fast 32-bit generator, random() in [0, 1) from a seed (0 is taken as 0x9e3779b9). For
 * simulations and tests that keep a stream of their own (their figures were measured with it: do not change it).
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0 || 0x9e3779b9;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
