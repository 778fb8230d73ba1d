// App icons for the seed: small 64x64 PNGs (solid colours and diagonal gradients from a fixed
// palette), encoded by hand with node:zlib. A few hundred files serve every app: blobs are content-addressed.
import { deflateSync } from 'node:zlib';

const SIZE = 64;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

type Rgb = [number, number, number];

/** An 8-bit RGB PNG of SIZE x SIZE whose pixel (x, y) is colour(x, y). */
export function encodePng(colour: (x: number, y: number) => Rgb): Buffer {
  const raw = Buffer.alloc(SIZE * (1 + SIZE * 3));
  for (let y = 0; y < SIZE; y++) {
    const row = y * (1 + SIZE * 3); // each scanline starts with filter type 0 (none)
    for (let x = 0; x < SIZE; x++) raw.set(colour(x, y), row + 1 + x * 3);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(SIZE, 0);
  header.writeUInt32BE(SIZE, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: truecolour RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function hsl(h: number, s: number, l: number): Rgb {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

/** 36 hues x 3 saturations x 3 lightnesses = 324 colours. */
const PALETTE: Rgb[] = [];
for (let h = 0; h < 360; h += 10) for (const s of [0.55, 0.75, 0.95]) for (const l of [0.4, 0.55, 0.7]) PALETTE.push(hsl(h, s, l));

/** Icon #i of the fixed set: every 4th a solid colour, the rest gradients between two palette colours. */
export function icon(i: number): Buffer {
  const a = PALETTE[(i * 7) % PALETTE.length];
  if (i % 4 === 0) return encodePng(() => a);
  const b = PALETTE[(i * 7 + 40 + (i % 11) * 13) % PALETTE.length];
  return encodePng((x, y) => {
    const t = (x + y) / (2 * (SIZE - 1));
    return [0, 1, 2].map((c) => Math.round(a[c] + (b[c] - a[c]) * t)) as Rgb;
  });
}

export const ICON_COUNT = 300;
