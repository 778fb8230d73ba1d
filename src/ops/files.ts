// Files for backup and restore: walking a tree, copying with a checksum on the way, hashing, durable writes, and
// finding the processes that hold files of a directory open (Linux /proc), to tell an embedded store in use.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, readlink, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface FileEntry {
  /** Relative to the backup directory, always with forward slashes. */
  path: string;
  size: number;
  sha256: string;
  /** Permission bits to restore, octal (keys stay private: "600"). */
  mode: string;
}

/** Regular files under `dir` (relative paths, sorted); `skip(rel)` prunes a directory or file. Absent dir: none. */
export async function listFiles(dir: string, skip: (rel: string) => boolean = () => false): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(path.join(dir, rel), { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const e of entries) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (skip(child)) continue;
      if (e.isDirectory()) await walk(child);
      else if (e.isFile()) out.push(child);
    }
  };
  await walk('');
  return out.sort();
}

/** A SHA-256 and byte count computed while the bytes stream through. */
function hashing() {
  const hash = createHash('sha256');
  let size = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  return { stream, result: () => ({ size, sha256: hash.digest('hex') }) };
}

export async function hashFile(file: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    size += chunk.length;
    hash.update(chunk);
  }
  return { size, sha256: hash.digest('hex') };
}

/**
 * Copies `from` to `to` through a temporary file renamed into place (never a half-written `to`), synced to disk,
 * with the given mode; returns the size and SHA-256 of what was written.
 */
export async function copyFileHashed(from: string, to: string, mode?: number): Promise<{ size: number; sha256: string; mode: number }> {
  await mkdir(path.dirname(to), { recursive: true });
  const fileMode = mode ?? (await lstat(from)).mode & 0o777;
  const tmp = `${to}.tmp-${randomBytes(6).toString('hex')}`;
  const h = hashing();
  try {
    await pipeline(createReadStream(from), h.stream, createWriteStream(tmp, { mode: fileMode }));
    await chmod(tmp, fileMode); // the umask may have narrowed it
    await syncPath(tmp);
    await rename(tmp, to);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return { ...h.result(), mode: fileMode };
}

export async function syncPath(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes a small file durably: temporary name, sync, rename. */
export async function writeFileDurably(file: string, content: string, mode = 0o644): Promise<void> {
  const tmp = `${file}.tmp-${randomBytes(6).toString('hex')}`;
  const handle = await open(tmp, 'wx', mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
  await syncPath(path.dirname(file));
}

/** Runs `fn` over `items` with at most `limit` at once. */
export async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * The other processes holding a file under `dir` open (PGlite keeps its relation files open while it runs), from
 * /proc/<pid>/fd; null when that cannot be inspected (not Linux). Processes of other users are not visible.
 */
export async function processesUsing(dir: string): Promise<number[] | null> {
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((p) => /^\d+$/.test(p));
  } catch {
    return null;
  }
  const prefix = path.resolve(dir) + path.sep;
  const users: number[] = [];
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    let fds: string[];
    try {
      fds = await readdir(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to look at
    }
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (target.startsWith(prefix)) {
        users.push(Number(pid));
        break;
      }
    }
  }
  return users;
}
