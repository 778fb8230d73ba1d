// `orchard backup DEST` and `orchard restore SRC`: one consistent set of a store's state, with a manifest.
//
// A backup is a directory:
//   manifest.json            written last (its absence marks an unfinished backup); see `Manifest`
//   database.pgdump          PostgreSQL: pg_dump --format=custom (one snapshot; restored with pg_restore)
//   database.pglite.tar.gz   embedded: PGlite's own dump of its data directory (dumpDataDir; restored with loadDataDir)
//   data/blobs/…             content-addressed files (icons, screenshots, binaries)
//   data/receipts/…          the receipt signing key set (root, intermediate, leaf), when it lives in the data dir
//   data/keys/…              generated secrets (download-url.key)
// Left out: data/search (the search engine's snapshot, a cache rebuilt from the database at start), blobs/tmp
// (uploads in progress, not yet referenced), and anything configured through the environment (RECEIPT_*,
// DOWNLOAD_URL_SECRET): the manifest's notes say so, and those must be kept with the backup by the operator.
//
// Consistency. The database is one snapshot: pg_dump reads everything in a single repeatable-read transaction
// (only ACCESS SHARE locks: purchases, uploads and migrations-free traffic go on while it runs); PGlite is copied
// while this process alone has it open. Files are copied AFTER the database snapshot, and that order is what makes
// the set consistent: a blob is written (renamed into place under its sha256) before the row naming it is committed,
// and blobs are never changed or deleted, so every blob a row of the snapshot names was on disk before the snapshot
// began and is therefore copied. Blobs written after the snapshot are copied too (harmless extras: content-addressed
// files nothing references yet). Keys and secrets are written once, before any receipt or link that depends on them.
// Restore mirrors the order: files first, the database last, so a restored database never names a missing blob.
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Config } from '../config.ts';
import { listMigrations } from '../platform/db/index.ts';
import { createPostgresDb } from '../platform/db/postgres.ts';
import '../platform/db/pglite.ts'; // sets V8's flags for PGlite (--no-wasm-code-gc) before any instance runs
import { copyFileHashed, forEachLimited, hashFile, listFiles, processesUsing, writeFileDurably, type FileEntry } from './files.ts';

export const MANIFEST = 'manifest.json';
const FORMAT = 'orchard-backup/1';
const PG_DUMP_FILE = 'database.pgdump';
const PGLITE_FILE = 'database.pglite.tar.gz';
/** What of the data dir a backup holds; everything else there is a cache or the embedded database itself. */
const DATA_PARTS = ['blobs', 'receipts', 'keys'] as const;
/** What restore --force clears from a data dir (never anything else in it). */
const ORCHARD_DATA_ENTRIES = [...DATA_PARTS, 'search', 'pglite'];
const COPY_CONCURRENCY = 8;

export interface Manifest {
  format: typeof FORMAT;
  orchardVersion: string;
  createdAt: string;
  database: {
    kind: 'postgres' | 'pglite';
    file: string;
    /** How the file was made and is restored. */
    method: string;
    serverVersion: string;
    /** pg_dump's version (PostgreSQL). */
    tool?: string;
    /** The migration level: schema_migrations' names, as of the snapshot. */
    migrations: string[];
  };
  /** Data dir parts included (relative to data/), and what was left out and why. */
  data: { included: string[]; excluded: string[] };
  notes: string[];
  files: FileEntry[];
  totals: { files: number; bytes: number; blobs: number };
  seconds: { database: number; files: number; total: number };
}

export type Log = (line: string) => void;

const orchardVersion = async () => (JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const seconds = (since: number) => Math.round((performance.now() - since) / 10) / 100;

// ---------------------------------------------------------------------------------------------- backup

export interface BackupOptions {
  log?: Log;
  /** Embedded: back up even when it cannot be told whether another process has the database open. */
  force?: boolean;
}

export async function backup(config: Config, dest: string, opts: BackupOptions = {}): Promise<Manifest> {
  const log = opts.log ?? (() => {});
  const started = performance.now();
  const dir = path.resolve(dest);
  for (const part of DATA_PARTS) {
    const inside = path.relative(path.join(config.dataDir, part), dir);
    if (!inside.startsWith('..') && !path.isAbsolute(inside))
      throw new Error(`${dir} is inside ${path.join(config.dataDir, part)}, which it would copy: back up elsewhere`);
  }
  await prepareDestination(dir);
  const notes: string[] = [];

  // 1. The database snapshot. Nothing of the data dir is copied before it (see the header: blobs after the snapshot).
  const dbStarted = performance.now();
  const database = config.databaseUrl ? await dumpPostgres(config.databaseUrl, dir, log) : await dumpPglite(config.dataDir, dir, log, opts.force, notes);
  const dbSeconds = seconds(dbStarted);
  const dbFile = path.join(dir, database.file);
  await chmod(dbFile, 0o600); // password hashes, sessions, orders: for the operator's eyes only
  const dbEntry: FileEntry = { path: database.file, ...(await hashFile(dbFile)), mode: '600' };
  log(`database: ${database.kind}, ${database.migrations.length} migrations, ${mib(dbEntry.size)} in ${dbSeconds} s`);

  // 2. Blobs, receipt keys, secrets: after the snapshot.
  const filesStarted = performance.now();
  const included: string[] = [];
  const entries: FileEntry[] = [];
  for (const part of DATA_PARTS) {
    const from = path.join(config.dataDir, part);
    const files = await listFiles(from, (rel) => part === 'blobs' && (rel === 'tmp' || rel.includes('.tmp-')));
    if (!files.length) continue;
    included.push(part);
    await forEachLimited(files, COPY_CONCURRENCY, async (rel) => {
      const target = `data/${part}/${rel}`;
      const copied = await copyFileHashed(path.join(from, rel), path.join(dir, target));
      entries.push({ path: target, ...copied, mode: copied.mode.toString(8) });
    });
  }
  entries.sort((a, b) => a.path.localeCompare(b.path));
  const filesSeconds = seconds(filesStarted);
  const blobs = entries.filter((e) => e.path.startsWith('data/blobs/')).length;

  if (config.receiptKeys) {
    notes.push(`receipt keys are configured (${config.receiptKeys.origin ?? 'RECEIPT_*'}): they are not in this backup, keep them with it`);
  } else if (!included.includes('receipts')) {
    notes.push('no receipt keys under the data dir: the store had not signed a receipt yet, or they were kept elsewhere');
  }
  if (config.downloadUrlSecret) notes.push('DOWNLOAD_URL_SECRET is configured: it is not in this backup (links signed with it expire in minutes anyway)');

  const all = [dbEntry, ...entries];
  const manifest: Manifest = {
    format: FORMAT,
    orchardVersion: await orchardVersion(),
    createdAt: new Date().toISOString(),
    database: { ...database, file: database.file },
    data: { included, excluded: ['search (a cache: rebuilt from the database at start)', 'blobs/tmp (uploads in progress)'] },
    notes,
    files: all,
    totals: { files: all.length, bytes: all.reduce((n, f) => n + f.size, 0), blobs },
    seconds: { database: dbSeconds, files: filesSeconds, total: seconds(started) },
  };
  // Last: a directory without manifest.json is an unfinished backup, and restore refuses it.
  await writeFileDurably(path.join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, 0o600);
  log(`files: ${entries.length} (${blobs} blobs) ${mib(manifest.totals.bytes - dbEntry.size)} in ${filesSeconds} s`);
  for (const n of notes) log(`note: ${n}`);
  return manifest;
}

async function prepareDestination(dir: string) {
  if (existsSync(dir)) {
    if (!(await stat(dir)).isDirectory()) throw new Error(`${dir} exists and is not a directory`);
    if ((await readdir(dir)).length) throw new Error(`${dir} is not empty: back up into a new or empty directory`);
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

type DumpedDatabase = Omit<Manifest['database'], 'file'> & { file: string };

async function dumpPostgres(url: string, dir: string, log: Log): Promise<DumpedDatabase> {
  const target = libpq(url);
  const file = path.join(dir, PG_DUMP_FILE);
  log('database: pg_dump --format=custom (one consistent snapshot; the store may keep serving)');
  const tool = (await run('pg_dump', ['--version'])).stdout.trim();
  await run('pg_dump', ['--format=custom', '--no-password', `--file=${file}`, `--dbname=${target.dbname}`], target.env);
  const toc = (await run('pg_restore', ['--list', file])).stdout;
  const serverVersion = /Dumped from database version: (.*)/.exec(toc)?.[1]?.trim() ?? 'unknown';
  return { kind: 'postgres', file: PG_DUMP_FILE, method: 'pg_dump --format=custom; pg_restore', serverVersion, tool, migrations: await migrationsInDump(file) };
}

/** schema_migrations as the dump holds it (the same snapshot as everything else). */
async function migrationsInDump(file: string): Promise<string[]> {
  const sql = (await run('pg_restore', ['--data-only', '--table=schema_migrations', '--file=-', file])).stdout;
  const names: string[] = [];
  let inCopy = false;
  for (const line of sql.split('\n')) {
    if (line.startsWith('COPY ') && line.includes('schema_migrations')) inCopy = true;
    else if (inCopy && line === '\\.') inCopy = false;
    else if (inCopy && line) names.push(line.split('\t')[0]);
  }
  return names.sort();
}

async function dumpPglite(dataDir: string, dir: string, log: Log, force: boolean | undefined, notes: string[]): Promise<DumpedDatabase> {
  const pgDir = path.join(dataDir, 'pglite');
  if (!existsSync(path.join(pgDir, 'PG_VERSION'))) {
    throw new Error(`no embedded database in ${pgDir}: is ORCHARD_DATA_DIR right? (with DATABASE_URL set the database is PostgreSQL)`);
  }
  await assertPgliteNotInUse(pgDir, force, notes);
  log('database: PGlite dumpDataDir (the embedded store must be stopped: one process owns it)');
  const pg = new PGlite(pgDir);
  try {
    await pg.waitReady;
    const migrations = (await pg.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name')).rows.map((r) => r.name);
    const serverVersion = (await pg.query<{ v: string }>('SELECT version() AS v')).rows[0].v;
    const tarball = await pg.dumpDataDir('gzip');
    await writeFile(path.join(dir, PGLITE_FILE), Buffer.from(await tarball.arrayBuffer()), { mode: 0o600 });
    return {
      kind: 'pglite',
      file: PGLITE_FILE,
      method: 'PGlite dumpDataDir (gzip tar of its data directory); new PGlite({ loadDataDir })',
      serverVersion,
      migrations,
    };
  } finally {
    await pg.close();
  }
}

/**
 * PGlite is PostgreSQL in one process: two processes on one data directory corrupt it. A running store holds its
 * relation files open, which /proc shows; postmaster.pid is there while an instance runs (and after a crash).
 */
async function assertPgliteNotInUse(pgDir: string, force: boolean | undefined, notes: string[]) {
  const users = await processesUsing(pgDir);
  if (users?.length) {
    throw new Error(
      `the embedded database ${pgDir} is in use by process ${users.join(', ')}: PGlite is single-process, so stop Orchard (serve, worker) and back up again`,
    );
  }
  if (existsSync(path.join(pgDir, 'postmaster.pid'))) {
    if (users === null && !force) {
      throw new Error(
        `the embedded database ${pgDir} may be in use (postmaster.pid is present and processes cannot be inspected here): stop Orchard; if nothing uses it, back up with --force`,
      );
    }
    notes.push('the embedded database had not been shut down cleanly (postmaster.pid left behind; no process had it open)');
  }
}

// ---------------------------------------------------------------------------------------------- restore

export interface RestoreOptions {
  log?: Log;
  /** Restore over a database with tables / a data dir with files (clears Orchard's parts of them first). */
  force?: boolean;
  /** pg_restore --jobs (PostgreSQL). */
  jobs?: number;
  /** The migration directories of this Orchard: a backup from a newer one (unknown migrations) is refused. */
  migrationDirs?: string[];
}

export interface RestoreResult {
  manifest: Manifest;
  seconds: { verify: number; files: number; database: number; total: number };
  /** SHA-256 fingerprint of the restored receipt root (clients pin that root), when the backup held the key set. */
  receiptRootFingerprint?: string;
}

/** Checks every file of a backup against its manifest (size and SHA-256); throws naming the first bad file. */
export async function verifyBackup(src: string): Promise<Manifest> {
  const dir = path.resolve(src);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(path.join(dir, MANIFEST), 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'ENOENT'
        ? `${dir} has no ${MANIFEST}: not an Orchard backup, or an unfinished one`
        : `${path.join(dir, MANIFEST)} cannot be read: ${(err as Error).message}`,
    );
  }
  if (manifest.format !== FORMAT) throw new Error(`${path.join(dir, MANIFEST)}: unknown format ${JSON.stringify(manifest.format)} (expected ${FORMAT})`);
  if (!manifest.files.some((f) => f.path === manifest.database.file)) throw new Error(`the manifest lists no database file (${manifest.database.file})`);
  const bad: string[] = [];
  await forEachLimited(manifest.files, 4, async (f) => {
    if (bad.length) return;
    if (f.path.split('/').includes('..') || path.isAbsolute(f.path)) {
      bad.push(`${f.path}: not a path inside the backup`);
      return;
    }
    const file = path.join(dir, f.path);
    const got = await hashFile(file).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? null : Promise.reject(err)));
    if (!got) bad.push(`${f.path} is missing`);
    else if (got.size !== f.size) bad.push(`${f.path} has ${got.size} bytes, the manifest says ${f.size}`);
    else if (got.sha256 !== f.sha256) bad.push(`${f.path} does not match its checksum (sha256 ${got.sha256}, the manifest says ${f.sha256})`);
  });
  if (bad.length) throw new Error(`backup ${dir} is damaged, nothing was restored: ${bad[0]}`);
  return manifest;
}

export async function restore(config: Config, src: string, opts: RestoreOptions = {}): Promise<RestoreResult> {
  const log = opts.log ?? (() => {});
  const started = performance.now();
  const dir = path.resolve(src);

  // 1. Every checksum, before anything is touched.
  const manifest = await verifyBackup(dir);
  const verifySeconds = seconds(started);
  log(`verified ${manifest.files.length} files (${mib(manifest.totals.bytes)}) in ${verifySeconds} s`);

  const kind = config.databaseUrl ? 'postgres' : 'pglite';
  if (manifest.database.kind !== kind) {
    throw new Error(
      manifest.database.kind === 'postgres'
        ? 'this backup is of a PostgreSQL store: set DATABASE_URL to the (empty) database to restore into'
        : 'this backup is of an embedded store: unset DATABASE_URL to restore it into ORCHARD_DATA_DIR',
    );
  }
  if (opts.migrationDirs) {
    const known = new Set((await listMigrations(opts.migrationDirs)).map((m) => m.name));
    const unknown = manifest.database.migrations.filter((m) => !known.has(m));
    if (unknown.length) {
      throw new Error(`this backup was made by a newer Orchard (${manifest.orchardVersion}): migrations unknown here: ${unknown.join(', ')}`);
    }
  }

  // 2. Empty targets, unless --force (which clears Orchard's parts of them first).
  const dataFiles = await listFiles(config.dataDir);
  const tables = config.databaseUrl ? await countTables(config.databaseUrl) : 0;
  if ((dataFiles.length || tables) && !opts.force) {
    const what = [
      tables ? `the database has ${tables} tables` : '',
      dataFiles.length ? `the data dir ${config.dataDir} has ${dataFiles.length} files (e.g. ${dataFiles[0]})` : '',
    ].filter(Boolean);
    throw new Error(`refusing to restore over a store that is not empty: ${what.join('; ')}. Restore into an empty one, or pass --force to replace it`);
  }
  if (opts.force) {
    if (config.databaseUrl && tables) await clearPostgres(config.databaseUrl, log);
    for (const entry of ORCHARD_DATA_ENTRIES) await rm(path.join(config.dataDir, entry), { recursive: true, force: true });
  }
  await mkdir(config.dataDir, { recursive: true });

  // 3. Files first, the database last: a restored database never names a blob that is not there yet.
  const filesStarted = performance.now();
  const dataEntries = manifest.files.filter((f) => f.path.startsWith('data/'));
  for (const part of new Set(dataEntries.map((f) => f.path.split('/')[1]))) {
    await mkdir(path.join(config.dataDir, part), { recursive: true, mode: part === 'blobs' ? 0o755 : 0o700 });
  }
  await forEachLimited(dataEntries, COPY_CONCURRENCY, async (f) => {
    const mode = /^[0-7]{3,4}$/.test(f.mode) ? Number.parseInt(f.mode, 8) : 0o600;
    const copied = await copyFileHashed(path.join(dir, f.path), path.join(config.dataDir, f.path.slice('data/'.length)), mode);
    if (copied.sha256 !== f.sha256) throw new Error(`${f.path} changed while it was being restored`);
  });
  const filesSeconds = seconds(filesStarted);
  log(`files: ${dataEntries.length} restored into ${config.dataDir} in ${filesSeconds} s`);

  const dbStarted = performance.now();
  const dbFile = path.join(dir, manifest.database.file);
  const migrations = config.databaseUrl
    ? await restorePostgres(config.databaseUrl, dbFile, opts.jobs ?? 2, log)
    : await restorePglite(path.join(config.dataDir, 'pglite'), dbFile, log);
  const dbSeconds = seconds(dbStarted);
  if (migrations.join() !== [...manifest.database.migrations].sort().join()) {
    throw new Error(`the restored database's schema_migrations differ from the manifest's (${migrations.length} vs ${manifest.database.migrations.length})`);
  }
  log(`database: restored (${migrations.length} migrations) in ${dbSeconds} s`);

  let receiptRootFingerprint: string | undefined;
  const root = path.join(config.dataDir, 'receipts', 'root.pem');
  if (existsSync(root)) receiptRootFingerprint = new X509Certificate(await readFile(root)).fingerprint256;
  return { manifest, seconds: { verify: verifySeconds, files: filesSeconds, database: dbSeconds, total: seconds(started) }, receiptRootFingerprint };
}

async function withPostgres<T>(url: string, fn: (db: ReturnType<typeof createPostgresDb>) => Promise<T>): Promise<T> {
  const db = createPostgresDb(url, { max: 1 });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

const countTables = (url: string) =>
  withPostgres(url, async (db) => {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`,
    );
    return rows[0].n;
  });

/** --force on PostgreSQL: the public schema (where Orchard keeps everything) is dropped and made again. */
async function clearPostgres(url: string, log: Log) {
  log('database: --force: dropping the schema public and everything in it');
  await withPostgres(url, (db) => db.query('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public'));
}

async function restorePostgres(url: string, file: string, jobs: number, log: Log): Promise<string[]> {
  // a multi-host URL must land on the primary
  const writable = /[?&]target_session_attrs=/.test(url) ? url : `${url}${url.includes('?') ? '&' : '?'}target_session_attrs=read-write`;
  const target = libpq(writable);
  log(`database: pg_restore --jobs=${jobs}`);
  await run(
    'pg_restore',
    ['--no-owner', '--no-privileges', '--exit-on-error', '--no-password', `--jobs=${Math.max(1, jobs)}`, `--dbname=${target.dbname}`, file],
    target.env,
  );
  return withPostgres(url, async (db) => (await db.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name')).rows.map((r) => r.name));
}

async function restorePglite(pgDir: string, file: string, log: Log): Promise<string[]> {
  log('database: PGlite loadDataDir');
  await mkdir(pgDir, { recursive: true });
  const tarball = await readFile(file);
  const pg = new PGlite(pgDir, { loadDataDir: new Blob([new Uint8Array(tarball.buffer as ArrayBuffer, tarball.byteOffset, tarball.byteLength)]) });
  try {
    await pg.waitReady;
    return (await pg.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name')).rows.map((r) => r.name);
  } finally {
    await pg.close();
  }
}

// ---------------------------------------------------------------------------------------------- helpers

/** A libpq connection string without its password (which goes into PGPASSWORD, out of the process list). */
function libpq(url: string): { dbname: string; env: Record<string, string> } {
  try {
    const u = new URL(url);
    if (u.password) {
      const password = decodeURIComponent(u.password);
      u.password = '';
      return { dbname: u.toString(), env: { PGPASSWORD: password } };
    }
  } catch {
    // a multi-host URL is not a WHATWG URL: libpq reads it as it is
  }
  return { dbname: url, env: {} };
}

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => (err += c));
    child.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'ENOENT' ? new Error(`${cmd} not found on PATH: install the PostgreSQL client tools (the server's major version or newer)`) : e),
    );
    child.once('close', (code) => {
      if (code === 0) resolve({ stdout: Buffer.concat(out).toString('utf8') });
      else reject(new Error(`${cmd} failed (exit ${code}): ${err.trim().split('\n').slice(-5).join(' | ')}`));
    });
  });
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
