// The gist of a review: the set of its content words, function words dropped, crude stems, and common synonyms
// folded into one word. Two paraphrases of one campaign brief ("Amazing app, super fast sync, easy to use" /
// "Syncing is quick and it is simple to use. Awesome application") share few word 3-shingles but most of their
// gist; shuffled sentences and swapped synonyms leave it unchanged. Its MinHash signature and LSH keys find the
// members of a ring or a sleeper campaign that no longer copy each other word for word. Pure.
import { hashRange, lshBands, MINHASH_K, minhashOfShingles, normalize } from './text.ts';

/** A text with fewer distinct content words than this has no gist ("Great app!"): too little to tie authors. */
export const GIST_MIN_WORDS = 5;
/**
 * LSH of gist signatures: 8 bands of 2 rows, numbered 21..28 (text bands are 0..20, sentences 31), so keys of
 * the three kinds never meet. A pair of gist similarity s is a candidate with probability 1 − (1 − s²)^8:
 * s = 0.4 → 0.75, 0.45 → 0.86, 0.5 → 0.90, 0.6 → 0.97. A group needs only some of its pairs (each member is
 * judged on the several peers it finds); more bands would cost a stored row per band per review.
 */
const GIST_BANDS = 8;
const GIST_ROWS = 2;
const GIST_FIRST_BAND = 21;
const TWO_48 = 0x1_0000_0000_0000;

const STOPWORDS = new Set(
  `a an the and or but if then than so as at by for from in into of on onto to with without about after before over under
  i me my mine myself we us our ours you your yours he him his she her hers it its they them their theirs this that these
  those there here what which who whom whose when where why how all any both each few more most other some such no nor not
  only own same too very can will just dont should now is am are was were be been being have has had having do does did
  doing would could might must shall may also really honestly literally actually even still ever much many lot lots
  im ive its thats get got gets getting make makes made one thing things way well yes yeah oh wow ok okay guys
  app apps application applications
  der die das und ist ich es nicht mit auf fur ein eine zu sie mir den dem von sehr auch aber wenn noch nur im am bei
  le la les et est je il un une des du en pas pour sur avec ce que qui tres mais plus au aux ma mon mes ca
  el los las es yo un una por con para que muy pero mas mi del al lo se no
  il lo gli le che non per con una sono mi ma piu del della molto da
  o os as um uma com para que nao muito mas mais meu minha do da dos das no na em se`.split(/\s+/),
);

/** Words one campaign brief's paraphrases swap for each other, folded to the first of each class. */
const SYNONYMS: string[][] = [
  [
    'good',
    'great',
    'amazing',
    'awesome',
    'excellent',
    'fantastic',
    'wonderful',
    'superb',
    'brilliant',
    'outstanding',
    'incredible',
    'terrific',
    'fabulous',
    'stellar',
    'phenomenal',
    'nice',
    'cool',
    'solid',
    'perfect',
    'impressive',
    'best',
    'greatest',
    'finest',
    'top',
  ],
  ['bad', 'terrible', 'awful', 'horrible', 'worst', 'poor', 'garbage', 'trash', 'useless', 'rubbish', 'crap', 'lousy', 'dreadful', 'pathetic'],
  ['fast', 'quick', 'speedy', 'rapid', 'swift', 'snappy', 'responsive', 'instant', 'quickly', 'fastest', 'lightning', 'zippy', 'brisk', 'prompt'],
  [
    'easy',
    'simple',
    'effortless',
    'intuitive',
    'straightforward',
    'easily',
    'simply',
    'painless',
    'userfriendly',
    'uncomplicated',
    'clear',
    'accessible',
    'convenient',
    'handy',
  ],
  ['use', 'utilize', 'utilise', 'usage', 'using', 'used', 'uses', 'employ'],
  ['love', 'adore', 'like', 'enjoy', 'loving', 'loved', 'loves', 'fond'],
  ['recommend', 'suggest', 'recommended', 'recommending', 'endorse', 'advise', 'vouch', 'urge', 'encourage', 'suggested'],
  [
    'beautiful',
    'gorgeous',
    'pretty',
    'lovely',
    'stunning',
    'elegant',
    'sleek',
    'clean',
    'polished',
    'slick',
    'neat',
    'tidy',
    'attractive',
    'handsome',
    'stylish',
    'crisp',
    'uncluttered',
    'minimal',
    'minimalist',
  ],
  ['design', 'interface', 'ui', 'layout', 'look', 'looks', 'style', 'appearance'],
  ['feature', 'features', 'function', 'functions', 'functionality', 'tool', 'tools', 'option', 'options', 'capability'],
  ['download', 'install', 'get', 'grab', 'downloading', 'installing', 'downloaded', 'installed'],
  ['must', 'need', 'needed', 'essential', 'necessary', 'required'],
  ['everyone', 'everybody', 'anyone', 'anybody', 'people', 'folks'],
  ['work', 'works', 'working', 'worked', 'function', 'run', 'runs', 'running'],
  [
    'smooth',
    'smoothly',
    'seamless',
    'seamlessly',
    'flawless',
    'flawlessly',
    'fluid',
    'stable',
    'reliable',
    'reliably',
    'dependable',
    'solid',
    'robust',
    'consistent',
    'trustworthy',
  ],
  ['help', 'helps', 'helped', 'helpful', 'useful', 'handy', 'practical', 'valuable'],
  ['support', 'service', 'team', 'developer', 'developers', 'devs', 'dev', 'staff', 'customer'],
  ['day', 'daily', 'everyday', 'days'],
  ['life', 'routine', 'lifestyle'],
  ['change', 'changed', 'transform', 'transformed', 'revolutionize', 'revolutionized', 'improve', 'improved', 'improves'],
  ['time', 'hours', 'minutes'],
  ['save', 'saves', 'saved', 'saving'],
  ['money', 'price', 'cost', 'cash', 'dollars'],
  ['worth', 'worthwhile', 'value'],
  ['star', 'stars', 'rating', 'rate', 'rated'],
  ['five', '5'],
  ['one', '1'],
  ['friend', 'friends', 'family', 'colleagues', 'coworkers'],
  ['find', 'found', 'discover', 'discovered', 'came', 'stumbled'],
  ['long', 'ages', 'forever', 'years', 'months'],
  ['happy', 'glad', 'pleased', 'satisfied', 'delighted', 'thrilled', 'content', 'grateful', 'thankful'],
  ['scam', 'fraud', 'ripoff', 'fake', 'steal', 'stole', 'cheat'],
  ['avoid', 'away', 'skip', 'uninstall', 'uninstalled', 'delete', 'deleted', 'remove', 'removed'],
  ['waste', 'wasted', 'wasting', 'pointless'],
  ['crash', 'crashes', 'crashed', 'crashing', 'freeze', 'freezes', 'froze', 'bug', 'bugs', 'buggy', 'broken', 'glitch', 'glitches'],
  ['ad', 'ads', 'advert', 'adverts', 'advertisement', 'advertisements', 'popups', 'popup'],
  ['category', 'market', 'store', 'genre'],
  ['year', 'years'],
  ['definitely', 'certainly', 'absolutely', 'surely', 'totally', 'completely', 'truly', 'seriously', 'highly', 'super', 'extremely', 'incredibly'],
  ['try', 'tried', 'test', 'tested', 'trying'],
  ['regret', 'regrets', 'disappointed', 'disappoint', 'disappointing'],
  ['experience', 'experiences'],
  ['organize', 'organise', 'organized', 'organised', 'organizing', 'organising', 'organization', 'organisation', 'tidy'],
  ['fun', 'enjoyable', 'entertaining', 'amusing', 'addictive', 'engaging'],
  ['motivate', 'motivated', 'motivating', 'motivation', 'inspire', 'inspired', 'encouraged'],
  ['accurate', 'precise', 'exact', 'correct', 'spot'],
  ['favorite', 'favourite', 'preferred', 'beloved'],
  ['color', 'colour', 'colors', 'colours'],
];
const CANONICAL = new Map<string, string>();
for (const cls of SYNONYMS) for (const w of cls) if (!CANONICAL.has(w)) CANONICAL.set(w, cls[0]);

/** A crude English stem: plural and verb endings off, so "syncs", "syncing" and "synced" meet. */
function stem(w: string): string {
  if (w.length <= 4) return w;
  if (w.endsWith('ies')) return `${w.slice(0, -3)}y`;
  if (w.endsWith('ing') && w.length > 5) return w.slice(0, -3);
  if (w.endsWith('ed') && w.length > 4) return w.slice(0, -2);
  if (w.endsWith('ly') && w.length > 4) return w.slice(0, -2);
  if (w.endsWith('s') && !w.endsWith('ss')) return w.slice(0, -1);
  return w;
}

/** The review's content words, distinct, canonical (stop words out, synonyms folded, stems), sorted. */
export function gistWords(title: string | null | undefined, body: string | null | undefined): string[] {
  const words = new Set<string>();
  for (const raw of normalize(`${title ?? ''} ${body ?? ''}`).split(' ')) {
    if (!raw || STOPWORDS.has(raw) || (raw.length < 3 && !/\d/.test(raw))) continue;
    const w = CANONICAL.get(raw) ?? CANONICAL.get(stem(raw)) ?? stem(raw);
    if (!STOPWORDS.has(w)) words.add(w);
  }
  return [...words].sort();
}

/** MinHash of the gist, or null when the text has fewer than GIST_MIN_WORDS content words. */
export function gistSignature(title: string | null | undefined, body: string | null | undefined): Uint32Array | null {
  const words = gistWords(title, body);
  if (words.length < GIST_MIN_WORDS) return null;
  return minhashOfShingles(
    Uint32Array.from(words, (w) => hashRange(w, 0, w.length)),
    MINHASH_K,
  );
}

/** The LSH keys of a gist signature (bands 21..30). */
export function gistBands(signature: Uint32Array): number[] {
  return lshBands(signature, GIST_BANDS, GIST_ROWS).map((key) => key + GIST_FIRST_BAND * TWO_48);
}
