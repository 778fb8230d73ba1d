// Binary snapshot: "ORCHSRCH" magic, u32 header length, JSON header (scalars, small tables, array
// directory), then each typed array's bytes raw, in directory order. Written as a stream of array
// views (no giant string or buffer); read straight into freshly allocated typed arrays.
import { open } from 'node:fs/promises';
import type { EngineState } from './engine.ts';

const MAGIC = 'ORCHSRCH';
const VERSION = 2;
type TA = Uint8Array | Uint16Array | Uint32Array | Float32Array | Float64Array;
const CTORS = { Uint8Array, Uint16Array, Uint32Array, Float32Array, Float64Array } as const;
type CtorName = keyof typeof CTORS;

function arraysOf(s: EngineState): [string, TA][] {
  return [
    ['terms.bytes', s.terms.bytes],
    ['terms.offsets', s.terms.offsets],
    ['postStart', s.postStart],
    ['postDocs', s.postDocs],
    ['postImp', s.postImp],
    ['postMid', s.postMid],
    ['blockStart', s.blockStart],
    ['blockMax', s.blockMax],
    ['termMax', s.termMax],
    ['namePostStart', s.namePostStart],
    ['namePostDocs', s.namePostDocs],
    ['namePostQ', s.namePostQ],
    ['cat', s.cat.subarray(0, s.n)],
    ['sub', s.sub.subarray(0, s.n)],
    ['flags', s.flags.subarray(0, s.n)],
    ['age', s.age.subarray(0, s.n)],
    ['rating', s.rating.subarray(0, s.n)],
    ['quality', s.quality.subarray(0, s.n)],
    ['ctry', s.ctry.subarray(0, s.n)],
    ['dev', s.dev.subarray(0, s.n)],
    ['ids.bytes', s.ids.bytes],
    ['ids.offsets', s.ids.offsets],
    ['names.bytes', s.names.bytes],
    ['names.offsets', s.names.offsets],
    ['bundles.bytes', s.bundles.bytes],
    ['bundles.offsets', s.bundles.offsets],
    ['topTerms', s.topTerms],
    ['fieldSum', s.fieldSum],
    ['idOrder', s.idOrder],
    ['nameKeys', s.nameKeys],
    ['nameDocs', s.nameDocs],
    ['bundleKeys', s.bundleKeys],
    ['bundleDocs', s.bundleDocs],
    ['sugNames.bytes', s.sugNames.bytes],
    ['sugNames.offsets', s.sugNames.offsets],
    ['sugDocs', s.sugDocs],
  ];
}

export async function saveSnapshot(s: EngineState, path: string): Promise<void> {
  const arrays = arraysOf(s);
  const header = JSON.stringify({
    version: VERSION,
    baseN: s.baseN,
    n: s.n,
    live: s.live,
    termCount: s.terms.count,
    fieldDocs: s.fieldDocs,
    categories: s.categories,
    subcategories: s.subcategories,
    countryLists: s.countryLists,
    developers: s.developers,
    queries: s.queries,
    arrays: arrays.map(([name, a]) => ({ name, type: a.constructor.name, length: a.length })),
  });
  const hb = Buffer.from(header);
  const pre = Buffer.alloc(12);
  pre.write(MAGIC, 0, 'latin1');
  pre.writeUInt32LE(hb.length, 8);
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w');
  try {
    await fh.write(pre);
    await fh.write(hb);
    const CHUNK = 64 << 20;
    for (const [, a] of arrays) {
      const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      for (let o = 0; o < bytes.length; o += CHUNK) await fh.write(bytes.subarray(o, Math.min(bytes.length, o + CHUNK)));
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  const { rename } = await import('node:fs/promises');
  await rename(tmp, path);
}

export async function loadSnapshot(path: string): Promise<EngineState> {
  const fh = await open(path, 'r');
  try {
    const pre = Buffer.alloc(12);
    await fh.read(pre, 0, 12, 0);
    if (pre.toString('latin1', 0, 8) !== MAGIC) throw new Error(`${path}: not a search snapshot`);
    const hlen = pre.readUInt32LE(8);
    const hb = Buffer.alloc(hlen);
    await fh.read(hb, 0, hlen, 12);
    const h = JSON.parse(hb.toString('utf8'));
    if (h.version !== VERSION) throw new Error(`${path}: snapshot version ${h.version}, expected ${VERSION}`);
    let pos = 12 + hlen;
    const got: Record<string, TA> = {};
    const CHUNK = 256 << 20;
    for (const { name, type, length } of h.arrays as { name: string; type: CtorName; length: number }[]) {
      const Ctor = CTORS[type];
      if (!Ctor) throw new Error(`${path}: bad array type ${type}`);
      const a = new Ctor(length);
      const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      for (let o = 0; o < bytes.length; ) {
        const { bytesRead } = await fh.read(bytes, o, Math.min(CHUNK, bytes.length - o), pos);
        if (!bytesRead) throw new Error(`${path}: truncated snapshot`);
        o += bytesRead;
        pos += bytesRead;
      }
      got[name] = a;
    }
    const u32 = (k: string) => got[k] as Uint32Array;
    return {
      terms: { bytes: got['terms.bytes'] as Uint8Array, offsets: u32('terms.offsets'), count: h.termCount },
      postStart: u32('postStart'),
      postDocs: u32('postDocs'),
      postImp: got.postImp as Uint8Array,
      postMid: u32('postMid'),
      blockStart: u32('blockStart'),
      blockMax: got.blockMax as Uint8Array,
      termMax: got.termMax as Float32Array,
      namePostStart: u32('namePostStart'),
      namePostDocs: u32('namePostDocs'),
      namePostQ: got.namePostQ as Uint8Array,
      baseN: h.baseN,
      n: h.n,
      live: h.live,
      cat: got.cat as Uint16Array,
      sub: got.sub as Uint16Array,
      flags: got.flags as Uint8Array,
      age: got.age as Uint8Array,
      rating: got.rating as Float32Array,
      quality: got.quality as Float32Array,
      ctry: u32('ctry'),
      dev: u32('dev'),
      ids: { bytes: got['ids.bytes'] as Uint8Array, offsets: u32('ids.offsets') },
      names: { bytes: got['names.bytes'] as Uint8Array, offsets: u32('names.offsets') },
      bundles: { bytes: got['bundles.bytes'] as Uint8Array, offsets: u32('bundles.offsets') },
      topTerms: u32('topTerms'),
      fieldSum: got.fieldSum as Float64Array,
      fieldDocs: h.fieldDocs,
      categories: h.categories,
      subcategories: h.subcategories,
      countryLists: h.countryLists,
      developers: h.developers,
      queries: h.queries,
      idOrder: u32('idOrder'),
      nameKeys: u32('nameKeys'),
      nameDocs: u32('nameDocs'),
      bundleKeys: u32('bundleKeys'),
      bundleDocs: u32('bundleDocs'),
      sugNames: { bytes: got['sugNames.bytes'] as Uint8Array, offsets: u32('sugNames.offsets') },
      sugDocs: u32('sugDocs'),
    };
  } finally {
    await fh.close();
  }
}
