import type { Readable } from 'node:stream';

export interface StoredBlob {
  sha256: string;
  size: number;
}

/** Content-addressed blob store: the key of a blob is the sha256 of its bytes. */
export interface Blobs {
  /** Streams bytes in; rejects with BlobTooLargeError past maxBytes (nothing is kept then). */
  put(source: Readable, opts: { maxBytes: number }): Promise<StoredBlob>;
  /** null when absent. The stream honours an inclusive byte range. */
  open(sha256: string, range?: { start: number; end: number }): Promise<{ size: number; stream: Readable } | null>;
  stat(sha256: string): Promise<{ size: number } | null>;
}

export class BlobTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`blob exceeds ${maxBytes} bytes`);
  }
}

export const SHA256_HEX = /^[0-9a-f]{64}$/;
