// Incentive language, pure: a seed lexicon of phrases that say a review was paid for or rewarded ("gave 5 stars
// for the free coins", "got paid", "promo code for a review"), in the languages the store serves. Matching is on
// `normalize`d text (case, accents, punctuation folded), on whole words for scripts with spaces and as a substring
// for Japanese. The `incentive` signal built on it is its own feature of the model, so moderators' labels can
// re-weigh it; the lexicon itself is data (add phrases here, one language a list).
import { normalize } from './text.ts';

/** Seed phrases by language (ISO 639-1). Written naturally: they are normalised like the reviews are. */
export const INCENTIVE_LEXICON: Readonly<Record<string, readonly string[]>> = Object.freeze({
  en: [
    'for the free coins',
    'for free coins',
    'for the free gems',
    'for the reward',
    'for a reward',
    'got paid',
    'paid to review',
    'paid to write',
    'paid me to',
    'paid for this review',
    'in exchange for a review',
    'in exchange for a rating',
    'in exchange for reviews',
    'in exchange for 5 stars',
    'in exchange for five stars',
    'in exchange for my review',
    'in exchange for an honest review',
    '5 stars for free coins',
    '5 stars for coins',
    'promo code for a review',
    'code for a review',
    'for a free code',
    'free promo code',
    'for a gift card',
    'for the bonus',
    'bonus for rating',
    'bonus for reviewing',
    'reward for rating',
    'reward for reviewing',
    'asked me to rate 5 stars',
    'rate 5 stars to get',
    'rate five stars to get',
    '5 stars to unlock',
    'review to unlock',
    'free premium for',
    'received compensation',
    'compensated for',
    'sponsored review',
    'use my referral code',
    'my referral code',
    'referral link',
  ],
  de: [
    'gratis münzen',
    'kostenlose münzen',
    'für die münzen',
    'für die belohnung',
    'als belohnung',
    'dafür bezahlt',
    'bezahlt für diese bewertung',
    'im austausch für eine bewertung',
    'im gegenzug für eine bewertung',
    'sterne für die münzen',
    'sterne für gratis münzen',
    'gutschein für eine bewertung',
    'promo code für eine bewertung',
    'gratis edelsteine',
    'bonus für die bewertung',
  ],
  fr: [
    'pièces gratuites',
    'des pièces gratuites',
    'pour les pièces',
    'pour la récompense',
    "en échange d'un avis",
    'en échange de 5 étoiles',
    'en échange de ma note',
    'étoiles pour les pièces',
    "j'ai été payé",
    'code promo pour un avis',
    'contre un avis',
    "en échange d'un code promo",
    'gemmes gratuites',
  ],
  es: [
    'monedas gratis',
    'por las monedas',
    'gemas gratis',
    'por la recompensa',
    'a cambio de una reseña',
    'a cambio de 5 estrellas',
    'a cambio de mi reseña',
    'estrellas por las monedas',
    'me pagaron',
    'código promocional por',
    'codigo promocional por',
  ],
  it: [
    'monete gratis',
    'monete gratuite',
    'per le monete',
    'per la ricompensa',
    'in cambio di una recensione',
    'in cambio di 5 stelle',
    'stelle per le monete',
    'mi hanno pagato',
    'codice promo per',
    'codice promozionale per',
    'gemme gratis',
  ],
  pt: [
    'moedas grátis',
    'moedas gratuitas',
    'pelas moedas',
    'pela recompensa',
    'em troca de uma avaliação',
    'em troca de 5 estrelas',
    'estrelas pelas moedas',
    'me pagaram',
    'fui pago',
    'código promocional por',
    'gemas grátis',
  ],
  ja: [
    '無料コイン',
    'コインがもらえる',
    'ジェムがもらえ',
    'レビューを書いたら',
    'レビューを書くと',
    'コインをもらう',
    'お金をもらって',
    'レビューと引き換え',
    '引き換えに',
    '星5で',
    '星5をつけると',
    'プロモコード',
  ],
});

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u;

interface Compiled {
  words: RegExp | null;
  substrings: string[];
}

function compile(lexicon: Readonly<Record<string, readonly string[]>>): Compiled {
  const words: string[] = [];
  const substrings: string[] = [];
  for (const phrases of Object.values(lexicon)) {
    for (const p of phrases) {
      const n = normalize(p);
      if (!n) continue;
      if (CJK.test(n)) substrings.push(n.replaceAll(' ', ''));
      else words.push(n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    }
  }
  // longest first, so the reported phrase is the most specific one
  words.sort((a, b) => b.length - a.length);
  return { words: words.length ? new RegExp(`(?<![^ ])(?:${words.join('|')})(?![^ ])`, 'g') : null, substrings: [...new Set(substrings)] };
}

const SEED = compile(INCENTIVE_LEXICON);

/**
 * Beyond the phrases: one sentence naming a review or rating, a reward and an exchange ("got 200 free gems for
 * leaving this review", "review bonus claimed", "reseña a cambio de gemas") says the same in words the lexicon
 * has not met. Each list is whole normalised words (or word pairs), by meaning, in the store's languages.
 */
const TERMS = {
  review: `review reviews reviewing reviewed rating ratings rate rated stars star avis note noter etoiles bewertung bewerten sterne
    resena resenas estrellas valoracion recensione stelle valutazione avaliacao avaliar estrelas`,
  // a payment or a reward as such …
  reward: `reward rewards giftcard voucher coupon paid payment compensation belohnung gutschein bezahlt recompense paye recompensa
    pagaron pagado cupon ricompensa pagato pago cupom`,
  // … or goods that are only a reward when given free ("free gems", "200 coins"; "the coins are expensive" is not)
  goods: 'coins gems credits diamonds bonus premium munzen edelsteine pieces gemmes monedas gemas monete gemme moedas',
  free: 'free gratis kostenlos kostenlose gratuit gratuite gratuites gratuits gratuito gratuitos gratuitas gratuiti gratuite',
  exchange: `for get got gets receive received offered offer claimed claim earn earned won exchange unlock unlocked fur gegen bekommen
    erhalten pour contre recu echange por cambio recibi per ricevuto pelas pelo troca ganhei recebi`,
};
const termSet = (list: string) => new Set(list.split(/\s+/).filter(Boolean));
const REVIEW_TERMS = termSet(TERMS.review);
const REWARD_TERMS = termSet(TERMS.reward);
const GOODS_TERMS = termSet(TERMS.goods);
const FREE_TERMS = termSet(TERMS.free);
const EXCHANGE_TERMS = termSet(TERMS.exchange);
const SENTENCE = /[.!?;\n\r。！？]+/;

function exchangeSentences(title: string | null | undefined, body: string | null | undefined): string[] {
  const found: string[] = [];
  for (const raw of `${title ?? ''}. ${body ?? ''}`.split(SENTENCE)) {
    const words = normalize(raw).replace('gift card', 'giftcard').split(' ');
    const free = words.some((w) => FREE_TERMS.has(w) || /^\d{2,}$/.test(w));
    const reward = words.find((w) => REWARD_TERMS.has(w) || (free && GOODS_TERMS.has(w)));
    const review = words.find((w) => REVIEW_TERMS.has(w));
    if (reward && review && words.some((w) => EXCHANGE_TERMS.has(w))) found.push(`${review} … ${reward}`);
  }
  return found;
}

/** The distinct lexicon phrases (normalised) found in a review's text, in order of appearance, then exchange sentences. */
export function incentivePhrases(title: string | null | undefined, body: string | null | undefined, compiled: Compiled = SEED): string[] {
  const text = normalize(`${title ?? ''} ${body ?? ''}`);
  if (!text) return [];
  const found: string[] = [];
  if (compiled.words) for (const m of text.matchAll(compiled.words)) found.push(m[0]);
  if (compiled.substrings.length) {
    const dense = text.replaceAll(' ', '');
    for (const s of compiled.substrings) if (dense.includes(s)) found.push(s);
  }
  if (!found.length && compiled === SEED) found.push(...exchangeSentences(title, body));
  return [...new Set(found)];
}

/** A matcher over another lexicon (tests, or a lexicon extended from moderators' notes). */
export function incentiveMatcher(lexicon: Readonly<Record<string, readonly string[]>>) {
  const compiled = compile(lexicon);
  return (title: string | null | undefined, body: string | null | undefined) => incentivePhrases(title, body, compiled);
}
