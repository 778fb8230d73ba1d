import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildEngine, type SearchDoc, type SearchEngine, type SearchOptions } from './index.ts';
import type { Engine } from './engine.ts';

let seq = 0;
function doc(p: Partial<SearchDoc> & { name: string }): SearchDoc {
  seq++;
  const slug = p.name.toLowerCase().replace(/[^a-z0-9]+/g, '');
  return {
    id: p.id ?? `00000000-0000-0000-0000-${String(seq).padStart(12, '0')}`,
    bundleId: p.bundleId ?? `com.test.${slug}${seq}`,
    subtitle: null,
    developer: 'Acme Labs',
    description: 'A simple app for everyday use.',
    keywords: [],
    category: 'utilities',
    subcategory: null,
    isFree: true,
    ageRating: '4+',
    ratingAverage: 4,
    ratingCount: 100,
    downloads: 10_000,
    countries: null,
    engagement: 0,
    ...p,
  };
}
const opts = (o: Partial<SearchOptions> = {}): SearchOptions => ({ limit: 20, ...o });
const ids = (e: SearchEngine, q: string, o?: Partial<SearchOptions>) => e.search(q, opts(o)).hits.map((h) => h.id);

test('name beats description; field boosts order developer above keywords', () => {
  const a = doc({ name: 'Chess Master', description: 'Board game.' });
  const b = doc({ name: 'Board Fun', description: 'Play chess with friends, a chess app.' });
  const c = doc({ name: 'Alpha', developer: 'Zebra Studios' });
  const d = doc({ name: 'Beta', keywords: ['zebra'] });
  const e = buildEngine([b, a, d, c]);
  assert.deepEqual(ids(e, 'chess'), [a.id, b.id]);
  const z = e.search('zebra', opts());
  assert.deepEqual(
    z.hits.map((h) => h.id),
    [c.id, d.id],
  );
  assert.ok(z.hits[0].textScore > z.hits[1].textScore);
  // custom boosts flip it
  const e2 = buildEngine([b, a, d, c], { boosts: { developer: 0.5, keywords: 4 } });
  assert.deepEqual(ids(e2, 'zebra'), [d.id, c.id]);
});

test('exact app name or bundle id comes first, marked exact', () => {
  const exact = doc({ name: 'Photo Editor', ratingAverage: 2, ratingCount: 3, downloads: 10 });
  const popular = doc({
    name: 'Photo Editor Pro: Photo Editor for Photos',
    description: 'photo editor photo editor',
    ratingAverage: 4.9,
    ratingCount: 1e6,
    downloads: 1e8,
  });
  const e = buildEngine([popular, exact]);
  const r = e.search('photo editor', opts());
  assert.equal(r.hits[0].id, exact.id);
  assert.equal(r.hits[0].exact, true);
  assert.equal(r.hits[1].exact, false);
  assert.equal(e.search('PHOTO-EDITOR!', opts()).hits[0].id, exact.id);
  const b = e.search(popular.bundleId, opts());
  assert.equal(b.hits[0].id, popular.id);
  assert.equal(b.hits[0].exact, true);
});

test('all terms required, any-terms only as a fallback', () => {
  const both = doc({ name: 'Chess Puzzle' });
  const one = doc({ name: 'Chess Clock' });
  const other = doc({ name: 'Puzzle Box' });
  const e = buildEngine([both, one, other]);
  const r = e.search('chess puzzle', opts());
  assert.equal(r.mode, 'all-terms');
  assert.deepEqual(
    r.hits.map((h) => h.id),
    [both.id],
  );
  // no app has all three words: the apps with two of them, not the ones with just one
  const f = e.search('chess clock puzzle', opts());
  assert.equal(f.mode, 'any-terms');
  assert.deepEqual(new Set(f.hits.map((h) => h.id)), new Set([both.id, one.id]));
  // down to single words when no two match together; an unknown word is left out
  assert.deepEqual(new Set(ids(e, 'clock box zzqxv')), new Set([one.id, other.id]));
  assert.equal(e.search('qwertyuiop', opts()).mode, 'none');
  assert.equal(e.search('', opts()).hits.length, 0);
});

test('typo tolerance: AUTO edit bounds, corrections, exact above fuzzy', () => {
  const chess = doc({ name: 'Chess Arena' });
  const calc = doc({ name: 'Calculator Plus' });
  const ox = doc({ name: 'Ox Farm' });
  const e = buildEngine([chess, calc, ox]);
  // 3–5 chars: one edit
  const r = e.search('chss', opts());
  assert.deepEqual(
    r.hits.map((h) => h.id),
    [chess.id],
  );
  assert.equal(r.hits[0].fuzzy, true);
  assert.deepEqual(r.corrections, { chss: 'chess' });
  assert.equal(e.search('chxxs', opts()).hits.length, 0); // two edits on a 5-char term: too many
  // 1–2 chars: no edits
  assert.equal(e.search('ax', opts()).hits.length, 0);
  assert.equal(e.search('ox', opts()).hits[0].id, ox.id);
  // 6+ chars: two edits
  assert.equal(e.search('calculatr', opts()).hits[0]?.id, calc.id);
  assert.equal(e.search('calclatr', opts()).hits[0]?.id, calc.id);
  assert.equal(e.search('clclatr', opts()).hits.length, 0); // three edits
  // a rare exact term still brings typo neighbours, but below the literal match
  const moon = doc({ name: 'Sky Guide', description: 'Watch the moon tonight.', ratingCount: 0, downloads: 0 });
  const mood = doc({ name: 'Mood Tracker', ratingAverage: 5, ratingCount: 1e6, downloads: 1e8 });
  const e2 = buildEngine([mood, moon]);
  const m = e2.search('moon', opts());
  assert.deepEqual(
    m.hits.map((h) => h.id),
    [moon.id, mood.id],
  );
  assert.equal(m.hits[0].fuzzy, false);
  assert.equal(m.hits[1].fuzzy, true);
  assert.deepEqual(m.corrections, {});
});

test('synonyms score below the literal term but name matches rank by quality; custom groups merge with defaults', () => {
  const photo = doc({ name: 'Photo Studio', ratingAverage: 5, ratingCount: 1e6, downloads: 1e8 });
  const picture = doc({ name: 'Picture Studio', ratingCount: 0, downloads: 0 });
  const e = buildEngine([photo, picture]);
  // both names carry the concept: the popular synonym-named app beats the obscure literal one
  assert.deepEqual(ids(e, 'picture'), [photo.id, picture.id]);
  assert.deepEqual(ids(e, 'photos'), [photo.id, picture.id]);
  const r = e.search('picture', opts());
  const text = new Map(r.hits.map((h) => [h.id, h.textScore]));
  assert.ok(text.get(picture.id)! > text.get(photo.id)!); // the literal term still scores higher
  const zork = doc({ name: 'Zork Quest' });
  const e2 = buildEngine([zork, photo], { synonyms: [['blorp', 'zork']] });
  assert.deepEqual(ids(e2, 'blorp'), [zork.id]);
  assert.deepEqual(ids(e2, 'image'), [photo.id]); // defaults still there
});

test('filters apply during retrieval', () => {
  const base = { description: 'A puzzle app.' };
  const a = doc({
    ...base,
    name: 'Puzzle A',
    category: 'games',
    subcategory: 'games-puzzle',
    isFree: true,
    ratingAverage: 4.5,
    ageRating: '4+',
    countries: null,
  });
  const b = doc({
    ...base,
    name: 'Puzzle B',
    category: 'games',
    subcategory: 'games-word',
    isFree: false,
    ratingAverage: 3.0,
    ageRating: '13+',
    countries: ['US', 'DE'],
  });
  const c = doc({ ...base, name: 'Puzzle C', category: 'education', isFree: true, ratingAverage: 4.9, ageRating: '18+', countries: ['FR'] });
  const e = buildEngine([a, b, c]);
  const set = (f: SearchOptions['filters']) => new Set(ids(e, 'puzzle', { filters: f }));
  assert.deepEqual(set({ category: 'games' }), new Set([a.id, b.id]));
  assert.deepEqual(set({ subcategory: 'games-word' }), new Set([b.id]));
  assert.deepEqual(set({ price: 'free' }), new Set([a.id, c.id]));
  assert.deepEqual(set({ price: 'paid' }), new Set([b.id]));
  assert.deepEqual(set({ minRating: 4.5 }), new Set([a.id, c.id]));
  assert.deepEqual(set({ maxAgeRating: '13+' }), new Set([a.id, b.id]));
  assert.deepEqual(set({ country: 'de' }), new Set([a.id, b.id]));
  assert.deepEqual(set({ country: 'FR' }), new Set([a.id, c.id]));
  assert.deepEqual(set({ category: 'games', price: 'free', country: 'US' }), new Set([a.id]));
  assert.deepEqual(set({ category: 'nope' }), new Set());
  // exact matches obey filters too
  const pc = e.search('Puzzle C', opts({ filters: { category: 'games' } }));
  assert.ok(!pc.hits.some((h) => h.id === c.id || h.exact));
});

test('upsert and remove without a rebuild (delta, tombstones, merge)', () => {
  const a = doc({ name: 'Garden Planner' });
  const b = doc({ name: 'Garden Diary' });
  const e = buildEngine([a, b]) as Engine;
  assert.equal(e.size, 2);
  const c = doc({ name: 'Garden Tracker', description: 'Track your greenhouse.' });
  e.upsert(c);
  assert.equal(e.size, 3);
  assert.ok(ids(e, 'garden').includes(c.id));
  assert.deepEqual(ids(e, 'greenhouse'), [c.id]);
  assert.equal(e.search('garden tracker', opts()).hits[0].exact, true);
  // edit a base doc: old text gone, new text found
  e.upsert({ ...a, name: 'Orchid Planner' });
  assert.equal(e.size, 3);
  assert.ok(!ids(e, 'garden').includes(a.id));
  assert.deepEqual(ids(e, 'orchid'), [a.id]);
  // edit a delta doc
  e.upsert({ ...c, name: 'Cactus Tracker', description: 'Desert plants.' });
  assert.deepEqual(ids(e, 'greenhouse'), []);
  assert.deepEqual(ids(e, 'cactus'), [c.id]);
  e.remove(b.id);
  e.remove('no-such-id');
  assert.equal(e.size, 2);
  assert.deepEqual(ids(e, 'garden'), []);
  // typo over delta terms
  assert.deepEqual(ids(e, 'cactos'), [c.id]);
  // merge folds the delta into the base; results unchanged
  const before = ['orchid', 'cactus', 'planner', 'tracker', 'desert'].map((q) => ids(e, q));
  e.merge();
  assert.equal(e.deltaSize, 0);
  assert.deepEqual(
    ['orchid', 'cactus', 'planner', 'tracker', 'desert'].map((q) => ids(e, q)),
    before,
  );
  assert.equal(e.size, 2);
  e.remove(c.id);
  assert.deepEqual(ids(e, 'cactus'), []);
  // automatic merges under a small threshold
  e.mergeThreshold = 3;
  for (let i = 0; i < 10; i++) e.upsert(doc({ name: `Fern ${i}` }));
  assert.equal(e.size, 11);
  assert.equal(ids(e, 'fern').length, 10);
});

test('suggest: app names by popularity, and recorded queries', () => {
  const docs = [
    doc({ name: 'Photo Lab', downloads: 1e6, ratingCount: 1e4, ratingAverage: 4.8 }),
    doc({ name: 'Photo Booth', downloads: 100, ratingCount: 1 }),
    doc({ name: 'Phonebook', downloads: 1e4 }),
    doc({ name: 'Maps' }),
  ];
  const e = buildEngine(docs);
  const s = e.suggest('pho', 10);
  assert.deepEqual(
    s.map((x) => x.text),
    ['Photo Lab', 'Phonebook', 'Photo Booth'],
  );
  assert.equal(s[0].kind, 'app');
  assert.equal(s[0].appId, docs[0].id);
  assert.deepEqual(
    e.suggest('photo b', 5).map((x) => x.text),
    ['Photo Booth'],
  );
  e.recordQuery('photo editor');
  e.recordQuery('photo editor');
  e.recordQuery('Photo Collage');
  const s2 = e.suggest('Photo', 4);
  assert.deepEqual(
    s2.slice(0, 2).map((x) => [x.text, x.kind]),
    [
      ['photo editor', 'query'],
      ['photo collage', 'query'],
    ],
  );
  assert.equal(s2.length, 4);
  assert.deepEqual(e.suggest('', 5), []);
  e.upsert(doc({ name: 'Photon Rush', downloads: 1e9, ratingCount: 1e6, ratingAverage: 5 }));
  assert.equal(e.suggest('photon', 3)[0].text, 'Photon Rush');
});

test('similar: more-like-this, same category first, excludes itself', () => {
  const docs = [
    doc({ name: 'Star Chart', category: 'education', description: 'Astronomy telescope constellations planets nebula.' }),
    doc({ name: 'Night Sky', category: 'education', description: 'Telescope constellations and planets for astronomy fans.' }),
    doc({ name: 'Galaxy Game', category: 'games', description: 'Astronomy telescope constellations planets nebula shooter.' }),
    doc({ name: 'Recipe Box', category: 'food', description: 'Cooking pasta sauces.' }),
    doc({ name: 'Pasta Pal', category: 'food', description: 'Cooking pasta dinners.' }),
  ];
  const e = buildEngine(docs);
  const s = e.similar(docs[0].id, 5);
  assert.deepEqual(
    s.slice(0, 2).map((h) => h.id),
    [docs[1].id, docs[2].id],
  );
  assert.ok(!s.some((h) => h.id === docs[0].id));
  assert.deepEqual(
    e.similar(docs[0].id, 5, { category: 'games' }).map((h) => h.id),
    [docs[2].id],
  );
  assert.deepEqual(e.similar('missing', 5), []);
});

test('analysis end to end: TikTok, 2048, Q&A, folding, stemming', () => {
  const tiktok = doc({ name: 'TikTok' });
  const g2048 = doc({ name: '2048 Classic' });
  const qa = doc({ name: 'Q&A Hub' });
  const cafe = doc({ name: 'Café Finder' });
  const edit = doc({ name: 'Snap', description: 'Editing photos made easy.' });
  const e = buildEngine([tiktok, g2048, qa, cafe, edit]);
  assert.equal(ids(e, 'tiktok')[0], tiktok.id);
  assert.equal(ids(e, 'tik tok')[0], tiktok.id);
  assert.equal(e.search('TikTok', opts()).hits[0].exact, true);
  assert.deepEqual(ids(e, '2048'), [g2048.id]);
  assert.deepEqual(ids(e, 'q&a'), [qa.id]);
  assert.deepEqual(ids(e, 'qa'), [qa.id]);
  assert.deepEqual(ids(e, 'CAFE'), [cafe.id]);
  assert.deepEqual(ids(e, 'edit photo'), [edit.id]);
});

test('a query of only stop words still matches names', () => {
  const the = doc({ name: 'The Game', description: 'the the the' });
  const e = buildEngine([the, doc({ name: 'Other', description: 'the best' })]);
  assert.deepEqual(ids(e, 'the'), [the.id]);
});

test('radixOrder sorts 32-bit keys stably', async () => {
  const { radixOrder } = await import('./lookups.ts');
  const keys = Uint32Array.from([5, 0xffffffff, 3, 5, 0, 70000, 3]);
  assert.deepEqual([...radixOrder(keys)], [4, 2, 6, 0, 3, 5, 1]);
});

test('typos: an adjacent transposition is one edit', async () => {
  const { editDistance } = await import('./fuzzy.ts');
  assert.equal(editDistance('coinr', 'cionr', 2), 1);
  assert.equal(editDistance('cloudbox', 'clloudbxo', 2), 2);
  assert.equal(editDistance('abc', 'cba', 1), 2);
  const coinr = doc({ name: 'Coinr' });
  const cloud = doc({ name: 'CloudBox' });
  const e = buildEngine([coinr, cloud, doc({ name: 'Other App' })]);
  assert.equal(e.search('cionr', opts()).hits[0]?.id, coinr.id);
  assert.equal(e.search('clloudbxo', opts()).hits[0]?.id, cloud.id);
});

test('a word with known synonyms is expanded, not typo-corrected', () => {
  const cinema = doc({ name: 'Pulse Cinema', downloads: 1e6 });
  const fimfom = doc({ name: 'FimFom' }); // "film" is one edit away
  const e = buildEngine([cinema, fimfom]);
  const r = e.search('film', opts());
  assert.deepEqual(
    r.hits.map((h) => h.id),
    [cinema.id],
  );
  assert.deepEqual(r.corrections, {});
});

test('generic words: name matches first, by quality; an obscure exact-name app is not navigational', () => {
  const docs: SearchDoc[] = [];
  for (let i = 0; i < 12; i++) docs.push(doc({ name: `Brand${i} Weather`, downloads: 1e4 * (i + 1), ratingCount: 1000 * (i + 1) }));
  const obscure = doc({ name: 'Weather+', downloads: 40, ratingCount: 0 });
  const keywordOnly = doc({ name: 'Sky Tool', keywords: ['weather', 'weather radar'], downloads: 1e8, ratingCount: 1e6 });
  const e = buildEngine([...docs, obscure, keywordOnly]);
  const got = ids(e, 'weather');
  // the most popular weather-named app first; the keyword-only app after every name match
  assert.equal(got[0], docs[11].id);
  assert.equal(got.indexOf(keywordOnly.id), got.length - 1);
  assert.ok(got.indexOf(obscure.id) > 0);
  // a distinctive exact name stays navigational
  const nav = doc({ name: 'Zorblat', downloads: 10 });
  const e2 = buildEngine([nav, doc({ name: 'Zorblat Pro Max', downloads: 1e8, ratingCount: 1e6 })]);
  assert.equal(ids(e2, 'zorblat')[0], nav.id);
});

test('name tier: the typed word before synonym-only names when it is common in names', () => {
  const music: SearchDoc[] = [];
  for (let i = 0; i < 10; i++) music.push(doc({ name: `Brand${i} Music`, downloads: 1000 + i, ratingCount: 10 }));
  const song = doc({ name: 'Song Finder', downloads: 1e8, ratingCount: 1e6 });
  const e = buildEngine([...music, song]);
  const got = ids(e, 'music');
  assert.equal(got.indexOf(song.id), music.length); // after every "Music" name, before nothing else
  // rare literal: the synonym-named app competes on equal terms
  const e2 = buildEngine([music[0], song]);
  assert.deepEqual(ids(e2, 'music'), [song.id, music[0].id]);
});

test('synonym phrases: "airline tickets" and "to-do list" stand for their group, other words stay required', () => {
  const jet = doc({ name: 'Jet Booking', category: 'travel', downloads: 1e6 });
  const flight = doc({ name: 'FlightPal', category: 'travel', downloads: 1e5 });
  const tickets = doc({ name: 'Concert Tickets', description: 'Buy tickets for shows.' });
  const todo = doc({ name: 'Glow Todo', category: 'productivity' });
  const checklist = doc({ name: 'Daily Checklist', category: 'productivity' });
  const e = buildEngine([jet, flight, tickets, todo, checklist, doc({ name: 'List Maker' })]);
  const air = ids(e, 'airline tickets');
  assert.deepEqual(new Set(air.slice(0, 2)), new Set([jet.id, flight.id]));
  assert.ok(!air.includes(tickets.id), 'the phrase is one concept: "tickets" alone does not match');
  assert.deepEqual(new Set(ids(e, 'to-do list')), new Set([todo.id, checklist.id]));
  // outside the phrase the words keep their meaning
  assert.deepEqual(ids(e, 'concert tickets'), [tickets.id]);
});

test("developer names: the developer's apps first when the query is its name, legal suffix optional", () => {
  const apps = [0, 1, 2].map((i) => doc({ name: `Thing ${i}`, developer: 'TukTak Studios Oy', downloads: 1000 * (i + 1) }));
  const nameMatch = doc({ name: 'TukTak: Breathe', developer: 'Other Studios', downloads: 1e7, ratingCount: 1e5 });
  const e = buildEngine([...apps, nameMatch, doc({ name: 'Unrelated' })]);
  assert.deepEqual(ids(e, 'tuktak studios oy'), [apps[2].id, apps[1].id, apps[0].id]);
  assert.deepEqual(ids(e, 'TukTak Studios').slice(0, 3), [apps[2].id, apps[1].id, apps[0].id]);
  // a name word still finds the apps named with it first
  assert.equal(ids(e, 'tuktak')[0], nameMatch.id);
});

test('name retrieval: the most popular name matches reach the page even when hundreds of apps score higher on text', () => {
  const wordy: SearchDoc[] = [];
  for (let i = 0; i < 300; i++) {
    wordy.push(
      doc({
        name: `Wordy ${i}`,
        subtitle: 'zebra zebra',
        keywords: ['zebra', 'zebras'],
        description: 'Zebra zebra zebra, all about the zebra.',
        downloads: 10,
      }),
    );
  }
  const named = [1, 2, 3].map((i) =>
    doc({ name: `Zebra Pal ${i}`, description: 'A long description that goes on about many other things entirely. '.repeat(20), downloads: 1e5 * i }),
  );
  const e = buildEngine([...wordy, ...named]) as Engine;
  const want = [named[2].id, named[1].id, named[0].id];
  assert.deepEqual(ids(e, 'zebra').slice(0, 3), want);
  // same through the delta segment and after a merge
  const late = doc({ name: 'Zebra Late', downloads: 1e7, ratingCount: 1e5 });
  e.upsert(late);
  assert.deepEqual(ids(e, 'zebra').slice(0, 4), [late.id, ...want]);
  e.merge();
  assert.deepEqual(ids(e, 'zebra').slice(0, 4), [late.id, ...want]);
  e.remove(late.id);
  assert.deepEqual(ids(e, 'zebra').slice(0, 3), want);
});

test('a category filter keeps finding apps upserted after its doc lists were built', () => {
  const a = doc({ name: 'Zebra Games', category: 'games' });
  const e = buildEngine([a, doc({ name: 'Zebra Tools' })]);
  assert.deepEqual(ids(e, 'zebra', { filters: { category: 'games' } }), [a.id]);
  const b = doc({ name: 'Zebra Arcade', category: 'games', downloads: 1e6 });
  e.upsert(b);
  e.upsert(doc({ name: 'Zebra Weather', category: 'weather' }));
  assert.deepEqual(ids(e, 'zebra', { filters: { category: 'games' } }), [b.id, a.id]);
  assert.equal(ids(e, 'zebra', { filters: { category: 'weather' } }).length, 1);
});
