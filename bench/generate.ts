// Helpers shared by the generators of the scale benches (charts.ts, recs.ts): printing, timing, and SQL
// expressions for deterministic data, and statements to the database server itself.
import pg from 'pg';

export const fmtInt = (n: number) => Math.round(n).toLocaleString('en');
export const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  process.stdout.write(`  ${label} ...`);
  const r = await fn();
  process.stdout.write(` ${secs(performance.now() - t0)}\n`);
  return r;
}

/** Uniform in [0, 1) from a bigint SQL expression and a salt: deterministic, a C function per call. */
export const U = (expr: string, salt: number) => `((hashint8extended((${expr})::int8, ${salt}) & 2147483647)::float8 / 2147483648.0)`;

/** A UUIDv7 (time-ordered, as the project's ids are) from a timestamptz expression and a text seed. */
export const uuid7 = (ts: string, seed: string) =>
  `(lpad(to_hex(floor(extract(epoch FROM ${ts}) * 1000)::int8), 12, '0') || '7' || substr(md5(${seed}), 1, 3) || '8' || substr(md5(${seed}), 4, 15))::uuid`;

/** One statement through the server's `postgres` database (creating or dropping the bench database). */
export async function serverQuery<T extends pg.QueryResultRow>(benchUrl: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const url = new URL(benchUrl);
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    return (await admin.query<T>(sql, params)).rows;
  } finally {
    await admin.end();
  }
}

export const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;
