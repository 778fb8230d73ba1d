import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeName } from './analysis.ts';
import { buildEngine } from './build.ts';
import { identity, sortByBytes } from './lookups.ts';
import { hash32, F_TOMB, makeBlob, type EngineState } from './engine.ts';
import type { SearchDoc } from './types.ts';

function doc(id: string, name: string, bundleId = `com.test.${id}`): SearchDoc {
  return {
    id,
    bundleId,
    name,
    subtitle: null,
    developer: 'Acme',
    description: 'An app.',
    keywords: [],
    category: 'utilities',
    subcategory: null,
    isFree: true,
    ageRating: '4+',
    ratingAverage: 4,
    ratingCount: 10,
    downloads: 100,
    countries: null,
    engagement: 0,
  };
}

/** The lookups written the plain way: comparison sorts over UTF-8 bytes, equal keys by doc index as base-36 text. */
function referenceLookups(s: EngineState, docs: SearchDoc[]) {
  const byDoc = new Map<number, SearchDoc>();
  docs.forEach((d, i) => byDoc.set(i, d));
  const live = [...byDoc.keys()].filter((d) => !(s.flags[d] & F_TOMB));
  const docText = (a: number, b: number) => (a.toString(36) < b.toString(36) ? -1 : a.toString(36) > b.toString(36) ? 1 : 0);
  const bytesThen = (key: (d: number) => string) => (a: number, b: number) => Buffer.compare(Buffer.from(key(a)), Buffer.from(key(b))) || docText(a, b);
  const idOrder = live.slice().sort(bytesThen((d) => byDoc.get(d)!.id));
  const norm = (d: number) => normalizeName(byDoc.get(d)!.name);
  const sugDocs = live.slice().sort(bytesThen(norm));
  const byName = sugDocs.map((d, rank) => ({ d, rank, h: hash32(norm(d)) })).sort((a, b) => a.h - b.h || a.rank - b.rank);
  const byBundle = live.map((d) => ({ d, h: hash32(byDoc.get(d)!.bundleId.toLowerCase()) })).sort((a, b) => a.h - b.h || a.d - b.d);
  return {
    idOrder,
    sugDocs,
    sugNames: sugDocs.map(norm),
    nameKeys: byName.map((x) => x.h),
    nameDocs: byName.map((x) => x.d),
    bundleKeys: byBundle.map((x) => x.h),
    bundleDocs: byBundle.map((x) => x.d),
  };
}

test('bulk build lookups match a plain reference (non-ASCII, shared prefixes, duplicates, replaced ids)', () => {
  const names = [
    'Photo Editor Pro',
    'Photo Editor Pro',
    'photo editor',
    'Photo Editor Pro 2',
    'Photo Editor Pro 10',
    'PHOTO  editor!',
    'Café Finder',
    'Cafe Finder',
    'Straße Maps',
    'Strasse Maps',
    'Ærø Guide',
    '東京 Metro',
    '東京',
    'Ǆungla',
    'İstanbul Go',
    'Über',
    'uber',
    'Zoë 🎮 Games',
    '🎮',
    '',
    'a',
    'A',
    'ab',
    'a b',
    'Tik Tok',
    'TikTok',
    'Q&A Helper',
    "Rock 'n' Roll",
    'Ｆｕｌｌ Width',
    'ﬁle Manager',
    'Ω Ohm',
    'ω',
    '\uFB01x',
    'Naïve Notes',
    'naive notes',
  ];
  const ids = ['a', 'a-b', 'ab', 'b', 'é', 'z\uE000', 'z\u{1F600}', 'zz', '\uFFFD', 'id\u0000x', 'id'];
  const docs: SearchDoc[] = [];
  // long shared prefixes and runs of equal names
  for (let i = 0; i < 5000; i++) {
    const id = i < ids.length ? ids[i] : `0190f3a2-${String((i * 7919) % 4000).padStart(4, '0')}-7${i}`;
    const name =
      i % 4 === 0 ? names[(i >> 2) % names.length] + (i % 3 === 0 ? '' : ` ${i % 11}`) : i % 4 === 1 ? `Photo Editor Pro ${i % 50}` : 'Photo Editor Pro';
    docs.push(doc(id, name, i % 5 ? `com.Acme.App${i % 17}` : `com.acme.app${i % 17}`));
  }
  // repeated ids replace the earlier doc (tombstoned), incl. one with a different name
  docs.push(doc('a', 'Replaced A'), doc(docs[20].id, 'Photo Editor Pro'), doc('z\u{1F600}', 'Emoji App'));
  const s = (buildEngine(docs) as unknown as { s: EngineState }).s;
  const ref = referenceLookups(s, docs);
  assert.equal(s.live, docs.length - 3);
  assert.deepEqual([...s.idOrder], ref.idOrder);
  assert.deepEqual([...s.sugDocs], ref.sugDocs);
  const sugNames = [...s.sugDocs].map((_, i) => Buffer.from(s.sugNames.bytes.subarray(s.sugNames.offsets[i], s.sugNames.offsets[i + 1])).toString());
  assert.deepEqual(sugNames, ref.sugNames);
  assert.equal(s.sugNames.bytes.length, Buffer.byteLength(ref.sugNames.join('')));
  assert.deepEqual([...s.nameKeys], ref.nameKeys);
  assert.deepEqual([...s.nameDocs], ref.nameDocs);
  assert.deepEqual([...s.bundleKeys], ref.bundleKeys);
  assert.deepEqual([...s.bundleDocs], ref.bundleDocs);
  // every live id is found by the byte-order binary search
  const engine = buildEngine(docs) as unknown as { docOf(id: string): number };
  for (const [i, d] of docs.entries()) if (!(s.flags[i] & F_TOMB)) assert.equal(engine.docOf(d.id), i, d.id);
});

test('sortByBytes: UTF-8 byte order (prefixes first), ties by the tie-breaker, through radix rounds', () => {
  const parts = ['', 'a', 'ab', 'abcdefgh', 'abcdefghi', 'abcdefgh\u0000', 'é', 'z\uE000', 'z\u{1F600}', '\uFFFD', '0190f3a2-', '東京'];
  const strings: string[] = [];
  for (let i = 0; i < 6000; i++) strings.push(parts[i % parts.length] + parts[(i * 7) % parts.length] + (i % 5 ? String(i % 97) : ''));
  const blob = makeBlob(strings);
  const want = strings.map((_, i) => i).sort((a, b) => Buffer.compare(Buffer.from(strings[a]), Buffer.from(strings[b])) || b - a);
  for (const radixMin of [1 << 16, 16, 2]) assert.deepEqual([...sortByBytes(blob, identity(strings.length), (a, b) => b - a, 0, radixMin)], want);
});
