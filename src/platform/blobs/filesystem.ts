import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BlobTooLargeError, SHA256_HEX, type Blobs } from './index.ts';

/** Files under root/ab/cd/<sha256>; written to a temp file, hashed on the way, then renamed into place. */
export function createFsBlobs(root: string): Blobs {
  const pathOf = (sha: string) => path.join(root, sha.slice(0, 2), sha.slice(2, 4), sha);

  return {
    async put(source, { maxBytes }) {
      const tmpDir = path.join(root, 'tmp');
      await mkdir(tmpDir, { recursive: true });
      const tmp = path.join(tmpDir, randomUUID());
      const hash = createHash('sha256');
      let size = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          size += chunk.length;
          if (size > maxBytes) return cb(new BlobTooLargeError(maxBytes));
          hash.update(chunk);
          cb(null, chunk);
        },
      });
      try {
        await pipeline(source, meter, createWriteStream(tmp));
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
      const sha256 = hash.digest('hex');
      const dest = pathOf(sha256);
      await mkdir(path.dirname(dest), { recursive: true });
      await rename(tmp, dest);
      return { sha256, size };
    },
    async open(sha256, range) {
      const s = await this.stat(sha256);
      if (!s) return null;
      return { size: s.size, stream: createReadStream(pathOf(sha256), range) };
    },
    async stat(sha256) {
      if (!SHA256_HEX.test(sha256)) return null;
      try {
        return { size: (await stat(pathOf(sha256))).size };
      } catch {
        return null;
      }
    },
  };
}
