import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

/** Anything SQL can be sent to: the pool itself or a transaction. */
export interface Queryable {
  query<R = Record<string, any>>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
}

export interface Db extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Runs fn in one transaction: commit when it resolves, rollback when it throws. */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** Bulk load rows (already ordered like `columns`) with COPY. Values: null, string, number, boolean, Date. */
  copyRows(table: string, columns: string[], rows: Iterable<unknown[]>): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A directory of `NNNN_name.sql` files; all directories are applied in one global filename order. */
export async function listMigrations(dirs: string[]): Promise<{ name: string; file: string }[]> {
  const all: { name: string; file: string }[] = [];
  for (const dir of dirs) {
    for (const entry of await readdir(dir)) {
      if (entry.endsWith('.sql')) all.push({ name: entry.replace(/\.sql$/, ''), file: path.join(dir, entry) });
    }
  }
  all.sort((a, b) => a.name.localeCompare(b.name));
  const seen = new Set<string>();
  for (const m of all) {
    if (seen.has(m.name)) throw new Error(`duplicate migration name ${m.name}`);
    seen.add(m.name);
  }
  return all;
}

const MIGRATION_LOCK = 7_413_921; // arbitrary advisory-lock id shared by every Orchard process

/** Applies pending migrations once, under an advisory lock so concurrent starts do not race. */
export async function migrate(db: Db, dirs: string[], log: (msg: string) => void = () => {}): Promise<string[]> {
  const migrations = await listMigrations(dirs);
  return db.tx(async (q) => {
    await q.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await q.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await q.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((r) => r.name));
    const applied: string[] = [];
    for (const m of migrations) {
      if (done.has(m.name)) continue;
      await q.query(await readFile(m.file, 'utf8'));
      await q.query('INSERT INTO schema_migrations (name) VALUES ($1)', [m.name]);
      log(`applied migration ${m.name}`);
      applied.push(m.name);
    }
    return applied;
  });
}

/** Text-format COPY encoding shared by both adapters. */
export function copyTextLine(values: unknown[]): string {
  return values.map(copyTextValue).join('\t') + '\n';
}

function copyTextValue(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) v = pgArrayLiteral(v);
  else if (typeof v === 'object') v = JSON.stringify(v);
  const s = String(v);
  return /[\\\t\n\r]/.test(s) ? s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : s;
}

/** text[] literal: {"a","b \\"c\\""} */
function pgArrayLiteral(items: unknown[]): string {
  return '{' + items.map((i) => (i === null ? 'NULL' : '"' + String(i).replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"')).join(',') + '}';
}

export const platformMigrations = path.join(path.dirname(new URL(import.meta.url).pathname), 'migrations');
