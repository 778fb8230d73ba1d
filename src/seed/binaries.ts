// App builds for the seed: a small fixed set of real, deterministic files (4 to 64 KiB) that every seeded
// version points at, so seeded apps can be downloaded like uploaded ones. Blobs are content-addressed:
// a few files serve every version, and seeding again writes nothing new.
import { Rng } from '../platform/rng.ts';

export const BINARY_COUNT = 16;
const MIN_BYTES = 4 * 1024;
const MAX_BYTES = 64 * 1024;

/** Build #i of the set for a seed: a short text header, then bytes from the seed's random stream. */
export function binary(seed: number, i: number): Buffer {
  const rng = new Rng(seed, 'binary', i);
  const bytes = Buffer.alloc(rng.int(MIN_BYTES, MAX_BYTES));
  const header = Buffer.from(`Orchard demo build ${i + 1}/${BINARY_COUNT} (seed ${seed})\n`);
  header.copy(bytes);
  for (let at = header.length; at < bytes.length; at += 4) {
    const word = rng.uint32();
    for (let k = 0; k < 4 && at + k < bytes.length; k++) bytes[at + k] = (word >>> (8 * k)) & 0xff;
  }
  return bytes;
}

/**
 * One of `builds` (sorted by size) for a version whose real build would weigh `realisticBytes` (2 MB to 4 GB,
 * log-normal): bigger apps, such as games, get the bigger demo builds.
 */
export function binaryOfSize<T>(builds: readonly T[], realisticBytes: number): T {
  const position = Math.log(realisticBytes / 2e6) / Math.log(4e9 / 2e6); // 0..1 on a log scale
  return builds[Math.min(builds.length - 1, Math.max(0, Math.floor(position * builds.length)))];
}
