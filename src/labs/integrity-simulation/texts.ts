// The simulated world's texts: organic reviews (long, short, non-English, with typos, a viral day's) and the
// attack families' texts (paraphrased campaign briefs, rings' spun messages, bombing, farm templates, incentives).
// Pure functions of an Rng.
import type { Rng } from '../../platform/rng.ts';

export interface ReviewText {
  title: string;
  body: string;
}

// ---------- organic, English ----------

const FEATURES = [
  'sync',
  'offline mode',
  'the widget',
  'dark mode',
  'search',
  'export to PDF',
  'notifications',
  'the editor',
  'sharing',
  'backup',
  'the calendar view',
  'reminders',
  'the timer',
  'playlists',
  'the map',
  'iCloud sync',
  'the Apple Watch app',
  'the keyboard shortcuts',
  'tags',
  'the import tool',
  'the charts',
  'multi-device login',
  'the camera',
  'filters',
  'the tutorial',
  'family sharing',
  'the home screen widget',
  'the scanner',
  'the daily summary',
  'the templates',
  'voice input',
  'the budget view',
  'the sleep tracker',
  'the photo editor',
  'split view',
  'the lock screen widget',
];
const DEVICES = ['iPhone 13', 'iPhone 15 Pro', 'iPad Air', 'iPad mini', 'iPhone SE', 'iPhone 12', 'M2 iPad Pro', 'iPhone 14', 'iPhone 11', 'old iPad'];
const PRAISE = [
  'I use {f} every day and it just works.',
  'Switched from a competitor last spring and {f} is far better here.',
  'The {f} saves me about {n} minutes a day.',
  'Since version {v} {f} feels much faster on my {d}.',
  'Took me a while to find {f}, but now I rely on it.',
  'My whole team uses it for {f} and nobody has complained.',
  'The developer answered my email about {f} within a day.',
  'Finally an app where {f} works without an account.',
  'Really like how {f} is laid out, clean and quick.',
  'I paid for the upgrade just for {f} and do not regret it.',
  'Been using it for {n} months, {f} is the reason I stay.',
  'Works well on my {d}, battery use is fine.',
  'My wife got me onto it and now I check {f} first thing.',
  'The free version was enough for me until I needed {f}.',
  'Tried three others before this one and {f} is what sold me.',
  'Setup took two minutes and {f} was already working.',
  'I mostly use it for {f}, which does exactly what I need.',
  'Good value, {f} alone is worth it.',
  'Never had it crash on me, even with {n} entries.',
  'Love that {f} respects my privacy settings.',
  'Our family uses it for {f} and the kids figured it out on their own.',
  'Honestly did not expect much but {f} is really well done.',
];
const CRITIQUE = [
  'Since the {v} update {f} crashes when I open it on my {d}.',
  'Wish {f} had more options, it is a bit basic.',
  'The {f} stopped syncing after version {v}, please fix.',
  'Too many prompts to rate the app, and {f} is hidden in settings.',
  'It drains my battery when {f} is on.',
  'Subscription is pricey for what {f} offers.',
  'Please add {f} for iPad, it is missing there.',
  'Lost some data after the {v} update, support helped me restore it.',
  'Ads pop up right in the middle of {f}.',
  '{f} is slow with more than {n} items.',
  'The new layout moved {f} and I keep tapping the wrong thing.',
  'Login keeps timing out on my {d}.',
  'No reply from support after {n} days about {f}.',
  'Would give five stars if {f} worked offline.',
  'Font is tiny on my {d} and there is no setting for it.',
];
const OPENERS = [
  '',
  '',
  '',
  '',
  'Overall solid. ',
  'Honest review: ',
  'Update: ',
  'Long time user. ',
  'Mixed feelings. ',
  'So far so good. ',
  'Pretty useful. ',
  'Edit: ',
  'After a month: ',
  'OK so ',
  'Short version: ',
];
const ORGANIC_TITLES = [
  'Solid',
  'Good but',
  'Useful',
  'Needs work',
  'Great for work',
  'My go-to app',
  'Almost perfect',
  'Frustrating',
  'Does what it says',
  'Recommended',
  'Please fix',
  'Handy',
  'Nice update',
  'Worth it',
  'Meh',
  'Pretty good',
  'Not bad at all',
  'Keeps getting better',
  'Annoying bug',
  'Daily driver',
];
// People write about their own circumstances: most sentences carry a clause of their own, which is what makes
// organic text original (a farm's template sentences come back word for word).
const CLAUSES = [
  'on my {d}',
  'since {m}',
  'for about {n} weeks now',
  'after the {v} update',
  'at work',
  'with my kids',
  'on the train every morning',
  'when I travel',
  'for my small business',
  'in {m}',
  'with {n} projects',
  'since I switched phones',
  'for school',
  'on weekends',
  'for {n} days straight',
  'in the evenings',
  'with my partner',
  'for my running club',
  'while cooking',
  'at the gym',
  'during lunch breaks',
  'for my thesis',
  'on my commute',
  'for the garden',
  'with my parents',
];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** Short reviews real people leave; they collide across people, as they do in real stores. */
const SHORT_ORGANIC: [string, number][] = [
  ['Great app!', 5],
  ['ok', 3],
  ['Love it', 5],
  ['Great app', 5],
  ['Works great', 5],
  ['Very useful', 5],
  ['Does the job', 4],
  ['Not bad', 3],
  ['Good', 4],
  ['Nice', 4],
  ['Meh', 2],
  ['Could be better', 3],
  ['Fantastic', 5],
  ['Perfect', 5],
  ['Useless', 1],
  ['Crashes', 1],
  ['Too many ads', 2],
  ['5 stars', 5],
  ['Thanks!', 5],
  ['good app', 4],
  ['Love this app', 5],
  ['Works', 4],
  ['Excellent', 5],
  ['fine', 3],
  ['Super', 5],
  ['Best app', 5],
  ['Very good', 5],
];

function fillSlots(rng: Rng, s: string): string {
  return s
    .replaceAll('{m}', rng.pick(MONTHS))
    .replaceAll('{f}', rng.pick(FEATURES))
    .replaceAll('{d}', rng.pick(DEVICES))
    .replaceAll('{v}', `${rng.int(1, 9)}.${rng.int(0, 12)}`)
    .replaceAll('{n}', String(rng.int(2, 40)))
    .replace(/\b([Tt]he) the\b/g, '$1'); // "The {f}" with a feature named "the map"
}

function fill(rng: Rng, template: string): string {
  const sentence = rng.chance(0.75) ? template.replace(/([.!?])$/, ` ${rng.pick(CLAUSES)}$1`) : template;
  return fillSlots(rng, sentence);
}

function ratingPool(rating: number): string[][] {
  return rating >= 4 ? [PRAISE, PRAISE, PRAISE, CRITIQUE] : rating === 3 ? [PRAISE, CRITIQUE] : [CRITIQUE, CRITIQUE, PRAISE];
}

export function shortOrganicText(rng: Rng): ReviewText & { rating: number } {
  const [s, rating] = rng.pick(SHORT_ORGANIC);
  const title = rng.chance(0.5) ? s : rng.pick(ORGANIC_TITLES);
  return { title, body: s, rating };
}

export function longOrganicText(rng: Rng, rating: number): ReviewText {
  const pool = ratingPool(rating);
  const sentences = Array.from({ length: rng.int(1, 4) }, () => fill(rng, rng.pick(rng.pick(pool))));
  return { title: rng.pick(ORGANIC_TITLES), body: rng.pick(OPENERS) + [...new Set(sentences)].join(' ') };
}

// ---------- organic, other languages ----------

interface Language {
  titles: string[];
  praise: string[];
  critique: string[];
  clauses: string[];
}
// Genuine reviews in the store's other languages: {n} a number, {d} a device.
const LANGUAGES: Record<'de' | 'fr' | 'es' | 'it' | 'pt' | 'ja', Language> = {
  de: {
    titles: ['Super App', 'Gut', 'Nützlich', 'Leider enttäuscht', 'Empfehlenswert', 'Fast perfekt'],
    praise: [
      'Ich benutze die App jeden Tag und sie läuft stabil.',
      'Die Synchronisation zwischen iPhone und iPad klappt problemlos.',
      'Endlich eine App ohne ständige Werbung.',
      'Der Support hat mir innerhalb von {n} Stunden geantwortet.',
      'Seit dem letzten Update ist alles deutlich schneller.',
      'Für meinen Alltag genau das Richtige.',
      'Die Bedienung ist übersichtlich und logisch.',
      'Nutze sie vor allem für Notizen, {n} Stück inzwischen.',
      'Auf meinem {d} läuft alles ohne Ruckler.',
      'Habe vorher {n} andere Apps probiert, diese ist die beste.',
      'Der Widget auf dem Homescreen ist praktisch.',
      'Preis-Leistung stimmt, die Vollversion lohnt sich.',
    ],
    critique: [
      'Seit dem Update stürzt die App auf meinem {d} ab.',
      'Das Abo ist mir zu teuer für den Funktionsumfang.',
      'Leider fehlt ein dunkler Modus.',
      'Die Daten wurden nach dem Update nicht mehr synchronisiert.',
    ],
    clauses: ['seit {n} Monaten', 'auf der Arbeit', 'mit meiner Familie', 'im Urlaub', 'auf meinem {d}', 'seit {n} Wochen', 'für die Uni', 'abends'],
  },
  fr: {
    titles: ['Très bien', 'Pratique', 'Déçu', 'Parfait', 'Bonne appli', 'À améliorer'],
    praise: [
      "J'utilise cette application tous les jours depuis des mois.",
      'La synchronisation entre mes appareils fonctionne très bien.',
      'Interface claire et agréable, rien à redire.',
      'Le support a répondu à ma question en {n} heures.',
      'Depuis la dernière mise à jour tout est plus fluide.',
      "Exactement ce qu'il me fallait pour m'organiser.",
      'Pas de pub envahissante, ça fait plaisir.',
      'Je m’en sers surtout pour mes listes, j’en ai {n}.',
      'Sur mon {d} tout fonctionne sans souci.',
      'J’ai testé {n} autres applis avant, celle-ci est la meilleure.',
      'Le widget sur l’écran d’accueil est bien pratique.',
      'La version payante vaut le coup.',
    ],
    critique: [
      "L'application plante depuis la mise à jour sur mon {d}.",
      "L'abonnement est un peu cher pour ce que c'est.",
      'Il manque un mode sombre.',
      'Mes données ne se synchronisent plus.',
    ],
    clauses: ['depuis {n} mois', 'au travail', 'avec mes enfants', 'en voyage', 'sur mon {d}', 'depuis {n} semaines', 'pour mes études', 'le soir'],
  },
  es: {
    titles: ['Muy buena', 'Útil', 'Decepcionante', 'Recomendada', 'Genial', 'Mejorable'],
    praise: [
      'La uso todos los días y funciona muy bien.',
      'La sincronización entre el iPhone y el iPad es perfecta.',
      'Muy fácil de usar, la recomiendo.',
      'El soporte me respondió en menos de {n} horas.',
      'Desde la última actualización va mucho más rápida.',
      'Justo lo que necesitaba para organizarme.',
      'Sin anuncios molestos, se agradece.',
      'La uso sobre todo para mis listas, ya tengo {n}.',
      'En mi {d} va perfecta.',
      'Probé {n} apps parecidas y esta es la mejor.',
      'El widget de la pantalla de inicio es muy práctico.',
      'La versión de pago merece la pena.',
    ],
    critique: [
      'Desde la actualización se cierra sola en mi {d}.',
      'La suscripción es cara para lo que ofrece.',
      'Le falta un modo oscuro.',
      'Perdí datos después de actualizar.',
    ],
    clauses: [
      'desde hace {n} meses',
      'en el trabajo',
      'con mis hijos',
      'cuando viajo',
      'en mi {d}',
      'desde hace {n} semanas',
      'para la universidad',
      'por las noches',
    ],
  },
  it: {
    titles: ['Ottima', 'Utile', 'Deluso', 'Consigliata', 'Bella app', 'Da migliorare'],
    praise: [
      'La uso ogni giorno e funziona benissimo.',
      'La sincronizzazione tra iPhone e iPad è perfetta.',
      'Interfaccia semplice e chiara.',
      'Il supporto mi ha risposto in {n} ore.',
      "Dopo l'ultimo aggiornamento è molto più veloce.",
      'Proprio quello che cercavo per organizzarmi.',
      'Niente pubblicità invadente, finalmente.',
      'La uso soprattutto per le liste, ne ho già {n}.',
      'Sul mio {d} funziona senza problemi.',
      'Ho provato {n} app simili e questa è la migliore.',
      'Il widget nella schermata home è comodo.',
      'La versione a pagamento vale il prezzo.',
    ],
    critique: [
      "Dopo l'aggiornamento si chiude da sola sul mio {d}.",
      "L'abbonamento è troppo caro.",
      'Manca la modalità scura.',
      'Non sincronizza più i miei dati.',
    ],
    clauses: ['da {n} mesi', 'al lavoro', 'con la famiglia', 'in viaggio', 'sul mio {d}', 'da {n} settimane', 'per l’università', 'la sera'],
  },
  pt: {
    titles: ['Muito bom', 'Útil', 'Decepcionado', 'Recomendo', 'Ótimo', 'Pode melhorar'],
    praise: [
      'Uso todos os dias e funciona muito bem.',
      'A sincronização entre o iPhone e o iPad é perfeita.',
      'Muito fácil de usar.',
      'O suporte respondeu em {n} horas.',
      'Depois da última atualização ficou bem mais rápido.',
      'Era exatamente o que eu precisava.',
      'Sem anúncios chatos, adoro.',
      'Uso principalmente para listas, já tenho {n}.',
      'No meu {d} roda sem travar.',
      'Testei {n} apps parecidos e este é o melhor.',
      'O widget da tela inicial é muito prático.',
      'A versão paga vale a pena.',
    ],
    critique: ['Depois da atualização fecha sozinho no meu {d}.', 'A assinatura é cara demais.', 'Falta o modo escuro.', 'Perdi dados depois de atualizar.'],
    clauses: ['há {n} meses', 'no trabalho', 'com meus filhos', 'quando viajo', 'no meu {d}', 'há {n} semanas', 'para a faculdade', 'à noite'],
  },
  ja: {
    titles: ['便利です', '良いアプリ', '残念', 'おすすめ', '最高', '改善希望'],
    praise: [
      '毎日使っていますが、とても安定しています。',
      'iPhoneとiPadの同期が快適です。',
      '操作が分かりやすくて助かります。',
      'サポートの対応が{n}時間以内で早かったです。',
      '最新のアップデートで動作が速くなりました。',
      '広告が少なくて使いやすいです。',
      '{d}で問題なく動いています。',
      '{n}個のリストを管理しています。',
      '他のアプリを{n}個試しましたが、これが一番です。',
      'ウィジェットが便利です。',
      '有料版にする価値はあります。',
    ],
    critique: [
      'アップデート後、{d}で落ちるようになりました。',
      'サブスクの料金が少し高いと思います。',
      'ダークモードがあれば嬉しいです。',
      '同期がうまくいかない時があります。',
    ],
    clauses: [],
  },
};
export const NON_ENGLISH = Object.keys(LANGUAGES) as (keyof typeof LANGUAGES)[];

export function nonEnglishText(rng: Rng, rating: number): ReviewText {
  const lang = LANGUAGES[rng.pick(NON_ENGLISH)];
  const pool = rating >= 4 ? [lang.praise, lang.praise, lang.critique] : rating === 3 ? [lang.praise, lang.critique] : [lang.critique];
  const sentences = Array.from({ length: rng.int(1, 3) }, () => {
    const s = rng.pick(rng.pick(pool));
    return lang.clauses.length && rng.chance(0.7) ? s.replace(/([.!?])$/, ` ${rng.pick(lang.clauses)}$1`) : s;
  });
  return { title: rng.pick(lang.titles), body: fillSlots(rng, [...new Set(sentences)].join(' ')) };
}

// ---------- typos ----------

const MISSPELLINGS: Record<string, string> = {
  the: 'teh',
  really: 'realy',
  definitely: 'definately',
  because: 'becuase',
  receive: 'recieve',
  until: 'untill',
  which: 'wich',
  their: 'there',
  beginning: 'begining',
  separate: 'seperate',
};

/** A hurried typist: swapped, dropped or doubled letters, common misspellings, lowercase "i", lost apostrophes. */
export function withTypos(rng: Rng, text: string, rate: number): string {
  return text
    .split(' ')
    .map((word) => {
      const lower = word.toLowerCase();
      if (MISSPELLINGS[lower] && rng.chance(0.5)) return MISSPELLINGS[lower];
      if (word === 'I' && rng.chance(0.5)) return 'i';
      if (word.length < 4 || !rng.chance(rate)) return word.replace("'", rng.chance(0.3) ? '' : "'");
      const i = rng.int(1, word.length - 2);
      const edit = rng.int(0, 2);
      if (edit === 0) return word.slice(0, i) + word[i + 1] + word[i] + word.slice(i + 2);
      if (edit === 1) return word.slice(0, i) + word.slice(i + 1);
      return word.slice(0, i) + word[i] + word.slice(i);
    })
    .join(' ');
}

// ---------- the viral day ----------

const VIRAL_LINES = [
  'The new {f} in this update is exactly what I was waiting for.',
  'Saw the update this morning and {f} is a game changer.',
  'Been a user for {n} months and this update is the best one yet.',
  'Finally {f}! Thank you for listening to feedback.',
  'Whoever designed the new {f} deserves a raise.',
  'Just tried the new {f} on my {d}, smooth as butter.',
  'This update fixed the {f} bug I reported ages ago.',
  'Was about to cancel, the new {f} changed my mind.',
  'Read about the update in the news and {f} lives up to it.',
  'My {d} runs the new version without a hiccup.',
];

/** A long-standing user's review on the day a big update lands: mostly enthusiastic, varied, about their own use. */
export function viralDayText(rng: Rng, rating: number): ReviewText {
  if (rng.chance(0.15)) return { title: rng.pick(ORGANIC_TITLES), body: shortOrganicText(rng).body };
  if (rating < 4) return longOrganicText(rng, rating);
  const own = Array.from({ length: rng.int(0, 2) }, () => fill(rng, rng.pick(PRAISE)));
  const sentences = [fill(rng, rng.pick(VIRAL_LINES)), ...own];
  return {
    title: rng.pick([...ORGANIC_TITLES, 'Great update', 'Love the update', 'Finally!', 'Best update']),
    body: rng.pick(OPENERS) + [...new Set(sentences)].join(' '),
  };
}

// ---------- paraphrasing: sleepers and rings ----------

/** Words a spinner swaps for one another (whole words, any member for any other). */
const SYNONYMS: string[][] = [
  ['great', 'amazing', 'awesome', 'excellent', 'fantastic', 'wonderful', 'superb'],
  ['fast', 'quick', 'speedy', 'snappy'],
  ['easy', 'simple', 'effortless', 'straightforward'],
  ['use', 'utilize', 'employ'],
  ['app', 'application', 'tool'],
  ['love', 'adore', 'enjoy'],
  ['recommend', 'suggest', 'endorse'],
  ['beautiful', 'gorgeous', 'stunning', 'lovely'],
  ['best', 'finest', 'top'],
  ['helpful', 'useful', 'handy', 'valuable'],
  ['reliable', 'dependable', 'solid', 'stable'],
  ['everyone', 'everybody', 'anyone', 'anybody'],
  ['really', 'truly', 'genuinely', 'honestly'],
  ['perfect', 'flawless', 'ideal'],
  ['clean', 'tidy', 'neat'],
  ['features', 'functions', 'options'],
  ['smooth', 'fluid', 'seamless'],
  ['worth', 'deserving of'],
  ['organized', 'organised', 'on track'],
  ['definitely', 'certainly', 'absolutely'],
];
const SYNONYM_OF = new Map<string, string[]>(SYNONYMS.flatMap((group) => group.map((w) => [w, group.filter((x) => x !== w)] as [string, string[]])));

function matchCase(like: string, word: string): string {
  return like[0] === like[0].toUpperCase() && like[0] !== like[0].toLowerCase() ? word[0].toUpperCase() + word.slice(1) : word;
}

/** Swaps each word that has synonyms with probability `rate`. */
export function swapSynonyms(rng: Rng, text: string, rate: number): string {
  return text.replace(/[A-Za-z]+/g, (word) => {
    const others = SYNONYM_OF.get(word.toLowerCase());
    return others && rng.chance(rate) ? matchCase(word, rng.pick(others)) : word;
  });
}

const FILLER_OPENERS = [
  '',
  '',
  'Honestly, ',
  'I have to say ',
  'After a few weeks: ',
  'Quick review. ',
  'Long story short, ',
  'Not usually one to write reviews, but ',
  'Okay, ',
  'Well, ',
  'Update: ',
  'Five stars. ',
];
const FILLER_CLOSERS = ['', '', '', ' Thanks!', ' Keep it up.', ' 10/10.', ' Cheers.', ' :)'];

export interface Brief {
  title: string[];
  sentences: string[];
  /** Sentences a writer may add. */
  extras: string[];
}

/** Campaign briefs: what a paid reviewer is told to say. Several per seed; each is paraphrased per review. */
export const BRIEFS: Brief[] = [
  {
    title: ['Great app', 'Love it', 'Must have'],
    sentences: [
      'This app is great for staying organized.',
      'The interface is clean and easy to use.',
      'Syncing across my devices is fast and reliable.',
      'I love the reminders, they keep me on track every day.',
      'I would recommend it to everyone who wants to get more done.',
    ],
    extras: ['Worth every penny.', 'Best purchase I made this year.', 'The developer really cares about users.'],
  },
  {
    title: ['Excellent', 'Fantastic tool', 'So good'],
    sentences: [
      'I use this app every morning to plan my workouts.',
      'The tracking is accurate and the charts are beautiful.',
      'It is fast and never crashes.',
      'The coaching tips are really helpful for beginners.',
      'Definitely the best fitness app I have tried.',
    ],
    extras: ['I recommend it to all my friends.', 'Great value for the price.', 'Five stars well deserved.'],
  },
  {
    title: ['Amazing', 'Awesome app', 'Perfect'],
    sentences: [
      'This is the best photo editor on the store.',
      'The filters are beautiful and easy to apply.',
      'Exporting is fast and the quality is perfect.',
      'I love how simple the tools are.',
      'Highly recommend it to anyone who likes photography.',
    ],
    extras: ['Worth every cent.', 'My pictures never looked better.', 'A must have app.'],
  },
  {
    title: ['Love this', 'Great game', 'Addictive'],
    sentences: [
      'This game is great fun for the whole family.',
      'The levels are clever and the graphics are beautiful.',
      'It runs smooth and fast even on my old phone.',
      'I love that there are no annoying ads.',
      'I recommend it to anyone who loves puzzles.',
    ],
    extras: ['Best game I have played this year.', 'Worth the price.', 'Cannot stop playing.'],
  },
  {
    title: ['Very helpful', 'Excellent app', 'Must have'],
    sentences: [
      'This budgeting app really helped me save money.',
      'Setting up my accounts was easy and quick.',
      'The reports are clean and helpful.',
      'I use it every week to check my spending.',
      'Definitely recommend it to everyone who wants control of their finances.',
    ],
    extras: ['Worth every penny.', 'The support team is great.', 'Best finance app out there.'],
  },
  {
    title: ['Fantastic', 'Great for learning', 'Love it'],
    sentences: [
      'I use this app to learn Spanish on my commute.',
      'The lessons are short, fun and easy to follow.',
      'The speech recognition is fast and accurate.',
      'I love the daily streaks, they keep me motivated.',
      'I would recommend it to anyone learning a language.',
    ],
    extras: ['Better than the expensive alternatives.', 'Worth the subscription.', 'My teacher was impressed.'],
  },
];

function shuffle<T>(rng: Rng, items: readonly T[]): T[] {
  return rng.sample(items, items.length);
}

export interface SpinStrength {
  /** Probability that a word with synonyms is swapped. */
  swapRate: number;
  /** Probability that a brief's sentence is left out (at least two stay). */
  dropRate: number;
  /** Probability that one of the brief's extra sentences is added. */
  addRate: number;
}

/** A writer's paraphrase of a brief: synonym swaps, sentences shuffled, some dropped or added, a filler opener. */
export function paraphrase(rng: Rng, brief: Brief, s: SpinStrength): ReviewText {
  let sentences = brief.sentences.filter(() => !rng.chance(s.dropRate));
  if (sentences.length < 2) sentences = rng.sample(brief.sentences, 2);
  if (rng.chance(s.addRate)) sentences.push(rng.pick(brief.extras));
  const body = shuffle(rng, sentences)
    .map((x) => swapSynonyms(rng, x, s.swapRate))
    .join(' ');
  const opener = rng.pick(FILLER_OPENERS);
  const text = opener ? opener + body[0].toLowerCase() + body.slice(1) : body;
  return { title: swapSynonyms(rng, rng.pick(brief.title), s.swapRate), body: text + rng.pick(FILLER_CLOSERS) };
}

/** A ring's one message: the same sentences, each account swapping synonyms and shuffling them. */
export function ringText(rng: Rng, message: Brief, swapRate: number): ReviewText {
  const body = shuffle(rng, message.sentences)
    .map((x) => swapSynonyms(rng, x, swapRate))
    .join(' ');
  return { title: swapSynonyms(rng, rng.pick(message.title), swapRate), body: rng.pick(FILLER_OPENERS) ? `${body}${rng.pick(FILLER_CLOSERS)}` : body };
}

// ---------- bombing ----------

const BOMB_TITLES = ['Terrible', 'Do not download', 'Scam', 'Worst app ever', 'Garbage', 'Avoid', 'Disappointed', 'Rip-off', 'Deleted', 'Awful'];
const BOMB_SHORT = [
  'Worst app ever, do not download!',
  'Total scam, waste of money.',
  'Garbage app. Avoid!!',
  'Uninstalled immediately, terrible.',
  'Scam.',
  'Avoid.',
  'One star is too much.',
  'Absolute trash!!!',
  'Boycott this developer.',
  'Deleted it. Awful.',
  'Does not work.',
  'Useless!!',
];
const BOMB_LONG = [
  'Used to be good but now it is full of ads and crashes every time I open it. Deleted.',
  'They take your data and sell it, read the privacy policy before you install this.',
  'Paid for premium and the features I paid for disappeared after the update. No refund.',
  'Customer support never answers. The app freezes constantly on my phone.',
  'The developer ignores every complaint. There are much better alternatives out there.',
  'Login does not work, lost all my data, and the reviews here must be fake.',
  'Subscription trap: cancelling is impossible and they keep charging.',
  'Slow, buggy and ugly. I cannot believe people pay for this.',
  'Constant popups asking for money. Not worth the storage space.',
];
const BOMB_TAILS = ['', '', '', ' Stay away.', ' Do not waste your time.', ' Switch to anything else.', ' Seriously.', ' Zero stars if I could.'];

export function bombingText(rng: Rng): ReviewText {
  const body = rng.chance(0.45) ? rng.pick(BOMB_SHORT) : `${rng.pick(BOMB_LONG)}${rng.chance(0.3) ? ` ${rng.pick(BOMB_SHORT)}` : ''}${rng.pick(BOMB_TAILS)}`;
  return { title: rng.pick(BOMB_TITLES), body: rng.chance(0.25) ? body.toLowerCase() : body };
}

// ---------- farm ----------

const FARM_TITLES = ['Best app ever', 'Amazing!!!', 'Must have', '5 stars', 'Awesome app', 'Love it!!'];
const FARM_LINES = [
  'Amazing app, best app ever! 5 stars!',
  'Great app, love it, must download!',
  'Awesome app highly recommend to everyone!',
  'Best app ever!!! Must have!',
  'Love it love it love it. Five stars.',
  'Super great app, highly recommend!',
  'Perfect app, must download now!',
  'This is the best app, amazing, awesome!',
];

/** Light spinning of template text: case, punctuation and an occasional extra word, as farms do to dodge exact matching. */
function spin(rng: Rng, text: string): string {
  let t = text;
  if (rng.chance(0.3)) t = t.toLowerCase();
  if (rng.chance(0.3)) t = t.replace(/!+/g, rng.pick(['!', '!!', '!!!', '.']));
  if (rng.chance(0.3)) t = `${rng.pick(['Wow. ', 'Honestly ', 'Guys, ', 'Seriously, ', 'OMG '])}${t}`;
  if (rng.chance(0.2)) t = `${t} ${rng.pick(['Thanks!', 'Cheers', ':)', 'Trust me.', 'Really.'])}`;
  return t;
}

export function farmText(rng: Rng): ReviewText {
  const body = Array.from({ length: rng.int(1, 2) }, () => rng.pick(FARM_LINES)).join(' ');
  return { title: rng.pick(FARM_TITLES), body: spin(rng, body) };
}

// ---------- copy ----------

/** A copier's small edits (with probability `rate` each): case, punctuation, one word added, dropped or appended. */
export function lightEdit(rng: Rng, text: string, rate: number): string {
  let t = text;
  if (rng.chance(rate)) t = t.toLowerCase();
  if (rng.chance(rate)) t = t.replace(/[.,]/g, rng.pick(['', '!', ' ', '.']));
  const words = t.split(' ');
  if (rng.chance(rate)) {
    const edit = rng.int(1, 3);
    if (edit === 1) words.splice(rng.int(0, words.length), 0, rng.pick(['really', 'honestly', 'so', 'just']));
    else if (edit === 2 && words.length > 12) words.splice(rng.int(0, words.length - 1), 1);
    else words[words.length - 1] = `${words[words.length - 1]} ${rng.pick(['Thanks!', ':)', 'Recommended.', '10/10'])}`;
  }
  return words.join(' ');
}

export function organicTitle(rng: Rng): string {
  return rng.pick(ORGANIC_TITLES);
}

// ---------- incentive ----------

/** Ordinary openings and what the reviewer got for the review, by language. */
const INCENTIVE_LEADS: Record<string, string[]> = {
  en: ['Nice app, works well.', 'Good game overall.', 'Decent app.', 'Works on my iPhone.', 'Pretty fun.', 'Fun little game.', 'Not bad at all.'],
  de: ['Schöne App.', 'Gute App, läuft flüssig.', 'Macht Spaß.'],
  fr: ['Application sympa.', 'Bonne appli.', 'Jeu amusant.'],
  es: ['Buena aplicación.', 'Me gusta.', 'Divertido.'],
  it: ['Bella app.', 'Ottimo gioco.', 'Carina.'],
  pt: ['Aplicativo bom.', 'Gostei.', 'Jogo legal.'],
  ja: ['楽しいアプリです。', '面白いです。'],
};
const INCENTIVE_PHRASES: Record<string, string[]> = {
  en: [
    'Gave 5 stars for the free coins.',
    'I got paid to write this review, but it is fine.',
    'The developer sent me a promo code for a review.',
    'Rate 5 stars to get 500 coins, that is what the popup says!',
    'Got 200 free gems for leaving this review.',
    'They offered a free month of premium if I rated it 5 stars.',
    'Writing this for the review reward, 5 stars as asked.',
    'Review bonus claimed, thanks for the free credits!',
  ],
  de: ['Fünf Sterne für die gratis Münzen.', 'Habe als Belohnung 100 Edelsteine bekommen.', 'Für diese Bewertung gab es einen Gutschein.'],
  fr: ['5 étoiles pour les pièces gratuites, merci !', "J'ai été payé pour laisser cet avis.", 'Avis laissé contre des gemmes gratuites.'],
  es: ['¡Cinco estrellas por las monedas gratis!', 'Me pagaron por esta reseña.', 'Reseña a cambio de gemas gratis.'],
  it: [
    'Cinque stelle per le monete gratis.',
    'Ho scritto questa recensione in cambio di una ricompensa, monete gratuite.',
    'Recensione in cambio di gemme gratis.',
  ],
  pt: ['Cinco estrelas pelas moedas grátis.', 'Dei nota em troca de uma avaliação premiada, moedas gratuitas.', 'Ganhei gemas grátis por esta avaliação.'],
  ja: ['星5をつけると無料コインがもらえます。', 'レビューを書いたらジェムがもらえました。'],
};

export function incentiveText(rng: Rng): ReviewText {
  const lang = rng.chance(0.5) ? 'en' : rng.pick(Object.keys(INCENTIVE_LEADS));
  const lead = rng.pick(INCENTIVE_LEADS[lang]);
  const phrase = rng.pick(INCENTIVE_PHRASES[lang]);
  const parts = rng.chance(0.5) ? [lead, phrase] : [phrase, lead];
  if (lang === 'en' && rng.chance(0.3)) parts.push(fill(rng, rng.pick(PRAISE)));
  return { title: rng.pick(ORGANIC_TITLES), body: spin(rng, parts.join(' ')) };
}
