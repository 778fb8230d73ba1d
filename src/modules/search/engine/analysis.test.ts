import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeField, analyzeQuery, fold, normalizeName, stem } from './analysis.ts';
import { allowedEdits, editDistance } from './fuzzy.ts';

const terms = (text: string, stop?: Set<string>) => {
  const out: string[] = [];
  analyzeField(text, (t) => out.push(t), stop);
  return out;
};

test('folding: accents, ß, ligatures, case', () => {
  assert.equal(fold('Café Crème'), 'Cafe Creme');
  assert.equal(normalizeName('Straße  Æon – Ørsted!'), 'strasse aeon orsted');
  assert.deepEqual(terms('Éclair'), ['eclair']);
  assert.deepEqual(terms('Übersetzer'), terms('ubersetzer'));
});

test('tokenisation: TikTok indexes the word and its camel-case parts', () => {
  assert.deepEqual(terms('TikTok'), ['tiktok', 'tik', 'tok']);
  assert.deepEqual(
    analyzeQuery('tiktok').map((t) => t.forms),
    [['tiktok']],
  );
  assert.deepEqual(
    analyzeQuery('Tik Tok').map((t) => t.forms[0]),
    ['tik', 'tok'],
  );
});

test('tokenisation: numbers and Q&A', () => {
  assert.deepEqual(terms('2048'), ['2048']);
  assert.deepEqual(terms('Game2048'), ['game2048', 'game', '2048']);
  const qa = terms('Q&A Hub');
  assert.ok(qa.includes('q&a') && qa.includes('qa') && qa.includes('hub'));
  assert.ok(!qa.includes('q') && !qa.includes('a'));
  assert.deepEqual(analyzeQuery('Q&A')[0].forms, ['q&a', 'qa']);
  assert.deepEqual(terms("world's best"), ['world', 'best']);
});

test('stemming: light English suffix rules, same at index and query time', () => {
  assert.equal(stem('games'), 'game');
  assert.equal(stem('editing'), 'edit');
  assert.equal(stem('edited'), 'edit');
  assert.equal(stem('making'), stem('make'));
  assert.equal(stem('running'), 'run');
  assert.equal(stem('stories'), stem('story'));
  assert.equal(stem('movies'), stem('movie'));
  assert.equal(stem('photos'), stem('photo'));
  assert.equal(stem('class'), 'class');
  assert.equal(stem('gps'), 'gps');
  assert.equal(stem('need'), 'need');
  assert.deepEqual(
    analyzeQuery('Games').map((t) => t.forms[0]),
    terms('game'),
  );
});

test('stop words only when asked (description), never in queries', () => {
  assert.deepEqual(terms('the best of apps', new Set(['the', 'of'])), ['best', 'app']);
  assert.deepEqual(
    analyzeQuery('the').map((t) => t.forms[0]),
    ['the'],
  );
});

test('fuzziness AUTO bounds and edit distance', () => {
  assert.equal(allowedEdits('ab'), 0);
  assert.equal(allowedEdits('abc'), 1);
  assert.equal(allowedEdits('abcde'), 1);
  assert.equal(allowedEdits('abcdef'), 2);
  assert.equal(editDistance('spotfy', 'spotify', 2), 1);
  assert.equal(editDistance('abc', 'xyz', 1), 2);
});
