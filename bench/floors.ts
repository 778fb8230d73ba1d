// The floors `npm run bench -- --check` holds the hot paths to: each scenario's req/s as a share of hello-world's
// in the same run (the machine's ceiling), so the figures travel across machines. A regression like the 6× one
// of issue 21 (similar apps computed on the app detail's behalf) fails the check of whoever runs it next.
// Raise a floor when a path gets faster; never lower one without saying why in the commit.
import { readFileSync } from 'node:fs';

export interface Floors {
  /** Scenario name → the least share of hello-world, in percent. */
  [scenario: string]: number;
}

export interface FloorVerdict {
  scenario: string;
  floor: number;
  /** The scenario's share of hello in percent; null when it was not run (or no hello ran before it). */
  share: number | null;
  pass: boolean;
}

export function readFloors(file: string): Floors {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { floors?: unknown };
  const floors = parsed.floors;
  if (!floors || typeof floors !== 'object') throw new Error(`${file}: expected { "floors": { "<scenario>": <percent of hello> } }`);
  for (const [name, v] of Object.entries(floors)) {
    if (typeof v !== 'number' || !(v > 0 && v <= 100))
      throw new Error(`${file}: the floor of ${name} must be a percentage in (0, 100], got ${JSON.stringify(v)}`);
  }
  return floors as Floors;
}

/** `name=percent` overrides (`--floor app-by-id=50`), applied over the committed floors. */
export function withOverrides(floors: Floors, overrides: readonly string[]): Floors {
  const out = { ...floors };
  for (const o of overrides) {
    const m = /^([a-z0-9:-]+)=(\d+(?:\.\d+)?)$/.exec(o);
    if (!m || !(Number(m[2]) > 0 && Number(m[2]) <= 100)) throw new Error(`--floor must be <scenario>=<percent of hello>, got "${o}"`);
    out[m[1]] = Number(m[2]);
  }
  return out;
}

/** Each floored scenario's share of hello against its floor. A scenario not run fails: a check must measure what it guards. */
export function checkFloors(results: readonly { scenario: string; pctOfHello: number | null }[], floors: Floors): FloorVerdict[] {
  return Object.entries(floors).map(([scenario, floor]) => {
    const ran = results.filter((r) => r.scenario === scenario && r.pctOfHello !== null);
    const share = ran.length ? Math.min(...ran.map((r) => r.pctOfHello!)) : null;
    return { scenario, floor, share, pass: share !== null && share >= floor };
  });
}

export function formatVerdicts(verdicts: readonly FloorVerdict[]): string {
  return verdicts
    .map(
      (v) => `${v.pass ? 'PASS' : 'FAIL'}  ${v.scenario.padEnd(16)} ${v.share === null ? 'not run' : `${v.share.toFixed(0)}% of hello`}  (floor ${v.floor}%)`,
    )
    .join('\n');
}
