// Upload content checks: image types by magic bytes, checked on the stream as it passes (nothing buffered
// beyond the first few bytes).
import { Transform, type TransformCallback } from 'node:stream';

export const IMAGE_TYPES = ['image/png', 'image/jpeg'] as const;
export type ImageType = (typeof IMAGE_TYPES)[number];
const IMAGE_NAMES: Record<ImageType, string> = { 'image/png': 'PNG', 'image/jpeg': 'JPEG' };
export const BINARY_TYPE = 'application/octet-stream';

export const DEVICE_TYPES = ['iphone', 'ipad', 'mac', 'tv', 'watch', 'vision'] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG = [0xff, 0xd8, 0xff];
const HEAD_BYTES = PNG.length;

const startsWith = (bytes: Uint8Array, magic: number[]) => bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);

/** The image type these first bytes announce, or null. */
export function sniffImageType(head: Uint8Array): ImageType | null {
  if (startsWith(head, PNG)) return 'image/png';
  if (startsWith(head, JPEG)) return 'image/jpeg';
  return null;
}

/** "image/PNG; foo=bar" -> "image/png"; undefined stays undefined. */
export function mediaTypeOf(header: string | undefined): string | undefined {
  return header?.split(';', 1)[0].trim().toLowerCase();
}

export function isImageType(type: string | undefined): type is ImageType {
  return (IMAGE_TYPES as readonly (string | undefined)[]).includes(type);
}

export class NotAnImageError extends Error {
  constructor(
    readonly declared: ImageType,
    readonly actual: ImageType | null,
  ) {
    super(actual ? `the bytes are ${actual} but Content-Type says ${declared}` : `the bytes are not a ${IMAGE_NAMES[declared]} image`);
  }
}

/** Pass-through that fails with NotAnImageError unless the stream starts with the declared type's magic bytes. */
export function expectImage(declared: ImageType): Transform {
  let head: Buffer | null = Buffer.alloc(0);
  const check = (self: Transform): Error | null => {
    const actual = sniffImageType(head!);
    if (actual !== declared) return new NotAnImageError(declared, actual);
    self.push(head);
    head = null;
    return null;
  };
  return new Transform({
    transform(this: Transform, chunk: Buffer, _enc, cb: TransformCallback) {
      if (head === null) return cb(null, chunk);
      head = Buffer.concat([head, chunk]);
      cb(head.length >= HEAD_BYTES ? check(this) : null);
    },
    flush(this: Transform, cb: TransformCallback) {
      cb(head === null ? null : check(this));
    },
  });
}
